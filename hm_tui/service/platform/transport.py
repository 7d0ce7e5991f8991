"""One HTTP exchange with the platform: the shared `httpx.AsyncClient`, timing, the request log,
its deadline, transport failures mapped into `NetworkError` (with whether the request may have
been sent), and the counts of requests and failures the metrics endpoint serves (`ApiCounts`).

httpx's timeouts count per read: a server sending one byte a second never trips them, and would
hold a command (or the dashboard's poller) for as long as it likes. So every exchange also has
one deadline for the whole of it, request to last byte: `DEADLINE_S`, plus one second for every
`DEADLINE_BYTES_PER_S` bytes received (the whole fleet's list on a slow link still arrives; a
trickle does not), never past `DEADLINE_MAX_S` (`LARGE_DEADLINE_MAX_S` for the fleet's list): a
chunked answer that never ends is ended there. An exchange past its deadline is a `NetworkError`
that is not retried: a server that trickles once will trickle again, and the caller says so at
once.

An answer is also bounded in size, as received and as decoded: a gzip body of 1 MB can decode to
gigabytes (a "gzip bomb") that would fill the memory while the deadline, counting decoded bytes,
moved out of reach. The deadline counts the bytes that came over the wire; the decoded body may
not pass `MAX_BODY_BYTES` (`MAX_LARGE_BODY_BYTES` for the fleet's list) nor grow more than
`MAX_EXPANSION` times what was received. Past either: `BadResponse`, not retried.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from hm_tui import __version__
from hm_tui.service.errors import BadResponse, NetworkError, PlatformError
from hm_tui.service.platform.http_log import log_exchange
from hm_tui.service.platform.tls import verified_context

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
#: One exchange's deadline (longer than the read timeout: a silent server is a read timeout, and
#: retried), extended by a second per `DEADLINE_BYTES_PER_S` bytes of answer received.
DEADLINE_S = 45.0
DEADLINE_BYTES_PER_S = 16 * 1024
#: However fast the bytes come, an exchange ends by this (a chunked answer that never ends would
#: otherwise move its deadline on for ever, or until the size cap: hours for the fleet's list).
#: The fleet's list may take longer: a million clearances (~300 MB) at 1 MB/s.
DEADLINE_MAX_S = 120.0
LARGE_DEADLINE_MAX_S = 600.0
#: The largest answer taken, decoded: any one call, and the whole fleet's list (a million
#: clearances are ~300 MB of JSON).
MAX_BODY_BYTES = 16 * 2**20
MAX_LARGE_BODY_BYTES = 512 * 2**20
#: The most a compressed answer may expand (JSON compresses 5-20 times; zeros 1,000 times),
#: judged once the decoded body is past `_EXPANSION_FROM` bytes.
MAX_EXPANSION = 100
_EXPANSION_FROM = 2**20
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
    (the context is shared and built ahead, see service/platform/tls.py)."""
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
    deadline_s: float | None = None,
    **kwargs: Any,
) -> httpx.Response:
    """Send one request and read its body within its deadline (see the module doc); transport
    failures become `NetworkError`. `large`: the answer may be tens of MB (the whole fleet's
    list): read it into one buffer. `counts`: where this exchange is counted (the metrics)."""
    started = time.perf_counter()
    try:
        async with asyncio.timeout(deadline_s or DEADLINE_S) as deadline:
            response = await _exchange(http, method, url, deadline, large=large, **kwargs)
    except httpx.InvalidURL as exc:  # (not an HTTPError: it used to end in a traceback)
        raise PlatformError(
            "Request not sent", f"hm-tui could not form it: {exc}", vin=vin
        ) from None
    except (httpx.HTTPError, TimeoutError) as exc:
        elapsed = time.perf_counter() - started
        why = "deadline" if isinstance(exc, TimeoutError) else type(exc).__name__
        log_exchange(method, url, None, elapsed, attempt, why)
        if counts is not None:
            counts.unanswered()
        if isinstance(exc, TimeoutError):
            raise _too_slow(url, vin, elapsed) from None
        raise _network_error(exc, url, vin) from None
    log_exchange(method, url, response.status_code, time.perf_counter() - started, attempt)
    if counts is not None:
        counts.answered(response.status_code)
    return response


async def _exchange(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    deadline: asyncio.Timeout,
    *,
    large: bool,
    **kwargs: Any,
) -> httpx.Response:
    """The request, then its body read chunk by chunk, each chunk moving the deadline on.

    A large body goes into one growing buffer. httpx would keep every chunk read and join them at
    the end: two copies of a 28 MB list at once, and the chunks left behind as heap fragments the
    process does not give back (+27 MB of peak and resident memory at 100,000 clearances). A
    large buffer is its own mapping: freed, it goes back at once."""
    ceiling = asyncio.get_running_loop().time() + (
        LARGE_DEADLINE_MAX_S if large else DEADLINE_MAX_S
    )
    response = await http.send(http.build_request(method, url, **kwargs), stream=True)
    base = deadline.when()
    limit = MAX_LARGE_BODY_BYTES if large else MAX_BODY_BYTES
    body = bytearray()
    try:
        async for chunk in response.aiter_bytes():  # decoded: gzip from the platform too
            body += chunk
            received = response.num_bytes_downloaded  # (as it came over the wire)
            _check_size(len(body), received, limit, response.status_code)
            if base is not None:
                later = min(base + received / DEADLINE_BYTES_PER_S, ceiling)
                deadline.reschedule(max(base, later))
    finally:
        await response.aclose()
    response._content = body if large else bytes(body)  # type: ignore[assignment]  # (httpx's)
    return response


def _check_size(size: int, received: int, limit: int, status: int) -> None:
    """Refuse an answer whose decoded body passed `limit` or expanded past `MAX_EXPANSION`."""
    if size > limit:
        why = f"the answer is larger than {limit // 2**20} MB"
    elif size > _EXPANSION_FROM and size > MAX_EXPANSION * max(received, 1):
        why = (
            f"the answer expands from {received:,} bytes received to more than {size:,} "
            f"(over {MAX_EXPANSION} times: a compression bomb?)"
        )
    else:
        return
    raise BadResponse("Answer refused", f"{why}; nothing of it was read", status=status)


def _too_slow(url: str, vin: str | None, elapsed: float) -> NetworkError:
    error = NetworkError(
        f"{_host(url)} did not answer in time",
        f"no complete answer after {elapsed:.0f} s (the platform answered too slowly)",
        sent=True,
        vin=vin,
    )
    error.retryable = False  # a trickling server trickles again: say so now
    error.slow = True
    return error


def _host(url: str) -> str:
    parsed = httpx.URL(url)
    return f"{parsed.host}:{parsed.port}" if parsed.port else str(parsed.host)


def _network_error(exc: httpx.HTTPError, url: str, vin: str | None) -> NetworkError:
    host = _host(url)
    if isinstance(exc, httpx.TimeoutException):
        title = f"{host} did not answer in time"
    elif isinstance(exc, httpx.ConnectError):
        title = f"cannot connect to {host}"
    else:
        title = f"connection to {host} failed"
    reason = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.RemoteProtocolError) and "buffer too long" in reason.lower():
        reason = (
            "its answer's headers are larger than any platform sends (hm-tui reads up to "
            "100 KB of them): a proxy or server fault; try again later, or check what "
            f"answers at {host}"
        )
        error = NetworkError(title, reason, sent=True, vin=vin)
        error.retryable = False  # (it would send them again)
        return error
    return NetworkError(title, reason, sent=not isinstance(exc, _NOT_SENT), vin=vin)
