"""The real `hm-tui --demo` in a real terminal (tmux): it shows the roster, quits, and leaves
nothing behind, also when the terminal goes away (SIGHUP)."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import wait_until
from tmux_helpers import Tmux, tmux_server

VIN_ROW = re.compile(
    r"\b[0-9A-HJ-NPR-Z]{17}\b.*\b(pending|approved|rejected|revoked|revoking|"
    r"canceled|canceling)\b"
)


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    yield from tmux_server(tmp_path, "smoke")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def start_demo(tmux: Tmux, tmp_path: Path) -> int:
    """Start `hm-tui --demo` (exec'd, so the pane's pid is the app's) and return that pid."""
    hm_tui = str(Path(sys.executable).with_name("hm-tui"))
    return tmux.start(
        [hm_tui, "--demo", "--fleet", "60"],
        {
            "TMPDIR": str(tmp_path),
            "TERM": "xterm-256color",
            "HM_TUI_CONFIG": str(tmp_path / "none.toml"),
        },
        tmp_path / "pid",
    )


def demo_dirs(tmp_path: Path) -> list[Path]:
    return list(tmp_path.glob("hm-tui-demo-*"))


def test_demo_shows_the_roster_at_80x24_and_q_quits_leaving_no_process(
    tmux: Tmux, tmp_path: Path
) -> None:
    pid = start_demo(tmux, tmp_path)
    screen = wait_until(
        lambda: VIN_ROW.search(tmux.screen()) and tmux.screen(), 15, "a roster row on screen"
    )
    assert "all" in screen and "API" in screen
    assert demo_dirs(tmp_path), "the demo's temporary state dir exists while it runs"
    # typed as one burst, as a fast typist or a paste does: every letter reaches the filter
    tmux.keys("/rejected", "Enter")
    wait_until(
        lambda: "showing" in tmux.screen() and "/ rejected" in tmux.screen(),
        10,
        "the roster filtered by the whole query",
    )
    assert "Copied" not in tmux.screen()
    tmux.keys("q")
    wait_until(lambda: not alive(pid), 10, "hm-tui to exit after q")
    wait_until(lambda: not demo_dirs(tmp_path), 5, "the demo state dir to be removed")


def test_demo_exits_cleanly_when_the_terminal_goes_away(tmux: Tmux, tmp_path: Path) -> None:
    pid = start_demo(tmux, tmp_path)
    wait_until(lambda: VIN_ROW.search(tmux.screen()), 15, "a roster row on screen")
    tmux.kill_server()  # the pty closes: the app gets SIGHUP, like an SSH drop
    wait_until(lambda: not alive(pid), 10, "hm-tui to exit after SIGHUP")
    wait_until(lambda: not demo_dirs(tmp_path), 5, "the demo state dir to be removed (clean exit)")


def test_a_vin_typed_in_one_burst_after_a_lands_in_the_add_dialog(
    tmux: Tmux, tmp_path: Path
) -> None:
    """`a` and a VIN sent at once (a paste, a fast typist over SSH): the VIN's `A` (the roster's
    add again) must not act on the roster, every character lands in the dialog's VIN field."""
    pid = start_demo(tmux, tmp_path)
    wait_until(lambda: VIN_ROW.search(tmux.screen()), 15, "a roster row on screen")
    tmux.keys("aWBA12345678901234")
    wait_until(
        lambda: "VIN           WBA12345678901234" in tmux.screen(),
        10,
        "the whole VIN in the add dialog",
    )
    assert "Add again" not in tmux.screen()
    tmux.keys("Escape")
    wait_until(lambda: VIN_ROW.search(tmux.screen()), 10, "the roster again")
    tmux.keys("q")
    wait_until(lambda: not alive(pid), 10, "hm-tui to exit after q")
