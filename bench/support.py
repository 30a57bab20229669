"""The support desk under load. Its first part: help-centre search on 1,000 articles against a constant page of
the same size, served by the same server in the same run (bench/catalog.py's baseline route and wrk harness).

    .venv/bin/python bench/support.py [--articles 1000] [--connections 200] [--duration 10] [--workers 1]

Runs on the demo default (a fresh SQLite file, cache in process) unless DATABASE_URL / REDIS_URL are set; uvicorn
serves bench/catalog_app.py (the app plus ``/_bench/constant``) with the options every web process gets, in one
process unless --workers says more (which needs REDIS_URL); wrk loads it over loopback. Its last line is JSON.

Help search (``help_*`` figures):
- warm: 50 common searches ("invoice", "cancel plan", ...) cycled by every connection once each page is cached
  (every process warmed for 2 s unmeasured, as in bench/catalog.py): what most searches cost;
- cold: every request a different search of two or three words (none repeated unless the run outlasts them,
  reported as help_cold_repeats), each running the full-text query, the snippets and the template, and caching
  the page;
- baseline: ``/_bench/constant`` answering as many bytes as a warm search page (the target: warm >= 0.5x).

Live chat (WebSockets across two web processes) is measured by bench/support_chat.py.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import itertools
import json
import os
import random
import shutil
import sys
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.catalog import SECRET, WRK_PATHS, ensure_wrk, free_port, measured, settle, start_server, wrk  # noqa: E402

WORDS = ["invoice", "receipt", "refund", "cancel", "pause", "resume", "upgrade", "downgrade", "plan", "trial",
         "paypal", "account", "password", "login", "security", "renewal", "payment", "declined", "billing",
         "subscription", "yearly", "monthly", "price", "currency", "email", "address", "download", "pdf",
         "credit", "library", "video", "access", "device", "session", "code", "authenticator", "recovery",
         "support", "contact", "team"]  # fmt: skip
CATEGORIES = ["Getting started", "Your subscription", "Billing and payments", "Account and security",
              "Library", "Troubleshooting", "Teams", "Contact"]  # fmt: skip
WARM_QUERIES = 50


async def seed(articles: int) -> None:
    """``articles`` published help articles of about 250 words each, in eight categories."""
    from app.db import migrate

    with contextlib.redirect_stdout(io.StringIO()):
        await migrate()
    from app import clock
    from tables.support import HelpCategory, KnowledgeBaseArticle

    now = clock.now()
    categories = [
        int((await HelpCategory.insert(HelpCategory(name=name, slug=f"c{n}", sort_order=n))
             .returning(HelpCategory.id))[0]["id"])
        for n, name in enumerate(CATEGORIES)
    ]  # fmt: skip
    rng = random.Random(11)
    rows = []
    for n in range(articles):
        title = f"{rng.choice(WORDS).capitalize()} and {rng.choice(WORDS)}: question {n}"
        paragraphs = ["Open **Billing** in [your account](/account/billing)."] + [
            " ".join(rng.choice(WORDS) for _ in range(50)) + "." for _ in range(5)
        ]
        rows.append(
            KnowledgeBaseArticle(
                title=title, slug=f"article-{n}", category=categories[n % len(categories)],
                summary=" ".join(rng.choice(WORDS) for _ in range(12)), body="\n\n".join(paragraphs),
                publish_state="published", published_at=now, created_at=now, updated_at=now,
            )
        )  # fmt: skip
    for start in range(0, len(rows), 500):
        await KnowledgeBaseArticle.insert(*rows[start : start + 500])


def search_paths(count: int, seed_: int, words: int) -> list[str]:
    combos = list(itertools.permutations(WORDS, words))
    random.Random(seed_).shuffle(combos)
    return ["/help/search?" + urllib.parse.urlencode({"q": " ".join(c)}) for c in combos[:count]]


def help_search(binary: str, base: str, var: Path, args: argparse.Namespace) -> dict[str, Any]:
    # Cold: distinct two- and three-word searches, shuffled; warm: 50 one- and two-word searches, each cached.
    cold_paths = search_paths(3000, 1, 2) + search_paths(5000, 2, 3)
    random.Random(3).shuffle(cold_paths)
    cold_file = var / "help-cold-paths.txt"
    cold_file.write_text("\n".join(cold_paths) + "\n")
    warm_paths = [f"/help/search?q={w}" for w in WORDS[:25]] + search_paths(WARM_QUERIES - 25, 4, 2)
    warm_file = var / "help-warm-paths.txt"
    warm_file.write_text("\n".join(warm_paths) + "\n")
    print("help search, cold ...", file=sys.stderr)
    cold = wrk(binary, base, args.connections, args.duration, WRK_PATHS % cold_file)
    sizes = [len(urllib.request.urlopen(base + path).read()) for path in warm_paths]  # noqa: S310 - fills the cache
    page_bytes = round(sum(sizes) / len(sizes))
    print("help search, warm ...", file=sys.stderr)
    warm = measured(binary, base, "", args.connections, args.duration, WRK_PATHS % warm_file)
    print("baseline ...", file=sys.stderr)
    baseline = measured(binary, base, f"/_bench/constant?bytes={page_bytes}", args.connections, args.duration)
    for name, run in (("help cold", cold), ("help warm", warm), ("baseline", baseline)):
        print(
            f"{name:>10}: {run['rps']:8.0f} req/s  p50 {run['p50_us'] / 1000:6.1f} ms  p99 {run['p99_us'] / 1000:6.1f}"
            f" ms  errors {run['errors']}  non-2xx {run['non2xx']}",
            file=sys.stderr,
        )
    return {
        "help_articles": args.articles,
        "help_page_bytes": page_bytes,
        "help_warm_queries": len(warm_paths),
        "help_warm_rps": round(warm["rps"]),
        "help_warm_p50_ms": round(warm["p50_us"] / 1000, 1),
        "help_warm_p99_ms": round(warm["p99_us"] / 1000, 1),
        "help_cold_rps": round(cold["rps"]),
        "help_cold_p50_ms": round(cold["p50_us"] / 1000, 1),
        "help_cold_p99_ms": round(cold["p99_us"] / 1000, 1),
        "help_cold_repeats": max(0, cold["requests"] - len(cold_paths)),
        "baseline_rps": round(baseline["rps"]),
        "baseline_p99_ms": round(baseline["p99_us"] / 1000, 1),
        "help_warm_vs_baseline": round(warm["rps"] / baseline["rps"], 2),
        "help_errors": sum(r["errors"] + r["non2xx"] for r in (cold, warm, baseline)),
    }


# Each part measures against the running server and returns its figures for the JSON line.
PARTS: dict[str, Callable[[str, str, Path, argparse.Namespace], dict[str, Any]]] = {"help": help_search}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--workers", type=int, default=1, help="web processes (more than one needs REDIS_URL)")
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated, of: {', '.join(PARTS)}")
    args = parser.parse_args()
    parts = [p for p in args.parts.split(",") if p]
    if unknown := set(parts) - set(PARTS):
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}")
    if args.workers > 1 and not os.environ.get("REDIS_URL"):
        parser.error("--workers > 1 needs REDIS_URL: the processes share the page cache there")
    binary = ensure_wrk()
    var = Path(tempfile.mkdtemp(prefix="recurra-bench-support-"))
    port = free_port()
    env = {**os.environ, "VAR_DIR": str(var), "SECRET_KEY": SECRET, "PORT": str(port), "LOG_LEVEL": "WARNING",
           "RECURRA_ENV": "development", "CATALOG_CACHE_TTL_S": "3600"}  # fmt: skip
    os.environ.update(env)
    from app.db import close_database, open_database

    async def prepare() -> None:
        await open_database()
        try:
            await seed(args.articles)
        finally:
            await close_database()

    print(f"seeding {args.articles} help articles in {var} ...", file=sys.stderr)
    asyncio.run(prepare())
    server = start_server(env, port, args.workers)
    base = f"http://127.0.0.1:{port}"
    figures: dict[str, Any] = {}
    try:
        settle(base)
        for part in parts:
            figures.update(PARTS[part](binary, base, var, args))
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(var, ignore_errors=True)
    print(
        json.dumps(
            {
                "bench": "support",
                "connections": args.connections,
                "workers": args.workers,
                "duration_s": args.duration,
                "database": "postgres" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "sqlite",
                "cache": "redis" if os.environ.get("REDIS_URL") else "in-process",
                **figures,
            }
        )
    )


if __name__ == "__main__":
    main()
