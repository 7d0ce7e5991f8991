"""`?`: every key of the dashboard, with the keys the profile's keymap gives them, and their ids."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import ClassVar

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from hm_tui.ui.keymap import ALL_KEYS, HELP_KEYS, SCOPES, Key, bindings, key_for
from hm_tui.ui.widgets.key_footer import KeyFooter

INTRO = (
    "Keys work where the footer shows them. Remap any of them in the profile's "
    '[profiles.NAME.keymap] table by id, e.g. "roster.add" = "ctrl+a". '
    "ctrl+p opens the command palette with every action."
)


def help_content(keys: Sequence[Key], keymap: Mapping[str, str]) -> Content:
    """The keys grouped by id scope (`roster.*`, `detail.*`…), each with the key(s) the keymap
    gives it and its id; a key that works only in part of its scope says where."""
    lines: list[Content] = []
    for scope, heading in _scopes(keys):
        lines += [
            Content(""),
            Content.styled(f"{heading.upper()}  ({scope}.*)", "bold $text-accent"),
        ]
        for key in keys:
            if key.scope != scope:
                continue
            what = key.description if key.where == heading else f"{key.description} ({key.where})"
            lines.append(
                Content.assemble(
                    (f"  {key_for(key, keymap):<12}", "bold"),
                    f"{what:<27}",
                    (key.id, "$text-muted"),
                )
            )
    return Content("\n").join(lines)


def _scopes(keys: Iterable[Key]) -> list[tuple[str, str]]:
    """(scope, heading) in SCOPES order, then any scope SCOPES does not name."""
    present = list(dict.fromkeys(key.scope for key in keys))
    ordered = [s for s in SCOPES if s in present] + [s for s in present if s not in SCOPES]
    return [(scope, SCOPES.get(scope, scope)) for scope in ordered]


class HelpScreen(ModalScreen[None]):
    """Every binding grouped by where it works; Escape, q or ? closes."""

    BINDINGS: ClassVar = bindings(HELP_KEYS)

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical {
        width: 90%; max-width: 90; height: 90%; border: round $primary; background: $surface;
        padding: 0 1;
    }
    HelpScreen #help-title { text-style: bold; height: 1; }
    HelpScreen #help-intro { color: $text-muted; height: auto; }
    """

    def __init__(self, keymap: Mapping[str, str]) -> None:
        super().__init__(id="help-screen")
        self.keymap = dict(keymap)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Keys", id="help-title")
            yield Static(INTRO, id="help-intro", markup=False)
            with VerticalScroll(id="help-body"):
                yield Static(help_content(ALL_KEYS, self.keymap), id="help-keys")
        yield KeyFooter(compact=True)

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#help-body"))

    def action_close(self) -> None:
        self.dismiss(None)
