"""Binding ids: every one is `<scope>.<action>`, known to the keymap, and listed by `?` help
under its scope."""

from __future__ import annotations

import re

import pytest
from textual.binding import Binding

from hm_tui.ui.app import HmTuiApp
from hm_tui.ui.keymap import ALL_KEYS, KNOWN_IDS, SCOPES, resolve_keymap
from hm_tui.ui.screens.add import AddScreen
from hm_tui.ui.screens.add_stop import StopAddingScreen
from hm_tui.ui.screens.confirm import ConfirmRemovalScreen
from hm_tui.ui.screens.detail import DetailScreen
from hm_tui.ui.screens.error import ErrorModal
from hm_tui.ui.screens.help import HelpScreen, help_content
from hm_tui.ui.screens.no_journal import NoJournalScreen
from hm_tui.ui.screens.payload import PayloadScreen
from hm_tui.ui.screens.roster import RosterScreen
from hm_tui.ui.widgets.feed_panel import FeedLog, FeedPanel
from hm_tui.ui.widgets.filter_bar import FilterBar
from hm_tui.ui.widgets.roster_table import RosterTable

SCOPED_ID = re.compile(r"^[a-z]+\.[a-z][a-z0-9_]*$")
BOUND = (
    HmTuiApp,
    RosterScreen,
    RosterTable,
    FilterBar,
    DetailScreen,
    AddScreen,
    StopAddingScreen,
    NoJournalScreen,
    ConfirmRemovalScreen,
    ErrorModal,
    HelpScreen,
    FeedPanel,
    FeedLog,
    PayloadScreen,
)


def test_every_id_is_scope_dot_action_with_a_known_scope_and_unique() -> None:
    ids = [key.id for key in ALL_KEYS]
    assert len(ids) == len(set(ids))
    for binding_id in ids:
        assert SCOPED_ID.match(binding_id), binding_id
        assert binding_id.partition(".")[0] in SCOPES, binding_id


@pytest.mark.parametrize("owner", BOUND, ids=lambda cls: cls.__name__)
def test_every_binding_of_the_dashboard_has_a_known_id(owner: type) -> None:
    found = [b for b in owner.BINDINGS if isinstance(b, Binding)]
    assert found, f"{owner.__name__} has no bindings of its own"
    for binding in found:
        assert binding.id in KNOWN_IDS, (owner.__name__, binding.key, binding.id)


def test_screen_ids_can_be_remapped_and_old_unscoped_ids_are_refused() -> None:
    keymap, problems = resolve_keymap(
        {"detail.back": "b", "feed.pause": "P", "back": "x", "feed-pause": "y"}
    )
    assert keymap == {"detail.back": "b", "feed.pause": "P"}
    assert len(problems) == 2 and "'back'" in problems[0]


def test_help_lists_every_id_under_its_scope_heading() -> None:
    text = help_content(ALL_KEYS, {}).plain
    sections = re.split(r"^(?=\S.*\(([a-z]+)\.\*\)$)", text, flags=re.M)
    by_scope: dict[str, str] = {}
    for chunk in sections:
        heading = re.match(r"^\S.*\(([a-z]+)\.\*\)$", chunk, flags=re.M)
        if heading:
            by_scope[heading.group(1)] = chunk
    assert list(by_scope) == [s for s in SCOPES if any(k.scope == s for k in ALL_KEYS)]
    for key in ALL_KEYS:
        assert re.search(rf"\s{re.escape(key.id)}$", by_scope[key.scope], flags=re.M), key.id


def test_help_shows_the_remapped_key() -> None:
    text = help_content(ALL_KEYS, {"detail.pull_data": "ctrl+v"}).plain
    assert re.search(r"ctrl\+v\s+Pull data\s+detail\.pull_data", text)
