"""The headless entry points load no UI library: each is imported (or run) in a fresh interpreter
and `sys.modules` is read afterwards.

`lint-imports` (pyproject.toml) checks the same rule on the import graph; this checks it at run
time, where a lazy import inside a function, a plugin or a third-party import chain would show.
Why it matters: docs/decisions.md#layers-enforced.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

UI_LIBRARIES = ("textual", "rich")

#: What each entry point is, as code run in a fresh interpreter.
ENTRY_POINTS = {
    "hm_tui.cli.main": "import hm_tui.cli.main as m; m.build_parser()",
    "hm_tui.cli.vins_cmd": "import hm_tui.cli.vins_cmd",
    "hm_tui.cli.vins_show": "import hm_tui.cli.vins_show",
    "hm_tui.cli.vins_actions": "import hm_tui.cli.vins_actions",
    "hm_tui.cli.vins_journal": "import hm_tui.cli.vins_journal",
    "hm_tui.cli.feed_cmd": "import hm_tui.cli.feed_cmd",
    "hm_tui.cli.metrics_cmd": "import hm_tui.cli.metrics_cmd",
    "hm_tui.service.metrics.server": (
        "import hm_tui.service.metrics.server as s, hm_tui.service.metrics.session as m\n"
        "s.MetricsServer('127.0.0.1:0', m.SessionMetrics()).close()"
    ),
    "hm_tui.cli.config_cmd": "import hm_tui.cli.config_cmd",
    "hm_tui.cli.emulator_cmd": "import hm_tui.cli.emulator_cmd",
    "hm_tui.cli.dashboard": "import hm_tui.cli.dashboard",
    "hm_tui.service.session": "import hm_tui.service.session",
    "hm_tui.emulator.server": "import hm_tui.emulator.server",
    "`hm-tui config path` run": "from hm_tui.cli.main import main; main(['config', 'path'])",
    "`hm-tui vins --help` run": (
        "from hm_tui.cli.main import main\ntry:\n    main(['vins', '--help'])\n"
        "except SystemExit:\n    pass"
    ),
}

REPORT = "\nimport json, sys\nprint(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"


def loaded_packages(code: str, tmp_path: Path) -> set[str]:
    """The top-level packages a fresh interpreter has loaded after running `code`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HM_TUI_")}
    env["HM_TUI_CONFIG"] = str(tmp_path / "config.toml")
    done = subprocess.run(
        [sys.executable, "-c", code + REPORT],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
def test_headless_entry_point_loads_no_ui_library(entry: str, tmp_path: Path) -> None:
    loaded = loaded_packages(ENTRY_POINTS[entry], tmp_path)
    assert loaded.isdisjoint(UI_LIBRARIES), f"{entry} loaded {sorted(loaded & set(UI_LIBRARIES))}"


def test_the_check_sees_a_ui_import(tmp_path: Path) -> None:
    """The same check finds Textual where it is expected: the dashboard's app module."""
    assert {"textual", "rich"} <= loaded_packages("import hm_tui.ui.app", tmp_path)
