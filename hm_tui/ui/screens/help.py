"""`?`: every key of the dashboard, with the keys the profile's keymap gives them, and their ids."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from hm_tui.ui.keymap import ALL_KEYS, Key, bindings, key_for

HELP_KEYS: tuple[Key, ...] = (
    Key("help.close", "escape,q,question_mark", "close", "Close", "help", display="esc"),
)

INTRO = ("Keys work where the footer shows them. Remap any of them in the profile's "
         "[profiles.NAME.keymap] table by id, e.g. \"roster.add\" = \"ctrl+a\". "
         "ctrl+p opens the command palette with every action.")


def other_keys() -> list[Key]:
    """Keys of the other screens and panels (detail, confirm, feed), read from their bindings."""
    keys: list[Key] = []
    for where, module, names in (
        ("detail", "hm_tui.ui.screens.detail", ("DetailScreen",)),
        ("add VINs", "hm_tui.ui.screens.add", ("AddScreen",)),
        ("confirm", "hm_tui.ui.screens.confirm", ("ConfirmRemovalScreen",)),
        ("feed", "hm_tui.ui.widgets.feed_panel", ("FeedPanel", "FeedLog")),
    ):
        keys += _keys_of(where, module, names)
    return keys


def _keys_of(where: str, module: str, names: Iterable[str]) -> list[Key]:
    import importlib

    try:
        found = importlib.import_module(module)
    except ImportError:
        return []
    keys = []
    for name in names:
        for binding in getattr(getattr(found, name, None), "BINDINGS", ()):
            if isinstance(binding, Binding) and binding.id:
                keys.append(Key(binding.id, binding.key, binding.action, binding.description,
                                where, display=binding.key_display))
    return keys


def help_content(keys: Iterable[Key], keymap: Mapping[str, str]) -> Content:
    lines: list[Content] = []
    where = None
    for key in keys:
        if key.where != where:
            where = key.where
            lines += [Content(""), Content.styled(where.upper(), "bold $text-accent")]
        lines.append(Content.assemble(
            (f"  {key_for(key, keymap):<16}", "bold"), f"{key.description:<24}",
            (key.id, "$text-muted"),
        ))
    return Content("\n").join(lines)


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
                yield Static(help_content([*ALL_KEYS, *other_keys()], self.keymap),
                             id="help-keys")

    def on_mount(self) -> None:
        self.query_one("#help-body").focus()

    def action_close(self) -> None:
        self.dismiss(None)
