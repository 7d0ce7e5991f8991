"""The example alert rules (docs/alerts/) are valid, pass their promtool unit tests, and watch
only metrics that docs/metrics.md documents."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

ALERTS = Path(__file__).resolve().parents[2] / "docs" / "alerts"
RULES = ALERTS / "hm-tui-rules.yml"
RULE_TESTS = ALERTS / "hm-tui-rules.test.yml"
METRICS_DOC = ALERTS.parent / "metrics.md"
METRIC = re.compile(r"\bhm_tui_[a-z_]+\b")


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("promtool")
    assert tool, "promtool is needed: scripts/system-packages installs it (Debian: prometheus)"
    return subprocess.run(
        [tool, *args], capture_output=True, text=True, timeout=120, check=False, cwd=ALERTS
    )


def test_the_rules_file_is_valid() -> None:
    checked = promtool("check", "rules", str(RULES))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 6 rules found" in checked.stdout


def test_the_rules_pass_their_unit_tests() -> None:
    tested = promtool("test", "rules", str(RULE_TESTS))
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout


def test_every_metric_the_rules_use_is_documented() -> None:
    used = set(METRIC.findall(RULES.read_text()))
    documented = set(re.findall(r"`(hm_tui_[a-z_]+)`", METRICS_DOC.read_text()))
    assert used and used <= documented, used - documented
