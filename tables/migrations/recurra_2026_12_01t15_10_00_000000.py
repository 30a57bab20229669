"""The help centre's database parts that Piccolo's auto migrations cannot express, on PostgreSQL and SQLite:

- full-text search over help articles (``tables.fulltext``: title weighted A, summary B, body C), as the
  catalog has;
- one vote per visitor and article: a unique index on ``help_vote (article, visitor)``;
- ``help_article_rating``, a view of each article's votes (``tables.views.HelpArticleRating``) that support staff
  read in the admin: counts derived from the votes, never stored twice.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from tables.fulltext import fulltext_steps

ID = "2026-12-01T15:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "help centre: article search, one vote per visitor, ratings view"

VOTE_INDEX = "help_vote_article_visitor_uniq"
# rating: the helpful share smoothed towards 50 % (as if one yes and one no had come first), so an article with one
# "no" is not ranked below one with twenty. Integer division, the same on both engines.
RATING_VIEW = (
    "CREATE VIEW IF NOT EXISTS help_article_rating AS "
    "SELECT id, id AS article, helpful_yes, helpful_no, helpful_yes + helpful_no AS votes, "
    "(100 * (helpful_yes + 1)) / (helpful_yes + helpful_no + 2) AS rating FROM ("
    "SELECT a.id AS id, "
    "SUM(CASE WHEN v.helpful THEN 1 ELSE 0 END) AS helpful_yes, "
    "SUM(CASE WHEN NOT v.helpful THEN 1 ELSE 0 END) AS helpful_no "
    "FROM knowledge_base_article a LEFT JOIN help_vote v ON v.article = a.id GROUP BY a.id) counts"
)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="recurra", description=DESCRIPTION)
    create_search, drop_search = fulltext_steps("knowledge_base_article", ["title", "summary", "body"])

    async def create() -> None:
        engine = engine_finder()
        await create_search()
        await engine.run_ddl(f"CREATE UNIQUE INDEX IF NOT EXISTS {VOTE_INDEX} ON help_vote (article, visitor)")
        view = RATING_VIEW
        if engine.engine_type == "postgres":  # PostgreSQL has no CREATE VIEW IF NOT EXISTS
            view = view.replace("CREATE VIEW IF NOT EXISTS", "CREATE OR REPLACE VIEW")
        await engine.run_ddl(view)

    async def drop() -> None:
        engine = engine_finder()
        await engine.run_ddl("DROP VIEW IF EXISTS help_article_rating")
        await engine.run_ddl(f"DROP INDEX IF EXISTS {VOTE_INDEX}")
        await drop_search()

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
