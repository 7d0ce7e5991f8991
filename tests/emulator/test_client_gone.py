"""A client that goes away in the middle of a request (a CLI killed during a POST) is normal:
the emulator notes it in one debug line, not with aiohttp's traceback on its stderr."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

import pytest
from helpers import wait_for

from .conftest import Api

ROUTE = "POST /v1/fleets/vehicles"


async def test_a_client_gone_during_a_post_leaves_one_debug_line(
    empty_api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="hm_tui.emulator.rest")
    url = urlsplit(empty_api.creds["base_url"])
    token = await empty_api.token()
    _reader, writer = await asyncio.open_connection(url.hostname, url.port)
    writer.write(
        f"POST {url.path}/fleets/vehicles HTTP/1.1\r\nHost: {url.netloc}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        'Content-Length: 100000\r\n\r\n{"vehicles": ['.encode()
    )
    await writer.drain()
    stats = empty_api.emulator.context.stats  # type: ignore[union-attr]
    await wait_for(lambda: stats.requests[ROUTE], 5, message="the handler reading the body")
    writer.transport.abort()  # the client is killed: the rest of the body never comes
    records = await wait_for(
        lambda: [r for r in caplog.records if r.name in ("aiohttp.server", "hm_tui.emulator.rest")],
        10,
        message="the server noticing the client left",
    )
    assert [(r.levelno, r.exc_info) for r in records] == [(logging.DEBUG, None)]
    assert "went away" in records[0].getMessage()
    assert stats.responses == {"200": 1}  # the token's; nothing was answered to the POST
