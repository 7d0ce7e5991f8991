"""Platform answers into typed models, tolerant of what the platform may add or get wrong.

A clearance list is first split into its items' bytes (`WireClearances`: the roster diffs those
against what it holds, decoding only what changed), then decoded in batches; if one item of a
batch does not fit, the batch is decoded again item by item, the bad ones skipped and counted
(one broken record must not hide a fleet).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec

from hm_tui.domain.timestamps import parse_time
from hm_tui.service.errors import BadResponse
from hm_tui.service.models import (
    Clearance,
    DataPoint,
    ItemResult,
    VehicleData,
    decode_clearance_array,
)
from hm_tui.service.platform import bounded_json
from hm_tui.service.platform.bounded_json import JsonError

_ENVELOPE_KEYS = frozenset({"request_id", "vin", "brand"})
_BATCH = 2000  # clearances decoded per C call (a few milliseconds each)
_RAW_LIST = msgspec.json.Decoder(list[msgspec.Raw])
T = TypeVar("T")
#: Bytes of a big list split per C call: 4 MB is ~15,000 clearances, a few milliseconds.
WINDOW = 4 * 2**20
_WINDOW_TRIES = 4  # candidate cuts tried for one window before the rest is split in one call
_OPEN, _CLOSE, _COMMA = ord("["), ord("]"), ord(",")
# The array's opening and its first item's first key (`{"vin":` in the platform's lists)
_FIRST_KEY = re.compile(rb'[ \t\r\n]*\[[ \t\r\n]*\{[ \t\r\n]*("[A-Za-z0-9_]{1,64}")[ \t\r\n]*:')
_WS = rb"[ \t\r\n]*"
_LET_GO_STEP = 8192  # items freed per C call by `WireClearances.let_go`


@dataclass(frozen=True, slots=True)
class ClearanceList:
    clearances: list[Clearance]
    bad_items: int  # items skipped because they did not fit the model


@dataclass(frozen=True, slots=True)
class WireClearances:
    """A clearance list as the platform sent it: each item's JSON, not yet decoded.

    The roster compares these bytes with the ones it holds, so a refresh decodes only the
    items that changed (about 1% of a fleet), never the whole list. Items are `bytes`, or
    `msgspec.Raw` views into the body (no copy until `bytes(item)`: the roster copies a slice at
    a time, and keeps only the copies of what changed)."""

    items: list[Any]  # bytes | msgspec.Raw
    body: bytes | bytearray | None = None  # the array they were split from, when kept

    def __len__(self) -> int:
        return len(self.items)

    def let_go(self) -> None:
        """Drop the items, a step at a time, then free the body if nothing else views it: for
        the one who fetched the list, once what it needed of it is copied out (a million items
        freed at once are one C call; a body held until its last view goes is 262 MB then)."""
        items = self.items
        while items:
            del items[-_LET_GO_STEP:]
        if isinstance(self.body, bytearray):
            with contextlib.suppress(BufferError):  # (an item someone kept still views it)
                self.body.clear()

    def vins(self) -> list[str]:
        """Each item's VIN (items without one are skipped): a scan that builds nothing else."""
        return [item.vin for item in _vins_of(self.items)]


class _VinOnly(msgspec.Struct):
    vin: str


_VIN_ONLY = msgspec.json.Decoder(list[_VinOnly])


def _vins_of(items: list[Any]) -> list[_VinOnly]:
    found: list[_VinOnly] = []
    for start in range(0, len(items), _BATCH):
        part = items[start : start + _BATCH]
        try:
            found += _VIN_ONLY.decode(_array(part))
        except (msgspec.DecodeError, RecursionError):  # (not UTF-8 inside: that item alone)
            for item in part:
                with contextlib.suppress(msgspec.DecodeError, RecursionError):
                    found.append(_VIN_ONLY_ONE.decode(bytes(item)))
    return found


_VIN_ONLY_ONE = msgspec.json.Decoder(_VinOnly)


