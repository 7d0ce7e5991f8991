"""A private tmux server for tests that run the real binary in a real terminal (80x24)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from helpers import wait_until

SESSION = "app"


class Tmux:
    """One tmux server on its own socket, running one command in an 80x24 window."""

    def __init__(self, socket: str) -> None:
        self.socket = socket

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["tmux", "-L", self.socket, *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )

    def start(self, argv: list[str], env: dict[str, str], pidfile: Path) -> int:
        """Run `argv` with `env` added, exec'd so the pane's pid is the program's; return it."""
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        script = f"echo $$ > {shlex.quote(str(pidfile))}; exec env {exports} {shlex.join(argv)}"
        result = self.run(
            "new-session",
            "-d",
            "-s",
            SESSION,
            "-x",
            "80",
            "-y",
            "24",
            f"sh -c {shlex.quote(script)}",
        )
        assert result.returncode == 0, result.stderr
        wait_until(lambda: pidfile.exists() and pidfile.read_text().strip(), 5, "the pid file")
        return int(pidfile.read_text())

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", SESSION).stdout

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", SESSION, *keys)

    def kill_server(self) -> None:
        self.run("kill-server")


def tmux_server(tmp_path: Path, name: str) -> Iterator[Tmux]:
    """Body of a `tmux` fixture: a fresh server, killed afterwards."""
    assert shutil.which("tmux"), "tmux is required (apt-get install tmux)"
    server = Tmux(f"hm-tui-{name}-{os.getpid()}-{tmp_path.name}")
    yield server
    server.kill_server()
