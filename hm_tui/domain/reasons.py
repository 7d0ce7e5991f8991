"""The reason catalogue (docs/platform.md#reasons): what each reason means, what to do about it."""

from __future__ import annotations

from dataclasses import dataclass

from hm_tui.domain.brands import GROUPS

ALL = "all"


@dataclass(frozen=True, slots=True)
class Reason:
    """A changelog reason, explained. Unknown reasons come back with `known=False`."""

    text: str
    scope: tuple[str, ...]  # brand groups, or ("all",)
    phase: str  # "rejected" or "pending, then rejected"
    meaning: str
    action: str
    retry_helps: bool = False
    known: bool = True

    def applies_to(self, brand_id: str) -> bool:
        if ALL in self.scope:
            return True
        return any(brand_id in GROUPS.get(group, ()) for group in self.scope)


def _r(
    text: str,
    scope: tuple[str, ...],
    meaning: str,
    action: str,
    *,
    retry: bool = False,
    phase: str = "rejected",
) -> Reason:
    return Reason(text, scope, phase, meaning, action, retry)


REASONS: dict[str, Reason] = {
    r.text: r
    for r in (
        _r(
            "unspecified",
            (ALL,),
            "The brand gave no reason; for many brands this means the car is not eligible.",
            "Check the model year and market, then contact support.",
        ),
        _r(
            "invalid client configuration",
            (ALL,),
            "The platform project is not configured for this brand yet.",
            "Contact your High Mobility account contact; retrying will not help.",
        ),
        _r(
            "invalid VIN",
            (ALL,),
            "The manufacturer does not know this VIN.",
            "Check it for typos (I/O/Q, transposed digits) and add the corrected VIN.",
            retry=True,
        ),
        _r(
            "ineligible VIN",
            (ALL,),
            "The car cannot be activated (model, market or hardware).",
            "Nothing to do for this car; check eligibility before adding others like it.",
        ),
        _r(
            "VIN is assigned to a different OEM fleet",
            (ALL,),
            "Another customer of the manufacturer holds this car.",
            "Have it released from that fleet first, then add it again.",
            retry=True,
        ),
        _r(
            "VIN is assigned to a different app or project",
            ("BMW Group", "Toyota Group", "VW Group", "Polestar"),
            "This brand allows one project per car and another project holds it.",
            "Revoke the clearance in the other project first, then add it again.",
            retry=True,
        ),
        _r(
            "consent assignment missing",
            ("Ford", "Tesla"),
            "The fleet's consent to High Mobility is missing in the manufacturer's portal.",
            "Grant the consent in the manufacturer's fleet portal, then add the VIN again.",
            retry=True,
        ),
        _r(
            "invalid OEM state: VIN revoke in progress",
            ("Ford",),
            "An earlier revoke is still running at Ford.",
            "Wait for it to finish, then add the VIN again.",
            retry=True,
        ),
        _r(
            "VIN activation timeout",
            ("Mercedes-Benz",),
            "The car could not be reached for several days.",
            "Drive the car so that it is online, then add it again.",
            retry=True,
        ),
        _r(
            "telematics hardware error",
            ("Stellantis",),
            "The car's telematics unit is faulty.",
            "Contact support.",
        ),
        _r(
            "invalid OEM state",
            ("Renault Group",),
            "Unknown error in Renault's activation API.",
            "Contact support.",
        ),
        _r(
            "OEM fleet assignment failed",
            ("VW Group", "Renault Group", "Volvo Cars", "Polestar"),
            "Most likely the car was activated by another customer of the manufacturer.",
            "Contact support.",
        ),
        _r(
            "customer name tag missing",
            ("VW Group",),
            "VW Group needs the fleet operator's business name with every clearance.",
            "Add the VIN again with the tag vw-group-customer-name set to your business name.",
            retry=True,
        ),
        _r(
            "privacy mode is enabled",
            ("VW Group",),
            "Privacy mode in the car blocks activation; the platform keeps retrying for days.",
            "Turn privacy mode off in the car's settings.",
            retry=True,
            phase="pending, then rejected",
        ),
        _r(
            "ineligible or constrained VIN",
            ("VW Group",),
            "The car is not eligible, or VW blocks it.",
            "Nothing to do for this car; contact support if you believe it is eligible.",
        ),
        _r(
            "vehicle platform not supported",
            ("VW Group",),
            "The car's platform cannot do fleet activation.",
            "Nothing to do for this car.",
        ),
        _r(
            "primary user enrolled",
            ("VW Group",),
            "A private user is enrolled in the car.",
            "Deregister the private user and reset the head unit, then add the VIN again.",
            retry=True,
        ),
        _r(
            "software version incompatible",
            ("VW Group",),
            "The car's software is incompatible.",
            "Contact support.",
        ),
        _r(
            "activation timeout: no data",
            ("Stellantis", "Volvo Cars"),
            "No data arrived from the car during activation.",
            "Drive the car, check its connected-services subscription, then add it again.",
            retry=True,
        ),
    )
}

PENDING_ADVICE: tuple[str, ...] = (
    "Drive the car: over-the-air updates may need several drives.",
    "Turn privacy mode off in the car.",
    "Make sure the brand's connected-services subscription is active (BMW ConnectedDrive with "
    '"Remote Services"; Stellantis Connected Vehicle Services).',
)


def explain(reason: str | None) -> Reason | None:
    """The catalogue entry for a reason; an unknown reason passes through verbatim, known=False."""
    if not reason:
        return None
    found = REASONS.get(reason) or REASONS.get(reason.strip())
    if found:
        return found
    return Reason(
        reason,
        (ALL,),
        "rejected",
        "This reason is not in hm-tui's catalogue; it is shown exactly as the platform sent it.",
        "Contact support with the VIN and this reason.",
        known=False,
    )


def reasons_for(brand_id: str) -> list[Reason]:
    """Known reasons that can apply to a brand (the emulator draws rejections from these)."""
    return [r for r in REASONS.values() if r.applies_to(brand_id)]
