"""CLI tests: `hm-tui` run in-process (main([...])) against the running emulator.

The command runs its own event loop, so it runs in a worker thread while the emulator keeps
serving in the test's loop; stdout and stderr are captured by pytest's capsys.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hm_tui.cli.main import main
from hm_tui.service.config.profiles import Config, profile_from_credentials


@dataclass
class Result:
    code: int
    out: str
    err: str


RunCli = Callable[..., Awaitable[Result]]


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """`-v` attaches a stderr handler to the `hm_tui` logger: drop it after each test."""
    logger = logging.getLogger("hm_tui")
    handlers, level = list(logger.handlers), logger.level
    yield
    logger.handlers[:] = handlers
    logger.setLevel(level)


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty config location (HM_TUI_CONFIG), a private data dir, no secrets from the env."""
    path = tmp_path / "config" / "config.toml"
    monkeypatch.setenv("HM_TUI_CONFIG", str(path))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # the journal's store
    for var in (
        "HM_TUI_PROFILE",
        "HM_TUI_CLIENT_SECRET",
        "HM_TUI_PRIVATE_KEY_FILE",
        "HM_TUI_PRIVATE_KEY_ID",
        "HM_TUI_WEBHOOK_SECRET",
        "HM_TUI_CLIENT_ID",
    ):
        monkeypatch.delenv(var, raising=False)
    return path


@pytest.fixture
def configured(emulator, config_file: Path) -> Path:
    """A config whose default profile `emu` logs in to the running emulator."""
    profile = profile_from_credentials(emulator.credentials, "emu")
    Config(config_file).with_profile(profile).save()
    return config_file


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> RunCli:
    async def run(*argv: str) -> Result:
        capsys.readouterr()
        code = await asyncio.to_thread(main, list(argv))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run
