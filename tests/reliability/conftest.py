"""Fixtures of the reliability suite, and its figures printed at the end of the run."""

from __future__ import annotations

import pytest

from reliability.figures import FIGURES, Figures


@pytest.fixture
def figures() -> Figures:
    return FIGURES


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not (FIGURES.faults or FIGURES.inputs or FIGURES.messages_published):
        return
    terminalreporter.section("reliability figures")
    for line in FIGURES.lines():
        terminalreporter.write_line(line)
