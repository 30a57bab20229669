"""Read-only tables over SQL views (created by raw migrations). Not in the app's table list (tables.piccolo_app),
so Piccolo's auto migrations never try to create them; the admin shows them like tables."""

from piccolo.columns import ForeignKey, Integer, OnDelete, Serial
from piccolo.table import Table

from tables.support import KnowledgeBaseArticle


class HelpArticleRating(Table, tablename="help_article_rating"):
    """Each help article's "Was this helpful?" votes, counted from ``help_vote`` (view ``help_article_rating``)."""

    id = Serial(primary_key=True)
    article = ForeignKey(references=KnowledgeBaseArticle, on_delete=OnDelete.no_action)
    helpful_yes = Integer(default=0)
    helpful_no = Integer(default=0)
    votes = Integer(default=0)
    rating = Integer(
        default=50,
        help_text="The helpful share in %, smoothed towards 50 (as if one yes and one no came first): "
        "the lowest are the worst-rated articles.",
    )
