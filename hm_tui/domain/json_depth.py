"""How deeply decoded JSON nests: the one check every decoder of untrusted JSON applies (the
client's, the emulator's, the config's), so a document nested thousands of levels deep is refused
before anything walks it recursively."""

from __future__ import annotations

from typing import Any


def depth_exceeds(value: Any, limit: int) -> bool:
    """True when `value` nests lists/objects more than `limit` levels deep (iterative: a walk
    that recursed would hit the very limit it guards against)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
