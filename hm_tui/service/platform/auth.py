"""Access tokens (docs/platform.md#authentication): OAuth2 client credentials, secret or assertion.

`TokenManager.token()` hands out a token that is valid for a while yet. It renews in the background
once a token reaches its renewal point (at the latest every 5 minutes and `margin` seconds before
expiry, the margin scaled down for short lifetimes), while callers keep using the current one; only
a caller holding no valid token waits. There is never more than one renewal in flight. A failing
renewal is retried with backoff and shows in `status`; tokens are never logged.

`revoke()` asks the platform to revoke the current token (best effort, bounded in time): a
command or dashboard that exits leaves no live token behind, so one copied from a terminal or a
log dies with the session.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx

from hm_tui.service.config.profiles import Profile
from hm_tui.service.errors import AuthError, BadResponse, PlatformError, error_from_response
from hm_tui.service.files.safe import FileRefused, read_file
from hm_tui.service.platform import bounded_json
from hm_tui.service.platform.bounded_json import JsonError
from hm_tui.service.platform.retry import RetryPolicy
from hm_tui.service.platform.transport import ApiCounts, send
from hm_tui.service.redact import register_secret

log = logging.getLogger("hm_tui.auth")

MAX_TOKEN_AGE = 300.0  # renew at least this often whatever expires_in says
MAX_TOKEN_LIFE = 86_400.0  # the longest `expires_in` taken as it is (a day)
REVOKE_TIMEOUT_S = 0.5  # an exit waits at most this long for the revocation
MAX_TOKEN_LENGTH = 8192  # sent with every request: a longer one is no token
MAX_KEY_BYTES = 64 * 1024  # a PEM key is a few hundred bytes
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

TokenState = Literal["none", "ok", "renewing", "failing"]


@dataclass(frozen=True, slots=True)
class TokenStatus:
    """What the dashboard shows about authentication: never the token itself."""

    state: TokenState
    last_error: str | None
    failures: int
    token_age_s: float | None


@dataclass(frozen=True, slots=True)
class _Token:
    value: str = ""
    obtained_at: float = 0.0
    renew_at: float = 0.0
    usable_until: float = 0.0  # a little before expiry: never hand out a token about to die

    def __repr__(self) -> str:
        return f"_Token(renew_at={self.renew_at}, usable_until={self.usable_until})"


def renewal_margin(ttl: float) -> float:
    """Seconds before expiry to renew: 60 s for real tokens, a third of the lifetime if shorter
    (room for the guard below and for the renewal's own round trip)."""
    return min(60.0, ttl / 3)


class TokenManager:
    """One access token for one profile, renewed before it expires."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        profile: Profile,
        *,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        counts: ApiCounts | None = None,
    ) -> None:
        self._http = http
        self.counts = counts  # token requests count with the client's (the metrics endpoint)
        self._profile = profile
        self._retry = retry or RetryPolicy(attempts=4, base=0.5, cap=10.0)
        self._clock = clock
        self._current: _Token | None = None
        self._task: asyncio.Task[_Token] | None = None
        self._retry_at = 0.0
        self._failures = 0
        self._last_error: str | None = None
        self._private_key: Any = None  # the loaded signing key
        self.renewals = 0  # tokens obtained, for tests and the health panel
        register_secret(profile.client_secret)

    async def token(self) -> str:
        """A valid access token, renewing first only if there is none."""
        now = self._clock()
        current = self._current
        if current is not None and now < current.usable_until:
            if now >= current.renew_at and self._task is None and now >= self._retry_at:
                self._start_renewal()
            return current.value
        if self._task is None:
            self._start_renewal()
        assert self._task is not None
        # shield: a caller giving up must not cancel the renewal the others wait for
        return (await asyncio.shield(self._task)).value

    def invalidate(self, token: str | None = None) -> None:
        """Forget the token (after a 401). With `token`, only if it is still the current one."""
        if self._current is not None and (token is None or token == self._current.value):
            self._current = None

    @property
    def token_age_s(self) -> float | None:
        return None if self._current is None else self._clock() - self._current.obtained_at

    @property
    def status(self) -> TokenStatus:
        if self._last_error is not None:
            state: TokenState = "failing"
        elif self._task is not None:
            state = "renewing"
        else:
            state = "ok" if self._current is not None else "none"
        return TokenStatus(state, self._last_error, self._failures, self.token_age_s)

    async def revoke(self, timeout: float = REVOKE_TIMEOUT_S) -> bool:
        """Revoke the current token at the platform and forget it; True if the platform said
        so. Best effort: never raises, never waits longer than `timeout`, logs at debug only
        (an exit must not be held up or end in an error for it)."""
        current, self._current = self._current, None
        if current is None or not current.value:
            return False
        try:
            return await asyncio.wait_for(self._send_revocation(current.value, timeout), timeout)
        except Exception as exc:  # anything at all: the token expires by itself anyway
            log.debug("token revocation failed: %s", type(exc).__name__)
            return False

    async def _send_revocation(self, token: str, timeout: float) -> bool:
        body = self._client_proof() | {"token": token, "token_type_hint": "access_token"}
        response = await self._http.request(
            "DELETE",
            f"{self._profile.base_url}/access_tokens",
            json=body,
            timeout=httpx.Timeout(timeout),
        )
        log.debug("token revocation: HTTP %d", response.status_code)
        return response.status_code == 200

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, PlatformError):
                await self._task

    def _start_renewal(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._renew())
        self._task.add_done_callback(self._renewal_done)

    def _renewal_done(self, task: asyncio.Task[_Token]) -> None:
        self._task = None
        if task.cancelled():
            return
        exc = task.exception()  # retrieved here so an unawaited failure is never "lost"
        if exc is None:
            self._current, self._failures, self._last_error = task.result(), 0, None
            return
        self._failures += 1
        self._last_error = str(exc)
        self._retry_at = self._clock() + self._retry.delay(self._failures)
        log.warning("token renewal failed (%d in a row): %s", self._failures, exc)

    async def _renew(self) -> _Token:
        """Ask for a token, retrying network trouble, 429 and 5xx with backoff."""
        attempt = 0
        while True:
            try:
                return await self._request_token(attempt)
            except PlatformError as exc:
                attempt += 1
                self._last_error = str(exc)
                if not exc.retryable or attempt >= self._retry.attempts:
                    raise
                wait = self._retry.delay(attempt - 1, getattr(exc, "retry_after", None))
                log.info("token request failed (%s); retrying in %.1f s", exc, wait)
                await asyncio.sleep(wait)

    async def _request_token(self, attempt: int) -> _Token:
        sent_at = self._clock()
        url = f"{self._profile.base_url}/access_tokens"
        # the assertion's first signing imports PyJWT and cryptography (60-180 ms seen on the
        # event loop at start-up): in a worker thread, the loop keeps drawing
        grant = (
            await asyncio.to_thread(self._grant)
            if self._profile.uses_private_key
            else self._grant()
        )
        response = await send(
            self._http, "POST", url, json=grant, attempt=attempt, counts=self.counts
        )
        if response.status_code != 200:
            raise error_from_response(
                response.status_code,
                response.content,
                headers=response.headers,
                token_endpoint=True,
            )
        value, ttl = _parse_token_answer(response)
        register_secret(value, lasting=False)
        self.renewals += 1
        log.debug("access token obtained, expires in %.0f s", ttl)
        return _schedule(value, sent_at, ttl)

    def _grant(self) -> dict[str, str]:
        return {"grant_type": "client_credentials", **self._client_proof()}

    def _client_proof(self) -> dict[str, str]:
        """The client's id and the proof that it is that client: its secret, or a fresh
        assertion signed with its private key."""
        body = {"client_id": self._profile.client_id}
        if self._profile.uses_private_key:
            body["client_assertion_type"] = ASSERTION_TYPE
            body["client_assertion"] = self._assertion()
        else:
            body["client_secret"] = self._profile.client_secret or ""
        return body

    def _assertion(self) -> str:
        """The ES256 JWT proving possession of the private key (docs/platform.md#authentication)."""
        claims = {
            "ver": 2,
            "iss": self._profile.private_key_id,
            "aud": self._profile.base_url,
            "jti": str(uuid.uuid4()),
            "iat": int(time.time()),
        }
        import jwt  # here, not at the top: PyJWT + cryptography cost ~0.1 s, secret logins skip it

        key = self._load_private_key()
        try:
            return jwt.encode(claims, key, algorithm="ES256", headers={"typ": "JWT"})
        except (ValueError, TypeError, jwt.PyJWTError) as exc:
            raise AuthError(
                "Private key unusable",
                f"{self._profile.private_key_file} is not a P-256 private key in PEM "
                f"format ({type(exc).__name__})",
            ) from None

    def _load_private_key(self) -> Any:
        """The profile's signing key: a P-256 private key in PEM, in a file that is the user's
        own and readable by no one else (as the config file must be)."""
        if self._private_key is None:
            path = Path(self._profile.private_key_file or "").expanduser()
            try:
                data = read_file(path, "private key", max_bytes=MAX_KEY_BYTES, private=True)
            except FileRefused as exc:
                raise AuthError("Private key unusable", str(exc)) from None
            self._private_key = signing_key(data, path)
        return self._private_key


def signing_key(data: bytes, path: Path) -> Any:
    """The EC P-256 private key in `data` (PEM), or an `AuthError` saying what the file holds
    instead: a public key, another kind or curve of key, an encrypted key, or no key at all."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    def unusable(why: str) -> AuthError:
        return AuthError("Private key unusable", f"{path} {why}")

    if b"PUBLIC KEY-----" in data and b"PRIVATE KEY-----" not in data:
        raise unusable(
            "holds a public key: private_key_file must name the private key (the file kept "
            "secret, which signs the login), not the public key given to the platform"
        )
    try:
        key = load_pem_private_key(data, password=None)
    except TypeError:
        raise unusable("is an encrypted key: hm-tui needs it without a password") from None
    except (ValueError, UnsupportedAlgorithm):
        raise unusable("is not a private key in PEM format") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise unusable(f"holds a {_key_kind(key)}: the platform signs logins with P-256 (ES256)")
    return key


def _key_kind(key: Any) -> str:
    curve = getattr(getattr(key, "curve", None), "name", None)
    name = type(key).__name__.replace("PrivateKey", "").lstrip("_")
    return f"{name} key on curve {curve}" if curve else f"{name} key"


def _schedule(value: str, sent_at: float, ttl: float) -> _Token:
    """When to renew and until when to hand the token out, measured from when it was asked for.

    `expires_in` is whole seconds and the platform may round its clock down, so one second less
    is counted; the last `guard` seconds are left for the request using the token to arrive (5 s
    for real tokens; a quarter of a short lifetime, so a busy event loop does not carry a request
    past its token's end: with a tenth, a loaded machine still saw 401s at 4-second lifetimes).
    """
    life = max(ttl - 1.0, ttl / 2)
    guard = min(5.0, life / 4)
    renew_at = sent_at + min(life - renewal_margin(life), MAX_TOKEN_AGE)
    return _Token(value, sent_at, renew_at, sent_at + life - guard)


def _header_safe(token: str) -> bool:
    """A token we can send as `Authorization: Bearer <token>`: printable ASCII, no spaces."""
    return (
        len(token) <= MAX_TOKEN_LENGTH
        and token.isascii()
        and token.isprintable()
        and " " not in token
    )


def _parse_token_answer(response: httpx.Response) -> tuple[str, float]:
    try:
        data = bounded_json.loads(response.content)
    except JsonError as exc:
        if exc.too_deep:
            raise BadResponse(
                "Unexpected token answer", f"the platform's answer is {exc}", status=200
            ) from None
        data = None
    value = data.get("access_token") if isinstance(data, dict) else None
    if not isinstance(value, str) or not value:
        raise BadResponse(
            "Unexpected token answer",
            "no access_token in the platform's answer",
            status=response.status_code,
        )
    if not _header_safe(value):
        raise BadResponse(
            "Unexpected token answer",
            "the access token has characters an HTTP header cannot carry (or is longer than "
            f"{MAX_TOKEN_LENGTH} characters)",
            status=response.status_code,
        )
    ttl = data.get("expires_in") if isinstance(data, dict) else None
    if not isinstance(ttl, int | float) or isinstance(ttl, bool) or ttl <= 0:
        ttl = MAX_TOKEN_AGE
    # (compared before any float(): JSON integers have no bound, `10**400` would overflow it;
    # the token is renewed every MAX_TOKEN_AGE anyway, a longer life changes nothing)
    return value, float(min(ttl, MAX_TOKEN_LIFE))
