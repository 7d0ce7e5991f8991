"""The emulator in its own process (benchmarks.emulator_host), so its CPU and memory are not
the app's; `control.json` in the state dir names the port of its bulk /force endpoint."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.emulator_host import CONTROL_FILE
from benchmarks.proc import REPO, last_error


class EmulatorProcess:
    """`start()` returns the credentials once the emulator serves; `stop()` ends it."""

    def __init__(self, state_dir: Path, fleet: int, *, speed: float = 60.0, seed: int = 1) -> None:
        self.state_dir, self.fleet, self.speed, self.seed = state_dir, fleet, speed, seed
        self._process: subprocess.Popen[bytes] | None = None
        self.started_in = 0.0

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "benchmarks.emulator_host",
            "--state-dir",
            str(self.state_dir),
            "--fleet",
            str(self.fleet),
            "--speed",
            str(self.speed),
            "--seed",
            str(self.seed),
        ]

    def start(self, timeout: float = 120.0) -> dict[str, Any]:
        creds = self.state_dir / CONTROL_FILE  # written last, once everything serves
        self.state_dir.mkdir(parents=True, exist_ok=True)
        creds.unlink(missing_ok=True)
        began = time.monotonic()
        self._process = subprocess.Popen(
            self.command(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=REPO
        )
        while not creds.exists():
            if self._process.poll() is not None:
                err = (
                    self._process.stderr.read().decode(errors="replace")
                    if self._process.stderr
                    else ""
                )
                raise RuntimeError(f"emulator exited {self._process.returncode}: {last_error(err)}")
            if time.monotonic() - began > timeout:
                self.stop()
                raise RuntimeError(f"emulator with {self.fleet:,} cars not ready in {timeout} s")
            time.sleep(0.05)
        self.started_in = time.monotonic() - began
        return dict(json.loads((self.state_dir / "credentials.json").read_text()))

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
