"""The operator's words for what the platform answered: per-item add errors, a refused add, a
refused removal, an eligibility refusal, and any failed call by its status.

The platform's own text is always kept (in parentheses), never replaced: support and the
platform's documentation speak in those words. Everything here is already safe to print (the
errors module cleans what the platform sends).
"""

from __future__ import annotations

from hm_tui.domain.removal import explain_refusal
from hm_tui.service.errors import (
    AuthError,
    Conflict,
    Forbidden,
    LoginError,
    NetworkError,
    NotFound,
    PlatformError,
    RateLimited,
    ServerError,
    Unprocessable,
)

#: The two per-item refusals the platform documents for POST /fleets/vehicles.
VIN_LENGTH = "vin should be 17 character(s)"
BAD_BRAND = "The brand is invalid"


def explain_item_error(description: str | None) -> str:
    """A per-item `error` of an add, explained; an unknown description is shown as it is."""
    text = (description or "").strip()
    if text.lower() == VIN_LENGTH:
        return f"VIN refused: a VIN has exactly 17 characters ({text})"
    if text.lower() == BAD_BRAND.lower():
        return (
            f"brand refused: not one of the platform's brand ids, such as bmw, "
            f"mercedes-benz or volkswagen ({text})"
        )
    return text or "refused by the platform, which gave no reason"


def explain_add_failure(exc: PlatformError) -> str:
    """Why a whole add request got no per-item answers, for each of its items."""
    if isinstance(exc, Unprocessable):
        return (
            f"not added: the platform refused the whole request as invalid input "
            f"({_said(exc)}); nothing in it was added. hm-tui sent something the platform "
            "does not take: please report it"
        )
    return f"not added: {explain(exc)}"


def explain_removal_failure(exc: PlatformError) -> str:
    """Why a revoke or cancel was refused or failed."""
    if isinstance(exc, Conflict | Unprocessable):
        known = explain_refusal(exc.detail)
        if known is not None:
            return f"{known} ({exc.detail})"
        return f"refused by the platform ({_said(exc)})"
    if isinstance(exc, NotFound):
        return (
            f"not in this fleet: the platform holds no clearance for this VIN ({_said(exc)}); "
            "check the VIN, or list the fleet with `hm-tui vins list`"
        )
    return explain(exc)


def explain_eligibility_failure(exc: PlatformError) -> str:
    """Why an eligibility check got no answer."""
    if isinstance(exc, Unprocessable):
        return (
            f"the platform cannot check this car ({_said(exc)}): check the VIN and the brand; "
            "some brands are not covered by the eligibility check"
        )
    return explain(exc)


def explain(exc: PlatformError) -> str:
    """Any failed call, by what kind of failure it is: what happened and what to do."""
    if isinstance(exc, LoginError):
        return exc.message()
    if isinstance(exc, AuthError):
        return (
            f"the platform refused this app's access token even after a fresh login "
            f"({_said(exc)}); check that the profile's app may use this API"
        )
    if isinstance(exc, Forbidden):
        return (
            f"this app has no access to the fleet ({_said(exc)}); ask your High Mobility "
            "contact to enable fleet clearance for it"
        )
    if isinstance(exc, RateLimited):
        wait = f" {exc.retry_after:.0f} s" if exc.retry_after is not None else " a moment"
        return f"rate limited by the platform ({_said(exc)}); wait{wait}, then try again"
    if isinstance(exc, ServerError):
        return f"the platform failed ({_said(exc)}); try again later"
    if isinstance(exc, NetworkError):
        return f"no answer from the platform ({exc.message()}); check the network, then retry"
    return exc.message()


def _said(exc: PlatformError) -> str:
    """What the platform said, with the status: `Too early: … (HTTP 422)`."""
    vin, exc.vin = exc.vin, None
    try:
        return exc.message()
    finally:
        exc.vin = vin
