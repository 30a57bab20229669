"""Help search: full-text on PostgreSQL (tsvector + GIN, ts_rank, ts_headline) and SQLite (FTS5, bm25,
snippet()), every word a prefix, published articles only; snippets highlight the matches with <mark> and nothing
else is HTML; no results offer the contact page."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from app.support.help import service
from tables.support import KnowledgeBaseArticle
from tests.integration.help.helpers import article, listed
from tests.sqlite import run_on_sqlite

MARKED = re.compile(r"<mark>([^<]*)</mark>")


async def _articles() -> None:
    await article(title="Cancelling your subscription", slug="cancel", summary="Stop paying.",
                  body="Press Cancel on your subscriptions page.")  # fmt: skip
    await article(title="Invoices", slug="invoices", summary="Receipts too.",
                  body="After you cancel, earlier invoices stay in your account.")  # fmt: skip
    await article(title="Cancellation draft", slug="draft", publish_state="draft", body="cancel cancel")
    body = "Pause instead of cancelling when 2 < 3 & \"x\" > 'y' <img src=x onerror=alert(document.domain)>."
    await article(title="Pausing", slug="pausing", body=body)


async def test_search_ranks_titles_first_finds_prefixes_and_skips_drafts(client: httpx.AsyncClient) -> None:
    await _articles()
    assert listed(await client.get("/help/search", params={"q": "cancel"})) == ["cancel", "invoices", "pausing"]
    assert listed(await client.get("/help/search", params={"q": "canc"})) == ["cancel", "invoices", "pausing"]
    assert listed(await client.get("/help/search", params={"q": "cancel invoices"})) == ["invoices"]
    result = await service.find(service.parse_query('") OR 1=1 --'))
    assert result.hits == []  # operators are words, not query syntax
    assert (await client.get("/help/search", params={"q": "  ?! "})).headers["location"] == "/help"


async def test_snippets_highlight_matches_and_escape_everything_else(client: httpx.AsyncClient) -> None:
    await _articles()
    page = await client.get("/help/search", params={"q": "instead"})
    (hit,) = re.findall(r'<p class="snippet">(.*?)</p>', page.text, re.S)
    assert MARKED.findall(hit) == ["instead"]
    assert "2 &lt; 3 &amp; &#34;x&#34; &gt; &#39;y&#39;" in hit  # (ts_headline drops the <img> tag itself)
    assert set(re.findall(r"</?[a-z]+", hit)) == {"<mark", "</mark"}  # the marks are the only HTML


async def test_no_results_point_to_the_contact_page(client: httpx.AsyncClient) -> None:
    await _articles()
    page = await client.get("/help/search", params={"q": "teleportation"})
    assert page.status_code == 200
    no_results = page.text.split('id="no-results"')[1]
    assert "No results for “teleportation”" in no_results and 'href="/contact">Contact us</a>' in no_results


async def test_an_edit_updates_search_in_the_same_write(client: httpx.AsyncClient) -> None:
    row = await article(title="Old", slug="renamed")
    assert (await service.find(["onboarding"])).hits == []
    await KnowledgeBaseArticle.update({KnowledgeBaseArticle.title: "Onboarding"}).where(
        KnowledgeBaseArticle.id == row.id
    )
    assert [hit.card.slug for hit in (await service.find(["onboarding"])).hits] == ["renamed"]


SQLITE_SCRIPT = """
import asyncio, contextlib, io, json, re

async def main():
    from app.db import migrate
    with contextlib.redirect_stdout(io.StringIO()):
        await migrate()
    from app.support.help import service
    from tables.support import HelpCategory, KnowledgeBaseArticle

    billing = await HelpCategory.insert(HelpCategory(name="Billing", slug="billing")).returning(HelpCategory.id)
    rows = [("cancel", "Cancelling your subscription", "Press Cancel on your subscriptions page.", "published", True),
            ("invoices", "Invoices", "After you cancel, earlier invoices stay.", "published", True),
            ("pausing", "Pausing", "Pause <b>instead</b> of cancelling.", "published", False),
            ("draft", "Cancellation draft", "cancel cancel", "draft", True)]
    for slug, title, body, state, in_billing in rows:
        await KnowledgeBaseArticle.insert(KnowledgeBaseArticle(
            slug=slug, title=title, body=body, publish_state=state,
            category=billing[0]["id"] if in_billing else None))
    result = {}
    for q in ("cancel", "canc", "cancel invoices", '") OR 1=1 --', "teleportation"):
        found = await service.find(service.parse_query(q))
        result[q] = [hit.card.slug for hit in found.hits]
    found = await service.find(["instead"])
    result["snippet"] = str(found.hits[0].snippet)
    article = await service.article("invoices")
    result["related"] = [card.slug for card in await service.related(article)]
    await KnowledgeBaseArticle.update({KnowledgeBaseArticle.title: "Onboarding"}).where(
        KnowledgeBaseArticle.slug == "invoices")
    result["after edit"] = [h.card.slug for h in (await service.find(["onboard"])).hits]
    for visitor, helpful in (("a" * 16, True), ("a" * 16, False), ("b" * 16, False), ("c" * 16, True)):
        await service.vote("cancel", service.Visitor.anonymous(visitor), helpful)
    await service.vote("pausing", service.Visitor.anonymous("a" * 16), True)
    result["worst"] = [[r.slug, r.helpful_yes, r.helpful_no, r.rating] for r in await service.worst_rated(5)]
    print(json.dumps(result))

asyncio.run(main())
"""


def test_search_on_sqlite_with_fts5(tmp_path: Path) -> None:
    result = run_on_sqlite(SQLITE_SCRIPT, tmp_path)
    assert result["cancel"] == ["cancel", "invoices", "pausing"]  # title first, never the draft
    assert result["canc"] == ["cancel", "invoices", "pausing"]
    assert result["cancel invoices"] == ["invoices"]
    assert result['") OR 1=1 --'] == [] and result["teleportation"] == []
    assert result["snippet"] == "Pause &lt;b&gt;<mark>instead</mark>&lt;/b&gt; of cancelling."
    assert result["related"] == ["cancel"]  # same category (and "invoices" in its words: nothing else shares)
    assert result["after edit"] == ["invoices"]
    assert result["worst"] == [["cancel", 1, 2, 40], ["pausing", 1, 0, 66]]  # one vote per visitor, moved
