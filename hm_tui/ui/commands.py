"""The command palette (ctrl+p): every action of the dashboard, found by fuzzy search."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content


@dataclass(frozen=True, slots=True)
class Command:
    title: str
    help: str
    run: Callable[[], Any]


class DashboardCommands(Provider):
    """Asks the app (and the screen the palette was opened on) for their commands."""

    def _commands(self) -> Iterable[Command]:
        app: Any = self.app
        commands = getattr(app, "palette_commands", None)
        if callable(commands):
            yield from commands(self.screen)
        extra = getattr(self.screen, "system_commands", None)  # e.g. the detail screen's
        if callable(extra):
            for title, help_text, run in extra():
                yield Command(title, help_text, run)

    async def discover(self) -> Hits:
        for command in self._commands():
            yield DiscoveryHit(
                Content(command.title), command.run, text=command.title, help=command.help
            )

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in self._commands():
            score = matcher.match(command.title)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(command.title),
                    command.run,
                    text=command.title,
                    help=command.help,
                )


def dashboard_commands(app: Any, screen: Any) -> list[Command]:
    """Every action of the dashboard as a palette entry (the keys do the same): the app's own
    everywhere, the roster's only on the roster (they act on its cursor row and marks: from the
    detail screen they would reach a car other than the one shown, which offers its own)."""
    commands = [
        Command("Add VINs", "Add one VIN, pasted lines or a CSV file (a)", app.open_add),
        Command(
            "Import VINs from a CSV file",
            "Add every VIN of a CSV file",
            lambda: app.open_add("csv"),
        ),
        Command(
            "Export shown clearances to CSV",
            "Write the filtered roster to a file",
            app.export_shown,
        ),
        Command("Refresh now", "Fetch the roster from the platform (r)", app.action_refresh),
        Command("Help: keys", "Every key and its id (?)", app.action_help),
        Command(
            "Show journal",
            "The latest actions, per-VIN outcomes, interrupted ones",
            app.show_journal,
        ),
        Command(
            "Campaign summary: latest add",
            "Brand x status, rejections by reason, expected approval of the latest add",
            lambda: app.open_summary(latest_add=True),
        ),
    ]
    commands.append(_new_rejections_command(app))
    if screen is app.roster_screen:
        commands += _roster_commands(app.roster_screen) + _saved_filter_commands(app)
    return _keyed(commands + _profile_commands(app), getattr(app, "keymap", {}))


_HINT = re.compile(r" \((\S{1,2})\)$")


def _keyed(commands: list[Command], keymap: Mapping[str, str]) -> list[Command]:
    """The hints are written with the default keys ("… (g)"); a profile's keymap may have moved
    them, so each names the key that works now (the help screen's form). The app's and the
    roster's keys, the only ones these commands name, have no default key in common."""
    from hm_tui.ui.keymap import APP_KEYS, ROSTER_KEYS, key_for

    if not keymap:
        return commands
    by_default = {key.display or key.key: key for key in (*APP_KEYS, *ROSTER_KEYS)}
    out = []
    for command in commands:
        found = _HINT.search(command.help)
        key = by_default.get(found.group(1)) if found else None
        if found and key is not None:
            hint = f"{command.help[: found.start()]} ({key_for(key, keymap)})"
            command = Command(command.title, hint, command.run)
        out.append(command)
    return out


def _new_rejections_command(app: Any) -> Command:
    from hm_tui.ui.screens.new_rejections import since_text

    new = app.new_rejections
    when = since_text(new.since, new.since_what, app.tz)
    return Command(
        f"New rejections {when}: {len(new)}",
        "Only the rejections seen since then, by reason, to mark or add again (n)",
        app.open_new_rejections,
    )


def _saved_filter_commands(app: Any) -> list[Command]:
    saved = getattr(app, "saved_filters", None)
    if saved is None:
        return []
    commands = [
        Command(
            "Save current filter",
            "Keep this filter for this profile (the palette offers it again)",
            saved.save_current,
        )
    ]
    for query in saved.queries:
        commands.append(Command(f"Saved filter: {query}", "Apply it", _bind(saved.apply, query)))
        commands.append(
            Command(f"Delete saved filter: {query}", "Forget it", _bind(saved.delete, query))
        )
    return commands


def _roster_commands(roster: Any) -> list[Command]:
    from hm_tui.domain.clearance import STATUS_ORDER
    from hm_tui.ui.widgets.roster_columns import COLUMN_TITLES

    commands = [
        Command(
            "Cancel/revoke marked or current VIN", "With a confirmation (d)", roster.action_remove
        ),
        Command(
            "Toggle live feed panel",
            "Show or hide incoming vehicle data (f)",
            roster.app.action_toggle_feed,
        ),
        Command(
            "Pause/resume live feed",
            "Hold the feed panel's new lines, or show them again (p)",
            roster.action_pause_feed,
        ),
        Command("Filter…", "Filter by VIN, brand, status, reason or tag (/)", roster.action_filter),
        Command(
            "Campaign summary: what the roster shows",
            "Brand x status, rejections by reason, expected approval (g)",
            roster.action_summary,
        ),
        Command(
            "Show every status", "Clear the status filter (0)", lambda: roster.action_show_status(0)
        ),
        Command("Copy VIN", "Copy the VIN under the cursor (c)", roster.action_copy_vin),
        Command(
            "Copy reason",
            "Copy the reason of the clearance under the cursor",
            roster.action_copy_reason,
        ),
        Command(
            "Add again: marked or shown",
            "Retry the rejected, revoked or canceled ones as they were, after a confirmation (A)",
            roster.action_add_again,
        ),
        Command(
            "Add again with tag vw-group-customer-name=…: marked or shown",
            "Asks for the name; tags the VW Group ones, keeps their other tags (T)",
            roster.action_add_again_tagged,
        ),
        Command("Clear marks", "Unmark every marked VIN", roster.table.clear_marks),
        Command("Mark all shown", "Mark every row the filter shows", roster.mark_all_shown),
        Command(
            "Invert marks",
            "Among the rows shown: marked ones unmarked, others marked",
            roster.invert_marks,
        ),
        _mute_command(roster.app),
        Command("Reverse sort", "Flip the sort direction (S)", roster.action_sort_reverse),
    ]
    commands += [
        Command(
            f"Filter by status: {status}",
            f"Show only {status} clearances ({number})",
            _bind(roster.action_show_status, number),
        )
        for number, status in enumerate(STATUS_ORDER, start=1)
    ]
    return commands + [
        Command(
            f"Sort by {title}", f"Sort the roster by {title.lower()}", _bind(roster.sort_by, column)
        )
        for column, title in COLUMN_TITLES.items()
    ]


def _mute_command(app: Any) -> Command:
    """Mute the toasts for the session, or, once muted, let them show again."""
    if app.toasts_muted:
        return Command(
            "Unmute notifications", "Toasts show again", lambda: app.mute_toasts(muted=False)
        )
    return Command(
        "Mute notifications for this session",
        "No more toasts, rejections' included (errors still show); Escape on the roster "
        "dismisses those shown",
        app.mute_toasts,
    )


def _profile_commands(app: Any) -> list[Command]:
    names = [name for name in app.profiles() if name != app.profile_name]
    if not names:
        return [
            Command(
                "Switch profile",
                "Other profiles come from the config file",
                lambda: app.notify(
                    "No other profile is configured" + (" (demo mode)." if app.demo else "."),
                    markup=False,
                ),
            )
        ]
    return [
        Command(
            f"Switch profile: {name}",
            "Stop this session and open that profile",
            _bind(app.switch_profile, name),
        )
        for name in names
    ]


def _bind(function: Callable[..., Any], *args: Any) -> Callable[[], Any]:
    return lambda: function(*args)
