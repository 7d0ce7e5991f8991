"""Rejection toasts: one per rejected clearance (a summary for many), at most a few on screen.

Textual caps nothing: during an activation rejections keep coming, and at 80x24 five stacked
toasts would hide the table they are about. Dropping the oldest toast goes through the app's
private notification API (`_notifications`, `_unnotify`, `_refresh_notifications`; textual is
pinned below 9 in pyproject.toml): that use lives here alone.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from textual.app import App
from textual.notifications import Notification

from hm_tui.ui.text import inert

NOTIFY_EACH_MAX = 3  # more rejections than this in one refresh make one summary notification
REJECTION_TOASTS = 2  # rejection toasts on screen at once (the newest)


class RejectionToasts:
    """Announces the rejections of a refresh on `app`, keeping REJECTION_TOASTS at most (the
    roster's status counts and its rejected filter keep the full story)."""

    def __init__(self, app: App[Any]) -> None:
        self._app = app
        self._shown: deque[Notification] = deque()

    def announce(self, rejected: list[Any]) -> None:
        """`rejected`: status changes (`vin`, `reason`) whose new status is rejected."""
        if not rejected:
            return
        if len(rejected) > NOTIFY_EACH_MAX:
            first = rejected[0]
            self._toast(f"{len(rejected)} clearances were rejected, e.g. {inert(first.vin, 20)}: "
                        f"{inert(first.reason or 'no reason given', 120)}")
            return
        for change in rejected:
            reason = inert(change.reason or "no reason given", 200)
            self._toast(f"{inert(change.vin, 20)}: {reason}")

    def _toast(self, text: str) -> None:
        app = self._app
        while len(self._shown) >= REJECTION_TOASTS:
            app._unnotify(self._shown.popleft(), refresh=False)
        toast = Notification(text, "Rejected", "error", 10, markup=False)
        self._shown.append(toast)
        # added now, not by a posted Notify: one posted and then dropped here before it was
        # handled would come back when it is (a refresh announcing three rejections showed three)
        app._notifications.add(toast)
        app._refresh_notifications()
