"""The new rejections (`n`, the key the rejection toast names): only the clearances the roster saw
turn rejected since the dashboard started, or since the operator last looked here, grouped by
reason with what to do, then VIN by VIN. From here they can be marked on the roster or fixed in
bulk (add again, add again with the VW Group customer name). Opening the list hands them over:
the next toast counts only later ones."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Static

from hm_tui.domain.brands import lookup
from hm_tui.domain.readd import TAG_MISSING_REASON
from hm_tui.domain.reasons import explain
from hm_tui.ui.format import safe_text
from hm_tui.ui.keymap import NEW_REJECTIONS_KEYS, bindings
from hm_tui.ui.widgets.key_footer import KeyFooter

if TYPE_CHECKING:
    from hm_tui.service.roster.model import Roster
    from hm_tui.ui.toasts import Seen


def since_text(when: datetime, what: str, tz: tzinfo | None) -> str:
    """`since you last looked (14:10:05)`."""
    return f"since {what} ({when.astimezone(tz).strftime('%H:%M:%S')})"


class NewRejectionsScreen(Screen[str | None]):
    """The rejections seen since `seen.since` that are still rejected. Dismisses with what the
    operator chose to do with them ("mark", "add_again", "add_again_tagged"), None: nothing."""

    BINDINGS: ClassVar = bindings(NEW_REJECTIONS_KEYS)
    TOAST_ROOM: ClassVar = "#rejections-body"  # toasts never cover it (ui/toasts.py, ToastRoom)

    def __init__(self, roster: Roster, seen: Seen, tz: tzinfo | None = None) -> None:
        super().__init__(id="rejections-screen")
        self.seen = seen
        self._tz = tz
        entries = [(vin, roster.entry(vin)) for vin in seen.vins]
        #: still rejected now, in the order seen: what the keys act on
        self.rows: list[Any] = [
            e.clearance for _vin, e in entries if e is not None and e.status == "rejected"
        ]
        self.vins = [c.vin for c in self.rows]
        self.moved_on = len(seen.vins) - len(self.rows)

    def compose(self) -> ComposeResult:
        yield Static(self._title(), id="rejections-title", markup=False)
        with VerticalScroll(id="rejections-body"):
            yield Static(self._by_reason(), id="rejections-reasons", markup=False)
            yield Static(self._lines(), id="rejections-lines", markup=False)
        yield KeyFooter(compact=True)

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#rejections-body"))

    def _title(self) -> str:
        n = len(self.rows)
        words = "new rejection" if n == 1 else "new rejections"
        return f"{n} {words}, seen {since_text(self.seen.since, self.seen.since_what, self._tz)}"

    def _by_reason(self) -> Content:
        if not self.rows:
            return Content("None: nothing turned rejected in that time that still is.")
        groups: dict[str, int] = {}
        for c in self.rows:
            groups[c.reason or ""] = groups.get(c.reason or "", 0) + 1
        lines = [Content.styled("By reason (what to do)", "bold $accent")]
        for reason, n in sorted(groups.items(), key=lambda item: -item[1]):
            explained = explain(reason)
            action = explained.action if explained else "No reason given."
            tagged = reason == TAG_MISSING_REASON
            fix = "T: add them again with the tag" if tagged else "A: add them again"
            lines.append(
                Content.assemble(
                    (f"{n:>5}  ", "bold"),
                    (safe_text(reason or "no reason given", 60), "$error"),
                    f": {safe_text(action, 200)} ",
                    (f"({fix})", "$text-muted"),
                )
            )
        if self.moved_on:
            lines.append(
                Content.styled(
                    f"{self.moved_on} more turned rejected then but no longer are "
                    "(added again or changed): left out.",
                    "$text-muted",
                )
            )
        return Content("\n").join(lines)

    def _lines(self) -> Content:
        lines = [Content.styled("VINs", "bold $accent")] if self.rows else []
        for c in sorted(self.rows, key=lambda c: c.reason or ""):
            brand = lookup(c.brand)
            name = brand.name if brand else safe_text(c.brand, 12)
            lines.append(
                Content.assemble(
                    (f"{safe_text(c.vin, 20):<18}", "bold"),
                    f"{name[:11]:<11} ",
                    safe_text(c.reason or "no reason given", 60),
                )
            )
        return Content("\n").join(lines)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Marking and fixing only when there is something to act on, and adding again not
        when read-only; refused, the key's hidden twin says why (ui/keymap.py)."""
        if parameters or action not in ("mark", "add_again", "add_again_tagged"):
            return True
        if action != "mark" and getattr(self.app, "read_only", False):
            return False
        return bool(self.rows)

    def _refused(self, action: str) -> bool:
        """Say why `action` does nothing now; True if it was refused."""
        if not self.rows:
            self.notify("No new rejections to act on.", markup=False, timeout=3)
            return True
        if action != "mark" and getattr(self.app, "read_only", False):
            self.notify(
                "Read-only mode: adding again is disabled (started with --read-only).",
                severity="warning",
                markup=False,
            )
            return True
        return False

    def action_back(self) -> None:
        self.dismiss(None)

    def action_mark(self, _refused: str = "") -> None:
        if not self._refused("mark"):
            self.dismiss("mark")

    def action_add_again(self, _refused: str = "") -> None:
        if not self._refused("add_again"):
            self.dismiss("add_again")

    def action_add_again_tagged(self, _refused: str = "") -> None:
        if not self._refused("add_again_tagged"):
            self.dismiss("add_again_tagged")