def split_clearance_list(body: bytes | bytearray, *, window: int = WINDOW) -> WireClearances:
    """The list call's bare array, split into its items' bytes (a fast scan, nothing decoded);
    a body that is not a JSON array is a `BadResponse`.

    A large body (the transport's `bytearray`) is split a window of about `window` bytes per C
    call (`_split_in_windows`): one call over a million clearances' 262 MB held the GIL for
    0.3-0.6 s, stalling the event loop from a worker thread. Any doubt there falls back to this
    one exact call, so the answer (or the error) is the same either way."""
    if isinstance(body, bytearray) and len(body) > 2 * window:
        raws = _split_in_windows(body, window)
        if raws is not None:
            return WireClearances(raws, body)
    try:
        raws = bounded_json.typed(_RAW_LIST, body)
    except msgspec.ValidationError:
        try:
            kind = type(bounded_json.loads(body)).__name__
        except JsonError as exc:
            raise _unreadable_list(str(exc)) from None
        raise BadResponse(
            "Unexpected clearance list", f"expected a JSON array, got {kind}"
        ) from None
    except msgspec.DecodeError:
        raise _unreadable_list("not JSON") from None
    except JsonError as exc:
        raise _unreadable_list(str(exc)) from None
    return WireClearances(raws, body)


def _split_in_windows(body: bytearray, window: int) -> list[msgspec.Raw] | None:
    """`body`'s items, decoded a window at a time; None when the exact path must decide.

    A cut is a candidate where an object ends and the next item starts with the same key as the
    first item (`},{"vin":`): likely, never assumed, to be a boundary between two items. Each
    window is decoded as an array of its own (list[Raw]), its ends made brackets in place (the
    separator comma before it becomes `[`, the candidate comma after it `]`; both put back at
    once: the items are views into `body`, and no item includes a separator). Why a window that
    decodes proves its cut: it starts at a proven boundary (the array's start, or the previous
    proven cut), so a decoder reading the whole array reads the same bytes the same way up to
    the cut; the window decoded as complete values ending just before it, so the comma there is
    the array's own separator, outside any string and at the array's depth. A candidate inside
    a string or a nested object makes its window invalid (an unterminated string, an unclosed
    bracket): the next candidate is tried; after `_WINDOW_TRIES` the rest is decoded in one
    call, and if that fails too (a body that is not JSON, a byte order mark, a lone surrogate,
    nesting too deep) the whole body goes the exact way, which words the error or repairs."""
    first = _FIRST_KEY.match(body)
    if first is None:
        return None
    cuts = re.compile(
        rb"\}" + _WS + rb"(,)" + _WS + rb"\{" + _WS + re.escape(first.group(1)) + _WS + rb":"
    )
    items: list[msgspec.Raw] = []
    opened = -1  # the separator made `[` for the current window (-1: the array's own start)
    end = len(body)
    while True:
        search_from = max(opened, 0) + window
        part = None
        for _ in range(_WINDOW_TRIES):
            if end - search_from < window:
                break
            found = cuts.search(body, search_from, search_from + window)
            if found is None:
                search_from += window  # (no candidate nearby: a longer window)
                continue
            cut = found.start(1)
            part = _window(body, opened, cut)
            if part is not None:
                break
            search_from = cut + 1
        if part is None:  # the rest, in one call
            last = _window(body, opened, end)
            if last is None:
                return None
            items += last
            return items
        items += part
        opened = cut


def _window(body: bytearray, opened: int, cut: int) -> list[msgspec.Raw] | None:
    """The items of `body[opened:cut + 1]` with its ends made brackets (`cut == len(body)`:
    to the body's own end), or None when that is not an array."""
    start = max(opened, 0)
    closing = cut < len(body)
    if opened >= 0:
        body[opened] = _OPEN
    if closing:
        body[cut] = _CLOSE
    try:
        return _RAW_LIST.decode(memoryview(body)[start : cut + 1 if closing else cut])
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return None
    finally:
        if opened >= 0:
            body[opened] = _COMMA
        if closing:
            body[cut] = _COMMA


def _unreadable_list(why: str) -> BadResponse:
    return BadResponse("Unreadable clearance list", f"the platform's answer is {why}")


def decode_items(items: list[Any]) -> tuple[list[Clearance], list[bytes], int]:
    """Decode wire items: the clearances, the bytes of each (aligned), and how many did not fit."""
    good: list[Clearance] = []
    good_items: list[bytes] = []
    bad = 0
    for clearances, raws, skipped in decode_batches(items):
        good += clearances
        good_items += raws
        bad += skipped
    return good, good_items, bad


