"""Eligibility before adding: the platform's `POST /eligibility` for many cars, a few at a time,
each answer or the reason there is none. One road for `hm-tui vins check` and the add dialog's
check (`Session.check_eligibility`). Nothing is added; each check is one call of the platform's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hm_tui.service.errors import PlatformError
from hm_tui.service.platform.explain import explain_eligibility_failure

if TYPE_CHECKING:
    from hm_tui.service.models import Eligibility
    from hm_tui.service.platform.client import PlatformClient

AT_ONCE = 4  # checks in flight together (each is one billed call)


@dataclass(frozen=True, slots=True)
class EligibilityAnswer:
    """What the platform said of one car (`answer`), or why it said nothing (`error`)."""

    vin: str
    brand: str
    answer: Eligibility | None
    error: str = ""


async def check_all(
    client: PlatformClient,
    cars: Sequence[tuple[str, str]],
    progress: Callable[[int, int], None] | None = None,
    at_once: int = AT_ONCE,
) -> list[EligibilityAnswer]:
    """The answers for `cars` ((vin, brand) pairs), in their order; `progress(done, total)` after
    each. Platform errors become answers without one; cancelling stops the calls in flight."""
    gate = asyncio.Semaphore(at_once)
    done = 0

    async def one(vin: str, brand: str) -> EligibilityAnswer:
        nonlocal done
        async with gate:
            try:
                answer = EligibilityAnswer(vin, brand, await client.eligibility(vin, brand))
            except PlatformError as exc:
                answer = EligibilityAnswer(vin, brand, None, explain_eligibility_failure(exc))
        done += 1
        if progress is not None:
            progress(done, len(cars))
        return answer

    return list(await asyncio.gather(*(one(vin, brand) for vin, brand in cars)))
