"""hm-tui benchmarks: `python -m benchmarks [--quick]` measures docs/decisions.md#budgets.

Every measurement runs the real parts (emulator, service, headless Textual app, mosquitto) in child
processes, so peak memory and event-loop stalls belong to the thing measured and nothing else.
A part that is missing or fails becomes a "not available: <reason>" row, never a crash.
"""
