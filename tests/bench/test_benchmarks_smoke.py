"""The benchmark harness works end to end on tiny inputs. No timing is asserted here: the
numbers belong to `python -m benchmarks`, these tests only pin that it measures and reports."""

from __future__ import annotations

import json
import time
from pathlib import Path

from helpers import wait_for

from benchmarks import machine
from benchmarks.cli import run_fleet_cli
from benchmarks.cli import summarise as summarise_cli
from benchmarks.dialogs import run_dialogs
from benchmarks.dialogs import summarise as summarise_dialogs
from benchmarks.dialogs_app import DIALOGS
from benchmarks.feed import Step, _climb, run_steps
from benchmarks.feed_summary import summarise as summarise_feed
from benchmarks.messages import APP_ID, epoch_of, make_stream, message_id, run_tag_of
from benchmarks.pacer import Paced
from benchmarks.received import parse_stamped_lines, tally
from benchmarks.report import (
    SUMMARY_KEYS,
    Row,
    Target,
    format_markdown,
    format_table,
    summary_line,
    unavailable,
)
from benchmarks.roster import FleetRun, run_fleet
from benchmarks.roster import summarise as summarise_roster
from benchmarks.stall import StallProbe
from benchmarks.startup import ESCAPES, VIN


def test_machine_line_gives_the_speed_against_the_reference_machine() -> None:
    info = machine.describe(probe_runs=1)
    assert info["textual_import_ms"] > 0
    assert info["slower_than_reference"] == round(
        info["textual_import_ms"] / machine.REFERENCE_IMPORT_MS, 2
    )
    assert "reference machine" in machine.line(info)


def test_summary_line_always_has_every_required_key_even_when_nothing_ran() -> None:
    parsed = json.loads(summary_line({"feed_msgs_per_s": 5123.456, "extra": 1}))
    assert set(SUMMARY_KEYS) <= set(parsed)
    assert parsed["feed_msgs_per_s"] == 5123.456
    assert parsed["roster_first_frame_s"] is None


def test_table_marks_missed_targets_and_explains_missing_measures() -> None:
    rows = [
        Row("feed", "lag p99", 150.0, "ms", Target(100)),
        Row("feed", "msg/s", 6000.0, "msg/s", Target(5000, at_least=True)),
        unavailable("roster", "app", "No module named 'hm_tui.service.session'"),
    ]
    table = format_table(rows)
    lag, rate = table.splitlines()[2:4]
    assert "MISSED" in lag and rate.endswith("ok")
    assert "not available: No module named" in table
    assert format_markdown(rows).count("\n") == len(rows) + 1


def test_v1_messages_carry_run_tag_and_publish_time_the_receipts_recover() -> None:
    stream = make_stream(1)
    mid = message_id(7, 42)
    payload = stream.payload(mid, "2026-11-23T10:00:00.250Z")
    doc = json.loads(payload)
    assert doc["version"] == 1 and doc["message_id"] == mid and len(mid) == 64
    assert stream.topic == (
        f"sandbox/level13/{APP_ID}/{doc['vin']}/{doc['capability']}/get/{doc['property']}"
    )
    assert run_tag_of(mid) == 7
    published = epoch_of("2026-11-23T10:00:00.250Z")
    [receipt] = parse_stamped_lines([f"{published + 0.1:.6f} {payload}"])
    received = tally([receipt, receipt], run_tag=7, expected=2)
    assert (received.count, received.unique, received.lost) == (2, 1, 1)
    assert abs(received.lags_ms[0] - 100) < 1


async def test_stall_probe_sees_a_blocked_event_loop() -> None:
    probe = StallProbe()
    probe.start()
    await wait_for(lambda: probe.samples > 0, message="the probe's first wake-up")
    async with probe.window() as window:
        until = time.perf_counter() + 0.08
        while time.perf_counter() < until:  # hold the loop, as a slow handler would
            pass
    probe.stop()
    assert window.max_stall_ms >= 50


def test_startup_reader_finds_vins_between_terminal_escapes() -> None:
    screen = (
        b"\x1b[2J\x1b[1;1H\x1b[38;2;1;2;3mWVWZZZ1J93W386752\x1b[0m  approved\r\n"
        b"\x1b[2;1HAPPID2B121AE27A59BC0798C90771 \x1b[7mWBA3A5C50DF358058\x1b[27m"
    )
    found = VIN.findall(ESCAPES.sub(b"\n", screen))
    assert found == [b"WVWZZZ1J93W386752", b"WBA3A5C50DF358058"]


