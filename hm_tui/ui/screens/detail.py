"""The clearance detail screen: status, explained reason, brand guidance, timeline, latest data."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime
from itertools import islice
from typing import TYPE_CHECKING, Any, ClassVar

import msgspec
from textual import on, work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widgets import Static

from hm_tui.domain.brands import lookup
from hm_tui.domain.data_errors import explain_data_error
from hm_tui.domain.reasons import PENDING_ADVICE, explain
from hm_tui.domain.removal import Removal, plan_removal
from hm_tui.service.models import Clearance, DataPoint, VehicleData
from hm_tui.service.platform.clock import elapsed_s
from hm_tui.service.roster.entry import bounded_clearance
from hm_tui.ui import messages as msg
from hm_tui.ui.format import (
    format_age,
    format_duration,
    safe_multiline,
    safe_text,
    status_style,
)
from hm_tui.ui.keymap import DETAIL_KEYS, bindings, key_text
from hm_tui.ui.screens.confirm import ConfirmRemovalScreen
from hm_tui.ui.text import CLIP_MAX, copy_text, cut_note, was_cut
from hm_tui.ui.widgets.datapoints import DataPointsView, merge_latest
from hm_tui.ui.widgets.header import HeaderState, StatusHeader
from hm_tui.ui.widgets.key_footer import KeyFooter
from hm_tui.ui.widgets.roster_columns import VIN_SHOWN
from hm_tui.ui.widgets.timeline import Timeline

if TYPE_CHECKING:
    from hm_tui.service.session import Session


#: A pull's answer is laid out within this long (its lines, then the view's resize).
DATA_LAYOUT_S = 1.0
#: Bounds for what a platform may send in any size (a million tags, a 10 MB value): what is
#: past them is cut and the screen says so; `hm-tui vins show VIN --json` has it all.
TAGS_SHOWN = 100  # tags listed (sorted when there are no more; else in the platform's order)
TAG_KEY_SHOWN, TAG_VALUE_SHOWN = 60, 200
REASON_SHOWN = 300
RAW_SHOWN = 8_192  # characters of the raw JSON shown (a long line costs its wrapping)
RAW_COPIED = 262_144  # the raw JSON is copied whole up to this size, else not at all


def describe_data_error(error: BaseException) -> str:
    """The operator's words for a failed vehicle-data pull (shared with `hm-tui vins data`)."""
    detail = safe_text(getattr(error, "detail", None) or error, 200)
    return explain_data_error(getattr(error, "status", None), detail)


