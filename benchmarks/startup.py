"""Startup: `hm-tui --demo` in a pseudo-terminal, from process start to the first roster frame
with data, seen as VINs in what the app writes to the terminal.

It measures what an installed user starts: this checkout's hm_tui (put first on PYTHONPATH, so a
stale copy in site-packages is not what gets timed) with its bytecode compiled beforehand, as
`pip install` does, and the `hm-tui` script next to this interpreter, not a version manager's shim
in front of it (pyenv's costs ~0.1–0.2 s per start). PYTHONDONTWRITEBYTECODE is dropped from the
child's environment: with it, and no bytecode, every start would compile hm_tui (~0.15–0.2 s).

If the app honours HM_TUI_BENCH_FIRST_FRAME_FILE (it writes the epoch of its first frame with
data there, then its process's CPU time), that time is reported too, as a cross-check of the
terminal reading, and the CPU time: a figure less moved by other work on the cores.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.proc import percentile
from benchmarks.report import Row, SectionResult, Target, unavailable

ESCAPES = re.compile(
    rb"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI
    rb"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC
    rb"|\x1b[PX^_][^\x1b]*\x1b\\"  # DCS, SOS, PM, APC
    rb"|\x1b[@-Z\\-_]|\x1b[()][0-9A-Za-z]"
)
VIN = re.compile(rb"(?<![A-Za-z0-9])[A-HJ-NPR-Z0-9]{17}(?![A-Za-z0-9])")
VINS_NEEDED = 3  # distinct VINs on screen: the table, not a stray 17-character token
GAVE_UP = re.compile(r"Could not load the roster")
SIZE = (40, 120)  # rows, columns
HOOK_ENV = "HM_TUI_BENCH_FIRST_FRAME_FILE"
REPO = Path(__file__).resolve().parent.parent
START_BUDGET_S = 0.6  # docs/decisions.md#budgets (on the reference machine)
AS_INSTALLED = "bytecode compiled, console script without a shim"


def spawn(argv: list[str], env: dict[str, str]) -> tuple[int, int]:
    pid, fd = pty.fork()
    if pid == 0:  # the child: a terminal of a known size, then the app
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", SIZE[0], SIZE[1], 0, 0))
        os.execvpe(argv[0], argv, env)
    return pid, fd


@dataclass(slots=True)
class Screen:
    """What the terminal showed: when output began, when the VINs were there, the last text."""

    first_output: float | None = None
    vins_at: float | None = None
    text: str = ""

    def problem(self) -> str:
        """The app's own complaint, if it shows one, else the tail of the screen."""
        flat = " ".join(self.text.split())
        found = re.search(r"(Could not [^▌│]{0,150})", flat)
        return found.group(1).strip() if found else flat[-150:] or "no output"


def read_until_vins(fd: int, timeout: float) -> Screen:
    """Read the terminal until VINS_NEEDED distinct VINs have been written (or timeout)."""
    deadline = time.monotonic() + timeout
    screen, tail, seen = Screen(), b"", set()
    while time.monotonic() < deadline:
        if not select.select([fd], [], [], 0.05)[0]:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break  # the app exited
        now = time.monotonic()
        screen.first_output = screen.first_output or now
        text = ESCAPES.sub(b"\n", tail + chunk)
        screen.text = (screen.text + text.decode(errors="replace"))[-4000:]
        seen.update(VIN.findall(text))
        if len(seen) >= VINS_NEEDED:
            screen.vins_at = now
            break
        if GAVE_UP.search(screen.text):
            break
        tail = chunk[-64:]
    return screen


def stop(pid: int, fd: int) -> None:
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            _drain(fd)
            if os.waitpid(pid, os.WNOHANG)[0]:
                os.close(fd)
                return
    os.close(fd)


def _drain(fd: int) -> None:
    try:
        while select.select([fd], [], [], 0.02)[0]:
            os.read(fd, 65536)
    except OSError:
        pass


def console_script() -> str | None:
    """The `hm-tui` installed with this interpreter (what a venv or pipx user runs), else PATH's."""
    beside = Path(sys.executable).with_name("hm-tui")
    return str(beside) if beside.is_file() else shutil.which("hm-tui")


def compile_checkout() -> None:
    """Write this checkout's bytecode, as `pip install` does for an installed package."""
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(REPO / "hm_tui")],
        check=True,
        env={k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
    )


def installed_env(tmp: str) -> dict[str, str]:
    """The child's environment: this checkout first on the path, bytecode used (and kept)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    path = [str(REPO), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    return {
        **env,
        "PYTHONPATH": os.pathsep.join(path),
        "TERM": "xterm-256color",
        "COLORTERM": "truecolor",
        "HOME": env.get("HOME", tmp),
    }


def measure_once(binary: str, timeout: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="hm-bench-start-") as tmp:
        hook = Path(tmp) / "first-frame"
        env = {**installed_env(tmp), HOOK_ENV: str(hook)}
        started_wall, started = time.time(), time.monotonic()
        pid, fd = spawn([binary, "--demo"], env)
        screen = read_until_vins(fd, timeout)
        stop(pid, fd)
        stamp = hook.read_text().split() if hook.exists() else []
    return {
        "screen_s": None if screen.vins_at is None else screen.vins_at - started,
        "output_s": None if screen.first_output is None else screen.first_output - started,
        "hook_s": float(stamp[0]) - started_wall if stamp else None,
        "cpu_s": float(stamp[1]) if len(stamp) > 1 else None,
        "load_1m": os.getloadavg()[0],
        "problem": screen.problem(),
    }


def run_startup(runs: int, timeout: float = 10.0) -> SectionResult:
    result = SectionResult()
    binary = console_script()
    if binary is None:
        result.rows.append(unavailable("startup", "--demo → first frame", "hm-tui not on PATH"))
        return result
    compile_checkout()
    measured = [measure_once(binary, timeout) for _ in range(runs)]
    result.details["startup"] = measured
    screens = [m["screen_s"] for m in measured if m["screen_s"] is not None]
    if not screens:
        why = f"no VINs on the terminal in {timeout:.0f} s; it shows: {measured[-1]['problem']}"
        result.rows.append(unavailable("startup", "--demo → first frame", why))
        return result
    median = percentile(screens, 50)
    result.summary["startup_demo_s"] = median
    note = (
        f"median of {len(screens)} (all: {', '.join(f'{s:.2f}' for s in screens)}); {AS_INSTALLED}"
    )
    result.rows.append(
        Row("startup", "--demo → first frame with data", median, "s", Target(START_BUDGET_S), note)
    )
    outputs = [m["output_s"] for m in measured if m["output_s"] is not None]
    result.rows.append(
        Row(
            "startup",
            "--demo → first output (any frame)",
            percentile(outputs, 50),
            "s",
            None,
            "where the rest of the time goes: "
            "imports and app start before it, session and data after it",
        )
    )
    hooks = [m["hook_s"] for m in measured if m["hook_s"] is not None]
    if hooks:
        result.rows.append(
            Row(
                "startup",
                f"same, from the app's {HOOK_ENV}",
                percentile(hooks, 50),
                "s",
                Target(START_BUDGET_S),
            )
        )
    cpus = [m["cpu_s"] for m in measured if m["cpu_s"] is not None]
    if cpus:
        loads = ", ".join(f"{m['load_1m']:.1f}" for m in measured)
        result.rows.append(
            Row(
                "startup",
                "dashboard process CPU until that frame",
                percentile(cpus, 50),
                "s",
                None,
                f"all its threads, not the emulator's: moves less than wall time "
                f"when other work shares the cores (1-min load per run: {loads})",
            )
        )
    return result
