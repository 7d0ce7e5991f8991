"""^C mid-way through a command that sends to the platform: the real binary, interrupted once
the platform has applied part of what it sends (the emulator slowed so that moment lasts)."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

from helpers import wait_for

from tests.service.platform_helpers import Control


async def interrupted_midway(
    argv: list[str], env: dict[str, str], control: Control, method: str, total: int, err: Path
) -> tuple[int, str]:
    """Run `argv`, send SIGINT once some but not all of its `total` `method` calls were applied;
    its exit code and what it said on stderr."""
    with err.open("wb") as stderr:
        process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
    try:

        async def some_applied() -> bool:
            return 0 < len(await control.applied(method)) < total

        await wait_for(some_applied, 60, 0.02, f"part of the {method}s applied on the platform")
        process.send_signal(signal.SIGINT)
        await wait_for(lambda: process.poll() is not None, 30, message="the command to end")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    return process.returncode, err.read_text()
