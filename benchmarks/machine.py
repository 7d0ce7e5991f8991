"""The machine a run measured: cores, memory, load, versions (for the table and RESULTS.md)."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


#: measured on the machine the budgets were set on (docs/decisions.md#budgets): `import textual.app`
REFERENCE_IMPORT_MS = 235.0


def textual_import_ms(runs: int = 3) -> float | None:
    """How long this machine takes to `import textual.app` in a fresh interpreter (median of
    `runs`, CPython's own -X importtime figure): a yardstick of single-core speed, to compare
    runs across machines with the reference machine."""
    found: list[float] = []
    for _ in range(runs):
        try:
            done = subprocess.run(
                [sys.executable, "-X", "importtime", "-c", "import textual.app"],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        for row in done.stderr.splitlines():
            parts = row.split("|")
            if len(parts) == 3 and parts[2].strip() == "textual.app":
                found.append(int(parts[1]) / 1000)
    return round(statistics.median(found), 1) if found else None


def describe(probe_runs: int = 3) -> dict[str, Any]:
    text = Path("/proc/meminfo").read_text()
    meminfo = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    memory_gb = int(meminfo.get("MemTotal", "0 kB").split()[0]) / 1024 / 1024
    load = round(os.getloadavg()[0], 2)  # before the probe below adds to it
    imported = textual_import_ms(probe_runs)
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(memory_gb, 1),
        "load_1m": load,
        "python": platform.python_version(),
        "textual": _version("textual"),
        "paho_mqtt": _version("paho-mqtt"),
        "textual_import_ms": imported,
        "slower_than_reference": round(imported / REFERENCE_IMPORT_MS, 2) if imported else None,
    }


def line(info: dict[str, Any]) -> str:
    speed = ""
    if info.get("textual_import_ms"):
        speed = (
            f"; import textual.app {info['textual_import_ms']:.0f} ms "
            f"({info['slower_than_reference']:.2f}x the reference machine)"
        )
    return (
        f"machine: {info['cores']} cores, {info['memory_gb']} GB, load {info['load_1m']} at "
        f"start; Python {info['python']}, textual {info['textual']}, "
        f"paho-mqtt {info['paho_mqtt']}{speed}"
    )
