"""`PlatformClient`: every platform call hm-tui makes (docs/platform.md), typed, retried when safe.

Retry rules (why each call may or may not be repeated):
- GET calls and `POST /eligibility` only read: retried on 429, 5xx, timeouts and connection errors.
- `POST /fleets/vehicles` is idempotent (docs/platform.md#states: re-adding an active clearance
  returns it unchanged), so it is retried like a read.
- `DELETE /fleets/vehicles/{vin}` is not: a second DELETE of a clearance the first one already
  moved to `revoking` answers 409. It is repeated without a second thought only when the first
  certainly did nothing (429, or the connection never opened). After an ambiguous failure (5xx, a
  timeout or a reset after sending) the clearance is read back with GET first: already
  revoking/canceling (or revoked/canceled) means the first DELETE worked, and that is the answer;
  still approved/pending means it did not, and the DELETE is sent again. If the state cannot be
  read, the DELETE is sent again anyway: a second DELETE cannot revoke twice, the platform answers
  it 409, and a 409 answered to such a retry is settled by reading the state back the same way.
  (The read-back uses the list call with a `vin` filter: the get-one call is held to 60/min.)
- Any call answered 401 drops the token and is repeated once with a fresh one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import msgspec

from hm_tui import collector
from hm_tui.domain.clearance import ClearanceStatus as S
from hm_tui.service.config.profiles import Profile
from hm_tui.service.errors import (
    AuthError,
    BadResponse,
    Conflict,
    LoginError,
    NetworkError,
    PlatformError,
    RateLimited,
    error_from_response,
)
from hm_tui.service.models import (
    Clearance,
    Eligibility,
    ItemResult,
    NewClearance,
    RemovalResult,
    VehicleData,
)
from hm_tui.service.platform import decode
from hm_tui.service.platform.auth import TokenManager
from hm_tui.service.platform.clock import ServerClock
from hm_tui.service.platform.explain import explain_add_failure, explain_item_error
from hm_tui.service.platform.retry import RetryPolicy, TokenBucket
from hm_tui.service.platform.transport import ApiCounts, new_http_client, send
from hm_tui.service.redact import shown

log = logging.getLogger("hm_tui.client")

Progress = Callable[[int, int], None]
#: Told (why, seconds) before a call pauses: a retry's backoff or Retry-After, or pacing.
WaitNotice = Callable[[str, float], None]
RATE_LIMITED = "rate limited by the platform"
PACING = "pacing calls to the platform's limit of 60 a minute"
ChunkResults = Callable[[list[ItemResult]], None]
#: Bodies larger than this are decoded in a worker thread, keeping the event loop responsive.
THREAD_DECODE_BYTES = 256 * 1024
THREAD_DECODE_ITEMS = 1000
#: States in which a DELETE has taken effect (or nothing is left to remove by it).
_REMOVED = frozenset({S.REVOKING, S.REVOKED, S.CANCELING, S.CANCELED})


class PlatformClient:
    """The fleet platform for one profile. Create it inside the event loop that will use it."""

    def __init__(
        self,
        profile: Profile,
        *,
        token_manager: TokenManager | None = None,
        http: httpx.AsyncClient | None = None,
        retry: RetryPolicy | None = None,
        concurrency: int = 8,
        get_one_limit: TokenBucket | None = None,
        revoke_on_close: bool = False,
    ) -> None:
        self.profile = profile
        #: revoke the access token on `aclose()` (the CLI and the dashboard: a token copied
        #: from their terminal dies with them); best effort, at most half a second
        self.revoke_on_close = revoke_on_close
        self._own_http = http is None
        self._http = http or new_http_client(max_connections=max(concurrency, 1) * 2)
        self.api_counts = ApiCounts()  # every request and failure, for the metrics endpoint
        self.tokens = token_manager or TokenManager(self._http, profile, counts=self.api_counts)
        self.retry = retry or RetryPolicy()
        self._slots = asyncio.Semaphore(concurrency)
        self._get_one = get_one_limit or TokenBucket()
        self.bad_items = 0  # items the last list call skipped because they did not parse
        self._good_tokens: deque[str] = deque(maxlen=4)  # tokens the platform accepted lately
        self.server_clock = ServerClock()  # the platform's time, by its answers' Date headers
        self.on_wait: WaitNotice | None = None  # e.g. the CLI saying why it sits silent
        self._in_flight: list[float] = []  # when each call in progress started (monotonic)

    async def __aenter__(self) -> PlatformClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self.revoke_on_close:
            await self.tokens.revoke()
        await self.tokens.aclose()
        if self._own_http:
            await self._http.aclose()

    # -- clearances ---------------------------------------------------------------------------
    async def list_clearances(self, filter: dict[str, Any] | None = None) -> list[Clearance]:
        """Every clearance (or those matching the platform-side `filter`,
        docs/platform.md#the-list-filter)."""
        wire = await self.fetch_clearances(filter)
        if len(wire) > THREAD_DECODE_ITEMS:
            clearances, _, bad = await asyncio.to_thread(_decode_paused, wire.items)
        else:
            clearances, _, bad = decode.decode_items(wire.items)
        self.count_bad(bad)
        return clearances

    async def fetch_clearances(self, filter: dict[str, Any] | None = None) -> decode.WireClearances:
        """Like `list_clearances`, but each item left as the platform's JSON bytes: the roster
        decodes only the ones that changed since the last list (unreadable ones are dropped
        there, and counted in `bad_items` by `list_clearances`)."""
        params = {"filter": json.dumps(filter, separators=(",", ":"))} if filter else None
        response = await self._call("GET", "/fleets/vehicles", params=params, large=True)
        body = response.content
        # An httpx response and its stream refer to each other: only a full GC pass would free
        # it, and with it a body of 28 MB per 100,000 clearances. Cut the loop: freed at once.
        response.stream = httpx.ByteStream(b"")
        del response
        if len(body) > THREAD_DECODE_BYTES:
            return await asyncio.to_thread(decode.split_clearance_list, body)
        return decode.split_clearance_list(body)

    def count_bad(self, bad: int) -> None:
        """Note how many items of the last list did not fit the model (and log it)."""
        self.bad_items = bad
        if bad:
            log.warning("clearance list: skipped %d unreadable item(s)", bad)

    async def get_clearance(self, vin: str) -> Clearance:
        """One clearance; paced to the platform's 60 per minute for this call."""
        response = await self._call("GET", _vehicle_path(vin), vin=vin, limiter=self._get_one)
        return _for_vin(vin, decode.decode_clearance(response.content), "clearance")

    async def add_clearances(
        self,
        items: Sequence[NewClearance],
        *,
        chunk: int = 100,
        progress: Progress | None = None,
        on_chunk: ChunkResults | None = None,
    ) -> list[ItemResult]:
        """Add clearances in chunks; one result per item, in order, whatever happens to a chunk.

        `on_chunk(results)` gets each chunk's results as soon as they arrive (a caller journals
        them there, so a process killed mid-way knows which VINs the platform answered)."""
        parts = [list(items[i : i + chunk]) for i in range(0, len(items), max(chunk, 1))]
        answers: list[list[ItemResult]] = [[] for _ in parts]
        done = 0

        async def add_part(index: int, part: list[NewClearance]) -> None:
            nonlocal done
            try:
                answers[index] = await self._add_chunk(part)
            except PlatformError as exc:
                why = explain_add_failure(exc)
                answers[index] = [ItemResult(item.vin, "error", why) for item in part]
            done += len(part)
            if on_chunk is not None:
                on_chunk(answers[index])
            if progress is not None:
                progress(done, len(items))

        await asyncio.gather(*(add_part(i, part) for i, part in enumerate(parts)))
        return [result for answer in answers for result in answer]

    async def _add_chunk(self, part: list[NewClearance]) -> list[ItemResult]:
        body = {"vehicles": [msgspec.to_builtins(item) for item in part]}
        response = await self._call("POST", "/fleets/vehicles", json=body)
        results = _align(part, decode.decode_add_answer(response.content))
        return [_explained(result) for result in results]

    async def remove_clearance(self, vin: str) -> RemovalResult:
        """Revoke (approved) or cancel (pending) a clearance; see the module doc for retries."""
        failure: PlatformError | None = None  # the last ambiguous failure, if any
        for attempt in range(self.retry.attempts):
            if attempt:
                await asyncio.sleep(self.retry.delay(attempt - 1))
            try:
                response = await self._call("DELETE", _vehicle_path(vin), vin=vin, idempotent=False)
                removal = decode.decode_struct(response.content, RemovalResult, "removal answer")
                return _for_vin(vin, removal, "removal answer")
            except Conflict as exc:
                if failure is None:
                    raise
                return await self._settle_removal(vin, exc)
            except PlatformError as exc:
                if not exc.retryable:
                    raise
                failure = exc
                log.info("%s: DELETE failed ambiguously (%s); reading the state back", vin, exc)
                try:
                    settled = await self._removal_took_effect(vin)
                except PlatformError:
                    continue  # state unknown: sending again is safe, its 409 is settled above
                if settled is not None:
                    return settled
        assert failure is not None
        raise failure

    async def _removal_took_effect(self, vin: str) -> RemovalResult | None:
        """Read one clearance back through the list call: it is not held to 60 calls a minute."""
        query = {"vin": {"operator": "eq", "value": vin}}
        response = await self._call(
            "GET",
            "/fleets/vehicles",
            vin=vin,
            params={"filter": json.dumps(query, separators=(",", ":"))},
        )
        found = [
            c
            for c in decode.decode_clearance_list(response.content).clearances
            if c.vin.upper() == vin.upper()
        ]
        if found and found[0].status in _REMOVED:
            return RemovalResult(found[0].vin, found[0].status, found[0].tags)
        return None

    async def _settle_removal(self, vin: str, conflict: Conflict) -> RemovalResult:
        try:
            settled = await self._removal_took_effect(vin)
        except PlatformError:
            settled = None
        if settled is None:
            raise conflict
        return settled

    # -- eligibility and vehicle data -----------------------------------------------------------
    async def eligibility(self, vin: str, brand: str) -> Eligibility:
        response = await self._call(
            "POST", "/eligibility", vin=vin, json={"vin": vin, "brand": brand}
        )
        return decode.decode_struct(response.content, Eligibility, "eligibility answer")

    async def vehicle_data(self, vin: str) -> VehicleData:
        """The car's latest data points (each with its own timestamp: show its age)."""
        response = await self._call(
            "GET", f"/vehicle-data/autoapi-13/{quote(vin, safe='')}", vin=vin
        )
        return _for_vin(vin, decode.decode_vehicle_data(response.content, vin), "vehicle data")

    # -- the one place requests are made --------------------------------------------------------
    async def _call(
        self,
        method: str,
        path: str,
        *,
        vin: str | None = None,
        idempotent: bool = True,
        limiter: TokenBucket | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        started = time.monotonic()
        self._in_flight.append(started)
        try:
            return await self._retried(method, path, vin, idempotent, limiter, **kwargs)
        finally:
            self._in_flight.remove(started)

    def waiting_s(self) -> float:
        """How long the oldest call in progress has been waiting for the platform, retries and
        the waits it imposed included (0 when none is): the dashboard's header shows it."""
        return time.monotonic() - min(self._in_flight) if self._in_flight else 0.0

    async def _retried(
        self,
        method: str,
        path: str,
        vin: str | None,
        idempotent: bool,
        limiter: TokenBucket | None,
        **kwargs: Any,
    ) -> httpx.Response:
        attempt, renewed = 0, False
        used: list[str] = []  # the tokens tried (kept local: never on an exception)
        while True:
            try:
                return await self._attempt(method, path, vin, limiter, attempt, used, **kwargs)
            except AuthError as exc:
                # once more with a fresh token; again only if the refused token had worked before
                # (revoked while this call was retrying), not when a fresh one is refused at once
                if exc.status != 401 or (renewed and used[-1] not in self._good_tokens):
                    raise
                if renewed:
                    attempt += 1
                    if attempt >= self.retry.attempts:
                        raise
                renewed = True
            except PlatformError as exc:
                attempt += 1
                if not _may_retry(exc, idempotent) or attempt >= self.retry.attempts:
                    raise
                wait = self.retry.delay(attempt - 1, getattr(exc, "retry_after", None))
                log.info("%s %s: %s; retrying in %.1f s", method, path, exc, wait)
                self._tell_wait(
                    RATE_LIMITED if isinstance(exc, RateLimited) else f"{exc.message()}; retrying",
                    wait,
                )
                await asyncio.sleep(wait)

    async def _attempt(
        self,
        method: str,
        path: str,
        vin: str | None,
        limiter: TokenBucket | None,
        attempt: int,
        used: list[str],
        **kwargs: Any,
    ) -> httpx.Response:
        if limiter is not None:
            await limiter.acquire(lambda seconds: self._tell_wait(PACING, seconds))
        async with self._slots:
            token = await self._token()
            used.append(token)
            response = await send(
                self._http,
                method,
                self.profile.base_url + path,
                attempt=attempt,
                vin=vin,
                counts=self.api_counts,
                headers={"Authorization": f"Bearer {token}"},
                **kwargs,
            )
        self.server_clock.observe(response.headers.get("date"))
        if response.is_success:
            if token not in self._good_tokens:
                self._good_tokens.append(token)
            return response
        if response.status_code == 401:
            self.tokens.invalidate(token)
        raise error_from_response(
            response.status_code, response.content, headers=response.headers, vin=vin
        )

    def _tell_wait(self, why: str, seconds: float) -> None:
        if self.on_wait is not None:
            self.on_wait(why, seconds)

    async def _token(self) -> str:
        try:
            return await self.tokens.token()
        except PlatformError as exc:  # the token manager has retried already: say what to check
            raise LoginError(exc, self.profile.base_url, self.profile.name) from None


def _decode_paused(items: list[bytes]) -> tuple[list[Clearance], list[bytes], int]:
    with collector.paused():
        return decode.decode_items(items)


def _may_retry(exc: PlatformError, idempotent: bool) -> bool:
    """Retry what failed transiently, unless repeating could apply a change twice."""
    if not exc.retryable:
        return False
    if idempotent or isinstance(exc, RateLimited):
        return True  # a 429 is answered before anything is done
    return isinstance(exc, NetworkError) and not exc.sent


_Answer = TypeVar("_Answer", Clearance, RemovalResult, VehicleData)


def _for_vin(vin: str, answer: _Answer, what: str) -> _Answer:
    """`answer` if it is about `vin` (the VIN in the call's path); an answer naming another VIN
    is refused, never shown or applied as this one's (as for a feed message whose payload names
    another VIN than its topic): `vins data A` showed B's data as A's, `vins show A` and a
    revoke of A reported B, and the dashboard applied B's state from A's detail."""
    if answer.vin and answer.vin.upper() != vin.upper():
        raise BadResponse(
            f"Unexpected {what}",
            f"asked about {vin}, the platform answered about {shown(answer.vin, 40)}",
            vin=vin,
        )
    return answer


def _vehicle_path(vin: str) -> str:
    return f"/fleets/vehicles/{quote(vin, safe='')}"


def _align(part: list[NewClearance], results: list[ItemResult]) -> list[ItemResult]:
    """One result per sent item: by position when the answer matches, else by VIN."""
    if len(results) == len(part) and all(
        r.vin.upper() == i.vin.upper() for r, i in zip(results, part, strict=True)
    ):
        return results
    by_vin = {r.vin.upper(): r for r in results}
    missing = "the platform returned no result for this VIN"
    return [by_vin.get(item.vin.upper()) or ItemResult(item.vin, "error", missing) for item in part]


def _explained(result: ItemResult) -> ItemResult:
    """A per-item refusal in the operator's words (the platform's own text kept in them)."""
    if result.status != "error":
        return result
    return ItemResult(result.vin, result.status, explain_item_error(result.description))
