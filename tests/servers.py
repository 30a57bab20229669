"""Start Recurra as a real server process for tests that go over a socket (browser, newcomer path)."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.smtp import free_port

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen[str]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextmanager
def live_server(
    command: list[str], env: Mapping[str, str], log_path: Path, timeout: float = 60.0
) -> Iterator[LiveServer]:
    """Run ``command`` (it must serve on env['PORT']) until /health/ready answers 200; stop it afterwards."""
    url = f"http://127.0.0.1:{env['PORT']}"
    with log_path.open("w") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=dict(env), stdout=log, stderr=subprocess.STDOUT, text=True)
    server = LiveServer(url, process, log_path)
    try:
        wait_until_ready(process, log_path, lambda: httpx.get(f"{url}/health/ready", timeout=2).status_code == 200,
                         timeout)  # fmt: skip
        yield server
    finally:
        stop(process)


def wait_until_ready(
    process: subprocess.Popen[Any], log_path: Path, ready: Callable[[], bool], timeout: float = 60.0
) -> None:
    """Poll ``ready`` (a connection refused counts as not yet) until it holds; fail if the process exits."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            if ready():
                return
        except (httpx.TransportError, OSError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{process.args} not ready after {timeout}s:\n{log_path.read_text()}")
        time.sleep(0.2)


def accepts_connections(port: int) -> bool:
    """Whether something listens on 127.0.0.1:``port`` (a refused connection raises)."""
    socket.create_connection(("127.0.0.1", port), timeout=2).close()
    return True


def stop(process: subprocess.Popen[Any]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def server_env(**overrides: str) -> dict[str, str]:
    """A server's environment: free ports of its own (web, and the support mail listener `run` starts)."""
    port = str(free_port())
    env = {**os.environ, "PORT": port, "BASE_URL": f"http://127.0.0.1:{port}", "INBOUND_SMTP_PORT": str(free_port())}
    env.update(overrides)
    return {k: v for k, v in env.items() if v != ""}
