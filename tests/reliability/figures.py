"""The suite's figures: faults survived, bad inputs tried, messages lost (printed at the end)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Figures:
    """Counters the tests add to; `conftest.pytest_terminal_summary` prints them."""

    faults: Counter[str] = field(default_factory=Counter)
    inputs: Counter[str] = field(default_factory=Counter)
    messages_published: int = 0
    messages_lost: int = 0
    duplicates_dropped: int = 0
    stalls: dict[str, str] = field(default_factory=dict)
    peaks: dict[str, str] = field(default_factory=dict)  # peak memory of a run, by what ran

    def fault(self, kind: str, count: int = 1) -> None:
        self.faults[kind] += count

    def tried(self, kind: str, count: int = 1) -> None:
        self.inputs[kind] += count

    def delivery(self, published: int, lost: int, duplicates: int) -> None:
        self.messages_published += published
        self.messages_lost += lost
        self.duplicates_dropped += duplicates

    def stall(self, where: str, probe: Any) -> None:
        self.stalls[where] = probe.describe()

    def peak(self, what: str, megabytes: float) -> None:
        self.peaks[what] = f"{megabytes:.0f} MB"

    def lines(self) -> list[str]:
        lines = [
            f"faults survived: {sum(self.faults.values())} ({_listing(self.faults)})",
            f"inputs tried: {sum(self.inputs.values())} ({_listing(self.inputs)})",
            f"messages lost: {self.messages_lost} of {self.messages_published} published "
            f"(duplicates dropped: {self.duplicates_dropped})",
        ]
        lines += [
            f"longest event-loop stall, {where}: {text}" for where, text in self.stalls.items()
        ]
        lines += [f"peak memory, {what}: {text}" for what, text in self.peaks.items()]
        hostile = sum(n for kind, n in self.inputs.items() if kind.startswith("hostile"))
        if hostile:  # (each of those tests fails on any of these: the zeros are asserted)
            lines.append(
                f"hostile inputs: {hostile} tried; 0 tracebacks, 0 hangs, 0 secrets shown, "
                "0 control bytes reaching a terminal or the clipboard"
            )
        return lines


def _listing(counts: Counter[str]) -> str:
    return ", ".join(f"{kind} {n}" for kind, n in sorted(counts.items())) or "none"


FIGURES = Figures()
