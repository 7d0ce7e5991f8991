"""One exception hierarchy for everything the platform (or the way to it) can answer.

`error_from_response` turns any error body seen in the wild into a `PlatformError`: the
application shape `{"errors": [...]}`, a bare `[...]` of error objects, the OAuth shape
`{"error", "error_description"}`, and HTML or garbage from a proxy. Messages are redacted and
stripped of control characters, so they can be printed as they are.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from hm_tui.service.platform import bounded_json
from hm_tui.service.platform.bounded_json import JsonError
from hm_tui.service.platform.retry import server_wait
from hm_tui.service.redact import shown

if TYPE_CHECKING:
    from hm_tui.service.events import Failure

# Bounded (a platform's detail is untrusted), with room for our own refusals of a local file,
# which name two paths and the command that fixes them (300 cut the chmod off a long path).
_MAX_DETAIL = 1000
_RETRY_IN_DETAIL = re.compile(r"(?i)retry after (\d+(?:\.\d+)?)\s*s")


class PlatformError(Exception):
    """A failed platform call: HTTP status (None: no answer), title, detail, the VIN concerned."""

    retryable = False

    def __init__(
        self,
        title: str,
        detail: str = "",
        *,
        status: int | None = None,
        vin: str | None = None,
        request_id: str | None = None,
    ) -> None:
        self.title = _clean(title) or "Error"
        self.detail = _clean(detail)
        self.status = status
        self.vin = vin
        self.request_id = request_id
        super().__init__(self.message())

    def message(self) -> str:
        text = self.title
        if self.detail and self.detail.lower() != self.title.lower():
            text = f"{text}: {self.detail}"
        if self.vin:
            text = f"{self.vin}: {text}"
        if self.status is not None:
            text = f"{text} (HTTP {self.status})"
        return text

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message()!r})"


class AuthError(PlatformError):
    """Credentials or token refused (400 from the token endpoint, 401)."""


class Forbidden(PlatformError):
    """403: no fleet access, no consent for this car, privacy mode."""


class NotFound(PlatformError):
    """404: the VIN is unknown to the platform."""


class Conflict(PlatformError):
    """409: already removed, or a revoke/cancel is in transition."""


class Unprocessable(PlatformError):
    """422: the platform understood the request and refuses it (e.g. too early to cancel)."""


class BadRequest(PlatformError):
    """400 from an application endpoint: the request itself is wrong."""


class RateLimited(PlatformError):
    """429: too many requests; `retry_after` seconds if the platform said."""

    retryable = True

    def __init__(
        self, title: str, detail: str = "", *, retry_after: float | None = None, **kwargs: Any
    ) -> None:
        self.retry_after = retry_after
        super().__init__(title, detail, **kwargs)


class ServerError(PlatformError):
    """5xx: the platform (or a proxy in front of it) failed."""

    retryable = True


class NetworkError(PlatformError):
    """No usable answer: connection refused, reset, timed out, TLS failure.

    `sent` is False when the request certainly never reached the platform (connect failed),
    so even a non-idempotent call may be repeated.
    """

    retryable = True
    #: the exchange ran out of its deadline (service/platform/transport.py): an answer that comes
    # too
    #: slowly, which the header calls degraded, not unreachable (`failure_of`)
    slow = False

    def __init__(self, title: str, detail: str = "", *, sent: bool = True, **kwargs: Any) -> None:
        self.sent = sent
        super().__init__(title, detail, **kwargs)


class BadResponse(PlatformError):
    """A success status with a body that is not what the platform documents."""


class LoginError(PlatformError):
    """No access token (after the token manager's own retries): the platform refused the
    credentials (`refused`), or could not be asked. Not retried again by the call that needed
    it; the message names the host:port and what to check."""

    def __init__(self, cause: PlatformError, base_url: str, profile: str) -> None:
        self.cause = cause
        self.refused = isinstance(cause, AuthError) and cause.status is not None
        where = host_port(base_url)
        self.where = f"login refused by {where}" if self.refused else f"cannot log in at {where}"
        self.advice = _login_advice(cause, self.refused, base_url, profile)
        super().__init__(self.where, cause.message(), status=cause.status)

    def message(self) -> str:
        return f"{self.where}: {self.cause.message()}. {self.advice}"


def _login_advice(cause: PlatformError, refused: bool, base_url: str, profile: str) -> str:
    if refused:
        return (
            f"Check client_id and client_secret (or private_key_id) of profile {profile!r}, "
            "or the environment variables that override them"
        )
    if isinstance(cause, AuthError):  # the private key could not be used: nothing was sent
        return f"Check private_key_file and private_key_id of profile {profile!r}"
    if isinstance(cause, NetworkError):
        return (
            f"Check that the platform (or the emulator) is running at {base_url} and that "
            f"base_url of profile {profile!r} is right"
        )
    if isinstance(cause, RateLimited):
        return "The platform is limiting this client's requests: wait a minute and run again"
    return "The platform is in trouble: try again later (-v shows every attempt)"


def host_port(url: str) -> str:
    """`host:port` of a URL, the port filled in from the scheme when the URL leaves it out."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.hostname or url}:{port}"


_BY_STATUS: dict[int, type[PlatformError]] = {
    400: BadRequest,
    401: AuthError,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    422: Unprocessable,
    429: RateLimited,
}


def error_from_response(
    status: int,
    body: bytes,
    *,
    headers: Any = None,
    vin: str | None = None,
    token_endpoint: bool = False,
) -> PlatformError:
    """The `PlatformError` for an error answer, whatever shape its body has."""
    title, detail, request_id = parse_error_body(status, body)
    kind = _BY_STATUS.get(status) or (ServerError if status >= 500 else PlatformError)
    if token_endpoint and status in (400, 401, 403):
        kind = AuthError
    if kind is RateLimited:
        return RateLimited(
            title,
            detail,
            status=status,
            vin=vin,
            request_id=request_id,
            retry_after=retry_after_seconds(headers, detail),
        )
    return kind(title, detail, status=status, vin=vin, request_id=request_id)


def parse_error_body(status: int, body: bytes) -> tuple[str, str, str | None]:
    """(title, detail, request_id) from any of the error shapes, or a clear fallback."""
    reason = _reason_phrase(status)
    try:
        data = bounded_json.loads(body) if body else None
    except JsonError as exc:
        if exc.too_deep:
            return reason, "the platform sent an error body nested too deeply to read", None
        return reason, _describe_garbage(body), None
    request_id = data.get("request_id") if isinstance(data, dict) else None
    request_id = request_id if isinstance(request_id, str) else None
    if isinstance(data, dict) and "errors" in data:
        data = data["errors"]
    if isinstance(data, list):
        items = [item for item in data if isinstance(item, dict)]
        if items:
            return (*_from_items(items, reason), request_id)
    if isinstance(data, dict):
        if "error" in data or "error_description" in data:
            title = _text(data.get("error")) or reason
            return title, _text(data.get("error_description")), request_id
        if "title" in data or "detail" in data or "message" in data:
            title, detail = _from_items([data], reason)
            return title, detail, request_id
    if data is None:
        return reason, "the platform sent no details", request_id
    return reason, "the platform sent an error body hm-tui does not recognise", request_id


def _from_items(items: list[dict[str, Any]], reason: str) -> tuple[str, str]:
    first = items[0]
    title = _text(first.get("title")) or reason
    details = [
        _text(item.get("detail") or item.get("message") or item.get("description"))
        for item in items
    ]
    return title, "; ".join(d for d in details if d)


def _describe_garbage(body: bytes) -> str:
    head = body[:512].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")) or b"<body" in head:
        return "the platform (or a proxy in front of it) answered with an HTML page"
    return "the platform answered with a body that is not JSON"


def _reason_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


def _clean(text: str) -> str:
    """Inert, then redacted (in that order: an invisible character inside an echoed secret must
    not hide it), single-line, bounded: safe to print and to log."""
    return shown(str(text).strip(), _MAX_DETAIL).strip()


def retry_after_seconds(headers: Any, detail: str = "") -> float | None:
    """Seconds to wait from a `Retry-After` header (seconds or HTTP date), else from the detail;
    never more than `retry.MAX_SERVER_WAIT_S`, whatever the server said."""
    return server_wait(_retry_after(headers, detail))


def _retry_after(headers: Any, detail: str) -> float | None:
    value = headers.get("retry-after") if headers is not None else None
    if value:
        value = value.strip()
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            when = None
        if when is not None:
            when = when if when.tzinfo else when.replace(tzinfo=UTC)
            return max(0.0, (when - datetime.now(UTC)).total_seconds())
    match = _RETRY_IN_DETAIL.search(detail or "")
    return float(match.group(1)) if match else None


def failure_of(exc: BaseException) -> Failure:
    """How a call failed, for `Health.failure`: "no answer" when nothing came back (a network
    error, or a login that could not reach the token endpoint), "refused" when the platform
    answered and refused our access (credentials, 403), else "errors" (an error status, a bad
    body, an answer too slow to finish in its deadline)."""
    if isinstance(exc, LoginError):
        if exc.refused:
            return "refused"
        return "no answer" if isinstance(exc.cause, NetworkError) else "errors"
    if isinstance(exc, NetworkError):
        return "errors" if exc.slow else "no answer"
    return "refused" if isinstance(exc, AuthError | Forbidden) else "errors"
