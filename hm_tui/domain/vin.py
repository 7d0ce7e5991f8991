"""VIN rules (docs/platform.md#vin-rules): refuse a wrong length, warn on I/O/Q or a check digit."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

VIN_LENGTH = 17
_ALLOWED = re.compile(r"^[0-9A-Z]+$")
_LETTER_VALUES = dict(
    zip(
        "ABCDEFGHJKLMNPRSTUVWXYZ",
        (1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 7, 9, 2, 3, 4, 5, 6, 7, 8, 9),
        strict=True,
    )
)
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


@dataclass(frozen=True, slots=True)
class VinCheck:
    """The outcome of checking one VIN as typed by an operator."""

    raw: str
    vin: str
    errors: tuple[str, ...] = field(default=())
    warnings: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.errors

    def message(self) -> str:
        """Errors then warnings, one sentence each, for a status line or stderr."""
        return " ".join((*self.errors, *self.warnings))


def normalise_vin(raw: str) -> str:
    """Upper-case and strip every whitespace character."""
    return "".join(raw.split()).upper()


def _char_value(ch: str) -> int | None:
    if ch.isdigit():
        return int(ch)
    return _LETTER_VALUES.get(ch)


def check_digit(vin: str) -> str | None:
    """The North-American check digit (position 9) of a 17-character VIN; None if uncomputable."""
    if len(vin) != VIN_LENGTH:
        return None
    total = 0
    for ch, weight in zip(vin, _WEIGHTS, strict=True):
        value = _char_value(ch)
        if value is None:
            return None
        total += value * weight
    rest = total % 11
    return "X" if rest == 10 else str(rest)


def check_vin(raw: str) -> VinCheck:
    """Check a VIN: a wrong length or characters outside 0-9A-Z are errors; I/O/Q and a failing
    check digit are warnings (docs/platform.md#vin-rules)."""
    vin = normalise_vin(raw)
    errors: list[str] = []
    warnings: list[str] = []
    shown = vin if vin.isprintable() else repr(vin)
    if not vin:
        errors.append("The VIN is empty: a VIN has 17 characters (0-9, A-Z).")
        return VinCheck(raw, vin, tuple(errors))
    if len(vin) != VIN_LENGTH:
        count = f"{len(vin)} character{'' if len(vin) == 1 else 's'}"
        errors.append(f"{shown[:40]} has {count}: a VIN has exactly 17.")
    if not _ALLOWED.match(vin):
        bad = sorted({c for c in vin if not ("0" <= c <= "9" or "A" <= c <= "Z")})
        listed = ", ".join(repr(c) for c in bad[:5])
        errors.append(f"The VIN contains characters other than 0-9 and A-Z ({listed}).")
    if errors:
        return VinCheck(raw, vin, tuple(errors))
    confusable = sorted({c for c in vin if c in "IOQ"})
    if confusable:
        warnings.append(
            f"{vin} contains {'/'.join(confusable)}, which VINs never use: check for 1/0 typos."
        )
    else:
        digit = check_digit_warning(vin)
        warnings += [digit] if digit else []
    return VinCheck(raw, vin, (), tuple(warnings))


#: The platform's documented sandbox test VINs (docs/platform.md#sandbox-test-vins): made up, and
#: known to fail the check digit; warning about them on every sandbox add would be noise.
SANDBOX_TEST_VINS = frozenset({"2HM00000000000001", "2HM00000000000002", "2HM00000000000003"})


def check_digit_warning(vin: str) -> str | None:
    """The warning for a 17-character VIN whose check digit (position 9) fails, else None."""
    expected = check_digit(vin)
    if expected is None or vin[8] == expected or vin in SANDBOX_TEST_VINS:
        return None
    return (
        f"{vin}: check digit (position 9) is {vin[8]}, expected {expected}; "
        "normal for many European VINs, a typo otherwise."
    )


def with_check_digit(vin17: str) -> str:
    """Return the VIN with position 9 set to its correct check digit (used to make test VINs)."""
    digit = check_digit(vin17[:8] + "0" + vin17[9:])
    if digit is None:
        raise ValueError(f"cannot compute a check digit for {vin17!r}")
    return vin17[:8] + digit + vin17[9:]
