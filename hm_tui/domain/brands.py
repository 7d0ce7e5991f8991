"""The brand catalogue (docs/platform.md#brands): the 29 clearance ids, groups, what each needs."""

from __future__ import annotations

from dataclasses import dataclass, field

VW_CUSTOMER_TAG = "vw-group-customer-name"

GROUPS: dict[str, tuple[str, ...]] = {
    "BMW Group": ("bmw", "mini"),
    "Mercedes-Benz": ("mercedes-benz",),
    "Stellantis": (
        "citroen",
        "ds",
        "opel",
        "peugeot",
        "vauxhall",
        "jeep",
        "fiat",
        "alfaromeo",
        "maserati",
    ),
    "Ford": ("ford",),
    "Renault Group": ("renault", "dacia"),
    "Toyota Group": ("toyota", "lexus"),
    "Porsche": ("porsche",),
    "Kia": ("kia",),
    "Tesla": ("tesla",),
    "Volvo Cars": ("volvo-cars",),
    "Polestar": ("polestar",),
    "VW Group": ("skoda", "audi", "volkswagen", "seat", "cupra"),
    "Nissan": ("nissan",),
    "Sandbox": ("sandbox",),
}

_CANCEL_GROUPS = frozenset({"Stellantis", "Mercedes-Benz", "VW Group"})

_PRETTY = {
    "bmw": "BMW",
    "mini": "MINI",
    "mercedes-benz": "Mercedes-Benz",
    "citroen": "Citroën",
    "ds": "DS",
    "opel": "Opel",
    "peugeot": "Peugeot",
    "vauxhall": "Vauxhall",
    "jeep": "Jeep",
    "fiat": "Fiat",
    "alfaromeo": "Alfa Romeo",
    "maserati": "Maserati",
    "ford": "Ford",
    "renault": "Renault",
    "dacia": "Dacia",
    "toyota": "Toyota",
    "lexus": "Lexus",
    "porsche": "Porsche",
    "kia": "Kia",
    "tesla": "Tesla",
    "volvo-cars": "Volvo Cars",
    "polestar": "Polestar",
    "skoda": "Škoda",
    "audi": "Audi",
    "volkswagen": "Volkswagen",
    "seat": "SEAT",
    "cupra": "CUPRA",
    "nissan": "Nissan",
    "sandbox": "Sandbox",
}

# World manufacturer identifiers (VIN positions 1-3) used by the emulator to make realistic VINs.
_WMI = {
    "bmw": ("WBA", "WBY", "5UX"),
    "mini": ("WMW",),
    "mercedes-benz": ("WDD", "W1K", "W1N"),
    "citroen": ("VF7",),
    "ds": ("VR1",),
    "opel": ("W0L", "W0V"),
    "peugeot": ("VF3",),
    "vauxhall": ("W0V",),
    "jeep": ("1C4", "ZAC"),
    "fiat": ("ZFA",),
    "alfaromeo": ("ZAR",),
    "maserati": ("ZAM",),
    "ford": ("WF0", "1FA", "1FM"),
    "renault": ("VF1",),
    "dacia": ("UU1",),
    "toyota": ("JTD", "SB1", "JTM"),
    "lexus": ("JTH",),
    "porsche": ("WP0", "WP1"),
    "kia": ("KNA", "U5Y"),
    "tesla": ("5YJ", "LRW", "XP7"),
    "volvo-cars": ("YV1",),
    "polestar": ("LPS", "YSM"),
    "skoda": ("TMB",),
    "audi": ("WAU", "WUA"),
    "volkswagen": ("WVW", "WVG", "WV1"),
    "seat": ("VSS",),
    "cupra": ("VSS",),
    "nissan": ("SJN", "JN1"),
    "sandbox": ("2HM",),
}

_DATA_CADENCE = {
    "BMW Group": (
        "Data arrives at trip start and end; the newest models also every 2 min or 3 km "
        "while driving."
    ),
    "Mercedes-Benz": (
        "Data arrives while the car is online, typically every few minutes when driving."
    ),
    "Stellantis": "Data arrives on events (ignition, trip end) and periodically while driving.",
    "Tesla": "Data arrives while the car is awake; a sleeping car sends nothing.",
    "Sandbox": "Simulated car: pushes data about every minute.",
}

