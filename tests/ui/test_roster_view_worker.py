"""A big roster's filter and sort are computed in a worker thread: the latest request wins."""

from __future__ import annotations

import threading
from typing import Any

from hm_tui.emulator.server import Emulator
from hm_tui.service.roster.index import KEYS
from tests.helpers import wait_for
from tests.ui.app_support import loaded, make_app


async def test_a_stale_view_result_is_dropped_and_the_cursor_keeps_its_vin(
    emulator: Emulator,
) -> None:
    app = make_app(emulator)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app, emulator)
        screen, roster = app.roster_screen, app.session.roster
        screen.thread_view_rows = 0  # every view change goes through the worker thread
        table = screen.table
        table.cursor_row = 5
        table.rows_changed()
        cursor = table.cursor_vin
        gate, first_started = threading.Event(), threading.Event()
        planned: list[Any] = []
        committed: list[tuple[str, bool]] = []
        plan_view, commit_view = roster.plan_view, roster.commit_view

        def slow_plan(*args: Any, **kwargs: Any) -> Any:
            planned.append(args)
            if len(planned) == 1:  # the first request is still computing when the next come
                first_started.set()
                assert gate.wait(10)
            return plan_view(*args, **kwargs)

        def recording_commit(plan: Any) -> bool:
            done = commit_view(plan)
            if done:
                committed.append((plan.index.column, plan.view.descending))
            return done

        roster.plan_view = slow_plan  # type: ignore[method-assign]
        roster.commit_view = recording_commit  # type: ignore[method-assign]
        screen.sort_by("brand")
        await wait_for(first_started.is_set)
        screen.sort_by("reason")  # intermediate: never computed
        screen.sort_by("status", True)  # the latest request
        await pilot.pause()
        assert roster.sort == ("vin", False)  # the previous view stays until the new one is ready
        assert table.cursor_vin == cursor
        gate.set()
        await wait_for(lambda: roster.sort == ("status", True))
        await pilot.pause()
        assert committed == [("status", True)]  # the first (stale) result was dropped
        assert [args[2] for args in planned] == [("brand", False), ("status", True)]
        keys = [KEYS["status"](roster.entry(v)) for v in roster.visible]
        assert keys == sorted(keys, reverse=True)
        assert table.cursor_vin == cursor  # the cursor stayed on its VIN
        assert table.cursor_row == roster.position(cursor)
        assert screen.wanted_sort == ("status", True)
