"""Dialogs section: key → the dialog's first frame with its focus ready, for each dialog the
roster opens, at one fleet size (the emulator in its own process, the app child headless)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.dialogs_app import DIALOGS
from benchmarks.emulator_proc import EmulatorProcess
from benchmarks.proc import ChildFailed, run_child
from benchmarks.report import Row, SectionResult, Target, unavailable

#: docs/decisions.md#budgets and issue 17: a dialog opens within 100 ms
OPEN_MS = 100.0
KEYS = {"slash": "/", "enter": "Enter"}


@dataclass(slots=True)
class DialogsRun:
    fleet: int
    app: dict[str, Any] | None = None
    error: str | None = None
    emulator_s: float = 0.0


def run_dialogs(
    fleet: int, reps: int, log: Callable[[str], None], *, timeout: float = 180.0
) -> DialogsRun:
    run = DialogsRun(fleet)
    with tempfile.TemporaryDirectory(prefix="hm-bench-dialogs-") as tmp:
        emulator = EmulatorProcess(Path(tmp) / "emulator", fleet)
        try:
            emulator.start(timeout=120)
        except RuntimeError as exc:
            run.error = str(exc)
            return run
        run.emulator_s = emulator.started_in
        creds = str(Path(tmp) / "emulator" / "credentials.json")
        try:
            up = f"emulator up in {run.emulator_s:.1f} s"
            log(f"dialogs: {fleet:,} VINs, each dialog's key {reps}× ({up})")
            run.app = run_child(
                "dialogs_app",
                ["--creds", creds, "--fleet", str(fleet), "--reps", str(reps)],
                timeout,
            )
        except ChildFailed as exc:
            run.error = str(exc)
        finally:
            emulator.stop()
    return run


def summarise(run: DialogsRun) -> SectionResult:
    result = SectionResult()
    result.details["dialogs"] = {
        "fleet": run.fleet,
        "emulator_s": run.emulator_s,
        "app": run.app,
        "error": run.error,
    }
    section = f"dialogs {run.fleet:,}"
    if run.app is None:
        result.rows.append(unavailable(section, "app", run.error or "did not run"))
        return result
    measured = run.app["dialogs"]
    for name, key, what in DIALOGS:
        d = measured.get(name)
        if d is None:
            result.rows.append(unavailable(section, f"{KEYS.get(key, key)} → {what}", "no figure"))
            continue
        result.rows.append(
            Row(
                section,
                f"{KEYS.get(key, key)} → {what} p95",
                d["p95_ms"],
                "ms",
                Target(OPEN_MS),
                f"p50 {d['p50_ms']:.1f}, max {d['max_ms']:.1f} ms over {len(d['ms'])} presses "
                f"({', '.join(f'{x:.0f}' for x in d['ms'])}); to its first frame, focus ready",
            )
        )
    worst = max(measured.values(), key=lambda d: d["p95_ms"])
    result.rows.append(
        Row(
            section,
            "longest loop stall",
            run.app["dialogs_stall_ms"],
            "ms",
            Target(100),
            f"while opening and closing them ({run.app['rows']:,} VINs)",
        )
    )
    result.summary.update(
        dialog_open_p95_ms=worst["p95_ms"],
        dialog_open_max_ms=max(d["max_ms"] for d in measured.values()),
        dialog_fleet=run.app["rows"],
    )
    return result
