"""Every key of the dashboard, with the id a profile's `keymap` uses to remap it.

The binding lists live here, not scattered over the widgets, so `?` help, the command palette and
config validation all read the same table. Widgets take their `BINDINGS` from these tuples. Every
id is `<scope>.<action>`: the scope is where the key works (`app` everywhere, `roster`, `detail`,
`add`, `confirm`, `error`, `feed`, `payload`, `help`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from textual.binding import Binding, BindingType

from hm_tui.domain.clearance import STATUS_ORDER


@dataclass(frozen=True, slots=True)
class Key:
    """One binding: `id` is what `[profiles.X.keymap]` remaps, `where` is for the help screen."""

    id: str  # "<scope>.<action>", e.g. "roster.add", "detail.back"
    key: str
    action: str
    description: str
    where: str
    show: bool = True
    display: str | None = None
    priority: bool = False
    #: the footer leaves it out while its screen's `check_action` refuses it (read-only, nothing
    #: to act on), but the key still answers: a hidden twin runs the action with `REFUSED`, and
    #: the action says why it does nothing (a key that vanished would do nothing silently)
    refusable: bool = False

    @property
    def scope(self) -> str:
        return self.id.partition(".")[0]

    def binding(self) -> Binding:
        return Binding(
            self.key,
            self.action,
            self.description,
            show=self.show,
            key_display=self.display,
            priority=self.priority,
            id=self.id,
        )

    def twin(self) -> Binding:
        """The hidden binding that answers the key while `check_action` refuses the shown one:
        the same key and id (a keymap moves both), the action with the `REFUSED` argument."""
        return Binding(
            self.key,
            f"{self.action}({REFUSED!r})",
            self.description,
            show=False,
            priority=self.priority,
            id=self.id,
        )


#: The argument a refusable key's hidden twin passes to its action (see `Key.refusable`).
REFUSED = "refused"


# In footer order: an 80-column footer cuts off the end, and q is the key everyone knows.
APP_KEYS: tuple[Key, ...] = (
    Key("app.toggle_feed", "f", "toggle_feed", "Feed", "everywhere"),
    Key("app.refresh", "r", "refresh", "Refresh", "everywhere"),
    Key("app.help", "question_mark", "help", "Help", "everywhere", display="?"),
    Key("app.quit", "q", "quit", "Quit", "everywhere"),
    Key(
        "app.palette",
        "ctrl+p",
        "command_palette",
        "Palette",
        "everywhere",
        show=False,
        display="^p",
        priority=True,
    ),
)

ROSTER_KEYS: tuple[Key, ...] = (
    Key("roster.filter", "slash", "filter", "Filter", "roster", display="/"),
    Key("roster.add", "a", "add", "Add", "roster", refusable=True),
    Key("roster.remove", "d", "remove", "Remove", "roster", refusable=True),
    Key("roster.sort_next", "s", "sort_next", "Sort", "roster"),
    Key("roster.sort_reverse", "S", "sort_reverse", "Reverse sort", "roster", show=False),
    Key("roster.copy_vin", "c", "copy_vin", "Copy VIN", "roster", show=False),
    # the feed panel's own p, from the table too (README: "f shows the feed; p pauses it")
    Key("roster.pause_feed", "p", "pause_feed", "Pause/resume feed", "roster", show=False),
    Key("roster.summary", "g", "summary", "Summary", "roster", show=False),
    Key("roster.new_rejections", "n", "new_rejections", "New rejections", "roster", show=False),
    Key("roster.add_again", "A", "add_again", "Add again", "roster", show=False),
    Key(
        "roster.add_again_tagged",
        "T",
        "add_again_tagged",
        "Add again, VW customer tag",
        "roster",
        show=False,
    ),
    Key(
        "roster.clear", "escape", "clear", "Clear filter/marks", "roster", show=False, display="esc"
    ),
    Key("roster.status_all", "0", "show_status(0)", "All statuses", "roster", show=False),
    *(
        Key(
            f"roster.status_{status}",
            str(number),
            f"show_status({number})",
            f"Only {status}",
            "roster",
            show=False,
        )
        for number, status in enumerate(STATUS_ORDER, start=1)
    ),
)

TABLE_KEYS: tuple[Key, ...] = (
    Key("roster.open", "enter", "open_row", "Open", "roster table"),
    Key("roster.mark", "space", "toggle_mark", "Mark", "roster table", display="␣"),
    Key("roster.cursor_up", "up,k", "cursor_up", "Up", "roster table", show=False),
    Key("roster.cursor_down", "down,j", "cursor_down", "Down", "roster table", show=False),
    Key("roster.page_up", "pageup", "page_up", "Page up", "roster table", show=False),
    Key("roster.page_down", "pagedown", "page_down", "Page down", "roster table", show=False),
    Key("roster.first_row", "home", "first_row", "First row", "roster table", show=False),
    Key("roster.last_row", "end", "last_row", "Last row", "roster table", show=False),
)

FILTER_KEYS: tuple[Key, ...] = (
    # on the input itself: Input's own (hidden) enter binding would hide it from the footer
    Key("roster.filter_apply", "enter", "submit", "Apply", "filter", display="⏎"),
    Key("roster.filter_clear", "escape", "clear", "Clear", "filter", display="esc"),
)

DETAIL_KEYS: tuple[Key, ...] = (
    Key("detail.back", "escape", "back", "Back", "detail", display="esc"),
    # cancel or revoke, as the roster's d
    Key("detail.remove", "d", "remove", "Remove", "detail", refusable=True),
    Key("detail.pull_data", "v", "pull_data", "Pull data", "detail"),
    Key("detail.toggle_raw", "j", "toggle_raw", "Raw JSON", "detail"),
    # the copy keys are in ? and the palette: in the footer they pushed ? off 80 columns
    Key("detail.copy_vin", "c", "copy_vin", "Copy VIN", "detail", show=False),
    Key("detail.copy_reason", "y", "copy_reason", "Copy reason", "detail", show=False),
    Key("detail.copy_json", "Y", "copy_raw", "Copy JSON", "detail", show=False),
)

ADD_KEYS: tuple[Key, ...] = (
    Key("add.close", "escape", "close", "Close", "add VINs", display="esc"),
    Key("add.submit", "ctrl+s", "submit", "Add", "add VINs", display="^s"),
    Key("add.check", "ctrl+g", "check", "Check eligibility", "add VINs", display="^g"),
)

ADD_STOP_KEYS: tuple[Key, ...] = (  # "Stop adding?", asked by Escape while an add is under way
    Key("add.stop_keep", "escape,n", "keep", "Keep adding", "stop adding?", display="esc"),
    Key("add.stop_yes", "y", "stop", "Stop adding", "stop adding?"),
)

NO_JOURNAL_KEYS: tuple[Key, ...] = (  # asked before an action when the journal is broken
    Key("journal.unjournaled_cancel", "escape,n", "cancel", "Cancel", "no journal", display="esc"),
    Key("journal.unjournaled_send", "y", "send", "Send anyway", "no journal"),
)

CONFIRM_KEYS: tuple[Key, ...] = (
    Key("confirm.close", "escape", "close", "Close", "confirm removal", display="esc"),
    Key("confirm.yes", "y", "confirm", "Yes, remove", "confirm removal"),
)

READD_KEYS: tuple[Key, ...] = (  # the bulk fixes' confirmation (add again)
    Key("readd.close", "escape", "close", "Close", "add again", display="esc"),
    Key("readd.yes", "y", "confirm", "Yes, add again", "add again"),
)

NEW_REJECTIONS_KEYS: tuple[Key, ...] = (
    Key("rejections.back", "escape", "back", "Back", "new rejections", display="esc"),
    Key("rejections.mark", "m", "mark", "Mark on roster", "new rejections", refusable=True),
    Key("rejections.add_again", "A", "add_again", "Add again", "new rejections", refusable=True),
    Key(
        "rejections.add_again_tagged",
        "T",
        "add_again_tagged",
        "+VW tag",
        "new rejections",
        refusable=True,
    ),
)

ERROR_KEYS: tuple[Key, ...] = (
    Key("error.ok", "escape", "acknowledge", "OK", "error", display="esc"),
    Key("error.copy", "c", "copy", "Copy", "error"),
)

FEED_KEYS: tuple[Key, ...] = (
    Key("feed.pause", "p", "toggle_pause", "Pause", "feed"),
    Key("feed.filter", "slash", "focus_filter", "Filter feed", "feed", display="/"),
)

FEED_FILTER_KEYS: tuple[Key, ...] = (  # on the input (see FILTER_KEYS)
    Key("feed.filter_apply", "enter", "submit", "Apply", "feed filter", display="⏎"),
    Key("feed.filter_clear", "escape", "clear_filter", "Clear", "feed filter", display="esc"),
)

FEED_LOG_KEYS: tuple[Key, ...] = (
    Key("feed.cursor_up", "up", "cursor_up", "Up", "feed", show=False),
    Key("feed.cursor_down", "down", "cursor_down", "Down", "feed", show=False),
    Key("feed.follow", "end", "follow", "Follow tail", "feed"),
    Key("feed.payload", "enter", "select", "Payload", "feed", display="⏎"),
    Key("feed.open_vin", "o", "open_vin", "Open VIN", "feed"),
)

PAYLOAD_KEYS: tuple[Key, ...] = (
    Key("payload.close", "escape", "close", "Close", "payload", display="esc"),
    Key("payload.open_vin", "o", "open_vin", "Open VIN", "payload"),
    Key("payload.copy", "c", "copy", "Copy JSON", "payload"),
)

EXPORT_KEYS: tuple[Key, ...] = (
    Key("export.cancel", "escape", "cancel", "Cancel", "export", display="esc"),
)

HELP_KEYS: tuple[Key, ...] = (
    Key("help.close", "escape,q,question_mark", "close", "Close", "help", display="esc"),
)

RESUME_KEYS: tuple[Key, ...] = (
    Key("resume.later", "escape", "later", "Later", "resume interrupted", display="esc"),
    Key("resume.resume", "r", "resume", "Resume", "resume interrupted"),
    Key("resume.dismiss", "x", "drop", "Dismiss", "resume interrupted"),
)

JOURNAL_KEYS: tuple[Key, ...] = (
    Key("journal.close", "escape,q", "close", "Close", "journal", display="esc"),
)

SUMMARY_KEYS: tuple[Key, ...] = (
    Key("summary.back", "escape", "back", "Back", "summary", display="esc"),
)

#: Every binding of the dashboard, in the order `?` help lists them.
ALL_KEYS: tuple[Key, ...] = (
    APP_KEYS
    + ROSTER_KEYS
    + TABLE_KEYS
    + FILTER_KEYS
    + DETAIL_KEYS
    + ADD_KEYS
    + ADD_STOP_KEYS
    + NO_JOURNAL_KEYS
    + CONFIRM_KEYS
    + READD_KEYS
    + NEW_REJECTIONS_KEYS
    + ERROR_KEYS
    + FEED_KEYS
    + FEED_FILTER_KEYS
    + FEED_LOG_KEYS
    + PAYLOAD_KEYS
    + EXPORT_KEYS
    + HELP_KEYS
    + RESUME_KEYS
    + JOURNAL_KEYS
    + SUMMARY_KEYS
)

#: Every id a profile's keymap may remap.
KNOWN_IDS: frozenset[str] = frozenset(key.id for key in ALL_KEYS)

#: Each id scope (`<scope>.<action>`) with its heading on the help screen, in the help's order;
#: a key whose `where` differs from its scope's heading (the roster's table and filter) says so.
SCOPES: dict[str, str] = {
    "app": "everywhere",
    "roster": "roster",
    "detail": "detail",
    "add": "add VINs",
    "confirm": "confirm removal",
    "readd": "add again",
    "rejections": "new rejections",
    "error": "error",
    "feed": "feed",
    "payload": "payload",
    "export": "export",
    "help": "help",
    "resume": "resume interrupted",
    "journal": "journal",
    "summary": "summary",
}


def bindings(keys: Iterable[Key]) -> list[BindingType]:
    """Each key's binding; a refusable key's hidden twin right behind it (`Key.refusable`)."""
    out: list[BindingType] = []
    for key in keys:
        out.append(key.binding())
        if key.refusable:
            out.append(key.twin())
    return out


def resolve_keymap(
    overrides: Mapping[str, str] | None, known: Iterable[str] = ()
) -> tuple[dict[str, str], list[str]]:
    """A profile's keymap split into what can be applied and a message per unusable entry."""
    valid = KNOWN_IDS | set(known)
    keymap: dict[str, str] = {}
    problems: list[str] = []
    for binding_id, keys in (overrides or {}).items():
        if not isinstance(keys, str) or not keys.strip():
            problems.append(f'keymap: {binding_id!r} needs a key, e.g. "ctrl+r"')
        elif binding_id not in valid:
            problems.append(f"keymap: unknown binding id {binding_id!r}")
        else:
            keymap[binding_id] = keys.strip()
    return keymap, problems


