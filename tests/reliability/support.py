"""Shared pieces of the reliability suite: the emulator's control endpoints, clients tuned for
fault runs, VIN batches, and running the real `hm-tui` binary with an isolated config."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from hm_tui.domain.vin import with_check_digit
from hm_tui.emulator.server import Emulator
from hm_tui.service.config.profiles import Config, Profile, profile_from_credentials
from hm_tui.service.platform.auth import TokenManager
from hm_tui.service.platform.client import PlatformClient
from hm_tui.service.platform.retry import RetryPolicy, TokenBucket
from hm_tui.service.platform.transport import new_http_client

#: Enough tries to outlast 30 % injected errors and a 1 s refused window, with short waits.
FAULT_RETRY = RetryPolicy(attempts=30, base=0.05, cap=0.3, max_retry_after=0.2)
HM_TUI = [sys.executable, "-c", "import sys; from hm_tui.cli.main import main; sys.exit(main())"]
SECRET_ENV = (
    "HM_TUI_PROFILE",
    "HM_TUI_CLIENT_SECRET",
    "HM_TUI_PRIVATE_KEY_FILE",
    "HM_TUI_PRIVATE_KEY_ID",
    "HM_TUI_WEBHOOK_SECRET",
    "HM_TUI_CLIENT_ID",
)


def vins(count: int, wmi: str = "WBA", start: int = 0) -> list[str]:
    """`count` distinct VINs with a correct check digit."""
    return [with_check_digit(f"{wmi}{start + i:014d}") for i in range(count)]


def emulator_profile(
    emulator: Emulator, name: str = "emu", *, mqtt: bool = False, private_key: bool = False
) -> Profile:
    profile = profile_from_credentials(emulator.credentials, name)
    changes: dict[str, Any] = {} if mqtt else {"mqtt": None}
    if private_key:
        changes["client_secret"] = None
    else:
        changes.update(private_key_file=None, private_key_id=None)
    return replace(profile, **changes)


@asynccontextmanager
async def fault_tolerant_client(profile: Profile) -> AsyncIterator[PlatformClient]:
    """A PlatformClient whose retries and token renewals outlast the injected faults quickly."""
    http = new_http_client(max_connections=16)
    tokens = TokenManager(http, profile, retry=FAULT_RETRY)
    client = PlatformClient(
        profile,
        token_manager=tokens,
        http=http,
        retry=FAULT_RETRY,
        get_one_limit=TokenBucket(rate=40, capacity=40),
    )
    try:
        yield client
    finally:
        await client.aclose()
        await http.aclose()


def write_config(path: Path, profile: Profile) -> Path:
    """A config file (0600) whose default profile is `profile`."""
    Config(path).with_profile(profile, make_default=True).save()
    return path


def cli_env(config: Path, data_home: Path, **extra: str) -> dict[str, str]:
    """Environment for a `hm-tui` subprocess: its own config and data dir, no secrets inherited."""
    env = {k: v for k, v in os.environ.items() if k not in SECRET_ENV}
    env.update(
        HM_TUI_CONFIG=str(config), XDG_DATA_HOME=str(data_home), PYTHONUNBUFFERED="1", **extra
    )
    return env


class EmulatorProcess:
    """`hm-tui emulator` in its own process: the platform then shares no event loop and no GIL
    with the app under test, so what the app's loop measures is the app's own doing."""

    def __init__(self, state_dir: Path, fleet: int) -> None:
        self.state_dir = state_dir
        self.log = state_dir.parent / "emulator.log"
        with self.log.open("wb") as log:
            self._process = subprocess.Popen(
                [
                    *HM_TUI,
                    "emulator",
                    "--state-dir",
                    str(state_dir),
                    "--fleet",
                    str(fleet),
                    "--speed",
                    "1",
                    "--seed",
                    "7",
                    "--port",
                    "0",
                    "--mqtt-port",
                    "0",
                ],
                env=cli_env(state_dir / "none.toml", state_dir / "data"),
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        self.credentials: dict[str, Any] = {}

    async def started(self, timeout: float = 20) -> dict[str, Any]:
        from helpers import wait_for

        path = self.state_dir / "credentials.json"
        await wait_for(
            lambda: path.exists() or self._process.poll() is not None,
            timeout,
            message="the emulator process to start",
        )
        assert self._process.poll() is None, self.log.read_text()
        self.credentials = json.loads(path.read_text())
        return self.credentials

    @property
    def url(self) -> str:
        return str(self.credentials["base_url"]).removesuffix("/v1")

    def stop(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=5)


class StallProbe:
    """A task that wakes every 10 ms and keeps the longest delay past its due time.

    `worst` is the part of a delay this process spent computing (process CPU time over the same
    gap), so another program hogging a shared 2-core machine is not blamed on the app;
    `worst_wall` is the raw delay, reported for information.
    """

    def __init__(self, tick: float = 0.01) -> None:
        self.tick = tick
        self.worst = self.worst_wall = 0.0
        self.phase = self.worst_phase = ""
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        last, last_cpu = time.perf_counter(), time.process_time()
        while True:
            await asyncio.sleep(self.tick)
            now, cpu = time.perf_counter(), time.process_time()
            late = now - last - self.tick
            ours = min(late, cpu - last_cpu)
            self.worst_wall = max(self.worst_wall, late)
            if ours > self.worst:
                self.worst, self.worst_phase = ours, self.phase
            last, last_cpu = now, cpu

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def describe(self) -> str:
        return (
            f"{self.worst * 1000:.0f} ms of our own work ({self.worst_phase or '-'}), "
            f"{self.worst_wall * 1000:.0f} ms wall"
        )
