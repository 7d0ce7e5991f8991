"""What a failed data pull means (docs/platform.md#vehicle-data-pull), and what the operator can do.

Shared by the dashboard's detail screen and `hm-tui vins data`. `detail` is the platform's own
text, already made safe to show; it is quoted, never replaced.
"""

from __future__ import annotations

NOT_IN_FLEET = "no clearance for this VIN in this fleet"


def explain_data_error(
    status: int | None, detail: str, *, clearance_status: str | None = None
) -> str:
    """The operator's words for a failed pull; `clearance_status`, when known, tells a car
    without consent why it has none."""
    if status == 403 and "privacy" in detail.lower():
        return (
            f"Privacy mode is active in the car ({detail}): it shares no data until the "
            "driver turns privacy mode off."
        )
    if status == 403:
        now = (
            f" Its clearance is {clearance_status}."
            if clearance_status not in (None, "approved")
            else ""
        )
        return (
            f"No consent for this car ({detail}): data flows only while the clearance is "
            f"approved.{now}"
        )
    if status == 408:
        return f"The car is offline or asleep ({detail}): try again once it has been driven."
    if status == 422:
        return (
            f"No data yet ({detail}): the car has not reported since activation; try again later."
        )
    if status == 429:
        return f"Rate limited by the platform ({detail}): wait a moment, then try again."
    if status == 404:
        return f"The platform does not know this VIN ({detail})."
    return f"Could not pull the car's data: {detail}"
