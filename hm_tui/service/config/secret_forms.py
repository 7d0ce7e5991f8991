"""The forms a secret may come back in, for `redact` to recognise it in any of them.

A platform, a proxy or a library that echoes what it was sent rarely echoes it verbatim: an
error page upper-cases it, percent-encodes it (a form body), writes it as HTML or JSON character
references, base64-encodes it with something before it (an `Authorization: Basic` header),
reverses it or spaces it out a character at a time. What is promised is those forms: a secret
spaced with anything else than one space, cut in pieces or shuffled is not recognised (the
defence against those is that the secret only ever goes in the token request's body).
Text from outside can also disguise it for a person while leaving it readable: a combining mark
or a variation selector inside, fullwidth letters, a Cyrillic `е` for a Latin `e`.

`encodings(secret)` lists the encoded forms, lower-cased (they are looked for in lower-cased
text: a case change cannot hide them). `skeleton(text)` is what a person reads: NFKC (fullwidth
to ASCII, ligatures apart), case-folded, marks and invisible characters dropped, the common
Cyrillic and Greek look-alikes of Latin letters made Latin (not Unicode's whole confusables
table), with where each character of the skeleton came from in `text`.
"""

from __future__ import annotations

import base64
import functools
import unicodedata
import urllib.parse

#: Encoded forms shorter than this are not looked for (they would mask ordinary words).
MIN_FORM = 8

# Cyrillic and Greek letters (after case folding) that read as Latin ones.
_LOOKALIKES = str.maketrans(
    "аеорсухіјѕԁԛԝһӏɡοανρικτυχεμзьвтнк",
    "aeopcyxijsdqwhlgoavpiktuxemzbbthk",
)
_LOOKALIKES_ANY_CASE = str.maketrans(
    "аеорсухіјѕԁԛԝһӏɡοανρικτυχεμзьвтнкАЕОРСУХІЈЅԚԜҺӀΟΑΝΡΙΚΤΥΧΕΜЗВТНК",
    "aeopcyxijsdqwhlgoavpiktuxemzbbthkaeopcyxijsqwhloavpiktuxemzbthk",
)
_DROPPED_CATEGORIES = frozenset({"Mn", "Me", "Cf", "Cc", "Cs", "Co", "Zl", "Zp"})
_DROPPED = frozenset(
    {0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x3164, 0xFFA0}
    | set(range(0x180B, 0x1810))
    | set(range(0xFE00, 0xFE10))
)


def encodings(secret: str) -> set[str]:
    """`secret` and its encoded forms, lower-cased (see the module doc)."""
    raw = secret.encode("utf-8", "surrogatepass")
    forms = {
        secret,
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret),
        "".join(f"%{byte:02x}" for byte in raw),
        "".join(f"&#{ord(char)};" for char in secret),
        "".join(f"&#x{ord(char):x};" for char in secret),
        "".join(f"\\u{ord(char):04x}" for char in secret),
        secret[::-1],  # reversed
        " ".join(secret),  # spaced out, one space between characters (not any other spacing)
        " ".join(secret[::-1]),
    }
    forms |= _base64_cores(raw)
    return {form.lower() for form in forms if len(form) >= MIN_FORM}


def _base64_cores(raw: bytes) -> set[str]:
    """The part of base64(anything + raw + anything) that depends on `raw` alone, for each of
    the three alignments, in the standard and the URL-safe alphabet."""
    cores = set()
    for before in range(3):
        text = base64.b64encode(bytes(before) + raw).decode()
        start = -(-before * 8 // 6)  # (the first characters carry bits of what came before)
        end = (before + len(raw)) * 8 // 6  # (the last may carry bits of what follows)
        core = text[start:end]
        cores |= {core, core.translate(str.maketrans("+/", "-_"))}
    return cores


@functools.lru_cache(maxsize=8192)
def _fold(char: str) -> str:
    if ord(char) in _DROPPED or unicodedata.category(char) in _DROPPED_CATEGORIES:
        return ""
    if char.isascii():
        return char.lower()
    folded = unicodedata.normalize("NFKC", char).casefold().translate(_LOOKALIKES)
    return "".join(c for c in folded if unicodedata.category(c) not in _DROPPED_CATEGORIES)


def rough_skeleton(text: str) -> str:
    """Close to `skeleton(text)[0]`, at C speed (no character-by-character work in Python):
    look-alikes made Latin, NFKD, then only its ASCII kept, lower-cased. What `skeleton` reads
    as a secret this reads too, so a text in which this finds none needs no closer look."""
    latin = unicodedata.normalize("NFKD", text).translate(_LOOKALIKES_ANY_CASE)
    return latin.encode("ascii", "ignore").decode().lower()


def skeleton(text: str) -> tuple[str, list[int]]:
    """What a person reads in `text` (see the module doc), and for each of its characters the
    index in `text` it came from."""
    chars: list[str] = []
    origin: list[int] = []
    for at, char in enumerate(text):
        for folded in _fold(char):
            chars.append(folded)
            origin.append(at)
    return "".join(chars), origin
