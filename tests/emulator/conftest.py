"""An `api` helper for the emulator tests: a real HTTP client with a token, plus the controls."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from hm_tui.emulator.broker import EmbeddedBroker
from hm_tui.emulator.server import Emulator


class Api:
    """Talks to one emulator the way any client would: HTTP on loopback, bearer token."""

    def __init__(self, emulator: Emulator, http: httpx.AsyncClient) -> None:
        self.emulator = emulator
        self.http = http
        self.creds = emulator.credentials
        self._token: str | None = None

    async def token(self) -> str:
        if self._token is None:
            r = await self.http.post(
                self.creds["base_url"] + "/access_tokens",
                json={
                    "grant_type": "client_credentials",
                    "client_id": self.creds["client_id"],
                    "client_secret": self.creds["client_secret"],
                },
            )
            assert r.status_code == 200, r.text
            self._token = r.json()["access_token"]
        return self._token

    async def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {await self.token()}", **kwargs.pop("headers", {})}
        return await self.http.request(
            method, self.creds["base_url"] + path, headers=headers, **kwargs
        )

    async def add(self, *items: dict[str, Any]) -> list[dict[str, Any]]:
        r = await self.call("POST", "/fleets/vehicles", json={"vehicles": list(items)})
        assert r.status_code == 200, r.text
        return r.json()["vehicles"]

    async def get(self, vin: str) -> dict[str, Any]:
        """The clearance as the state holds it (bypasses the get-one rate limit)."""
        return self.emulator.state.clearances[vin].to_wire()

    async def control(self, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        url = self.emulator.url + "/_emulator/" + path
        if body is None:
            return await self.http.get(url)
        return await self.http.post(url, json=body)

    async def advance(self, seconds: float) -> None:
        r = await self.control("clock", {"advance_seconds": seconds})
        assert r.status_code == 200, r.text


@pytest.fixture
async def api(emulator: Emulator) -> AsyncIterator[Api]:
    async with httpx.AsyncClient(timeout=10) as http:
        yield Api(emulator, http)


@pytest.fixture
async def empty_api(emulator_factory: Any) -> AsyncIterator[Api]:
    """An emulator with no simulated fleet, frozen clock: only what the test adds exists."""
    emu = await emulator_factory(fleet=0, speed=0.0, publish=False)
    async with httpx.AsyncClient(timeout=10) as http:
        yield Api(emu, http)


@pytest.fixture
def broker(embedded_broker: EmbeddedBroker) -> EmbeddedBroker:
    """The embedded broker (tests/conftest.py), by the name these tests give it."""
    return embedded_broker
