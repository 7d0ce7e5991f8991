"""Roster section: for each fleet size, an emulator process, the app child, the DataTable peer."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.emulator_proc import EmulatorProcess
from benchmarks.proc import ChildFailed, run_child
from benchmarks.report import Row, SectionResult, Target, unavailable


@dataclass(slots=True)
class FleetRun:
    fleet: int
    app: dict[str, Any] | None = None
    app_error: str | None = None
    datatable: dict[str, Any] | None = None
    datatable_error: str | None = None
    emulator_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def run_fleet(
    fleet: int,
    datatable_rows: int | None,
    log: Callable[[str], None],
    *,
    keys: int = 36,
    queries: int = 5,
    timeout: float | None = None,
) -> FleetRun:
    """The app at `fleet` VINs, then (if asked) the DataTable with `datatable_rows` of the same
    list (0: all of it)."""
    run = FleetRun(fleet)
    big = fleet >= MILLION
    timeout = timeout or (600.0 if big else 180.0)
    with tempfile.TemporaryDirectory(prefix="hm-bench-roster-") as tmp:
        emulator = EmulatorProcess(Path(tmp) / "emulator", fleet)
        try:
            emulator.start(timeout=300 if big else 120)
        except RuntimeError as exc:
            run.app_error = run.datatable_error = str(exc)
            return run
        run.emulator_s = emulator.started_in
        creds = str(Path(tmp) / "emulator" / "credentials.json")
        rows_file = Path(tmp) / "rows.json"
        args = ["--creds", creds, "--fleet", str(fleet), "--keys", str(keys)]
        if datatable_rows is not None:
            args += ["--rows-out", str(rows_file), "--rows-count", str(datatable_rows)]
        try:
            log(f"roster: {fleet:,} VINs in the app (emulator up in {emulator.started_in:.1f} s)")
            run.app = run_child("roster_app", args, timeout)
        except ChildFailed as exc:
            run.app_error = str(exc)
        finally:
            emulator.stop()
        if datatable_rows is not None:
            run_datatable(run, rows_file, log, queries)
    return run


def run_datatable(
    run: FleetRun, rows_file: Path, log: Callable[[str], None], queries: int = 5
) -> None:
    if not rows_file.exists():
        run.datatable_error = "the roster run wrote no rows to load"
        return
    log("roster: the same rows in Textual's DataTable")
    try:
        run.datatable = run_child(
            "datatable", ["--rows-file", str(rows_file), "--queries", str(queries)], 300
        )
    except ChildFailed as exc:
        run.datatable_error = str(exc)


#: From this fleet size on, a run is judged against the 1,000,000-VIN budgets (first frame 3 s,
#: resident memory 1 GB) and reported under the `*_1m_*` keys of the last line.
MILLION = 1_000_000


def fleet_rows(run: FleetRun) -> list[Row]:
    section = f"roster {run.fleet:,}"
    if run.app is None:
        return [unavailable(section, "app", run.app_error or "did not run")]
    a = run.app
    big = run.fleet >= MILLION
    return [
        Row(
            section,
            "list fetched → first frame",
            a["first_frame_s"],
            "s",
            Target(3.0 if big else 1.5),
            f"fetch+parse {a['fetch_s']:.2f} s; app start → frame {a['start_to_frame_s']:.2f} s",
        ),
        Row(
            section,
            "filter keystroke → frame p95",
            a["filter_p95_ms"],
            "ms",
            Target(50),
            f"p50 {a['filter_p50_ms']:.1f}, max {a['filter_max_ms']:.1f} ms, "
            f"{a['keystrokes']} keys",
        ),
        Row(
            section,
            "sort change → frame (worst)",
            a["sort_max_ms"],
            "ms",
            Target(150),
            f"p50 {a['sort_p50_ms']:.1f} ms over {a['sorts']} columns",
        ),
        Row(
            section,
            f"refresh, {a['changed']:,} changed → frame",
            a["refresh_ms"],
            "ms",
            None,
            f"from list fetched; key r → frame {a['refresh_press_ms']:.0f} ms",
        ),
        Row(
            section,
            "longest loop stall",
            max_stall(a),
            "ms",
            Target(100),
            ", ".join(f"{p} {a[f'{p}_stall_ms']:.0f}" for p in PHASES),
        ),
        Row(
            section,
            "peak RSS",
            a["rss_peak_mb"],
            "MB",
            Target(1024 if big else 250),
            "with the session's feed running" if a.get("feed") else "no feed in this session",
        ),
    ]


PHASES = ("load", "orders", "filter", "sort", "refresh")


def max_stall(app: dict[str, Any]) -> float:
    return max(app[f"{p}_stall_ms"] for p in PHASES)


def datatable_rows(run: FleetRun, roster_runs: Sequence[FleetRun]) -> list[Row]:
    if run.datatable is None:
        if run.datatable_error:
            return [unavailable("DataTable", "load", run.datatable_error)]
        return []
    d = run.datatable
    section = f"DataTable {d['rows']:,}"
    same = next((r for r in roster_runs if r.app and r.app["rows"] == d["rows"]), None)
    compared = same or max((r for r in roster_runs if r.app), key=lambda r: r.fleet, default=None)
    ratio_note = ""
    if compared is not None and compared.app is not None:
        ratio = d["load_s"] / compared.app["first_frame_s"]
        ratio_note = f"{ratio:.1f}× the roster's {compared.app['rows']:,}-VIN first frame"
    return [
        Row(
            section,
            "add_rows → settled frame",
            d["load_s"],
            "s",
            None,
            f"loop blocked {d['load_stall_ms']:.0f} ms; {ratio_note}",
        ),
        Row(
            section,
            "filter (clear + add) p50",
            d["filter_p50_ms"],
            "ms",
            None,
            f"max {d['filter_max_ms']:.0f} ms",
        ),
    ]


def summarise(runs: Sequence[FleetRun]) -> SectionResult:
    result = SectionResult()
    result.details["roster"] = [
        {
            "fleet": r.fleet,
            "emulator_s": r.emulator_s,
            "app": r.app,
            "app_error": r.app_error,
            "datatable": r.datatable,
            "datatable_error": r.datatable_error,
        }
        for r in runs
    ]
    for run in runs:
        result.rows.extend(fleet_rows(run))
    for run in runs:
        result.rows.extend(datatable_rows(run, runs))
    measured = [r for r in runs if r.app and r.fleet < MILLION]
    millions = [r for r in runs if r.app and r.fleet >= MILLION]
    if millions:
        m = millions[0].app
        assert m is not None
        result.summary.update(
            roster_1m_fleet=m["rows"],
            roster_1m_first_frame_s=m["first_frame_s"],
            roster_1m_filter_p95_ms=m["filter_p95_ms"],
            roster_1m_sort_ms=m["sort_max_ms"],
            roster_1m_max_stall_ms=max_stall(m),
            rss_1m_mb=m["rss_peak_mb"],
        )
    if measured:
        a = max(measured, key=lambda r: r.fleet).app
        assert a is not None
        result.summary.update(
            roster_fleet=a["rows"],
            roster_first_frame_s=a["first_frame_s"],
            roster_filter_p95_ms=a["filter_p95_ms"],
            roster_sort_ms=a["sort_max_ms"],
            roster_refresh_ms=a["refresh_ms"],
            max_stall_ms=max_stall(a),
            rss_mb=a["rss_peak_mb"],
        )
    result.summary.update(datatable_ratio(runs))
    return result


def datatable_ratio(runs: Sequence[FleetRun]) -> dict[str, Any]:
    """DataTable load time ÷ roster first-frame time: at equal sizes when both ran at one size
    (the largest such), else the largest DataTable against the largest roster, sizes named."""
    pairs = [
        (r.datatable, r.app)
        for r in runs
        if r.datatable and r.app and r.datatable["rows"] == r.app["rows"]
    ]
    if not pairs:
        tables = [r.datatable for r in runs if r.datatable]
        apps = [r.app for r in runs if r.app]
        if not tables or not apps:
            return {}
        pairs = [(max(tables, key=lambda d: d["rows"]), max(apps, key=lambda a: a["rows"]))]
    table, app = max(pairs, key=lambda p: p[0]["rows"])
    return {
        "datatable_vs_roster_load": table["load_s"] / app["first_frame_s"],
        "datatable_rows": table["rows"],
        "datatable_vs_roster_rows": app["rows"],
    }
