"""Fixtures shared by every test: a real emulator on loopback, in the test's own loop."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hm_tui.emulator.broker import EmbeddedBroker
from hm_tui.emulator.certs import ensure_certs
from hm_tui.emulator.server import Emulator, EmulatorConfig
from hm_tui.service.redact import known_secrets, remember_only

SYSTEM_PACKAGES = Path(__file__).resolve().parent.parent / "scripts" / "system-packages"


def pytest_sessionstart(session: pytest.Session) -> None:
    """Install the system programs the tests run (mosquitto, tmux, prometheus, ...) if missing.

    The README's test line is `pip install '.[test]' && pytest`; this makes it work as typed on a
    fresh Debian/Ubuntu machine. Nothing is installed when everything is present.
    """
    os.environ["PATH"] = f"{os.environ.get('PATH', '')}:/usr/sbin:/usr/local/sbin"
    if sys.platform != "linux" or not SYSTEM_PACKAGES.exists():
        return
    done = subprocess.run([str(SYSTEM_PACKAGES)], stdin=subprocess.DEVNULL, check=False)
    if done.returncode != 0:
        pytest.exit(
            f"the tests need system packages that could not be installed: run "
            f"{SYSTEM_PACKAGES} yourself (it uses sudo when you are not root), then pytest again",
            returncode=3,
        )


EmulatorFactory = Callable[..., Awaitable[Emulator]]

#: Small and slow by default: tests drive time with POST /_emulator/clock or emu.clock.advance().
TEST_DEFAULTS: dict[str, Any] = {"fleet": 30, "speed": 1.0, "seed": 7, "token_ttl": 300}


@pytest.fixture(autouse=True)
def _secrets_registry() -> Iterator[None]:
    """Each test finds the secrets registry as the one before it found it: the suite's hundreds
    of emulators would otherwise leave hundreds of client secrets registered, and redaction
    (which looks for every form of every secret) would cost far more than in the app."""
    known = known_secrets()
    yield
    remember_only(known)


@pytest.fixture(autouse=True, scope="session")
def _feed_sessions_dir() -> Iterator[Path]:
    """Where the feeds of this test run keep their MQTT sessions' locks and sockets
    (docs/feed-sessions.md): a private directory of the run's own, inherited by the hm-tui
    processes the tests start, so that no test meets another run's files. Short: it holds
    Unix sockets, whose paths may not exceed 107 bytes."""
    path = Path(tempfile.mkdtemp(prefix="hm-feeds-", dir="/tmp"))
    os.environ["HM_TUI_RUNTIME_DIR"] = str(path)
    yield path
    os.environ.pop("HM_TUI_RUNTIME_DIR", None)
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
async def emulator_factory(tmp_path: Path) -> AsyncIterator[EmulatorFactory]:
    """`await emulator_factory(**config)`: a started Emulator; every one is stopped afterwards.

    Keyword arguments are EmulatorConfig fields; `state_dir` defaults to a fresh temp dir.
    """
    started: list[Emulator] = []

    async def factory(**overrides: Any) -> Emulator:
        state_dir = overrides.pop("state_dir", None) or tmp_path / f"emulator-{len(started)}"
        config = EmulatorConfig(**{**TEST_DEFAULTS, "state_dir": Path(state_dir), **overrides})
        emu = Emulator(config)
        started.append(emu)
        await emu.start()
        return emu

    yield factory
    for emu in reversed(started):
        await emu.stop()


@pytest.fixture
async def emulator(emulator_factory: EmulatorFactory) -> Emulator:
    """A started emulator with a small fleet (30 cars + the 3 virtual VINs), speed 1."""
    return await emulator_factory()


@pytest.fixture
def credentials(emulator: Emulator) -> dict[str, Any]:
    """The started emulator's credentials.json (docs/architecture.md#emulator-state-directory)."""
    return emulator.credentials


@pytest.fixture
async def embedded_broker(tmp_path: Path) -> AsyncIterator[EmbeddedBroker]:
    """The emulator's embedded MQTT broker on its own, on loopback with mutual TLS."""
    broker = EmbeddedBroker("127.0.0.1", 0, ensure_certs(tmp_path))
    await broker.start()
    yield broker
    await broker.stop()
