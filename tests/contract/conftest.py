"""A live emulator for the contract tests: in a thread of its own (schemathesis and the client
tests both drive it from outside the test's event loop), on free ports, one per module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hm_tui.emulator.config import EmulatorConfig
from hm_tui.emulator.server import EmulatorThread

# the CLI tests' fixtures (`run_cli` runs `hm-tui` in-process; `configured` points it at the
# test's emulator), for the contract tests of the CLI
from tests.cli.conftest import (  # noqa: F401
    _restore_logging,
    config_file,
    configured,
    run_cli,
)


@pytest.fixture(scope="module")
def live_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorThread]:
    """A started emulator: 20 cars + the sandbox VINs, speed 1, long-lived tokens, no MQTT
    publishing (nothing here listens)."""
    state_dir: Path = tmp_path_factory.mktemp("contract-emulator")
    thread = EmulatorThread(
        EmulatorConfig(
            state_dir=state_dir, fleet=20, speed=1.0, seed=7, token_ttl=3600, publish=False
        )
    )
    thread.start(timeout=60)
    yield thread
    thread.stop()


@pytest.fixture(scope="module")
def live_credentials(live_emulator: EmulatorThread) -> dict[str, Any]:
    return live_emulator.emulator.credentials


def login(credentials: dict[str, Any]) -> str:
    """A fresh access token from the emulator (the client secret form)."""
    r = httpx.post(
        credentials["base_url"] + "/access_tokens",
        json={
            "grant_type": "client_credentials",
            "client_id": credentials["client_id"],
            "client_secret": credentials["client_secret"],
        },
        timeout=10,
    )
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])
