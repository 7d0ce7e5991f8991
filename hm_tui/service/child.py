"""Helper processes: a fresh interpreter running one of our functions, wired to us by a socket pair.

Started with `subprocess` (never fork: the app has threads). Not `multiprocessing`'s "spawn":
that re-runs the parent's main script in the child unless it is guarded by
`if __name__ == "__main__"` (an unguarded script using a Session would run twice), and it starts
a resource-tracker process with `sys.stderr.fileno()`, which is -1 under Textual.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

#: the child imports our modules from our sys.path (not whatever its own cwd would give)
CHILD_CODE = (
    "import importlib, json, sys; sys.path[:] = json.loads(sys.argv[1]); "
    "getattr(importlib.import_module(sys.argv[2]), sys.argv[3])(int(sys.argv[4]))"
)
Child = subprocess.Popen[bytes]


def spawn(module: str, function: str) -> tuple[Child, socket.socket]:
    """A fresh interpreter running `module.function(fd)` (without `site`: it gets our `sys.path`
    as it is, and starts 50 ms sooner), holding the only other end of our
    socket pair; stdin, stdout and stderr on /dev/null from its first instruction: nothing it
    does can reach the dashboard's screen. Same process group: the terminal's signals reach it
    too. No HM_TUI_* variables (secrets may be among them): it needs none. When we die, the
    socket reads EOF on its side (the child ends itself). Raises OSError if it cannot start."""
    ours, theirs = socket.socketpair()
    path = json.dumps(sys.path, default=str)
    env = {name: value for name, value in os.environ.items() if not name.startswith("HM_TUI_")}
    try:
        child = subprocess.Popen(
            [sys.executable, "-S", "-c", CHILD_CODE, path, module, function, str(theirs.fileno())],
            env=env,
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    except BaseException:
        ours.close()
        raise
    finally:
        theirs.close()  # from now on only the child holds it: our death is its EOF
    return child, ours


def waited(child: Child, timeout: float) -> bool:
    """True if the child ended within `timeout` seconds."""
    try:
        child.wait(timeout)
    except subprocess.TimeoutExpired:
        return False
    return True
