"""Helpers for service tests against the running emulator: a client for a profile made from the
emulator's credentials, and the emulator's control endpoints (stats, faults, clock)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx

from hm_tui.emulator.server import Emulator
from hm_tui.service.config.profiles import Profile, profile_from_credentials
from hm_tui.service.platform.retry import RetryPolicy

#: Fast retries for tests: the emulator's injected 429 asks for 1 s, capped here to 20 ms.
FAST_RETRY = RetryPolicy(attempts=12, base=0.005, cap=0.02, max_retry_after=0.02)


def emulator_profile(emulator: Emulator, *, private_key: bool = False) -> Profile:
    """A profile for the emulator: client secret (default) or private-key login."""
    profile = profile_from_credentials(emulator.credentials, "emu")
    if private_key:
        return replace(profile, client_secret=None)
    return replace(profile, private_key_file=None, private_key_id=None)


class Control:
    """The emulator's `/_emulator/` endpoints over HTTP."""

    def __init__(self, emulator: Emulator | str) -> None:
        root = emulator if isinstance(emulator, str) else emulator.url
        self.url = root.rstrip("/") + "/_emulator"

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        async with httpx.AsyncClient() as http:
            response = await http.post(f"{self.url}/{path}", json=body)
        assert response.status_code == 200, response.text
        return response.json()

    async def stats(self) -> dict[str, Any]:
        async with httpx.AsyncClient() as http:
            response = await http.get(f"{self.url}/stats")
        assert response.status_code == 200, response.text
        return response.json()

    async def faults(self, **body: Any) -> dict[str, Any]:
        return await self._post("faults", body)

    async def force(self, vin: str, **body: Any) -> dict[str, Any]:
        return await self._post(f"vehicles/{vin}", body)

    async def advance(self, seconds: float) -> dict[str, Any]:
        return await self._post("clock", {"advance_seconds": seconds})

    async def applied(self, method: str) -> dict[str, int]:
        """VIN -> how many times a POST or DELETE of it was applied (not faulted)."""
        return (await self.stats())["applied"][method]

    async def responses(self, status: int) -> int:
        return int((await self.stats())["responses"].get(str(status), 0))
