"""CLI section: `hm-tui vins list --json` (and `--csv`, `vins export`) against `curl` + `jq`.

One emulator process serves the fleet; each pair runs the CLI and the shell pipeline an operator
would otherwise write, one after the other (the order alternates between pairs, so neither
always runs on a warmer machine):

    token=$(curl -s -X POST $BASE/access_tokens -H 'content-type: application/json' \
              -d '{"grant_type": "client_credentials", ...}' | jq -r .access_token)
    curl -s -H "authorization: Bearer $token" $BASE/fleets/vehicles | jq -c '.[]' > /dev/null

Wall time covers the token and the list for both. Peak memory is each program's own high-water
mark (`VmHWM`, read from /proc while it runs; the mark only grows, so the last reading before it
exits is its peak): the CLI's process, and for the pipeline the list step's curl plus jq, which
run at the same time. Output goes to /dev/null for both. The CLI runs as installed (bytecode
compiled, the console script beside this interpreter), like the startup section.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.emulator_proc import EmulatorProcess
from benchmarks.report import Row, SectionResult, Target, unavailable
from benchmarks.startup import compile_checkout, console_script, installed_env

COMMANDS: dict[str, list[str]] = {
    "list --json": ["vins", "list", "--json"],
    "list --csv": ["vins", "list", "--csv"],
    "export": ["vins", "export"],
}


def _hwm_kb(pid: int) -> int | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return None


class PeakWatch:
    """Reads each process's VmHWM every few ms while it runs; `peak_mb(pid)` is the last one."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.peaks: dict[int, int] = {}
        self._pids: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="peak-watch")

    def watch(self, pid: int) -> None:
        self._pids.append(pid)

    def __enter__(self) -> PeakWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            for pid in list(self._pids):
                kb = _hwm_kb(pid)
                if kb is not None:
                    self.peaks[pid] = max(kb, self.peaks.get(pid, 0))
            self._stop.wait(self.interval)  # (a sampler: a reading every few ms until told to stop)

    def peak_mb(self, pid: int) -> float:
        return self.peaks.get(pid, 0) / 1024


@dataclass(slots=True)
class Measured:
    wall_s: float
    peak_mb: float
    ok: bool
    problem: str = ""


def run_cli(binary: str, argv: list[str], env: dict[str, str]) -> Measured:
    started = time.perf_counter()
    with PeakWatch() as watch:
        process = subprocess.Popen(
            [binary, *argv],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
        )
        watch.watch(process.pid)
        _, err = process.communicate()
        wall = time.perf_counter() - started
    ok = process.returncode == 0
    problem = "" if ok else err.decode(errors="replace").strip()[-200:]
    return Measured(wall, watch.peak_mb(process.pid), ok, problem)


