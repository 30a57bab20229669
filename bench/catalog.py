"""Catalog pages under load, cold and warm cache, against a constant page of the same size; then a 100 MB file
streamed with Range requests while the server's peak RSS is watched.

    .venv/bin/python bench/catalog.py [--items 10000] [--connections 200] [--duration 10] [--workers 1]

Runs on the demo default (a fresh SQLite file, cache in process) unless DATABASE_URL / REDIS_URL are set.
uvicorn serves the app and the baseline route (bench/catalog_app.py) with the options app/server.py gives every
web process, in one process unless --workers says more (which needs REDIS_URL); wrk loads it over loopback
(installed with apt-get when missing). Its last line is JSON.

- cold: every request a different URL (10,000 item pages and 500 list pages, shuffled; no URL repeats unless
  the run outlasts them, which the JSON reports as cold_repeats), so each one builds and caches its page;
- warm: the first catalog page (and, reported beside it, one item page) after it has been cached (each warm run
  waits for the server to finish what the last run left queued, then warms every process for 2 s unmeasured);
- baseline: ``/_bench/constant`` answering as many bytes as the warm catalog page, same server, same middleware.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-key-bench-secret-key-0123456789"  # noqa: S105 - a throwaway server's key
STREAM_MB = 100

WRK_REPORT = """
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format('WRK {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"errors":%d,"non2xx":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), errors, summary.errors.status))
end
"""

WRK_PATHS = """
local paths = {}
for line in io.lines("%s") do paths[#paths + 1] = line end
local counter = 0
local offset = 0
setup = function(thread)
  thread:set("offset", offset)
  offset = offset + math.floor(#paths / 64)
end
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[((offset + counter) %% #paths) + 1])
end
"""


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk is missing: installing it with apt-get (Debian package 'wrk')", file=sys.stderr)
    subprocess.run(["apt-get", "install", "-y", "wrk"], check=True, stdout=subprocess.DEVNULL)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk could not be installed; install it and run again")
    return found


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def seed(items: int, media_dir: Path) -> dict[str, Any]:
    """A catalog of ``items`` published items (features, tags, products) and one free 100 MB video."""
    from app.db import migrate
    from app.settings import get_settings

    with contextlib.redirect_stdout(io.StringIO()):
        await migrate()
    from app import clock
    from tables.catalog import Feature, Plan, PlanFeature, Product
    from tables.content import ContentItem, ContentItemFeature, ContentItemTag, Tag

    now = clock.now()
    products = [
        int((await Product.insert(Product(name=f"Product {n}", slug=f"p{n}")).returning(Product.id))[0]["id"])
        for n in range(3)
    ]
    features = [
        int((await Feature.insert(Feature(key=k, name=k)).returning(Feature.id))[0]["id"])
        for k in ("library", "hd_video", "downloads")
    ]
    for n, granted in enumerate((features[:1], features[:2], features)):
        plan = await Plan.insert(
            Plan(product=products[0], code=f"plan-{n}", name=f"Plan {n}", amount_minor=900 + 1000 * n)
        ).returning(Plan.id)
        for feature in granted:
            await PlanFeature.insert(PlanFeature(plan=plan[0]["id"], feature=feature))
    tags = [
        int((await Tag.insert(Tag(name=f"Tag {n}", slug=f"tag-{n}")).returning(Tag.id))[0]["id"]) for n in range(20)
    ]
    words = ["pricing", "churn", "retention", "onboarding", "metrics", "growth"]
    words += ["video", "audio", "template", "guide", "playbook", "revenue"]
    kinds = ["article", "article", "video", "audio", "file", "link"]
    batch = 1000
    for start in range(0, items, batch):
        rows = []
        for n in range(start, min(items, start + batch)):
            stamp = now - timedelta(minutes=n)
            title = f"{words[n % len(words)].capitalize()} {words[(n * 7) % len(words)]} no. {n}"
            rows.append(
                ContentItem(
                    product=products[n % 3], kind=kinds[n % len(kinds)], title=title, slug=f"item-{n}",
                    summary=f"A {words[(n * 3) % len(words)]} piece about {words[(n * 5) % len(words)]}.",
                    body=f"# {title}\n\n" + " ".join(words[(n + k) % len(words)] for k in range(80)),
                    is_free=n % 10 == 0, publish_state="published", published_at=stamp, created_at=stamp,
                    updated_at=stamp,
                )
            )  # fmt: skip
        ids = [r["id"] for r in await ContentItem.insert(*rows).returning(ContentItem.id)]
        await ContentItemFeature.insert(*[ContentItemFeature(item=i, feature=features[i % 3]) for i in ids if i % 10])
        await ContentItemTag.insert(
            *[ContentItemTag(item=i, tag=tags[i % 20]) for i in ids],
            *[ContentItemTag(item=i, tag=tags[(i * 3 + 1) % 20]) for i in ids if (i * 3 + 1) % 20 != i % 20],
        )
    files = media_dir / "files"
    files.mkdir(parents=True, exist_ok=True)
    chunk = os.urandom(1024 * 1024)
    with (files / "big-talk.mp4").open("wb") as handle:
        for _ in range(STREAM_MB):
            handle.write(chunk)
    video = await ContentItem.insert(
        ContentItem(
            kind="video", title="A long talk", slug="big-talk", is_free=True, publish_state="published",
            media_key="big-talk.mp4", media_content_type="video/mp4", media_size=STREAM_MB * 1024 * 1024,
            published_at=now, created_at=now, updated_at=now,
        )
    ).returning(ContentItem.id)  # fmt: skip
    settings = get_settings()
    return {"video_id": int(video[0]["id"]), "ttl": settings.content.media_url_ttl_s}


def wrk(binary: str, url: str, connections: int, duration: int, script: str) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(script + WRK_REPORT)
    threads = max(1, min(os.cpu_count() or 1, 4))
    run = subprocess.run(
        [binary, f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "10s", "-s", lua.name, url],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    line = next(x for x in run.stdout.splitlines() if x.startswith("WRK "))
    result: dict[str, Any] = json.loads(line[4:])
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


def settle(base: str) -> None:
    """Wait until the server has worked off what the last run left queued (wrk stops sending, not the server
    answering: 200 cold pages in flight are seconds of work) so it is not counted against the next run."""
    deadline = time.monotonic() + 60
    quick = 0
    while quick < 3 and time.monotonic() < deadline:
        started = time.perf_counter()
        urllib.request.urlopen(base + "/health/live").read()  # noqa: S310 - loopback
        quick = quick + 1 if time.perf_counter() - started < 0.02 else 0
        time.sleep(0.2)


def measured(binary: str, base: str, path: str, connections: int, duration: int, script: str = "") -> dict[str, Any]:
    """A warm run: the server settled, every process's cache filled by a short unmeasured run, then wrk (on
    ``path``, or on the paths ``script`` sends)."""
    settle(base)
    wrk(binary, base + path, connections, 2, script)
    settle(base)
    return wrk(binary, base + path, connections, duration, script)


def rss_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def serving_pids(server: subprocess.Popen[bytes], workers: int) -> list[int]:
    """The processes that answer requests: the server itself, or the workers uvicorn's supervisor started."""
    if workers == 1:
        return [server.pid]
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    return [int(pid) for pid in children]


def stream(base: str, path: str, pids: list[int]) -> dict[str, float]:
    """The whole file twice, then 200 seeks of 1 MB each (as a video player does), four at a time; the peak RSS
    of the busiest serving process."""
    for pid in pids:
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current RSS
    before = max(rss_mb(pid, "VmRSS") for pid in pids)
    size = STREAM_MB * 1024 * 1024
    rng = random.Random(7)

    def fetch(headers: dict[str, str]) -> int:
        request = urllib.request.Request(base + path, headers=headers)  # noqa: S310 - loopback
        total = 0
        with urllib.request.urlopen(request) as response:  # noqa: S310
            while chunk := response.read(1024 * 1024):
                total += len(chunk)
        return total

    from concurrent.futures import ThreadPoolExecutor

    jobs: list[dict[str, str]] = [{}, {}]
    for _ in range(200):
        start = rng.randrange(0, size - 1024 * 1024)
        jobs.append({"Range": f"bytes={start}-{start + 1024 * 1024 - 1}"})
    started = time.perf_counter()
    with ThreadPoolExecutor(4) as pool:
        moved = sum(pool.map(fetch, jobs))
    elapsed = time.perf_counter() - started
    return {
        "stream_rss_before_mb": round(before, 1),
        "stream_peak_rss_mb": round(max(rss_mb(pid, "VmHWM") for pid in pids), 1),
        "stream_mb_moved": round(moved / 1024 / 1024),
        "stream_mb_per_s": round(moved / 1024 / 1024 / elapsed),
    }


def start_server(env: dict[str, str], port: int, workers: int) -> subprocess.Popen[bytes]:
    """uvicorn serving bench/catalog_app.py (the app and the baseline route) with the options every web process
    gets, once it answers."""
    from app.server import EVENT_LOOP

    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bench.catalog_app:app", "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(workers), "--loop", EVENT_LOOP, "--no-access-log", "--no-proxy-headers",
         "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    for _ in range(200):
        with contextlib.suppress(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health/live", timeout=1)
            break
        time.sleep(0.1)
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--workers", type=int, default=1, help="web processes (more than one needs REDIS_URL)")
    args = parser.parse_args()
    if args.workers > 1 and not os.environ.get("REDIS_URL"):
        parser.error("--workers > 1 needs REDIS_URL: the processes share the page cache there")
    binary = ensure_wrk()
    var = Path(tempfile.mkdtemp(prefix="recurra-bench-"))
    port = free_port()
    env = {
        **os.environ,
        "VAR_DIR": str(var),
        "SECRET_KEY": SECRET,
        "PORT": str(port),
        "LOG_LEVEL": "WARNING",
        "RECURRA_ENV": "development",
        "CATALOG_CACHE_TTL_S": "3600",
    }
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    from app.db import close_database, open_database

    async def prepare() -> dict[str, Any]:
        await open_database()
        try:
            return await seed(args.items, var / "media")
        finally:
            await close_database()

    print(f"seeding {args.items} items in {var} ...", file=sys.stderr)
    seeded = asyncio.run(prepare())
    server = start_server(env, port, args.workers)
    base = f"http://127.0.0.1:{port}"
    try:
        pages = -(-args.items // 20)
        paths = [f"/catalog/item-{n}" for n in range(args.items)] + [f"/catalog?page={p}" for p in range(2, pages + 1)]
        random.Random(1).shuffle(paths)
        paths_file = var / "cold-paths.txt"
        paths_file.write_text("\n".join(paths) + "\n")
        print("cold ...", file=sys.stderr)
        cold = wrk(binary, base, args.connections, args.duration, WRK_PATHS % paths_file)
        warm_path, item_path = "/catalog", "/catalog/item-5"
        page_bytes = len(urllib.request.urlopen(base + warm_path).read())  # noqa: S310 - fills the cache
        urllib.request.urlopen(base + item_path).read()  # noqa: S310
        print("warm ...", file=sys.stderr)
        warm = measured(binary, base, warm_path, args.connections, args.duration)
        warm_item = measured(binary, base, item_path, args.connections, args.duration)
        print("baseline ...", file=sys.stderr)
        baseline = measured(binary, base, f"/_bench/constant?bytes={page_bytes}", args.connections, args.duration)
        from app import clock
        from app.content.delivery import media_link

        link = media_link(SECRET, seeded["video_id"], 0, clock.now(), timedelta(seconds=seeded["ttl"]))
        print("stream ...", file=sys.stderr)
        streamed = stream(base, link, serving_pids(server, args.workers))
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(var, ignore_errors=True)
    for name, run in (("cold", cold), ("warm catalog", warm), ("warm item", warm_item), ("baseline", baseline)):
        p50, p99 = run["p50_us"] / 1000, run["p99_us"] / 1000
        print(
            f"{name:>13}: {run['rps']:8.0f} req/s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms"
            f"  errors {run['errors']}  non-2xx {run['non2xx']}",
            file=sys.stderr,
        )
    print(
        json.dumps(
            {
                "bench": "catalog",
                "items": args.items,
                "connections": args.connections,
                "workers": args.workers,
                "duration_s": args.duration,
                "database": "postgres" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "sqlite",
                "cache": "redis" if os.environ.get("REDIS_URL") else "in-process",
                "page_bytes": page_bytes,
                "cold_rps": round(cold["rps"]),
                "cold_p50_ms": round(cold["p50_us"] / 1000, 1),
                "cold_p99_ms": round(cold["p99_us"] / 1000, 1),
                "cold_repeats": max(0, cold["requests"] - len(paths)),
                "warm_rps": round(warm["rps"]),
                "warm_p50_ms": round(warm["p50_us"] / 1000, 1),
                "warm_p99_ms": round(warm["p99_us"] / 1000, 1),
                "warm_item_rps": round(warm_item["rps"]),
                "warm_item_p50_ms": round(warm_item["p50_us"] / 1000, 1),
                "warm_item_p99_ms": round(warm_item["p99_us"] / 1000, 1),
                "baseline_rps": round(baseline["rps"]),
                "baseline_p99_ms": round(baseline["p99_us"] / 1000, 1),
                "warm_vs_baseline": round(warm["rps"] / baseline["rps"], 2),
                "errors": sum(r["errors"] + r["non2xx"] for r in (cold, warm, warm_item, baseline)),
                **streamed,
            }
        )
    )


if __name__ == "__main__":
    main()
