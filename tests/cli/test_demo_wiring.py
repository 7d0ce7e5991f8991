"""How `hm-tui --demo` sets itself up: its emulator (a child process where the platform can
fork, a thread elsewhere), with activity on, and a profile that logs in by client secret."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from hm_tui.cli import dashboard
from hm_tui.emulator.process import EmulatorProcess

TIMEOUT = 30.0


def test_the_demo_profile_logs_in_by_secret_so_no_jwt_import_is_needed() -> None:
    creds = {"environment": "sandbox", "base_url": "http://127.0.0.1:1/v1", "client_id": "c",
             "client_secret": "s", "private_key_id": "k", "private_key_file": "/nowhere.pem",
             "app_id": "A" * 24, "mqtt": None}
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


def test_without_fork_the_demo_emulator_runs_in_a_thread(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "fork")
    demo = dashboard.start_demo_emulator(tmp_path, fleet=3, speed=60.0)
    assert isinstance(demo, dashboard.DemoEmulator)
    check_started(demo)
