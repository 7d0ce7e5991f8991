"""All IO of the client side: profiles, tokens, REST, MQTT, fleet state, local store. No Textual.

httpx imports its command-line client when that client's dependencies are installed (click,
pygments and Rich: 40-80 ms, and a UI library in every headless command). We never run it, so it
is marked absent before any of our modules imports httpx (unless something loaded it already);
httpx then defines a stub `httpx.main` instead.
"""

from __future__ import annotations

import sys

sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
