"""The status header: which project and environment, and whether the data on screen is fresh.

It says only what the service knows: MQTT "connected" with the age of the last message while
the stream keeps its cadence, a warning once it is silent for longer than that (a stall), an
error when the connection is gone or the broker stopped answering (service/feed/health.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.content import Content
from textual.widget import Widget

from hm_tui.service.events import Health, api_word
from hm_tui.ui.text import shown
from hm_tui.ui.widgets.roster_columns import COLUMN_TITLES, compact_age, sort_arrow

if TYPE_CHECKING:
    from hm_tui.service.session import Session

_API_STYLE = {
    "ok": "$text-success",
    "waiting": "$text-warning",
    "degraded": "$text-warning",
    "down": "bold $text-error",
    "unreachable": "bold $text-error",
    "refused": "bold $text-error",
    "starting": "$text-muted",
}
#: the feed's level (service/feed/health.py) as a colour; the words always say it too
_MQTT_STYLE = {
    "ok": "$text-success",
    "warning": "bold $text-warning",
    "error": "bold $text-error",
    "idle": "$text-muted",
}
#: the feed's headline, shortened for a narrow header
_MQTT_SHORT = {
    "connected": "ok",
    "not connected": "down",
    "no answer from the broker": "no answer",
}
#: The notification's title for the platform link, in the header's word (`api_word`):
#: "unreachable" only when no answer came at all.
_PLATFORM_TITLES = {
    "unreachable": "Platform unreachable",
    "refused": "Platform refused access",
    "degraded": "Platform degraded (answers with errors)",
}


def platform_title(health: Health) -> str:
    """The title of the notification about the platform link, saying what the header says."""
    word = api_word(health)
    return _PLATFORM_TITLES.get(word, f"Platform {word}")


JUST_NOW_S = 5  # the transient poll runs every 5 s: younger than that is "just now"

Part = str | tuple[str, str]


@dataclass(frozen=True, slots=True)
class HeaderState:
    """Everything the header shows; the app builds one from the session once a second.

    `mqtt`: the feed's headline ("connected", "stalled", "not connected", ...; "off" without
    a feed, "waiting" while held back); `mqtt_level`: ok, warning, error or idle;
    `mqtt_last_s`: seconds since the last message (None: none yet). `webhook`: where the
    receiver listens (None: no receiver), `webhook_last_s` the age of its last delivery,
    `webhook_rejected` the deliveries refused for a bad signature, `webhook_failed` it could
    not start.
    """

    profile: str = ""
    environment: str = ""
    demo: bool = False
    api: str = "starting"
    mqtt: str = "off"
    mqtt_level: str = "idle"
    mqtt_last_s: float | None = None
    token_age_s: float | None = None
    updated_s: float | None = None
    stale: bool = False
    sort: tuple[str, bool] | None = None
    read_only: bool = False
    webhook: str | None = None
    webhook_last_s: float | None = None
    webhook_rejected: int = 0
    webhook_failed: bool = False


def feed_fields(session: Session) -> dict[str, Any]:
    """The header's MQTT fields from the session's feed health (no feed: its status word)."""
    health = session.feed_health()
    if health is None:
        return {"mqtt": session.feed_status, "mqtt_level": "idle"}
    return {"mqtt": health.headline, "mqtt_level": health.level, "mqtt_last_s": health.since_last_s}


def webhook_fields(session: Session) -> dict[str, Any]:
    """The header's webhook fields from the session's receiver (none: nothing shown)."""
    receiver = session.webhook
    if receiver is None:
        return {"webhook_failed": bool(session.webhook_error)}
    return {
        "webhook": f"{receiver.host}:{receiver.port}",
        "webhook_last_s": receiver.since_last_delivery(),
        "webhook_rejected": int(receiver.stats.get("rejected", 0)),
    }


class StatusHeader(Widget):
    """One line: profile · environment (production in a warning colour) · API · MQTT (with the
    age of the last message) · webhook · token · last update · sort · read-only. On a narrow
    terminal it shortens every part, then leaves out the least needed ones (sort, token)."""

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
        return fitted_header(self.state, self.scrollable_content_region.width or 80)


#: The forms tried, fullest first: (short form, parts left out).
_FORMS: tuple[tuple[bool, frozenset[str]], ...] = (
    (False, frozenset()),
    (True, frozenset()),
    (True, frozenset({"sort"})),
    (True, frozenset({"sort", "token"})),
    (True, frozenset({"sort", "token", "webhook"})),
    (True, frozenset({"sort", "token", "webhook", "updated"})),
)


def fitted_header(state: HeaderState, width: int) -> Content:
    """The fullest header that fits `width` cells: every part in words, then every part short,
    then without the sort, the token age, the webhook and the last update, in that order."""
    for compact, without in _FORMS:
        content = header_content(state, compact=compact, without=without)
        if content.cell_length <= width:
            break
    return content


def header_content(
    state: HeaderState, *, compact: bool = False, without: set[str] | frozenset[str] = frozenset()
) -> Content:
    sep: Part = ("│", "$text-muted") if compact else (" │ ", "$text-muted")
    parts: list[Part] = [] if compact else [("hm-tui ", "bold")]
    parts += _where(state)
    sections: dict[str, list[Part]] = {
        "api": ["API ", (state.api, _API_STYLE.get(state.api, "$text-warning"))],
        "mqtt": _mqtt(state, compact),
        "webhook": _webhook(state, compact),
        "token": _token(state),
        "updated": _updated(state, compact),
        "sort": _sort(state),
        "read_only": [("READ-ONLY", "bold $text-warning")] if state.read_only else [],
    }
    for name, section in sections.items():
        if section and name not in without:
            parts += [sep, *section]
    return Content.assemble(*parts)


def _where(state: HeaderState) -> list[Part]:
    name = shown(state.profile, 24) or "?"
    if state.environment == "live":
        return [name, " ", (" PRODUCTION ", "bold $text-error reverse")]
    return [name, " ", (shown(state.environment, 20), "$text-success")]


def _mqtt(state: HeaderState, compact: bool) -> list[Part]:
    """The feed: its headline in its level's colour, then how old the last message is."""
    style = _MQTT_STYLE.get(state.mqtt_level, "$text-muted")
    headline = shown(state.mqtt, 40)
    if state.mqtt_level not in ("ok", "warning"):
        return ["MQTT ", (_MQTT_SHORT.get(headline, headline) if compact else headline, style)]
    last = state.mqtt_last_s
    if compact:
        age = compact_age(last) if last is not None else "no data"
        return ["MQTT ", (f"{_MQTT_SHORT.get(headline, headline)} {age}", style)]
    if last is None:
        return ["MQTT ", (headline, style), (" · no data yet", "$text-muted")]
    if state.mqtt_level == "warning":
        return ["MQTT ", (f"{headline}: no data for {compact_age(last)}", style)]
    return ["MQTT ", (headline, style), f" · last {_ago(last)}"]


