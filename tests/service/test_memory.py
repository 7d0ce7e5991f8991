"""The glibc knobs behind flat memory across full refreshes (see hm_tui/service/memory.py)."""

import sys

import pytest

from hm_tui.service import memory


def test_both_knobs_take_on_glibc_and_say_so_elsewhere() -> None:
    on_glibc = sys.platform.startswith("linux")  # CI and the dashboard's own machines
    assert memory.keep_large_blocks_mapped() is on_glibc
    assert memory.give_back() is on_glibc


def test_elsewhere_they_do_nothing_and_say_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    memory._glibc.cache_clear()
    memory.keep_large_blocks_mapped.cache_clear()
    try:
        assert memory.give_back() is False
        assert memory.keep_large_blocks_mapped() is False
    finally:
        memory._glibc.cache_clear()
        memory.keep_large_blocks_mapped.cache_clear()