def decode_batches(items: list[Any]) -> Iterator[tuple[list[Clearance], list[bytes], int]]:
    """Decode wire items a batch at a time: (clearances, the bytes of each, how many did not fit).

    One C call over 100,000 clearances holds the GIL for a second, which stalls the event loop
    even when this runs in a worker thread; batches let it breathe. A caller that is done with
    a batch before asking for the next keeps ~2 MB of them alive, not a fleet's 100 MB."""
    for start in range(0, len(items), _BATCH):
        part = list(map(bytes, items[start : start + _BATCH]))  # own copies: none pins a body
        clearances, positions = decode_clearance_array(_array(part))
        if positions is None:
            yield clearances, part, 0
        else:  # (the items that did not fit are skipped)
            yield clearances, [part[at] for at in positions], len(part) - len(clearances)


def wire_array(items: Sequence[Any]) -> bytes:
    """Wire items (bytes, or `msgspec.Raw` views) as one JSON array, for one C-level decode."""
    return b"[" + b",".join(map(bytes, items)) + b"]"


_array = wire_array


def decode_clearance_list(body: bytes) -> ClearanceList:
    """The list call's bare array, every item decoded (bad items skipped and counted)."""
    clearances, _, bad = decode_items(split_clearance_list(body).items)
    return ClearanceList(clearances, bad)


def decode_clearance(body: bytes) -> Clearance:
    return decode_struct(body, Clearance, "clearance")


def decode_add_answer(body: bytes) -> list[ItemResult]:
    """The POST answer's per-item results (bad items become error results, never dropped)."""
    try:
        raw = bounded_json.loads(body)
    except JsonError as exc:
        raise BadResponse("Unreadable answer", f"the platform's answer is {exc}") from None
    items = raw.get("vehicles") if isinstance(raw, dict) else None
    if not isinstance(items, list):
        raise BadResponse("Unexpected answer", "no `vehicles` list in the platform's answer")
    results = []
    for item in items:
        try:
            results.append(msgspec.convert(item, ItemResult))
        except msgspec.ValidationError as exc:
            vin = item.get("vin") if isinstance(item, dict) else None
            results.append(ItemResult(str(vin or ""), "error", f"unreadable result: {_short(exc)}"))
    return results


def decode_struct(body: bytes, typ: type[T], what: str) -> T:
    try:
        return msgspec.json.decode(body, type=typ)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise BadResponse(f"Unexpected {what}", _short(exc)) from None
    except RecursionError:
        raise BadResponse(f"Unexpected {what}", "nested too deeply") from None


def decode_vehicle_data(body: bytes, vin: str) -> VehicleData:
    """Every `capability.property` entry as a data point; `multiple` properties are arrays."""
    try:
        raw = bounded_json.loads(body)
    except JsonError as exc:
        raise BadResponse(
            "Unreadable vehicle data", f"the platform's answer is {exc}", vin=vin
        ) from None
    if not isinstance(raw, dict):
        raise BadResponse("Unexpected vehicle data", "expected a JSON object", vin=vin)
    points: list[DataPoint] = []
    for capability, properties in raw.items():
        if capability in _ENVELOPE_KEYS or not isinstance(properties, dict):
            continue
        for prop, entries in properties.items():
            for entry in entries if isinstance(entries, list) else [entries]:
                if isinstance(entry, dict):
                    points.append(data_point(vin, capability, prop, entry))
    return VehicleData(
        vin=str(raw.get("vin") or vin),
        brand=_opt_str(raw.get("brand")),
        request_id=_opt_str(raw.get("request_id")),
        points=points,
        raw=raw,
    )


def data_point(vin: str, capability: str, prop: str, entry: dict[str, Any]) -> DataPoint:
    """One `{"data", "timestamp", "failure"?}` entry; a measurement splits into value and unit."""
    data = entry.get("data")
    value, unit = data, None
    if isinstance(data, dict) and set(data) == {"value", "unit"}:
        value, unit = data["value"], _opt_str(data["unit"])
    failure = entry.get("failure")
    if isinstance(failure, dict):
        failure = ": ".join(str(failure[k]) for k in ("reason", "description") if failure.get(k))
    return DataPoint(
        vin=vin,
        capability=capability,
        property=prop,
        value=value,
        unit=unit,
        timestamp=parse_time(entry.get("timestamp")),
        failure=str(failure) if failure else None,
    )


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _short(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) < 160 else text[:159] + "…"
