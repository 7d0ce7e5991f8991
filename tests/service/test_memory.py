"""The glibc knobs behind flat memory across full refreshes (see hm_tui/service/memory.py)."""

import sys

import pytest

from hm_tui.service import memory

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")


@linux_only
def test_on_glibc_both_knobs_take() -> None:
    assert memory.keep_large_blocks_mapped() is True
    assert memory.give_back() is True


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
