"""`hm-tui vins journal`, `vins resume` and the warning every `vins` command gives when the
profile's journal holds an interrupted action. The interrupted actions are seeded through the
real Journal API in the profile's real store; the resumes go to the running emulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import msgspec

from hm_tui.domain.vin import with_check_digit
from hm_tui.service.models import NewClearance
from hm_tui.service.store.db import Journal, Store
from tests.service.platform_helpers import Control

BATCH = [with_check_digit(f"WBA0000000077{n:04d}") for n in range(6)]
DONE = BATCH[:2]  # what the interrupted add had journaled an answer for
NOT_DONE = BATCH[2:]


@contextmanager
def journal() -> Iterator[Journal]:
    """The `emu` profile's journal, where the CLI (XDG_DATA_HOME of `config_file`) keeps it."""
    store = Store.for_profile("emu")
    try:
        yield store.journal
    finally:
        store.close()


def interrupted_add() -> int:
    """An add of BATCH killed after DONE was answered (as `vins add --file` leaves it)."""
    items = [NewClearance(vin, "bmw", {"fleet": "north"}) for vin in BATCH]
    with journal() as j:
        action_id = j.begin("add", BATCH, {"via": "cli", "items": msgspec.to_builtins(items)})
        j.record_items(action_id, [(vin, "pending", "") for vin in DONE])
    return action_id


async def posted(emulator) -> dict[str, int]:
    return (await Control(emulator).stats())["applied"]["POST"]


async def test_every_vins_command_warns_of_an_interrupted_action_and_how_to_resume(
    run_cli, configured
) -> None:
    action_id = interrupted_add()
    result = await run_cli("vins", "list")
    assert result.code == 0
    assert f"add of 6 VIN(s) (action {action_id}" in result.err
    assert "was interrupted: 2 done, 4 not done" in result.err
    assert f"hm-tui --profile emu vins resume {action_id}" in result.err
    assert result.err.count("interrupted") == 1  # one warning, not one per line


async def test_no_warning_without_a_journal_or_when_everything_finished(
    run_cli, configured, emulator
) -> None:
    first = await run_cli("vins", "list")
    added = await run_cli("vins", "add", BATCH[0], "--brand", "bmw")
    again = await run_cli("vins", "list")
    assert first.code == added.code == again.code == 0
    assert "interrupted" not in first.err + added.err + again.err


async def test_journal_lists_actions_with_outcomes_and_marks_the_interrupted_one(
    run_cli, configured, emulator
) -> None:
    await run_cli("vins", "add", with_check_digit("WBA00000000000555"), "--brand", "bmw")
    action_id = interrupted_add()
    table = await run_cli("vins", "journal")
    data = json.loads((await run_cli("vins", "journal", "--json")).out)
    assert table.code == 0
    assert "INTERRUPTED: 4 not done" in table.out and "pending 2" in table.out
    assert "finished" in table.out
    assert f"vins resume {action_id}" in table.err
    latest, earlier = data
    assert (latest["id"], latest["unfinished"], latest["not_done"]) == (action_id, True, 4)
    assert latest["outcomes"] == {"pending": 2} and latest["not_done_vins"] == NOT_DONE
    assert earlier["unfinished"] is False and earlier["outcomes"] == {"pending": 1}
    assert earlier["via"] == "cli"
    assert len(json.loads((await run_cli("vins", "journal", "--json", "--limit", "1")).out)) == 1


async def test_resume_sends_only_what_was_not_done_and_finishes_the_action(
    run_cli, configured, emulator
) -> None:
    action_id = interrupted_add()
    result = await run_cli("vins", "resume", "--yes")
    assert result.code == 0, result.err
    assert set(await posted(emulator)) == set(NOT_DONE)  # DONE never sent again
    assert all(emulator.state.clearances[vin].tags == {"fleet": "north"} for vin in NOT_DONE)
    with journal() as j:
        assert j.unfinished() == []
        [entry] = j.entries()
    assert entry.id == action_id and set(entry.results) == set(BATCH)
    after = await run_cli("vins", "list")
    nothing = await run_cli("vins", "resume", "--yes")
    assert "interrupted" not in after.err
    assert nothing.code == 1 and "nothing to resume" in nothing.err


