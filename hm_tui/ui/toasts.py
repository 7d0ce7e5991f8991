"""Rejection toasts: one on screen at a time, the newest, counting the rejections since the
first one still shown (a summary for many at once). The stall toast: one when the live feed
stalls, taken away when its data returns.

Textual caps nothing: during an activation rejections keep coming, and at 80x24 stacked toasts
hid the table they are about, and the buttons of the dialogs above it. Dropping the older toast
goes through the app's private notification API (`_notifications`, `_unnotify`,
`_refresh_notifications`; textual is pinned below 9 in pyproject.toml): that use lives here alone.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from textual.app import App
from textual.notifications import Notification
from textual.screen import ModalScreen

from hm_tui.ui.keymap import ROSTER_KEYS, key_for
from hm_tui.ui.text import shown
from hm_tui.ui.widgets.roster_columns import compact_age

STALL_TOAST_S = 24 * 3600  # stays until the data returns (or the operator clicks it away)
NOTIFY_EACH_MAX = 3  # more rejections than this in one refresh make one summary notification
REJECTION_TOASTS = 1  # rejection toasts on screen at once (the newest)
TOAST_SECONDS = 8


class RejectionToasts:
    """Announces the rejections of a refresh on `app`, keeping REJECTION_TOASTS at most (the
    roster's status counts and its rejected filter keep the full story)."""

    def __init__(self, app: App[Any]) -> None:
        self._app = app
        self._shown: deque[Notification] = deque()
        self._series = 0  # rejections announced since the oldest toast still on screen
        self._held = 0  # rejections while a dialog was open, not shown yet

    def announce(self, rejected: list[Any]) -> None:
        """`rejected`: status changes (`vin`, `reason`) whose new status is rejected. While a
        dialog is open (its buttons sit where toasts go) they are counted, not shown: the next
        toast's title carries them, and the roster's counts have them all."""
        if not rejected:
            return
        if any(isinstance(top, ModalScreen) for top in self._app.screen_stack[-1:]):
            self._held += len(rejected)
            return
        if len(rejected) > NOTIFY_EACH_MAX:
            first = rejected[0]
            self._toast(
                f"{len(rejected)} at once, e.g. {shown(first.vin, 20)}: "
                f"{shown(first.reason or 'no reason given', 120)}",
                len(rejected),
            )
            return
        for change in rejected:
            reason = shown(change.reason or "no reason given", 200)
            self._toast(f"{shown(change.vin, 20)}: {reason}")

    def _toast(self, text: str, count: int = 1) -> None:
        app = self._app
        still_shown = any(toast in app._notifications for toast in self._shown)
        self._series = (self._series if still_shown else 0) + count + self._held
        self._held = 0
        while len(self._shown) >= REJECTION_TOASTS:
            app._unnotify(self._shown.popleft(), refresh=False)
        title = (
            "Rejected"
            if self._series == 1
            else f"Rejected: {self._series} ({self._rejected_key()} lists them)"
        )
        toast = Notification(text, title, "error", TOAST_SECONDS, markup=False)
        self._shown.append(toast)
        # added now, not by a posted Notify: one posted and then dropped here before it was
        # handled would come back when it is (a refresh announcing three rejections showed three)
        app._notifications.add(toast)
        app._refresh_notifications()

    def _rejected_key(self) -> str:
        """The key that shows only rejected clearances (3, unless the profile remapped it)."""
        key = next(k for k in ROSTER_KEYS if k.id == "roster.status_rejected")
        return key_for(key, getattr(self._app, "keymap", {}))


class StallToast:
    """One notification per stall of the live feed (its header shows it too), taken away when
    data arrives again; a connection lost meanwhile does not end the stall (the header says
    that), data does."""

    def __init__(self, app: App[Any]) -> None:
        self._app = app
        self._toast: Notification | None = None
        self.raised = 0  # stall notifications so far

    def update(self, health: Any) -> None:
        """`health`: the feed's FeedHealth now (None: no feed, or not started)."""
        if health is not None and health.stalled and self._toast is None:
            self._raise(health)
        elif self._toast is not None and (health is None or health.level == "ok"):
            self._clear()

    def _raise(self, health: Any) -> None:
        window = compact_age(health.stall_after_s)
        text = (
            f"No data for over {window}, this stream's stall window (learned from its pace, "
            "never under the profile's stall_floor_s). The MQTT connection is up: the cars or "
            "the platform stopped sending. This goes away when data arrives."
        )
        toast = Notification(text, "Live feed stalled", "warning", STALL_TOAST_S, markup=False)
        self._toast = toast
        self.raised += 1
        app = self._app
        app._notifications.add(toast)  # added now: see RejectionToasts._toast
        app._refresh_notifications()

    def _clear(self) -> None:
        toast, self._toast = self._toast, None
        app = self._app
        if toast is not None and toast in app._notifications:
            app._unnotify(toast)
