"""The machine a run measured: cores, memory, load, versions (for the table and RESULTS.md)."""

from __future__ import annotations

import os
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def describe() -> dict[str, Any]:
    text = Path("/proc/meminfo").read_text()
    meminfo = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    memory_gb = int(meminfo.get("MemTotal", "0 kB").split()[0]) / 1024 / 1024
    return {
        "cores": os.cpu_count(), "memory_gb": round(memory_gb, 1),
        "load_1m": round(os.getloadavg()[0], 2), "python": platform.python_version(),
        "textual": _version("textual"), "paho_mqtt": _version("paho-mqtt"),
    }


def line(info: dict[str, Any]) -> str:
    return (f"machine: {info['cores']} cores, {info['memory_gb']} GB, load {info['load_1m']} at "
            f"start; Python {info['python']}, textual {info['textual']}, "
            f"paho-mqtt {info['paho_mqtt']}")
