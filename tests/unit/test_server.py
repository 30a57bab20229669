"""How the web processes are started: one set of uvicorn options for run, serve and the bench."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from app.server import freeze_startup_heap, uvicorn_options, web_processes
from app.settings import SettingsError, load_settings
from app.support.chat_socket import MAX_FRAME_CHARS


def test_uvicorn_runs_the_standard_event_loop_without_its_own_proxy_handling(tmp_path: Path) -> None:
    settings = load_settings({"VAR_DIR": str(tmp_path), "HOST": "0.0.0.0", "PORT": "8123"})  # noqa: S104
    options = uvicorn_options(settings, workers=3)
    assert options["loop"] == "asyncio"
    assert options["proxy_headers"] is False and options["access_log"] is False
    assert (options["host"], options["port"], options["workers"]) == ("0.0.0.0", 8123, 3)  # noqa: S104
    # a WebSocket frame is refused past 64 KiB before the app sees it, not buffered up to uvicorn's 16 MiB
    assert options["ws_max_size"] == 4 * MAX_FRAME_CHARS


def test_several_processes_only_with_redis(tmp_path: Path) -> None:
    var = {"VAR_DIR": str(tmp_path)}
    alone = load_settings({**var, "WEB_CONCURRENCY": "4"})
    assert web_processes(alone) == 1 and web_processes(alone, 3) == 1
    shared = load_settings({**var, "WEB_CONCURRENCY": "4", "REDIS_URL": "redis://127.0.0.1:6379/0"})
    assert web_processes(shared) == 4 and web_processes(shared, 3) == 3
    assert load_settings(var).web_concurrency == 2
    with pytest.raises(SettingsError):
        load_settings({**var, "WEB_CONCURRENCY": "0"})


def test_a_served_process_freezes_its_start_up_heap_but_a_test_process_does_not(tmp_path: Path) -> None:
    gc.unfreeze()
    try:
        freeze_startup_heap(load_settings({"VAR_DIR": str(tmp_path), "RECURRA_ENV": "test"}))
        assert gc.get_freeze_count() == 0
        freeze_startup_heap(load_settings({"VAR_DIR": str(tmp_path)}))
        assert gc.get_freeze_count() > 1000  # the interpreter, the test session and every module loaded
    finally:
        gc.unfreeze()
