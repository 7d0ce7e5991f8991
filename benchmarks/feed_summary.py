"""Feed steps → table rows and the feed keys of the JSON line."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from benchmarks.feed import TARGET_RATE, Step
from benchmarks.report import Row, SectionResult, Target, unavailable

PEERS = ("mosquitto_sub", "bare_paho", "mqttjs")


def sustained(steps: Sequence[Step], name: str) -> tuple[float | None, Step | None, bool]:
    """(msg/s, step, kept up): the publisher's rate at the highest step this consumer kept up
    with (every message, done within a second); if it kept up with none, its throughput at the
    lowest rate it ran (kept up = False)."""
    ran = [s for s in steps if name in s.results]
    kept = [s for s in ran if s.kept_up(name) and s.paced is not None]
    if kept:
        best = max(kept, key=lambda s: s.rate)
        assert best.paced is not None
        reached = best.paced.rate  # the asked rate when the publisher got within 1% of it
        return (best.rate if reached >= 0.99 * best.rate else reached), best, True
    if ran:
        low = min(ran, key=lambda s: s.rate)
        return low.results[name]["msgs_per_s"], low, False
    return None, None, False


def capacity(steps: Sequence[Step], name: str) -> tuple[float | None, Step | None]:
    """The most messages per second this consumer took in at any step (its throughput when
    pushed past what it keeps up with): what the peer ratios compare."""
    ran = [s for s in steps if name in s.results]
    if not ran:
        return None, None
    best = max(ran, key=lambda s: s.results[name]["msgs_per_s"])
    return best.results[name]["msgs_per_s"], best


def step_rows(step: Step) -> list[Row]:
    section = f"feed {step.rate:,.0f}/s×{step.seconds:.0f}s"
    rows = []
    for name, result in step.results.items():
        catch_up = result["catch_up_s"]
        dropped = f" (app dropped {result['dropped']:,})" if "dropped" in result else ""
        note = (
            f"missing {result['lost']:,} of {result['expected']:,}{dropped}, lag p50 "
            f"{result['lag_p50_ms']:.0f} / p99 {result['lag_p99_ms']:.0f} ms, "
            f"done {catch_up or 0:.1f} s after the last publish"
        )
        rows.append(Row(section, f"{name} msg/s", result["msgs_per_s"], "msg/s", note=note))
    for name, error in step.errors.items():
        rows.append(unavailable(section, f"{name} msg/s", error))
    if step.paced is not None and step.paced.rate < 0.95 * step.rate:
        rows.append(
            Row(
                section,
                "publisher reached",
                step.paced.rate,
                "msg/s",
                note="mosquitto_pub fell short of the asked rate",
            )
        )
    return rows


def app_rows(steps: Sequence[Step], summary: dict[str, Any]) -> list[Row]:
    rate, step, kept = sustained(steps, "app")
    if step is None:
        reason = next((s.errors["app"] for s in steps if "app" in s.errors), "app did not run")
        return [unavailable("feed", "app sustained msg/s", reason)]
    at_target = next((s for s in steps if s.rate == TARGET_RATE and "app" in s.results), step)
    app = at_target.results["app"]
    summary.update(
        feed_msgs_per_s=rate,
        feed_lag_p99_ms=app["lag_p99_ms"],
        feed_rss_before_mb=app.get("rss_before_mb"),
        feed_rss_after_mb=app.get("rss_after_mb"),
        feed_max_stall_ms=app.get("max_stall_ms"),
    )
    growth = (app.get("rss_after_mb") or 0) - (app.get("rss_before_mb") or 0)
    kept_note = (
        f"every message, on screen within 1 s of the last publish, at {step.rate:,.0f}/s"
        if kept
        else f"fell behind already at {step.rate:,.0f}/s"
    )
    return [
        Row("feed", "app sustained msg/s", rate, "msg/s", Target(5000, at_least=True), kept_note),
        Row(
            "feed",
            f"app UI lag p99 @ {at_target.rate:,.0f}/s",
            app["lag_p99_ms"],
            "ms",
            Target(100),
            "publish → line on screen (frame after the drain)",
        ),
        Row(
            "feed",
            "app RSS growth during run",
            growth,
            "MB",
            None,
            f"{app.get('rss_before_mb') or 0:.0f} → {app.get('rss_after_mb') or 0:.0f} MB",
        ),
        Row("feed", "app longest loop stall", app.get("max_stall_ms"), "ms", Target(100)),
    ]


def ratio_rows(steps: Sequence[Step], summary: dict[str, Any]) -> list[Row]:
    app_rate, app_step = capacity(steps, "app")
    rows = []
    for peer in PEERS:
        rate, step = capacity(steps, peer)
        key = f"feed_vs_{peer}"
        if rate is None or step is None or not app_rate:
            why = next((s.errors[peer] for s in steps if peer in s.errors), "did not run")
            summary[key] = None
            rows.append(unavailable("feed", f"app ÷ {peer}", why if rate is None else "no app"))
            continue
        summary[key] = app_rate / rate
        target = Target(0.8, at_least=True) if peer == "bare_paho" else None
        assert app_step is not None
        note = (
            f"most msg/s taken in: app {app_rate:,.0f} (at {app_step.rate:,.0f}/s), "
            f"{peer} {rate:,.0f} (at {step.rate:,.0f}/s)"
        )
        if app_step.kept_up("app") and step.kept_up(peer):
            note += "; both kept up with the most they were sent: no difference measured"
        rows.append(Row("feed", f"app ÷ {peer}", app_rate / rate, "×", target, note))
    return rows


def summarise(steps: Sequence[Step], broker_error: str | None) -> SectionResult:
    result = SectionResult()
    result.details["feed"] = [
        {
            "rate": s.rate,
            "seconds": s.seconds,
            "results": s.results,
            "errors": s.errors,
            "published": None if s.paced is None else s.paced.sent,
            "publisher_rate": None if s.paced is None else s.paced.rate,
        }
        for s in steps
    ]
    if broker_error is not None:
        result.rows.append(unavailable("feed", "mosquitto", broker_error))
        return result
    for step in steps:
        result.rows.extend(step_rows(step))
    result.rows.extend(app_rows(steps, result.summary))
    result.rows.extend(ratio_rows(steps, result.summary))
    return result
