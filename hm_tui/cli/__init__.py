"""Entry point: the dashboard, the emulator and the headless commands (no Textual import here)."""
