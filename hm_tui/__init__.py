"""hm-tui: a terminal dashboard for fleet operators on the High Mobility platform."""

__version__ = "0.1.0"