async def test_resume_of_an_interrupted_revoke_sends_only_the_rest(
    run_cli, configured, emulator
) -> None:
    approved = sorted(c.vin for c in emulator.state.clearances.values() if c.status == "approved")[
        :3
    ]
    with journal() as j:
        action_id = j.begin("remove", approved, {"via": "cli"})
        j.record_item(action_id, approved[0], "revoking")
    result = await run_cli("vins", "resume", str(action_id), "--yes")
    assert result.code == 0, result.err
    assert set((await Control(emulator).stats())["applied"]["DELETE"]) == set(approved[1:])
    assert emulator.state.clearances[approved[0]].status == "approved"
    with journal() as j:
        [entry] = j.entries()
    assert entry.finished and entry.results[approved[2]].result == "revoking"


async def test_dismiss_marks_the_rest_abandoned_and_stops_the_warning(
    run_cli, configured, emulator
) -> None:
    action_id = interrupted_add()
    result = await run_cli("vins", "resume", str(action_id), "--dismiss")
    after = await run_cli("vins", "list")
    assert result.code == 0 and "dismissed" in result.out
    assert "interrupted" not in after.err
    assert await posted(emulator) == {}
    with journal() as j:
        [entry] = j.entries()
    assert entry.finished and entry.outcomes == {"abandoned": 4, "pending": 2}


async def test_resume_refusals_are_clear_with_exit_codes(run_cli, configured, emulator) -> None:
    nothing = await run_cli("vins", "resume", "--yes")
    action_id = interrupted_add()
    read_only = await run_cli("--read-only", "vins", "resume", "--yes")
    unknown = await run_cli("vins", "resume", "999", "--yes")
    no_tty = await run_cli("vins", "resume")
    bad_limit = await run_cli("vins", "journal", "--limit", "0")
    assert nothing.code == 1 and "nothing to resume" in nothing.err
    assert read_only.code == 2 and "--read-only" in read_only.err
    assert unknown.code == 2 and "no action 999" in unknown.err
    assert no_tty.code == 2 and "--yes" in no_tty.err
    assert bad_limit.code == 2 and "--limit" in bad_limit.err
    await run_cli("vins", "resume", str(action_id), "--dismiss")
    finished = await run_cli("vins", "resume", str(action_id), "--yes")
    assert finished.code == 1 and f"action {action_id} is finished" in finished.err
    assert await posted(emulator) == {}
    for result in (nothing, read_only, unknown, no_tty, bad_limit, finished):
        assert "Traceback" not in result.err


async def test_resume_asks_naming_the_vins_and_sends_nothing_on_no(
    run_cli, configured, emulator, monkeypatch
) -> None:
    interrupted_add()
    prompts: list[str] = []
    monkeypatch.setattr("hm_tui.cli.vins_journal.stdin_is_tty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: prompts.append(prompt) or "n")
    result = await run_cli("vins", "resume")
    assert result.code == 1 and "nothing sent" in result.err
    assert "2 done, 4 not done" in result.err and NOT_DONE[0] in result.err
    assert prompts == ["Proceed? [y/N] "]
    assert await posted(emulator) == {}


async def test_add_journals_its_items_so_it_can_be_resumed(run_cli, configured, emulator) -> None:
    result = await run_cli("vins", "add", BATCH[0], "--brand", "bmw", "--tag", "fleet=north")
    assert result.code == 0
    with journal() as j:
        [entry] = j.entries()
    assert entry.finished and entry.results[BATCH[0]].result == "pending"
    assert entry.params["items"] == [{"vin": BATCH[0], "brand": "bmw", "tags": {"fleet": "north"}}]
