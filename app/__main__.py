"""Command line: python -m app {run,serve,migrate,seed-demo,create-staff,worker,inbound-mail}."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from app.server import serve
from app.settings import Settings, SettingsError, get_settings


def _run_async(main: Callable[[], Awaitable[Any]]) -> Any:
    from app.db import close_database, open_database

    async def wrapper() -> Any:
        await open_database()
        try:
            return await main()
        finally:
            await close_database()

    return asyncio.run(wrapper())


def cmd_migrate(settings: Settings, _: argparse.Namespace) -> None:
    from app.db import migrate

    _run_async(migrate)


def _print_login(settings: Settings, username: str, password: str) -> None:
    print(
        f"\n  Recurra is starting on {settings.base_url}\n"
        f"    portal       {settings.base_url}/\n"
        f"    staff admin  {settings.base_url}/admin/   (user {username!r}, password {password!r})\n"
        f"    staff area   {settings.base_url}/staff/   (the same log-in: the support console)\n"
        f"    API docs     {settings.base_url}/schema/swagger\n"
        f"    health       {settings.base_url}/health/ready\n"
        + (f"    dev mail     {settings.base_url}/dev/mail\n" if settings.dev_mail_enabled else "")
        + f"    support mail smtp://{settings.support.inbound_smtp_host}:{settings.support.inbound_smtp_port}"
        f" (to {settings.support.support_email})\n",
        flush=True,
    )


def cmd_seed_demo(settings: Settings, _: argparse.Namespace) -> None:
    from app.demo import seed_demo

    login = _run_async(lambda: seed_demo(settings))
    print(f"Demo data loaded. Staff login: {login.username} / {login.password}")


def cmd_create_staff(settings: Settings, args: argparse.Namespace) -> None:
    from app.accounts.staff import create_staff
    from app.errors import DomainError

    password = os.environ.get("STAFF_PASSWORD") or getpass.getpass("Password (12+ characters): ")
    try:
        _run_async(lambda: create_staff(args.username, args.email, password, args.role))
    except DomainError as exc:
        sys.exit(f"error: {exc.detail}")
    print(f"Staff user {args.username!r} created with role {args.role}.")


def cmd_worker(settings: Settings, _: argparse.Namespace) -> None:
    if not settings.redis.enabled:
        sys.exit("error: the arq worker needs REDIS_URL; without it jobs run inside the web process")
    from arq.worker import run_worker

    from tasks.worker import WorkerSettings

    run_worker(WorkerSettings)  # type: ignore[arg-type]


def cmd_inbound_mail(settings: Settings, _: argparse.Namespace) -> None:
    from app.support.smtp import serve_inbound_mail

    try:
        _run_async(lambda: serve_inbound_mail(settings))
    except OSError as exc:  # the port is taken, or not ours to bind
        sys.exit(f"error: cannot listen for support mail on {settings.support.inbound_smtp_host}:"
                 f"{settings.support.inbound_smtp_port}: {exc}")  # fmt: skip


def cmd_run(settings: Settings, args: argparse.Namespace) -> None:
    """Migrate, seed the demo, then serve; the support mail listener runs beside the web app, and with
    REDIS_URL an arq worker process too."""
    from app.db import migrate
    from app.demo import seed_demo

    async def prepare() -> Any:
        await migrate()
        return await seed_demo(settings)

    login = _run_async(prepare)
    companions = [subprocess.Popen([sys.executable, "-m", "app", "inbound-mail"])]
    if settings.redis.enabled:
        companions.append(subprocess.Popen([sys.executable, "-m", "app", "worker"]))
    _print_login(settings, login.username, login.password)
    try:
        serve(settings, workers=args.workers)
    finally:
        for process in companions:
            process.send_signal(signal.SIGINT)
        for process in companions:
            process.wait(timeout=15)


def cmd_serve(settings: Settings, args: argparse.Namespace) -> None:
    """Serve only (a deployment migrates once, before it starts its web processes)."""
    serve(settings, workers=args.workers)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m app", description="Recurra")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="migrate, seed the demo and serve on HOST:PORT")
    run.add_argument("--workers", type=int, help="web processes (only with REDIS_URL; default WEB_CONCURRENCY)")
    serve_parser = commands.add_parser("serve", help="serve on HOST:PORT (no migration, no demo data)")
    serve_parser.add_argument(
        "--workers", type=int, help="web processes (only with REDIS_URL; default WEB_CONCURRENCY)"
    )
    commands.add_parser("migrate", help="apply pending migrations")
    commands.add_parser("seed-demo", help="load the demo catalog and staff login (idempotent)")
    staff = commands.add_parser(
        "create-staff", help="create a staff user for /admin/ (password from STAFF_PASSWORD or a prompt)"
    )
    staff.add_argument("--username", required=True)
    staff.add_argument("--email", required=True)
    staff.add_argument("--role", default="superuser", choices=["superuser", "billing", "support", "content"])
    commands.add_parser("worker", help="run the arq worker (needs REDIS_URL)")
    commands.add_parser("inbound-mail", help="receive support mail over SMTP on INBOUND_SMTP_HOST:INBOUND_SMTP_PORT")
    args = parser.parse_args(argv)
    try:
        settings = get_settings()
    except SettingsError as exc:
        sys.exit(f"configuration error: {exc}")
    handlers = {
        "run": cmd_run,
        "serve": cmd_serve,
        "migrate": cmd_migrate,
        "seed-demo": cmd_seed_demo,
        "create-staff": cmd_create_staff,
        "worker": cmd_worker,
        "inbound-mail": cmd_inbound_mail,
    }
    handlers[args.command](settings, args)


if __name__ == "__main__":
    main()