class DetailScreen(Screen[None]):
    """Everything about one clearance; live while open (re-reads the roster when it changes)."""

    BINDINGS: ClassVar = bindings(DETAIL_KEYS)
    TOAST_ROOM: ClassVar = "#detail-body"  # toasts never cover it (ui/toasts.py, ToastRoom)

    class DataPulled(Message):
        def __init__(self, data: VehicleData) -> None:
            super().__init__()
            self.data = data

    class DataPullFailed(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, session: Session, vin: str, header: HeaderState | None = None) -> None:
        super().__init__(classes="detail-screen")
        self.session = session
        self.vin = vin
        self._header = header  # the app's header as it is now: none would read "API starting"
        self._clearance: Clearance | None = None
        self._raw = b""  # the clearance's JSON as the roster holds it
        self._tag_count = 0
        self._version: object = None
        self._pulled: list[DataPoint] = []
        self._pulled_at: datetime | None = None
        self._composed = False
        self._pull_note: tuple[str, bool] | None = None
        self._data_scroll_until = 0.0  # a pull's answer is scrolled into view until then

    def compose(self) -> ComposeResult:
        header = StatusHeader(id="detail-header")
        if self._header is not None:
            header.state = replace(self._header, sort=None)
        yield header
        with VerticalScroll(id="detail-body"):
            yield Static(id="detail-title", markup=False)
            yield Static(id="detail-status", markup=False)
            yield Static(id="detail-reason", markup=False)
            yield Static(id="detail-removal", markup=False)
            yield Static("Brand", classes="detail-heading")
            yield Static(id="detail-brand", markup=False)
            yield Static("Tags", classes="detail-heading")
            yield Static(id="detail-tags", markup=False)
            yield Static("Timeline", classes="detail-heading")
            yield Timeline(id="detail-timeline")
            yield Static("Latest data", classes="detail-heading")
            yield Static(id="detail-data-note", markup=False)
            yield DataPointsView(id="detail-data")
            yield Static(id="detail-raw", classes="-hidden", markup=False)
        yield KeyFooter(compact=True)

    def on_mount(self) -> None:
        self._composed = True
        self.roster_changed()
        self.set_interval(1.0, self._tick)
        self.post_message(msg.HeaderOutdated())

    @on(msg.HeaderChanged)
    def _header_changed(self, message: msg.HeaderChanged) -> None:
        self.show_header(message.state)

    @on(msg.RosterChanged)
    def _roster_changed(self) -> None:
        self.roster_changed()

    def show_header(self, state: HeaderState) -> None:
        """The app's header (profile, environment, API, MQTT): `d` acts on this profile."""
        self._header = state
        for header in self.query(StatusHeader):  # none before compose: the app's timer can
            header.show(replace(state, sort=None))  # come between the push and the compose

    # -- reading the session ------------------------------------------------------------

    def roster_changed(self) -> None:
        """Re-read this VIN's clearance from the roster (on the app's `RosterChanged`)."""
        if not self._composed:  # pushed, not composed yet: on_mount reads it then
            return
        self._version = self.session.roster.version
        self._clearance = self._read_clearance()
        self._render_all()
        self.refresh_bindings()  # `d` follows the status (check_action)

    def _read_clearance(self) -> Clearance | None:
        """This VIN's clearance, read again only when its bytes changed, with at most
        `TAGS_SHOWN` of its tags (`_tag_count` says how many it has): a clearance of any size
        reads in bounded time."""
        try:
            entry = self.session.roster.entry(self.vin)
        except KeyError:
            entry = None
        if entry is None:
            self._raw = b""
            return None
        if entry.raw is not self._raw or self._clearance is None:
            self._raw = entry.raw
            self._clearance, self._tag_count = bounded_clearance(entry, TAGS_SHOWN)
        return self._clearance

    def _tick(self) -> None:
        if self.session.roster.version != self._version:
            self.roster_changed()
        else:
            self._render_status()
            self._render_data()

    def _feed_latest(self) -> dict[str, DataPoint]:
        feed = self.session.feed
        return dict(feed.latest(self.vin)) if feed is not None else {}

    # -- rendering ----------------------------------------------------------------------

    def _render_all(self) -> None:
        self._render_title()
        self._render_status()
        self._render_reason()
        self._render_removal()
        self._render_brand()
        self._render_tags()
        self._render_data()
        self._render_raw()
        clearance = self._clearance
        self.query_one(Timeline).show(clearance.changelog if clearance else [], self._now())

    def _set(self, widget_id: str, content: Content | str) -> None:
        self.query_one(f"#{widget_id}", Static).update(
            content if isinstance(content, Content) else Content(content)
        )

    def _render_title(self) -> None:
        clearance = self._clearance
        brand = lookup(clearance.brand) if clearance else None
        brand_name = brand.name if brand else safe_text(clearance.brand if clearance else "?", 30)
        parts: list[str | tuple[str, str]] = [
            (safe_text(self.vin, 40), "bold"),
            (cut_note(self.vin, 40), "$warning"),
            f"  {brand_name}",
        ]
        if self.session.profile.environment == "live":
            parts.append(("  PRODUCTION: actions affect real cars", "bold $error"))
        self._set("detail-title", Content.assemble(*parts))

    def _render_status(self) -> None:
        clearance = self._clearance
        if clearance is None:
            self._set(
                "detail-status",
                Content.assemble(
                    ("not in the roster", "bold $error"), ": removed, or not loaded yet."
                ),
            )
            return
        since = clearance.since
        seconds = elapsed_s(since, self._now())
        held = "?" if seconds is None else format_duration(seconds)
        stamp = "" if since is None else f"  (since {since:%Y-%m-%d %H:%M} UTC)"
        self._set(
            "detail-status",
            Content.assemble(
                "Status: ",
                (safe_text(clearance.status, 24).upper(), status_style(clearance.status)),
                f"  for {held}",
                stamp,
            ),
        )

    def _now(self) -> datetime:
        """Platform time, as the roster's "time in state" uses it (the app's clock)."""
        clock = getattr(self.app, "clock", None)
        return clock() if callable(clock) else self.session.platform_now()

    def _render_reason(self) -> None:
        self._set("detail-reason", reason_content(self._clearance))

    def _render_removal(self) -> None:
        clearance = self._clearance
        if clearance is None:
            self._set("detail-removal", "")
            return
        plan = plan_removal(
            clearance.brand, clearance.status, clearance.created_at, self.session.platform_now()
        )
        key = "d: " if plan.possible else "d is not possible now: "
        self._set("detail-removal", Content.assemble((key, "bold"), plan.why))

    def _render_brand(self) -> None:
        clearance = self._clearance
        brand = lookup(clearance.brand) if clearance else None
        if brand is None:
            shown = safe_text(clearance.brand if clearance else "", 40)
            self._set("detail-brand", f"Brand {shown!r} is unknown to hm-tui.")
            return
        title = brand.name if brand.group == brand.name else f"{brand.name} ({brand.group})"
        lines = [title, *(f"• {line}" for line in brand.guidance())]  # not "Ford (Ford)"
        self._set("detail-brand", "\n".join(lines))

    def _render_tags(self) -> None:
        tags = self._clearance.tags if self._clearance else {}
        if not tags:
            self._set("detail-tags", "No tags.")
            return
        count = max(self._tag_count, len(tags))
        many = count > TAGS_SHOWN
        listed = islice(tags.items(), TAGS_SHOWN) if many else sorted(tags.items())
        lines = [
            f"{safe_text(k, TAG_KEY_SHOWN)}{cut_note(k, TAG_KEY_SHOWN)} = "
            f"{safe_text(v, TAG_VALUE_SHOWN)}{cut_note(v, TAG_VALUE_SHOWN)}"
            for k, v in listed
        ]
        if many:
            lines.append(
                f"… and {count - TAGS_SHOWN:,} more tags (cut: the first {TAGS_SHOWN} of "
                f"{count:,} shown, in the platform's order; hm-tui vins show "
                f"{safe_text(self.vin, 40)} --json lists them all)"
            )
        self._set("detail-tags", "\n".join(lines))

    def _render_data(self) -> None:
        points = merge_latest(self._feed_latest(), self._pulled)
        blocked = self._no_data_status() is not None  # the note below says why there is none
        self.query_one(DataPointsView).show(points, empty="" if blocked else "No data points yet.")
        note = self._pull_note
        if note is not None:
            self._set("detail-data-note", Content.styled(note[0], "$warning" if note[1] else ""))
        elif self._pulled_at is not None:
            self._set("detail-data-note", f"Pulled {format_age(self._pulled_at)}.")
        else:
            self._set("detail-data-note", self._data_source_note())

    def _no_data_status(self) -> str | None:
        """The clearance's status when it is one the platform delivers no data in."""
        status = self._clearance.status if self._clearance else None
        return None if status in (None, "approved") else status

    def _data_source_note(self) -> str:
        status = self._no_data_status()
        if status is not None:
            return (
                f"No data while the clearance is {safe_text(status, 24)}: the platform "
                "delivers data only for approved clearances."
            )
        source = "streaming from the live feed" if self.session.feed else "no live feed"
        return f"Source: {source}; press v to pull now."

    def _render_raw(self) -> None:
        """The raw JSON, built only while it is shown (`j`), and at most `RAW_SHOWN` of it."""
        raw = self.query_one("#detail-raw", Static)
        if raw.has_class("-hidden"):
            return
        text = self.raw_json()
        shown = safe_multiline(text, RAW_SHOWN)
        if was_cut(text, RAW_SHOWN):
            shown += (
                f"\n(cut: the first {RAW_SHOWN:,} of {len(text):,} characters; hm-tui vins "
                f"show {safe_text(self.vin, 40)} --json writes it whole)"
            )
        self._set("detail-raw", shown)

    def raw_json(self) -> str:
        """The clearance as indented JSON, as the platform's data holds it (not made inert)."""
        if self._clearance is None:
            return "{}"
        return msgspec.json.format(self._raw or b"{}", indent=2).decode("utf-8", "replace")

    # -- actions ------------------------------------------------------------------------

    def action_back(self) -> None:
        self.dismiss(None)

    def action_toggle_raw(self) -> None:
        raw = self.query_one("#detail-raw", Static)
        raw.toggle_class("-hidden")
        if not raw.has_class("-hidden"):
            self._render_raw()
            self.query_one("#detail-body").scroll_to_widget(raw)

    def action_copy_vin(self) -> None:
        copy_text(self.app, self.vin, limit=VIN_SHOWN)
        cut = (
            f" (cut: the VIN has {len(self.vin):,} characters)"
            if was_cut(self.vin, VIN_SHOWN)
            else ""
        )
        self.notify(f"Copied {safe_text(self.vin, 40)}{cut}", markup=False)

    def action_copy_reason(self) -> None:
        reason = self._clearance.reason if self._clearance else None
        if not reason:
            self.notify("This clearance has no reason to copy.", markup=False)
            return
        copy_text(self.app, reason)
        if was_cut(reason, CLIP_MAX):
            self.notify(
                f"Copied the reason's first {CLIP_MAX:,} characters (cut: it has {len(reason):,})",
                markup=False,
                severity="warning",
            )
        else:
            self.notify("Copied the reason", markup=False)

    def action_copy_raw(self) -> None:
        if len(self._raw) > RAW_COPIED:  # (a cut JSON is no JSON: nothing copied)
            self.notify(
                f"Not copied: the raw JSON has {len(self._raw):,} bytes, more than the "
                f"clipboard takes ({RAW_COPIED:,}); hm-tui vins show {safe_text(self.vin, 40)} "
                "--json writes it whole",
                markup=False,
                severity="warning",
            )
            return
        copy_text(self.app, self.raw_json(), multiline=True, limit=None)
        self.notify("Copied the raw JSON", markup=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """`d` is in the footer only when it would do something (not read-only, the clearance
        removable now); pressed anyway, its hidden twin says why (ui/keymap.py)."""
        if action != "remove" or parameters:
            return True
        plan = self._removal()
        return not self.session.read_only and plan is not None and plan.possible

    def _removal(self) -> Removal | None:
        """What cancel/revoke would do now (None: no clearance to remove)."""
        clearance = self._clearance
        if clearance is None:
            return None
        return plan_removal(
            clearance.brand, clearance.status, clearance.created_at, self.session.platform_now()
        )

    def action_remove(self, _refused: str = "") -> None:
        if self.session.read_only:
            self._refuse("Read-only mode: cancel/revoke is disabled.", "warning")
            return
        plan = self._removal()
        if plan is not None and not plan.possible:
            self._refuse(f"Not possible now: {plan.why}.")
            return
        self.app.push_screen(ConfirmRemovalScreen(self.session, [self.vin]))

    def _refuse(self, message: str, severity: SeverityLevel = "information") -> None:
        """Say why `d` opens nothing, through the app's refusal (it also drops the keys typed
        for the dialog that did not open: ui/typeahead.py)."""
        from hm_tui.ui.clearance_actions import ClearanceActions

        if isinstance(self.app, ClearanceActions):
            self.app.refuse(message, severity)
        else:
            self.notify(message, severity=severity, markup=False)

    def action_pull_data(self) -> None:
        self._pull_note = ("Pulling the car's data…", False)
        self._render_data()
        self._pull(self.vin)

    @work(exclusive=True, exit_on_error=False, group="vehicle-data", description="vehicle-data")
    async def _pull(self, vin: str) -> None:
        try:
            data = await self.session.vehicle_data(vin)
        except Exception as error:  # every failure becomes a message, never a traceback
            self.post_message(self.DataPullFailed(describe_data_error(error)))
            return
        self.post_message(self.DataPulled(data))

    @on(DataPulled)
    def _pulled_ok(self, message: DataPulled) -> None:
        self._pulled = list(message.data.points)
        self._pulled_at = datetime.now(UTC)
        self._pull_note = None
        if not self._pulled:
            self._pull_note = ("The car answered, but sent no data points.", True)
        self._render_data()
        self._show_data()

    def _show_data(self) -> None:
        """The answer asked for in view: the body scrolled to the data once it is laid out: after
        the data view's resize (new lines), or the next refresh if its height did not change."""
        self._data_scroll_until = time.monotonic() + DATA_LAYOUT_S
        self.call_after_refresh(self._scroll_to_data)

    @on(DataPointsView.Resized)
    def _data_resized(self) -> None:
        if time.monotonic() < self._data_scroll_until:  # (later: the operator's own resizes)
            self.call_after_refresh(self._scroll_to_data)

    def _scroll_to_data(self) -> None:
        body, note = self.query_one("#detail-body"), self.query_one("#detail-data-note")
        body.scroll_to_widget(note, animate=False, top=True)

    def room_changed(self) -> None:
        """Toasts came or went and the body changed height (ui/toasts.py, ToastRoom): if the
        operator is looking at the data, keep as much of it in view as fits."""
        body, note = self.query_one("#detail-body"), self.query_one("#detail-data-note")
        if self._pulled_at is not None and note.region.overlaps(body.region):
            self.call_after_refresh(self._scroll_to_data)

    @on(DataPullFailed)
    def _pulled_failed(self, message: DataPullFailed) -> None:
        self._pull_note = (message.text, True)
        self._render_data()
        self._show_data()

    def system_commands(self) -> list[tuple[str, str, Any]]:
        """(title, help, callback) for the app's command palette while this screen is shown."""
        keymap = getattr(self.app, "keymap", {})  # the hints follow the profile's remaps
        remove, back = key_text("detail.remove", keymap), key_text("detail.back", keymap)
        return [
            ("Cancel/revoke this VIN", f"With a confirmation ({remove})", self.action_remove),
            ("Back to the roster", f"Close this clearance's detail ({back})", self.action_back),
            ("Copy VIN", "Copy this VIN to the clipboard", self.action_copy_vin),
            ("Copy reason", "Copy the clearance's reason", self.action_copy_reason),
            ("Copy raw JSON", "Copy the clearance as JSON", self.action_copy_raw),
            (
                "Pull vehicle data",
                "Ask the platform for the car's latest data",
                self.action_pull_data,
            ),
            ("Toggle raw JSON", "Show or hide the clearance as JSON", self.action_toggle_raw),
        ]


def reason_content(clearance: Clearance | None) -> Content:
    """The reason explained (catalogue), verbatim and marked when unknown, or pending advice."""
    if clearance is None:
        return Content("")
    reason = clearance.reason
    if reason:
        known = explain(reason)
        assert known is not None
        parts: list[str | tuple[str, str]] = [
            "Reason: ",
            (safe_text(reason, REASON_SHOWN), "bold"),
            (cut_note(reason, REASON_SHOWN), "$warning"),
        ]
        if not known.known:
            parts.append(("  (unknown reason: shown exactly as the platform sent it)", "$warning"))
        parts += ["\n", known.meaning, "\n", ("What you can do: ", "bold"), known.action]
        return Content.assemble(*parts)
    if clearance.status == "pending":
        advice = "\n".join(f"• {line}" for line in PENDING_ADVICE)
        return Content.assemble(
            ("Waiting for the brand to activate the car. ", "bold"), "What helps:\n", advice
        )
    if clearance.status == "approved":  # nothing to explain: the car may send data
        return Content("Approved: the car may deliver data.")
    return Content("No reason given.")
