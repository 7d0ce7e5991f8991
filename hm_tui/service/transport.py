"""One HTTP exchange with the platform: the shared `httpx.AsyncClient`, timing, the request log,
transport failures mapped into `NetworkError` (with whether the request may have been sent), and
the counts of requests and failures the metrics endpoint serves (`ApiCounts`)."""

from __future__ import annotations

import time
from typing import Any

import httpx

from hm_tui import __version__
from hm_tui.service.errors import NetworkError
from hm_tui.service.http_log import log_exchange
from hm_tui.service.tls import verified_context

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
USER_AGENT = f"hm-tui/{__version__}"
# Failures where the request never left this machine: safe to repeat any call.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


class ApiCounts:
    """Requests sent to the platform (every attempt, token requests too) and the failed ones by
    HTTP status, "network" when no answer came. Counted on the event loop; `snapshot()` may be
    read from any thread. Holds numbers only: never a URL, a VIN or a token."""

    def __init__(self) -> None:
        self.requests = 0
        self._errors: dict[str, int] = {}

    def answered(self, status: int) -> None:
        self.requests += 1
        if status >= 400:
            key = str(status)
            self._errors[key] = self._errors.get(key, 0) + 1

    def unanswered(self) -> None:
        self.requests += 1
        self._errors["network"] = self._errors.get("network", 0) + 1

    def snapshot(self) -> tuple[int, dict[str, int]]:
        """(requests, errors by status): copies, consistent enough for a scrape."""
        return self.requests, dict(self._errors)


def new_http_client(
    *, timeout: httpx.Timeout = DEFAULT_TIMEOUT, max_connections: int = 16
) -> httpx.AsyncClient:
    """The client every platform call goes through. TLS is always verified: there is no switch
    (the context is shared and built ahead, see service/tls.py)."""
    return httpx.AsyncClient(
        timeout=timeout,
        verify=verified_context(),
        follow_redirects=False,  # a redirect would resend the bearer token elsewhere
        headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        ),
    )


async def send(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    attempt: int = 0,
    vin: str | None = None,
    large: bool = False,
    counts: ApiCounts | None = None,
    **kwargs: Any,
) -> httpx.Response:
    """Send one request and read its body; transport failures become `NetworkError`.
    `large`: the answer may be tens of MB (the whole fleet's list): read it into one buffer.
    `counts`: where this exchange is counted (the session's metrics)."""
    started = time.perf_counter()
    try:
        if large:
            response = await _send_large(http, method, url, **kwargs)
        else:
            response = await http.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        log_exchange(method, url, None, time.perf_counter() - started, attempt, type(exc).__name__)
        if counts is not None:
            counts.unanswered()
        raise _network_error(exc, url, vin) from None
    log_exchange(method, url, response.status_code, time.perf_counter() - started, attempt)
    if counts is not None:
        counts.answered(response.status_code)
    return response


async def _send_large(
    http: httpx.AsyncClient, method: str, url: str, **kwargs: Any
) -> httpx.Response:
    """A request whose body is read into one growing buffer. httpx would keep every chunk read
    and join them at the end: two copies of a 28 MB list at once, and the chunks left behind as
    heap fragments the process does not give back (+27 MB of peak and resident memory at
    100,000 clearances). A large buffer is its own mapping: freed, it goes back at once."""
    response = await http.send(http.build_request(method, url, **kwargs), stream=True)
    body = bytearray()
    try:
        async for chunk in response.aiter_bytes():  # decoded: gzip from the platform too
            body += chunk
    finally:
        await response.aclose()
    response._content = body  # type: ignore[assignment]  # what `.content` returns (httpx's own)
    return response


def _network_error(exc: httpx.HTTPError, url: str, vin: str | None) -> NetworkError:
    parsed = httpx.URL(url)
    host = f"{parsed.host}:{parsed.port}" if parsed.port else parsed.host
    if isinstance(exc, httpx.TimeoutException):
        title = f"{host} did not answer in time"
    elif isinstance(exc, httpx.ConnectError):
        title = f"cannot connect to {host}"
    else:
        title = f"connection to {host} failed"
    reason = str(exc) or type(exc).__name__
    return NetworkError(title, reason, sent=not isinstance(exc, _NOT_SENT), vin=vin)