def run_curl_jq(creds: dict[str, Any], csv: bool) -> Measured:
    """Token, then the list: curl into jq, as a shell script does (`csv`: `jq -r '.[] | @csv'`
    over the fields the CLI's CSV has, as close as jq gets)."""
    base = creds["base_url"]
    grant = json.dumps(
        {
            "grant_type": "client_credentials",
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
        }
    )
    started = time.perf_counter()
    with PeakWatch() as watch:
        curl_token = subprocess.Popen(
            [
                *("curl", "-sS", "-X", "POST", f"{base}/access_tokens"),
                *("-H", "content-type: application/json", "-d", grant),
            ],
            stdout=subprocess.PIPE,
        )
        jq_token = subprocess.Popen(
            ["jq", "-r", ".access_token"], stdin=curl_token.stdout, stdout=subprocess.PIPE
        )
        assert curl_token.stdout is not None
        curl_token.stdout.close()
        token = jq_token.communicate()[0].decode().strip()
        curl_token.wait()
        curl = subprocess.Popen(
            ["curl", "-sS", "-H", f"authorization: Bearer {token}", f"{base}/fleets/vehicles"],
            stdout=subprocess.PIPE,
        )
        program = JQ_CSV if csv else ["-c", ".[]"]
        jq = subprocess.Popen(
            ["jq", *program], stdin=curl.stdout, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        assert curl.stdout is not None
        curl.stdout.close()
        watch.watch(curl.pid)
        watch.watch(jq.pid)
        _, err = jq.communicate()
        curl.wait()
        wall = time.perf_counter() - started
    ok = bool(token) and curl.returncode == 0 and jq.returncode == 0
    problem = "" if ok else (err.decode(errors="replace").strip()[-200:] or "no token")
    return Measured(wall, watch.peak_mb(curl.pid) + watch.peak_mb(jq.pid), ok, problem)


JQ_CSV = [
    "-r",
    '.[] | [.vin, .brand, .status, ((.changelog // []) | last | .reason // ""),'
    ' ((.tags // {}) | to_entries | map("\\(.key)=\\(.value)") | join(" "))] | @csv',
]


@dataclass(slots=True)
class CommandRun:
    fleet: int
    command: str
    cli: list[Measured] = field(default_factory=list)
    peer: list[Measured] = field(default_factory=list)
    error: str | None = None

    def ratios(self) -> list[float]:
        return [c.wall_s / p.wall_s for c, p in zip(self.cli, self.peer, strict=True)]

    def summary(self) -> dict[str, Any]:
        cli_wall = statistics.median(m.wall_s for m in self.cli)
        peer_wall = statistics.median(m.wall_s for m in self.peer)
        cli_peak = max(m.peak_mb for m in self.cli)
        peer_peak = max(m.peak_mb for m in self.peer)
        return {
            "fleet": self.fleet,
            "command": self.command,
            "pairs": len(self.cli),
            "cli_wall_s": cli_wall,
            "curl_jq_wall_s": peer_wall,
            "wall_ratio": statistics.median(self.ratios()),
            "cli_peak_mb": cli_peak,
            "curl_jq_peak_mb": peer_peak,
            "rss_ratio": cli_peak / peer_peak if peer_peak else float("nan"),
            "cli_walls": [round(m.wall_s, 2) for m in self.cli],
            "curl_jq_walls": [round(m.wall_s, 2) for m in self.peer],
        }


def run_fleet_cli(
    fleet: int, plan: Sequence[tuple[str, int]], log: Callable[[str], None]
) -> list[CommandRun]:
    """The commands of `plan` ((name, pairs)) against one emulator of `fleet` VINs."""
    runs = [CommandRun(fleet, name) for name, _ in plan]
    binary = console_script()
    if binary is None:
        for run in runs:
            run.error = "hm-tui not on PATH"
        return runs
    missing = [tool for tool in ("curl", "jq") if not _which(tool)]
    if missing:
        for run in runs:
            run.error = f"{' and '.join(missing)} not installed (scripts/system-packages)"
        return runs
    compile_checkout()
    with tempfile.TemporaryDirectory(prefix="hm-bench-cli-") as tmp:
        emulator = EmulatorProcess(Path(tmp) / "emulator", fleet)
        try:
            creds = emulator.start(timeout=180)
        except RuntimeError as exc:
            for run in runs:
                run.error = str(exc)
            return runs
        try:
            env = {**installed_env(tmp), "HM_TUI_CONFIG": str(Path(tmp) / "config.toml")}
            subprocess.run(
                [
                    binary,
                    "config",
                    "import",
                    str(Path(tmp) / "emulator" / "credentials.json"),
                    *("--profile", "bench", "--default"),
                ],
                env=env,
                check=True,
                capture_output=True,
            )
            log(f"cli: {fleet:,} VINs (emulator up in {emulator.started_in:.1f} s)")
            for run, (name, pairs) in zip(runs, plan, strict=True):
                argv = COMMANDS[name]
                for pair in range(pairs):
                    cli_first = pair % 2 == 0
                    order = ("cli", "peer") if cli_first else ("peer", "cli")
                    for who in order:
                        if who == "cli":
                            measured = run_cli(binary, argv, env)
                            run.cli.append(measured)
                        else:
                            measured = run_curl_jq(creds, csv="--json" not in argv)
                            run.peer.append(measured)
                        if not measured.ok:
                            run.error = f"{who}: {measured.problem}"
                            break
                    if run.error:
                        break
                    log(
                        f"cli: {fleet:,} {name}: hm-tui {run.cli[-1].wall_s:.2f} s "
                        f"{run.cli[-1].peak_mb:.0f} MB, curl+jq {run.peer[-1].wall_s:.2f} s "
                        f"{run.peer[-1].peak_mb:.0f} MB"
                    )
        finally:
            emulator.stop()
    return runs


def _which(tool: str) -> bool:
    return any(
        os.access(os.path.join(d, tool), os.X_OK) for d in os.environ.get("PATH", "").split(":")
    )


def summarise(runs: Sequence[CommandRun]) -> SectionResult:
    result = SectionResult()
    details = []
    for run in runs:
        section = f"cli {run.fleet:,}"
        if run.error or not run.cli or len(run.cli) != len(run.peer):
            result.rows.append(unavailable(section, run.command, run.error or "did not run"))
            details.append({"fleet": run.fleet, "command": run.command, "error": run.error})
            continue
        s = run.summary()
        details.append(s)
        ratios = ", ".join(f"{r:.2f}" for r in run.ratios())
        result.rows.append(
            Row(
                section,
                f"{run.command}: wall ÷ curl+jq",
                s["wall_ratio"],
                "×",
                Target(1.0),
                f"median of {s['pairs']} paired runs ({ratios}): hm-tui {s['cli_wall_s']:.2f} s, "
                f"curl+jq {s['curl_jq_wall_s']:.2f} s",
            )
        )
        result.rows.append(
            Row(
                section,
                f"{run.command}: peak memory ÷ curl+jq",
                s["rss_ratio"],
                "×",
                Target(1.0),
                f"hm-tui {s['cli_peak_mb']:.0f} MB, curl+jq {s['curl_jq_peak_mb']:.0f} MB "
                "(list step's curl + jq; each program's VmHWM)",
            )
        )
    result.details["cli"] = details
    measured = [d for d in details if "wall_ratio" in d and d["command"] == "list --json"]
    if measured:
        biggest = max(measured, key=lambda d: d["fleet"])
        result.summary.update(
            cli_vs_curl_jq=biggest["wall_ratio"],
            cli_rss_vs_curl_jq=biggest["rss_ratio"],
            cli_fleet=biggest["fleet"],
            cli_wall_s=biggest["cli_wall_s"],
            cli_peak_mb=biggest["cli_peak_mb"],
            curl_jq_peak_mb=biggest["curl_jq_peak_mb"],
        )
    return result