def test_tiny_feed_run_counts_every_message_at_mosquitto_sub_bare_paho_and_the_app() -> None:
    steps, broker_error = run_steps(
        [(200.0, ["mosquitto_sub", "bare_paho", "app"], 0.5)], lambda _line: None
    )
    assert broker_error is None
    [step] = steps
    assert step.errors == {}
    for name in ("mosquitto_sub", "bare_paho", "app"):
        assert step.results[name]["expected"] == 100
        assert step.results[name]["lost"] == 0, (name, step.results[name])
    assert step.results["app"]["rss_after_mb"] > 0
    summary = summarise_feed(steps, None).summary
    assert summary["feed_vs_bare_paho"] is not None and summary["feed_vs_mqttjs"] is None


def test_feed_summary_says_why_when_the_broker_is_missing() -> None:
    result = summarise_feed([], "mosquitto is not installed (Debian package `mosquitto`)")
    assert "not available: mosquitto is not installed" in format_table(result.rows)


def test_feed_sustained_rate_is_the_highest_kept_up_rate_and_ratios_compare_throughput() -> None:
    result = _feed_result
    low, high = Step(1000, 1.0, Paced(1000, 0, 1, 1)), Step(5000, 1.0, Paced(5000, 0, 1, 1))
    low.results = {"app": result(1000, 990), "bare_paho": result(1000, 995)}
    high.results = {"app": result(900, 3000, 4.0), "bare_paho": result(1000, 4990)}
    summary = summarise_feed([low, high], None).summary
    assert summary["feed_msgs_per_s"] == 1000  # kept up at 1,000/s, not at 5,000/s
    assert round(summary["feed_vs_bare_paho"], 3) == round(3000 / 4990, 3)


def _feed_result(unique: int, rate: float, catch_up: float = 0.1) -> dict[str, float]:
    return {
        "expected": 1000,
        "received": unique,
        "unique": unique,
        "lost": 1000 - unique,
        "msgs_per_s": rate,
        "catch_up_s": catch_up,
        "lag_p50_ms": 5.0,
        "lag_p99_ms": 20.0,
        "lag_max_ms": 30.0,
    }


def test_full_feed_run_climbs_past_its_rates_with_whoever_still_keeps_up() -> None:
    steps = []
    for name, result in (
        ("app", _feed_result(1000, 19990)),
        ("bare_paho", _feed_result(1000, 19995)),
        ("mqttjs", _feed_result(600, 12000, 3.0)),
    ):
        steps.append(Step(20000, 1.0, Paced(20000, 0, 1, 1), {name: result}))  # each alone
    behind = {"mqttjs"}
    asked = []
    for rate, name, seconds in _climb(steps, behind, climb_to=80000):  # as run_steps drives it
        asked.append((rate, name))
        step = Step(rate, seconds, Paced(int(rate), 0, 1, 1))
        kept = name == "bare_paho" or rate < 80000
        step.results = {name: _feed_result(1000 if kept else 500, rate)}
        behind.update(n for n in step.results if not step.kept_up(n))
        steps.append(step)
    assert asked == [(40000, "app"), (40000, "bare_paho"), (80000, "app"), (80000, "bare_paho")]
    assert list(_climb(steps[:1], set(), climb_to=None)) == []


def test_climbing_stops_where_the_publisher_falls_short() -> None:
    top = Step(20000, 1.0, Paced(20000, 0, 1, 1))
    top.results = {"app": _feed_result(1000, 19990)}
    steps: list[Step] = [top]
    asked = []
    for rate, name, seconds in _climb(steps, set(), climb_to=160000):
        asked.append(rate)
        step = Step(rate, seconds, Paced(30000, 0, 1, 1))  # asked for 40,000: reached 30,000
        step.results = {name: _feed_result(1000, 30000)}
        steps.append(step)
    assert asked == [40000]


