"""Fixtures of the reliability suite, and its figures printed at the end of the run."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from reliability.fake_platform import FakePlatform
from reliability.figures import FIGURES, Figures
from reliability.support import write_config


@pytest.fixture
def figures() -> Figures:
    return FIGURES


@pytest.fixture
async def hostile() -> AsyncIterator[FakePlatform]:
    """A `FakePlatform` on loopback, answering what the test sets."""
    platform = FakePlatform()
    await platform.start()
    yield platform
    await platform.stop()


@pytest.fixture
def hostile_cli(
    hostile: FakePlatform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """The CLI's config and data in `tmp_path`, its profile pointing at `hostile`."""
    monkeypatch.setenv("HM_TUI_CONFIG", str(write_config(tmp_path / "c.toml", hostile.profile())))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    logger = logging.getLogger("hm_tui")
    handlers, level = list(logger.handlers), logger.level
    yield tmp_path
    logger.handlers[:] = handlers  # `-v` attaches a handler on the (captured) stderr
    logger.setLevel(level)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not (FIGURES.faults or FIGURES.inputs or FIGURES.messages_published):
        return
    terminalreporter.section("reliability figures")
    for line in FIGURES.lines():
        terminalreporter.write_line(line)
