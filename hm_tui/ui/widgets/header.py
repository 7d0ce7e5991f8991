"""The status header: which project and environment, and whether the data on screen is fresh."""

from __future__ import annotations

from dataclasses import dataclass

from textual.content import Content
from textual.widget import Widget

from hm_tui.ui.text import shown
from hm_tui.ui.widgets.roster_columns import COLUMN_TITLES, compact_age, sort_arrow

_API_STYLE = {
    "ok": "$text-success",
    "degraded": "$text-warning",
    "down": "bold $text-error",
    "starting": "$text-muted",
}
_MQTT_STYLE = {
    "connected": "$text-success",
    "connecting": "$text-muted",
    "retrying": "$text-warning",
    "stopped": "$text-muted",
    "off": "$text-muted",
    "waiting": "$text-muted",
}
JUST_NOW_S = 5  # the transient poll runs every 5 s: younger than that is "just now"


@dataclass(frozen=True, slots=True)
class HeaderState:
    """Everything the header shows; the app builds one from the session once a second."""

    profile: str = ""
    environment: str = ""
    demo: bool = False
    api: str = "starting"
    mqtt: str = "off"
    token_age_s: float | None = None
    updated_s: float | None = None
    stale: bool = False
    sort: tuple[str, bool] | None = None
    read_only: bool = False


class StatusHeader(Widget):
    """One line: profile · environment (production in a warning colour) · API · MQTT · token ·
    last update · sort · read-only. Shortens itself to fit narrow terminals."""

    DEFAULT_CSS = """
    StatusHeader { dock: top; height: 1; background: $panel; color: $foreground; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.state = HeaderState()

    def show(self, state: HeaderState) -> None:
        if state != self.state:
            self.state = state
            self.refresh()

    def render(self) -> Content:
        width = self.scrollable_content_region.width or 80
        for compact in (False, True):
            content = header_content(self.state, compact=compact)
            if content.cell_length <= width:
                return content
        return content


def header_content(state: HeaderState, *, compact: bool = False) -> Content:
    sep = ("│", "$text-muted") if compact else (" │ ", "$text-muted")
    parts: list[str | tuple[str, str]] = [] if compact else [("hm-tui ", "bold")]
    parts += [*_where(state), sep]
    parts += ["API ", (state.api, _API_STYLE.get(state.api, "$text-warning"))]
    parts += [sep, "MQTT ", (state.mqtt, _MQTT_STYLE.get(state.mqtt, "$text-warning"))]
    if state.token_age_s is not None:  # tokens live 300 s: minutes are precise enough
        age = compact_age(state.token_age_s) if state.token_age_s >= 60 else "<1m"
        parts += [sep, f"token {age}"]
    parts += [sep, *_updated(state, compact)]
    if state.sort:
        column, descending = state.sort
        arrow = sort_arrow(column, descending)
        parts += [sep, f"sort {COLUMN_TITLES.get(column, column)} {arrow}"]
    if state.read_only:
        parts += [sep, ("READ-ONLY", "bold $text-warning")]
    return Content.assemble(*parts)


def _where(state: HeaderState) -> list[str | tuple[str, str]]:
    name = shown(state.profile, 24) or "?"
    if state.environment == "live":
        return [name, " ", (" PRODUCTION ", "bold $text-error reverse")]
    return [name, " ", (shown(state.environment, 20), "$text-success")]


def _updated(state: HeaderState, compact: bool) -> list[str | tuple[str, str]]:
    if state.updated_s is None:
        return [("not updated yet", "$text-muted")]
    age = "just now" if state.updated_s < JUST_NOW_S else f"{compact_age(state.updated_s)} ago"
    text = age if compact else f"updated {age}"
    return [(text + " (stale)", "bold $text-warning")] if state.stale else [text]
