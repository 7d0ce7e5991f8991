"""Fleet-sized work in bounded steps (service/roster/bounded_steps.py) gives what one call would."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hm_tui.service.roster import bounded_steps
from hm_tui.service.roster import index as roster_index


@pytest.fixture(autouse=True)
def small_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bounded_steps, "STEP", 5)  # many steps for small inputs


values = st.lists(st.integers(min_value=0, max_value=12), max_size=120)


@given(values)
def test_sorted_steps_is_sorted_and_stable(keys: list[int]) -> None:
    rows = list(range(len(keys)))
    assert bounded_steps.sorted_steps(rows, key=keys.__getitem__) == sorted(
        rows, key=keys.__getitem__
    )
    assert bounded_steps.sorted_steps(keys) == sorted(keys)


@given(st.lists(values, max_size=9))
def test_merged_runs_keep_earlier_runs_first_among_equals(parts: list[list[int]]) -> None:
    tagged = [[(key, n) for key in sorted(part)] for n, part in enumerate(parts)]
    merged = bounded_steps.merge_runs(tagged, key=lambda item: item[0])
    assert merged == sorted((item for run in tagged for item in run), key=lambda i: i[0])


@given(values)
def test_dicts_counts_sets_and_maxima_as_one_call_makes_them(keys: list[int]) -> None:
    size = len(keys)
    pairs = list(zip(keys, range(size), strict=True))
    assert bounded_steps.dict_of(pairs, size) == dict(pairs)
    assert bounded_steps.counted(keys, size) == dict(Counter(keys))
    assert bounded_steps.distinct(keys, size) == set(keys)
    assert bounded_steps.maximum(map(float, keys), size) == max(map(float, keys), default=None)
    assert bounded_steps.dict_of(pairs, 0) == dict(pairs)  # a wrong size loses nothing


@given(
    st.lists(
        st.one_of(st.integers(0, 9), st.floats(allow_nan=False, width=32)), min_size=1, max_size=80
    ),
    st.booleans(),
)
def test_sort_orders_from_numpy_and_from_merged_runs_are_one_stable_sort(
    keys: list[float], by_numpy: bool
) -> None:
    monkey = pytest.MonkeyPatch()
    with monkey.context() as patch:
        patch.setattr(roster_index, "PASS", 4)
        patch.setattr(roster_index, "NUMPY_FROM", 5 if by_numpy else 10**9)
        rows = roster_index.sorted_rows(keys)
    assert rows == sorted(range(len(keys)), key=keys.__getitem__)


def test_text_keys_and_a_nan_sort_as_python_sorts_them() -> None:
    texts = ["b", "a", "c", "a", "b", "a", "c", "b"] * 3
    nan = [3.0, float("nan"), 1.0, 2.0, 0.5, 7.0, 1.0, 2.0] * 3
    monkey = pytest.MonkeyPatch()
    with monkey.context() as patch:
        patch.setattr(roster_index, "PASS", 4)
        patch.setattr(roster_index, "NUMPY_FROM", 5)
        assert roster_index.sorted_rows(texts) == sorted(range(24), key=texts.__getitem__)
        assert roster_index._sorted_by_numpy(nan) is None  # (merged runs instead)


def test_a_list_is_emptied_a_step_at_a_time_only_when_nothing_else_holds_it() -> None:
    class Holder:
        __slots__ = ("items",)

        def __init__(self) -> None:
            self.items = list(range(23))

    owned, shared = Holder(), Holder()
    elsewhere = shared.items
    freed = bounded_steps.let_go_if_ours(owned.items, owners=1)  # (outside an assert: pytest's
    kept = bounded_steps.let_go_if_ours(shared.items, owners=1)  # rewriting holds references)
    assert freed and owned.items == []
    assert not kept and shared.items == elsewhere == list(range(23))