def test_a_peer_ratio_of_two_clients_that_kept_up_with_everything_says_so() -> None:
    top = Step(20000, 1.0, Paced(20000, 0, 1, 1))
    top.results = {
        "app": _feed_result(1000, 19950),
        "bare_paho": _feed_result(1000, 19990),
        "mqttjs": _feed_result(700, 15000, 3.0),
    }
    table = format_table(summarise_feed([top], None).rows)
    [paho_row] = [line for line in table.splitlines() if "app ÷ bare_paho" in line]
    [js_row] = [line for line in table.splitlines() if "app ÷ mqttjs" in line]
    assert "no difference measured" in paho_row and "no difference measured" not in js_row


def test_tiny_roster_run_measures_the_app_and_the_datatable_peer(tmp_path: Path) -> None:
    run = run_fleet(30, 0, lambda _line: None, keys=3, timeout=60)
    assert run.app_error is None, run.app_error
    assert run.app is not None and run.app["rows"] >= 30 and run.app["keystrokes"] == 3
    assert run.app["changed"] >= 1 and run.app["rss_peak_mb"] > 0
    assert run.datatable is not None and run.datatable["rows"] == run.app["rows"]
    summary = summarise_roster([run]).summary
    assert summary["datatable_vs_roster_load"] > 0 and summary["roster_fleet"] == run.app["rows"]


def test_tiny_cli_run_pairs_hm_tui_with_curl_and_jq_and_reads_each_programs_peak() -> None:
    [run] = run_fleet_cli(40, [("list --json", 2)], lambda _line: None)
    assert run.error is None, run.error
    assert len(run.cli) == len(run.peer) == 2
    assert all(m.ok and m.wall_s > 0 and m.peak_mb > 1 for m in run.cli + run.peer)
    summary = summarise_cli([run]).summary
    assert summary["cli_vs_curl_jq"] > 0 and summary["cli_rss_vs_curl_jq"] > 0
    assert summary["cli_fleet"] == 40


def test_a_million_vin_roster_run_reports_under_its_own_budgets_and_keys() -> None:
    app = {
        "rows": 1_000_003,
        "first_frame_s": 3.5,
        "fetch_s": 9.0,
        "start_to_frame_s": 20.0,
        "filter_p95_ms": 40.0,
        "filter_p50_ms": 20.0,
        "filter_max_ms": 60.0,
        "keystrokes": 36,
        "sort_max_ms": 100.0,
        "sort_p50_ms": 50.0,
        "sorts": 7,
        "changed": 10_000,
        "refresh_ms": 900.0,
        "refresh_press_ms": 1000.0,
        "rss_peak_mb": 900.0,
        "feed": True,
        **{f"{phase}_stall_ms": 10.0 for phase in ("load", "orders", "filter", "sort", "refresh")},
    }
    small = {**app, "rows": 100_003, "first_frame_s": 0.5, "rss_peak_mb": 200.0}
    result = summarise_roster([FleetRun(100_000, small), FleetRun(1_000_000, app)])
    assert result.summary["roster_first_frame_s"] == 0.5  # the 100,000-VIN run's keys stay
    assert result.summary["roster_1m_first_frame_s"] == 3.5
    assert result.summary["rss_1m_mb"] == 900.0
    table = format_table(result.rows)
    [frame] = [line for line in table.splitlines() if "1,000,000" in line and "first frame" in line]
    [rss] = [line for line in table.splitlines() if "1,000,000" in line and "peak RSS" in line]
    assert "MISSED" in frame and "≤ 3.00 s" in frame and rss.rstrip().endswith("running")
    assert "ok" in rss


def test_tiny_dialogs_run_reports_every_dialog_with_a_number() -> None:
    run = run_dialogs(30, 2, lambda _line: None, timeout=120)
    assert run.error is None, run.error
    assert run.app is not None and run.app["rows"] >= 30
    result = summarise_dialogs(run)
    table = format_table(result.rows)
    for name, _key, what in DIALOGS:
        figures = run.app["dialogs"][name]["ms"]
        assert len(figures) == 2 and all(ms > 0 for ms in figures), (name, figures)
        [line] = [line for line in table.splitlines() if f"→ {what} p95" in line]
        assert "not available" not in line and " ms " in line, line
    worst = max(run.app["dialogs"][name]["p95_ms"] for name, _key, _what in DIALOGS)
    assert result.summary["dialog_open_p95_ms"] == worst
    assert json.loads(summary_line(result.summary))["dialog_open_p95_ms"] == round(worst, 3)
