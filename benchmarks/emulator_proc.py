"""The emulator in its own process (`hm-tui emulator`), so its CPU and memory are not the app's."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.proc import last_error


class EmulatorProcess:
    """`start()` returns the credentials once the emulator serves; `stop()` ends it."""

    def __init__(self, state_dir: Path, fleet: int, *, speed: float = 60.0, seed: int = 1) -> None:
        self.state_dir, self.fleet, self.speed, self.seed = state_dir, fleet, speed, seed
        self._process: subprocess.Popen[bytes] | None = None
        self.started_in = 0.0

    def command(self) -> list[str]:
        binary = shutil.which("hm-tui")
        base = [binary] if binary else [sys.executable, "-m", "hm_tui"]
        return [*base, "emulator", "--state-dir", str(self.state_dir), "--fleet",
                str(self.fleet), "--speed", str(self.speed), "--seed", str(self.seed)]

    def start(self, timeout: float = 120.0) -> dict[str, Any]:
        creds = self.state_dir / "credentials.json"
        self.state_dir.mkdir(parents=True, exist_ok=True)
        creds.unlink(missing_ok=True)
        began = time.monotonic()
        self._process = subprocess.Popen(self.command(), stdout=subprocess.DEVNULL,
                                         stderr=subprocess.PIPE)
        while not creds.exists():
            if self._process.poll() is not None:
                err = self._process.stderr.read().decode(errors="replace") if \
                    self._process.stderr else ""
                raise RuntimeError(f"emulator exited {self._process.returncode}: "
                                   f"{last_error(err)}")
            if time.monotonic() - began > timeout:
                self.stop()
                raise RuntimeError(f"emulator with {self.fleet:,} cars not ready in {timeout} s")
            time.sleep(0.05)
        time.sleep(0.05)  # written atomically? give the writer a moment either way
        self.started_in = time.monotonic() - began
        return dict(json.loads(creds.read_text()))

    @property
    def control_url(self) -> str:
        creds = json.loads((self.state_dir / "credentials.json").read_text())
        return str(creds["base_url"]).rsplit("/v1", 1)[0] + "/_emulator"

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