_SUBSCRIPTIONS = {
    "BMW Group": (
        'Needs ConnectedDrive with "Remote Services" (fleet cars built from 07/2020 do not). '
        "MINI and older BMW need location sharing on for GPS."
    ),
    "Stellantis": (
        "Needs an active Connected Vehicle Services subscription and privacy settings that "
        "allow data."
    ),
    "Ford": "The fleet must grant High Mobility consent in Ford's fleet portal.",
    "Tesla": "The fleet must grant High Mobility consent in Tesla's fleet portal.",
    "VW Group": (
        f"Every clearance needs the tag {VW_CUSTOMER_TAG} (your business name). Privacy mode "
        "in the car blocks activation."
    ),
}


# Module constants, not `Brand.data_cadence`: with slots=True that is a member descriptor.
_DEFAULT_CADENCE = "Data arrives when the car reports it; cadence varies by model."
_DEFAULT_SUBSCRIPTIONS = "No extra subscription is documented for this brand."


@dataclass(frozen=True, slots=True)
class Brand:
    """One clearance brand id and the facts an operator needs about it."""

    id: str
    name: str
    group: str
    can_cancel: bool
    required_tags: tuple[str, ...] = field(default=())
    wmi: tuple[str, ...] = field(default=())
    data_cadence: str = _DEFAULT_CADENCE
    subscriptions: str = _DEFAULT_SUBSCRIPTIONS

    @property
    def data_brand(self) -> str:
        """The brand as the Vehicle Data API and MQTT payloads spell it (underscores)."""
        return to_data_brand(self.id)

    def guidance(self) -> list[str]:
        """Short lines for the detail screen."""
        if self.can_cancel:
            removal = (
                "Pending clearances can be canceled (24 h after they were added); "
                "approved ones revoked."
            )
        else:
            removal = (
                "Pending clearances cannot be canceled for this brand; approved ones "
                "can be revoked."
            )
        lines = [removal]
        if self.required_tags:
            lines.append("Required tags: " + ", ".join(self.required_tags) + ".")
        lines.append(self.data_cadence)
        lines.append(self.subscriptions)
        return lines


def _build() -> dict[str, Brand]:
    brands: dict[str, Brand] = {}
    for group, ids in GROUPS.items():
        for brand_id in ids:
            brands[brand_id] = Brand(
                id=brand_id,
                name=_PRETTY[brand_id],
                group=group,
                can_cancel=group in _CANCEL_GROUPS,
                required_tags=(VW_CUSTOMER_TAG,) if group == "VW Group" else (),
                wmi=_WMI[brand_id],
                data_cadence=_DATA_CADENCE.get(group, _DEFAULT_CADENCE),
                subscriptions=_SUBSCRIPTIONS.get(group, _DEFAULT_SUBSCRIPTIONS),
            )
    return brands


BRANDS: dict[str, Brand] = _build()
#: The 29 ids in the platform's documented order.
BRAND_IDS: tuple[str, ...] = (
    "bmw",
    "mini",
    "mercedes-benz",
    "citroen",
    "ds",
    "opel",
    "peugeot",
    "vauxhall",
    "jeep",
    "fiat",
    "alfaromeo",
    "maserati",
    "ford",
    "renault",
    "dacia",
    "toyota",
    "lexus",
    "porsche",
    "kia",
    "tesla",
    "volvo-cars",
    "polestar",
    "skoda",
    "audi",
    "volkswagen",
    "seat",
    "cupra",
    "nissan",
    "sandbox",
)


def group_of(brand_id: str) -> str | None:
    brand = BRANDS.get(brand_id)
    return brand.group if brand else None


def brands_in(group: str) -> tuple[str, ...]:
    return GROUPS.get(group, ())


def to_data_brand(brand_id: str) -> str:
    """`mercedes-benz` → `mercedes_benz` (Vehicle Data API spelling)."""
    return brand_id.replace("-", "_")


def from_data_brand(data_brand: str) -> str:
    """`volvo_cars` → `volvo-cars` (clearance spelling); unknown brands pass through."""
    candidate = data_brand.replace("_", "-")
    return candidate if candidate in BRANDS else data_brand


BRAND_ID_MAX = 200  # characters: a longer brand id is no brand (and is not looked at)


def lookup(brand_id: str) -> Brand | None:
    """The catalogue entry, accepting either spelling and any case."""
    if len(brand_id) > BRAND_ID_MAX:  # (no brand is named so long: a hostile 10 MB "brand")
        return None
    key = brand_id.strip().lower()
    return BRANDS.get(key) or BRANDS.get(from_data_brand(key))
