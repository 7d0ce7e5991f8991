"""The real `hm-tui --demo` keeps changing on its own (the emulator's colleagues at work), writes
the start-up benchmark's first-frame stamp, and its emulator process goes when it quits."""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import wait_until
from test_demo_tmux import alive
from tmux_helpers import Tmux, tmux_server

TOTAL = re.compile(r"\b0 all (\d[\d,]*)")


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    yield from tmux_server(tmp_path, "alive")


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def test_the_demo_changes_without_a_keypress_and_leaves_no_process(
    tmux: Tmux, tmp_path: Path
) -> None:
    pidfile, stamp = tmp_path / "pid", tmp_path / "first-frame"
    hm_tui = Path(sys.executable).with_name("hm-tui")
    started = time.time()
    pid = tmux.start(
        [str(hm_tui), "--demo", "--fleet", "60"],
        {
            "TMPDIR": str(tmp_path),
            "TERM": "xterm-256color",
            "HM_TUI_CONFIG": str(tmp_path / "none.toml"),
            "HM_TUI_BENCH_FIRST_FRAME_FILE": str(stamp),
        },
        pidfile,
    )
    first = wait_until(lambda: TOTAL.search(tmux.screen()), 20, "the roster's total")
    wait_until(stamp.exists, 5, "the first-frame stamp")
    assert started < float(stamp.read_text().split()[0]) < time.time()
    emulator = wait_until(lambda: children_of(pid), 5, "the demo's emulator process")
    wait_until(
        lambda: (m := TOTAL.search(tmux.screen())) and m.group(1) != first.group(1),
        30,
        "the roster to change by itself (VINs added by the emulator's activity)",
    )
    tmux.keys("q")
    wait_until(lambda: not alive(pid), 10, "hm-tui to exit after q")
    wait_until(
        lambda: not any(os.path.exists(f"/proc/{c}") for c in emulator),
        10,
        "the emulator process to exit with the demo",
    )
