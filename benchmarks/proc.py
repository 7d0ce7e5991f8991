"""Small process and number helpers shared by the benchmark sections."""

from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


class ChildFailed(Exception):
    """A benchmark child process failed; the message is the reason shown in the table."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mb(pid: int | None = None) -> float:
    """Current resident memory of a process (this one by default), in MB."""
    status = Path(f"/proc/{pid or os.getpid()}/status").read_text()
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB: the kernel's high-water mark of this
    program's memory (`VmHWM`), not `getrusage`'s `ru_maxrss`, which Linux carries over an exec
    from the process that forked it (a child of a 600 MB parent reported 600 MB)."""
    status = Path(f"/proc/{os.getpid()}/status").read_text()
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def emit(result: dict[str, Any]) -> None:
    """A child's answer: one JSON object as its last stdout line."""
    sys.stdout.write("\n" + json.dumps(result) + "\n")
    sys.stdout.flush()


def run_child(module: str, args: Sequence[str], timeout: float) -> dict[str, Any]:
    """Run `python -m benchmarks.<module> args` and return the JSON of its last stdout line."""
    cmd = [sys.executable, "-m", f"benchmarks.{module}", *args]
    try:
        done = subprocess.run(
            cmd,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    except subprocess.TimeoutExpired as exc:
        raise ChildFailed(f"{module} took longer than {timeout:.0f} s") from exc
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if done.returncode == 0 and lines:
        try:
            return dict(json.loads(lines[-1]))
        except ValueError:
            pass
    raise ChildFailed(f"{module} exited {done.returncode}: {last_error(done.stderr)}")


def last_error(stderr: str) -> str:
    """The line of a traceback that says what went wrong (its last non-empty line)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"
