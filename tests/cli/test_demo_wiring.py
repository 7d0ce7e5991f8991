"""How `hm-tui --demo` sets itself up: its emulator (a child process where the platform can
fork, a thread elsewhere), with activity on, and a profile that logs in by client secret."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hm_tui.cli import dashboard
from hm_tui.emulator.process import EmulatorProcess
from hm_tui.service.platform import tls

TIMEOUT = 30.0


def test_the_demo_profile_logs_in_by_secret_so_no_jwt_import_is_needed() -> None:
    creds = {
        "environment": "sandbox",
        "base_url": "http://127.0.0.1:1/v1",
        "client_id": "c",
        "client_secret": "s",
        "private_key_id": "k",
        "private_key_file": "/nowhere.pem",
        "app_id": "A" * 24,
        "mqtt": None,
    }
    profile = dashboard.demo_profile(creds)
    assert not profile.uses_private_key and profile.client_secret == "s"


def check_started(demo: Any) -> None:
    try:
        creds = demo.credentials.result(TIMEOUT)
        assert creds["base_url"].startswith("http://127.0.0.1:")
        first = demo.now()
        assert (demo.now() - first).total_seconds() >= 0
    finally:
        demo.stop()


def test_the_demo_emulator_is_a_child_process_with_activity(tmp_path: Path) -> None:
    demo = dashboard.start_demo_emulator(tmp_path, fleet=3, speed=60.0)
    assert isinstance(demo, EmulatorProcess) and demo.config.activity
    check_started(demo)


def test_without_fork_the_demo_emulator_runs_in_a_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delattr(os, "fork")
    demo = dashboard.start_demo_emulator(tmp_path, fleet=3, speed=60.0)
    assert isinstance(demo, dashboard.DemoEmulator)
    check_started(demo)


def test_start_up_rests_the_collector_and_turns_it_back_on_however_the_app_ends() -> None:
    with pytest.raises(RuntimeError), dashboard.fast_start():
        assert not gc.isenabled()
        assert tls.verified_context() is tls.verified_context()  # built once, shared
        raise RuntimeError("the app could not start")
    assert gc.isenabled()


def test_the_dashboard_leaves_out_the_http_library_command_line_client() -> None:
    code = (
        "import sys; from hm_tui.cli import dashboard; dashboard.leave_out_unused_imports(); "
        "import httpx; assert httpx.AsyncClient; "
        "print(sorted(m for m in ('click', 'pygments', 'httpx._main') if sys.modules.get(m)))"
    )
    shown = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=TIMEOUT, check=True
    )
    assert shown.stdout.strip() == "[]"
