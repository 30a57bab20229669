"""Live chat under load: WebSockets open across two web processes, customers on one and their agents on the
other, each customer's message timed until its agent's socket receives it (so every line crosses processes
through Redis pub/sub).

    .venv/bin/python bench/support_chat.py [--chats 100] [--messages 10] [--rate 20]

Creates and drops its own PostgreSQL database, uses Redis (BENCH_REDIS_URL, default redis://127.0.0.1:6379/0)
under a fresh key prefix (removed at the end), and starts two ``python -m app serve`` processes
(WEB_CONCURRENCY=1 each) on ports of their own. It seeds ``--chats`` customers with log-in sessions and as many
support agents with staff sessions, opens 2 x ``--chats`` WebSockets (agents on the second process, customers
on the first), starts the chats (each customer's first line; each agent takes one), then sends
``--chats`` x ``--messages`` lines at ``--rate`` a second (open loop, as people type: 20 a second is each of 100
customers writing every 5 seconds), each timed from the customer's send to its arrival at the agent. The
clients run in this one process, on the same cores as the servers, PostgreSQL and Redis. The last line is JSON
(bench="support_chat", sockets, messages, p50_ms, p99_ms, max_ms, delivered_per_s, the CPU each web process
spent a line, the load average).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from websockets.asyncio.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PG_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
SECRET = "bench-secret-key-bench-secret-key-0123456789"  # noqa: S105 - a throwaway server's key
PASSWORD = "bench password 0123"  # noqa: S105


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def admin(sql: str) -> None:
    connection = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def server_env(common: dict[str, str], port: int) -> dict[str, str]:
    return {**os.environ, **common, "PORT": str(port), "BASE_URL": f"http://127.0.0.1:{port}"}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (and its finished children) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def start_server(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "app", "serve"], cwd=ROOT, env=env, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{env['PORT']}/health/ready"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited:\n{log.read_text()}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"the server did not start:\n{log.read_text()}")


async def seed(chats: int) -> tuple[list[str], list[str]]:
    """``chats`` customers and support agents, each with a live session; their tokens."""
    from piccolo.apps.user.tables import BaseUser
    from piccolo_api.session_auth.tables import SessionsBase

    from app.accounts import sessions
    from app.accounts.staff import create_staff
    from app.stores import LocalStore
    from tables.accounts import Customer

    BaseUser._pbkdf2_iteration_count = 1000  # the agents never type a password here
    customers, agents = [], []
    store = LocalStore()
    for n in range(chats):
        row = await Customer.insert(
            Customer(email=f"bench{n}@example.com", password_hash="-", name=f"Bench customer {n}", country="US")  # noqa: S106
        ).returning(Customer.id)
        token, _ = await sessions.start_session(store, row[0]["id"], remember=False, ip="", user_agent="bench")
        customers.append(token)
        user = await create_staff(f"agent{n}", f"agent{n}@example.com", PASSWORD, "support")
        agents.append(str((await SessionsBase.create_session(user.id)).token))
    return customers, agents


class Client:
    """One WebSocket with a reader: message events go to ``on_message``, the others wait in a queue per type."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.events: dict[str, asyncio.Queue[dict[str, Any]]] = {}
        self.on_message: Any = None
        self.reader = asyncio.create_task(self._read())

    def _queue(self, kind: str) -> asyncio.Queue[dict[str, Any]]:
        return self.events.setdefault(kind, asyncio.Queue())

    async def _read(self) -> None:
        async for raw in self.connection:
            event = json.loads(raw)
            if event["type"] == "message":
                if self.on_message is not None:
                    self.on_message(event)
            elif event["type"] in {"state", "sent", "chat", "error"}:
                self._queue(event["type"]).put_nowait(event)

    async def wait(self, kind: str) -> dict[str, Any]:
        return await asyncio.wait_for(self._queue(kind).get(), 60)

    async def send(self, **frame: Any) -> None:
        await self.connection.send(json.dumps(frame))


async def open_socket(stack: AsyncExitStack, base: str, path: str, cookie: str) -> Client:
    url = f"ws{base.removeprefix('http')}{path}"
    headers = {"Cookie": cookie}
    connection = await stack.enter_async_context(
        connect(url, origin=base, additional_headers=headers, proxy=None, open_timeout=60)  # type: ignore[arg-type]
    )
    return Client(connection)