def key_for(key: Key, keymap: Mapping[str, str]) -> str:
    """The key(s) a binding answers to under `keymap`, as the help screen shows them."""
    keys = keymap.get(key.id)
    if keys is None:
        return key.display or key.key
    return keys


def key_text(binding_id: str, keymap: Mapping[str, str]) -> str:
    """The key(s) of the binding `binding_id` under `keymap`, as the help screen shows them (for
    hints such as the palette's "(g)", which must follow a remap)."""
    return key_for(next(k for k in ALL_KEYS if k.id == binding_id), keymap)


#: Bindings that move the focus on their screen: keys typed right behind one wait until the focus
#: has moved, and are judged against the new focus (ui/typeahead.py).
FOCUS_MOVING_IDS: frozenset[str] = frozenset(
    {
        "roster.filter",
        "roster.filter_apply",
        "roster.filter_clear",
        "feed.filter",
        "feed.filter_apply",
        "feed.filter_clear",
    }
)

#: Bindings that open or close a screen: keys typed right behind one wait until the screen stack
#: has changed, so they land in what opened (or what is under what closed), in order.
SCREEN_CHANGING_IDS: frozenset[str] = frozenset(
    {
        "app.help",
        "app.palette",
        "roster.add",
        "roster.remove",
        "roster.summary",
        "roster.new_rejections",
        "roster.add_again",
        "roster.add_again_tagged",
        "roster.open",
        "detail.back",
        "detail.remove",
        "add.close",
        "confirm.close",
        "readd.close",
        "rejections.back",
        "error.ok",
        "feed.payload",
        "feed.open_vin",
        "payload.close",
        "payload.open_vin",
        "export.cancel",
        "help.close",
        "resume.later",
        "journal.close",
        "summary.back",
    }
)
