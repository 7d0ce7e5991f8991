"""The dashboard's actions on clearances: refresh, detail, add, cancel/revoke, export, journal.

Each checks what it needs (a session; not read-only for a change), then opens the screen that
does the work or starts a worker that posts what happened (app.py handles the messages). Screens
ask for these with messages (`OpenDetail`, `AddRequested`, `RemoveRequested`), handled here; the
palette calls the methods. A mixin of `HmTuiApp`, kept apart so the app module holds the session
and its events.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work
from textual.notifications import SeverityLevel

from hm_tui.ui import messages as msg
from hm_tui.ui.text import describe_error, shown

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime, tzinfo

    from textual.app import App

    from hm_tui.service.events import RemovalOutcome
    from hm_tui.service.session import Session
    from hm_tui.ui.kept_dialogs import KeptAddDialog
    from hm_tui.ui.screens.roster import RosterScreen
    from hm_tui.ui.toasts import NewRejections
    from hm_tui.ui.typeahead import TypeAhead
    from hm_tui.ui.widgets.header import HeaderState

    _Base = App[int]
else:
    _Base = object


class ClearanceActions(_Base):
    """What the keys and the palette ask of the app, on the session's clearances."""

    session: Session | None
    read_only: bool
    roster_screen: RosterScreen
    wall_clock: Callable[[], datetime]
    clock: Callable[[], datetime]
    tz: tzinfo | None
    new_rejections: NewRejections
    header_state: Callable[[], HeaderState]
    type_ahead: TypeAhead
    kept_add: KeptAddDialog
    roster_now: Callable[[], None]

    def refuse(self, message: str, severity: SeverityLevel = "information") -> None:
        """Say why a key opens nothing; the keys typed right behind it, meant for what it
        would have opened, are dropped (ui/typeahead.py) and the count is said."""
        dropped = self.type_ahead.opened_nothing()
        if dropped:
            message += f" ({dropped} key{'s' if dropped != 1 else ''} typed after it ignored)"
        self.notify(message, severity=severity, markup=False)

    def refuse_if_read_only(self, what: str) -> bool:
        if self.read_only:
            self.refuse(
                f"Read-only mode: {what} is disabled (started with --read-only).", "warning"
            )
        return self.read_only

    def _connected(self) -> Session | None:
        """The session, or None after telling the operator there is none yet."""
        if self.session is None:
            self.refuse("Not connected yet: wait for the roster to load.")
        return self.session

    def action_refresh(self) -> None:
        session = self._connected()
        if session is not None:
            self.notify("Refreshing…", markup=False, timeout=1.5)
            self._refresh(session)

    @work(exclusive=True, exit_on_error=False, group="refresh", description="refresh")
    async def _refresh(self, session: Session) -> None:
        try:
            await session.refresh_now()
        except Exception as error:
            self.post_message(msg.ServiceFailed("Refresh failed", describe_error(error)))

    def on_open_detail(self, message: msg.OpenDetail) -> None:
        self.open_detail(message.vin)

    def open_detail(self, vin: str) -> None:
        session = self._connected()
        if session is None:
            return
        from hm_tui.ui.screens.detail import DetailScreen

        self.push_screen(DetailScreen(session, vin, self.header_state()))

    def on_add_requested(self, message: msg.AddRequested) -> None:
        self.open_add(message.mode)

    def on_summary_requested(self, message: msg.SummaryRequested) -> None:
        self.open_summary()

    def open_summary(self, latest_add: bool = False) -> None:
        """The campaign summary of what the roster shows (or of the latest add)."""
        session = self._connected()
        if session is None:
            return
        from hm_tui.ui.screens.summary import SummaryScreen

        if latest_add:
            self._summary_of_latest_add(session)
            return
        roster, query = session.roster, session.roster.query
        what = f"filter {shown(query, 60)!r}" if query else "what the roster shows"
        if session.roster.statuses:
            what += " · " + ", ".join(sorted(session.roster.statuses))
        self.push_screen(SummaryScreen(session, what, lambda: roster.visible, self.clock))

    def _summary_of_latest_add(self, session: Session) -> None:
        from hm_tui.ui.screens.summary import SummaryScreen

        async def find() -> None:  # the journal is read off the loop
            entries = await asyncio.to_thread(session.journal.entries, 50)
            latest = next((e for e in entries if e.action == "add"), None)
            if latest is None:
                self.notify("No add in the journal yet.", markup=False)
                return
            vins = list(latest.vins)
            what = f"add #{latest.id} ({len(vins)} VINs)"
            self.push_screen(SummaryScreen(session, what, lambda: vins, self.clock))

        self.run_worker(find(), group="summary", exit_on_error=False)

    def open_add(self, mode: str = "one") -> None:
        """The add-VINs dialog; `mode` "one", "paste" or "csv" picks its first tab."""
        if self.refuse_if_read_only("adding VINs"):
            return
        session = self._connected()
        if session is None:
            return
        screen = self.kept_add.take(session, mode)  # built ahead: ui/kept_dialogs.py
        if screen is None:
            from hm_tui.ui.screens.add import AddScreen

            screen = AddScreen(session, mode=mode)
            kept = self.kept_add.screen
            if kept is None or kept.session is not session:
                self.kept_add.keep(screen)  # shown again next time
        self.push_screen(screen)

    def on_remove_requested(self, message: msg.RemoveRequested) -> None:
        self.remove(message.vins)

    def remove(self, vins: Sequence[str]) -> None:
        if self.refuse_if_read_only("cancel/revoke"):
            return
        session = self._connected()
        if session is None:
            return
        if not vins:
            self.refuse("No clearance chosen: move the cursor to one or mark some (space).")
            return
        from hm_tui.ui.screens.confirm import ConfirmRemovalScreen

        self.push_screen(ConfirmRemovalScreen(session, list(vins)), self._removal_done)

    def _removal_done(self, outcomes: list[RemovalOutcome] | None) -> None:
        if not outcomes:
            return
        done = {o.vin for o in outcomes if o.ok}
        if self.roster_screen.live:
            self.roster_screen.table.unmark(done)
        failed = len(outcomes) - len(done)
        self.notify(
            f"{len(done)} removal(s) accepted, {failed} refused.",
            severity="warning" if failed else "information",
            markup=False,
        )

    # -- bulk fixes (ui/screens/readd.py) and the new rejections (ui/screens/new_rejections.py)

    def on_add_again_requested(self, message: msg.AddAgainRequested) -> None:
        self.add_again(message.vins, message.which, with_tag=message.with_tag)

    def add_again(self, vins: Sequence[str], which: str, *, with_tag: bool = False) -> None:
        """The bulk fix's confirmation for `vins` (as they were, or with the VW customer tag)."""
        if self.refuse_if_read_only("adding VINs again"):
            return
        session = self._connected()
        if session is None:
            return
        if not vins:
            self.refuse("No clearance to add again: mark some (space) or filter.")
            return
        from hm_tui.ui.screens.readd import ReaddScreen

        screen = ReaddScreen(session, vins, which=which, with_tag=with_tag)
        self.push_screen(screen, self._readd_done)

    def _readd_done(self, results: list[Any] | None) -> None:
        if not results:
            return
        done = {r.vin for r in results if r.ok}
        if self.roster_screen.live:
            self.roster_screen.table.unmark(done)
        failed = len(results) - len(done)
        self.notify(
            f"Added again: {len(done)} taken by the platform, {failed} refused.",
            severity="warning" if failed else "information",
            markup=False,
        )

    def on_new_rejections_requested(self, message: msg.NewRejectionsRequested) -> None:
        self.open_new_rejections()

    def open_new_rejections(self) -> None:
        """The rejections seen since the operator last looked; from then on only later ones
        are new."""
        session = self._connected()
        if session is None:
            return
        from hm_tui.ui.screens.new_rejections import NewRejectionsScreen

        self.roster_now()  # a refresh a moment ago (its changes wait for the throttle) counts
        screen = NewRejectionsScreen(session.roster, self.new_rejections.take(), self.tz)

        def chosen(what: str | None) -> None:
            if what == "mark" and self.roster_screen.live:
                table = self.roster_screen.table
                table.replace_marks(table.marked | set(screen.vins))
                self.notify(
                    f"Marked {len(screen.vins)} new rejections (A adds them again, "
                    "T with the VW customer name).",
                    markup=False,
                )
            elif what in ("add_again", "add_again_tagged"):
                which = f"the {len(screen.vins)} new rejections"
                self.add_again(screen.vins, which, with_tag=what == "add_again_tagged")

        self.push_screen(screen, chosen)

    def export_shown(self) -> None:
        """Ask where, then write the clearances the filter shows, in display order, to a CSV."""
        session = self._connected()
        if session is None:
            return
        from hm_tui.ui.screens.export_prompt import ExportScreen

        roster = session.roster
        # entries are replaced, never changed in place: safe to decode in the export thread
        entries = [e for vin in roster.visible if (e := roster.entry(vin))]
        stamp = self.wall_clock().strftime("%Y%m%d-%H%M%S")
        proposed = Path.home() / f"hm-tui-export-{stamp}.csv"

        def chosen(path: Path | None) -> None:
            if path is not None:
                self._export(path, entries)

        self.push_screen(ExportScreen(len(entries), proposed), chosen)

    @work(exclusive=True, exit_on_error=False, group="export", description="export")
    async def _export(self, path: Path, entries: list[Any]) -> None:
        from hm_tui.service.files.csv_export import export_file

        def decode_and_write() -> None:
            export_file(path, [entry.clearance for entry in entries])

        try:
            await asyncio.to_thread(decode_and_write)
        except OSError as error:
            self.post_message(msg.ServiceFailed("Export failed", f"{path}: {error.strerror}"))
            return
        self.notify(f"Exported {len(entries)} clearances to {path}", markup=False)

    def show_journal(self) -> None:
        session = self._connected()
        if session is not None:
            from hm_tui.ui.screens.journal import JournalScreen

            problem = session.store_problem
            self.push_screen(JournalScreen(session.journal, str(problem) if problem else None))