async def run(
    customer_url: str, agent_url: str, chats: int, messages: int, rate: float, pids: list[int]
) -> dict[str, Any]:
    customers, agents = await seed(chats)
    async with AsyncExitStack() as stack:
        desks = [await open_socket(stack, agent_url, "/staff/support/chats/ws", f"id={t}") for t in agents]
        await asyncio.gather(*(desk.wait("state") for desk in desks))
        panels = [await open_socket(stack, customer_url, "/support/chat/ws", f"recurra_auth={t}") for t in customers]
        await asyncio.gather(*(panel.wait("state") for panel in panels))

        async def open_chat(panel: Client, desk: Client, n: int) -> None:
            await panel.send(type="message", body=f"hello {n}", ref="start")
            chat = (await panel.wait("sent"))["chat"]
            await desk.send(type="take", chat=chat)
            await desk.wait("chat")

        for start in range(0, chats, 20):  # a queue of 20 new chats at a time, as a busy desk would see
            await asyncio.gather(*(open_chat(panels[n], desks[n], n) for n in range(start, min(chats, start + 20))))

        delivered: dict[str, asyncio.Future[float]] = {}

        def arrived(event: dict[str, Any]) -> None:
            future = delivered.get(event["body"])
            if event["author"] == "customer" and future is not None and not future.done():
                future.set_result(time.perf_counter())

        for desk in desks:
            desk.on_message = arrived
        latencies: list[float] = []

        async def one(n: int, k: int) -> None:
            body = f"line {k} of chat {n}"
            delivered[body] = asyncio.get_running_loop().create_future()
            sent_at = time.perf_counter()
            await panels[n].send(type="message", body=body, ref=str(k))
            latencies.append(await asyncio.wait_for(delivered[body], 60) - sent_at)

        # Open loop: lines leave at ``rate`` a second whatever the answers do, as people type; each chat's lines
        # are spread out (chat n's k-th line after every chat's (k-1)-th), within the per-customer rate limit.
        started = time.perf_counter()
        cpu_before = [cpu_seconds(pid) for pid in pids]
        pending = []
        for index, (k, n) in enumerate((k, n) for k in range(messages) for n in range(chats)):
            await asyncio.sleep(max(0.0, started + index / rate - time.perf_counter()))
            pending.append(asyncio.create_task(one(n, k)))
        await asyncio.gather(*pending)
        elapsed = time.perf_counter() - started
        cpu = [cpu_seconds(pid) - before for pid, before in zip(pids, cpu_before, strict=True)]
        for client in desks + panels:
            client.reader.cancel()
    latencies.sort()
    return {
        "bench": "support_chat",
        "sockets": len(desks) + len(panels),
        "web_processes": 2,
        "messages": len(latencies),
        "rate_per_s": rate,
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
        "max_ms": round(latencies[-1] * 1000, 1),
        "delivered_per_s": round(len(latencies) / elapsed, 1),
        # CPU each web process spent a line: the customers' (storing it) and the agents' (passing it on)
        "customer_process_cpu_ms_per_line": round(cpu[0] / len(latencies) * 1000, 2),
        "agent_process_cpu_ms_per_line": round(cpu[1] / len(latencies) * 1000, 2),
        "load_average": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chats", type=int, default=100, help="customers and agents (2x sockets)")
    parser.add_argument("--messages", type=int, default=10, help="lines each customer sends")
    parser.add_argument("--rate", type=float, default=20.0, help="lines a second, all chats together")
    args = parser.parse_args()

    name = f"recurra_bench_chat_{uuid.uuid4().hex[:8]}"
    prefix = f"bench-chat-{uuid.uuid4().hex[:8]}"
    db_url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    var = Path(tempfile.mkdtemp(prefix="recurra-bench-chat-"))
    common = {"RECURRA_ENV": "development", "DATABASE_URL": db_url, "REDIS_URL": REDIS_URL, "REDIS_PREFIX": prefix,
              "VAR_DIR": str(var), "SECRET_KEY": SECRET, "LOG_LEVEL": "WARNING", "WEB_CONCURRENCY": "1",
              "BILLING_CRON": "off", "DATABASE_POOL_SIZE": "10"}  # fmt: skip
    os.environ.update(common)  # this process seeds through the app's own code, on the same database
    for unset in ("SMTP_URL", "PAYPAL_CLIENT_ID", "PAYPAL_CLIENT_SECRET", "PAYPAL_MODE", "PORT", "BASE_URL"):
        os.environ.pop(unset, None)
    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    servers: list[subprocess.Popen[bytes]] = []
    try:
        customer_port, agent_port = free_port(), free_port()
        asyncio.run(_migrate())
        servers.append(start_server(server_env(common, customer_port), var / "customers.log"))
        servers.append(start_server(server_env(common, agent_port), var / "agents.log"))
        urls = f"http://127.0.0.1:{customer_port}", f"http://127.0.0.1:{agent_port}"
        pids = [process.pid for process in servers]
        result = asyncio.run(_with_database(run(*urls, args.chats, args.messages, args.rate, pids)))
    finally:
        for process in servers:
            process.terminate()
            process.wait(timeout=30)
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        asyncio.run(_forget(prefix))
    print(json.dumps(result))


async def _migrate() -> None:
    import contextlib
    import io

    from app.db import migrate

    with contextlib.redirect_stdout(io.StringIO()):
        await migrate()


async def _with_database(work: Any) -> Any:
    from app.db import close_database, open_database

    await open_database()
    try:
        return await work
    finally:
        await close_database()


async def _forget(prefix: str) -> None:
    from redis.asyncio import Redis

    redis = Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in redis.scan_iter(match=f"{prefix}:*")]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()


if __name__ == "__main__":
    main()
