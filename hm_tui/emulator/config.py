"""`EmulatorConfig`: how to run the emulator. Apart from the server so that a caller can build
one without importing aiohttp (the demo forks its emulator before any heavy import)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(slots=True)
class EmulatorConfig:
    """How to run the emulator; `port`/`mqtt_port` 0 pick free ports."""

    host: str = "127.0.0.1"
    port: int = 0
    mqtt_port: int = 0
    state_dir: Path | None = None
    fleet: int = 300
    speed: float = 60.0
    token_ttl: int = 300
    seed: int = 1
    mqtt_format: str = "v1"
    broker_url: str | None = None
    webhook_url: str | None = None
    environment: str = "sandbox"
    publish: bool = True
    #: colleagues at work: VINs added, clearances revoked, every few real seconds (the demo)
    activity: bool = False