def _webhook(state: HeaderState, compact: bool) -> list[Part]:
    """The webhook receiver: where it listens, its last delivery, bad signatures refused."""
    if state.webhook_failed:
        return [("webhook failed", "bold $text-error")]
    if state.webhook is None:
        return []
    where = shown(state.webhook, 40)
    if compact:
        where = ":" + where.rpartition(":")[2]
    last = state.webhook_last_s
    parts: list[Part] = [f"webhook {where} "]
    if last is None:
        parts.append(("none yet" if compact else "no delivery yet", "$text-muted"))
    else:
        parts.append(compact_age(last) if compact else f"last {_ago(last)}")
    if state.webhook_rejected:
        rejected = f"{state.webhook_rejected:,}"
        plural = "" if state.webhook_rejected == 1 else "s"
        text = f" {rejected} bad sig" if compact else f" · {rejected} bad signature{plural}"
        parts.append((text, "bold $text-warning"))
    return parts


def _token(state: HeaderState) -> list[Part]:
    if state.token_age_s is None:  # tokens live 300 s: minutes are precise enough
        return []
    age = compact_age(state.token_age_s) if state.token_age_s >= 60 else "<1m"
    return [f"token {age}"]


def _sort(state: HeaderState) -> list[Part]:
    if not state.sort:
        return []
    column, descending = state.sort
    return [f"sort {COLUMN_TITLES.get(column, column)} {sort_arrow(column, descending)}"]


def _ago(seconds: float) -> str:
    return "just now" if seconds < 1 else f"{compact_age(seconds)} ago"


def _updated(state: HeaderState, compact: bool) -> list[Part]:
    if state.updated_s is None:
        return [("not updated yet", "$text-muted")]
    age = "just now" if state.updated_s < JUST_NOW_S else f"{compact_age(state.updated_s)} ago"
    text = age if compact else f"updated {age}"
    return [(text + " (stale)", "bold $text-warning")] if state.stale else [text]
