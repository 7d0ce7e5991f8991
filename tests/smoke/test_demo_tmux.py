"""The real `hm-tui --demo` in a real terminal (tmux): it shows the roster, quits, and leaves
nothing behind, also when the terminal goes away (SIGHUP)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

VIN_ROW = re.compile(r"\b[0-9A-HJ-NPR-Z]{17}\b.*\b(pending|approved|rejected|revoked|revoking|"
                     r"canceled|canceling)\b")


def wait_until(cond: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll `cond` until truthy (no fixed sleeps); fail naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


class Tmux:
    """A private tmux server (its own socket) running one command in an 80x24 window."""

    def __init__(self, socket: str) -> None:
        self.socket = socket

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True,
                              text=True, timeout=10, check=False)

    def start(self, command: str, env: dict[str, str]) -> None:
        exports = " ".join(f"{k}={v}" for k, v in env.items())
        result = self.run("new-session", "-d", "-s", "smoke", "-x", "80", "-y", "24",
                          f"env {exports} {command}")
        assert result.returncode == 0, result.stderr

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "smoke").stdout

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", "smoke", *keys)

    def kill_server(self) -> None:
        self.run("kill-server")


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    assert shutil.which("tmux"), "tmux is required for the smoke test (apt-get install tmux)"
    server = Tmux(f"hm-tui-smoke-{os.getpid()}-{tmp_path.name}")
    yield server
    server.kill_server()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def start_demo(tmux: Tmux, tmp_path: Path) -> int:
    """Start `hm-tui --demo` via exec (so the pane's pid is the app's) and return that pid."""
    pidfile = tmp_path / "pid"
    hm_tui = Path(sys.executable).with_name("hm-tui")
    command = f"sh -c 'echo $$ > {pidfile}; exec {hm_tui} --demo --fleet 60'"
    tmux.start(command, {"TMPDIR": str(tmp_path), "TERM": "xterm-256color",
                         "HM_TUI_CONFIG": str(tmp_path / "none.toml")})
    wait_until(lambda: pidfile.exists() and pidfile.read_text().strip(), 5, "the pid file")
    return int(pidfile.read_text())


def demo_dirs(tmp_path: Path) -> list[Path]:
    return list(tmp_path.glob("hm-tui-demo-*"))


def test_demo_shows_the_roster_at_80x24_and_q_quits_leaving_no_process(
        tmux: Tmux, tmp_path: Path) -> None:
    pid = start_demo(tmux, tmp_path)
    screen = wait_until(lambda: VIN_ROW.search(tmux.screen()) and tmux.screen(), 15,
                        "a roster row on screen")
    assert "all" in screen and "API" in screen
    assert demo_dirs(tmp_path), "the demo's temporary state dir exists while it runs"
    # typed as one burst, as a fast typist or a paste does: every letter reaches the filter
    tmux.keys("/rejected", "Enter")
    wait_until(lambda: "showing" in tmux.screen() and "/ rejected" in tmux.screen(), 10,
               "the roster filtered by the whole query")
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
