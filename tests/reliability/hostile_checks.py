"""What the independent pass checks in everything hm-tui shows: no character that can act on a
terminal or hide what it shows, no traceback, no secret. Written apart from the product's own
sanitiser (from Unicode's categories), so a gap in one is not repeated in the other."""

from __future__ import annotations

import asyncio
import unicodedata

import pytest

from hm_tui.cli.main import main

# Unicode's Default_Ignorable_Code_Point (invisible wherever they appear) beyond category Cf.
_IGNORABLE = (
    {0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x3164, 0xFFA0}
    | set(range(0x180B, 0x1810))
    | set(range(0xFE00, 0xFE10))
    | set(range(0xFFF0, 0xFFF9))
    | set(range(0xE0100, 0xE01F0))
)


def active(text: str) -> str | None:
    """The first character of `text` that could act on a terminal or hide itself (a control
    other than a line break, a format character, an invisible one, a lone surrogate)."""
    for char in text:
        if char == "\n":
            continue
        if unicodedata.category(char) in ("Cc", "Cf", "Cs", "Zl", "Zp"):
            return char
        if ord(char) in _IGNORABLE:
            return char
    return None


def assert_inert(text: str, where: str = "") -> None:
    found = active(text)
    assert found is None, f"{where}: {found!r} (U+{ord(found):04X}) in {text[-600:]!a}"


async def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """The real CLI in this process (`main`, as the binary runs it), its output checked: no
    traceback, nothing active."""
    capsys.readouterr()
    code = await asyncio.to_thread(main, list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err, err[-2000:]
    assert_inert(out + err, " ".join(argv))
    return code, out, err
