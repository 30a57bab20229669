"""The support desk: tickets and their one thread of messages (web, e-mail, later chat), e-mail in and out.

``help_search(q, limit)`` is what the ticket form suggests articles with (a simple stand-in until the help
centre's search takes its place).
"""

from app.support.articles import ArticleHit, help_search

__all__ = ["ArticleHit", "help_search"]
