"""One bulk add as the session runs it, journaled so that neither a kill nor a stop loses track.

The add is journaled before anything is sent; each group of answers is journaled as it comes
(a killed process knows which VINs the platform answered, `Journal.unfinished`) and applied to
the roster; the action is finished last.

An add cancelled half-way is told apart by who cancelled it. Only the operator's explicit stop
(`OperatorStop.request()` before the cancel: the dialog's "Stop adding") finishes it as stopped:
the answers it already has, every other VIN with its reason (`NOT_SENT`: its group never left;
`NO_ANSWER`: its request was out when the stop came, the platform may have taken it), and the
finish, in one transaction. Any other cancellation (a signal, the terminal closed, the app
quitting) journals the answers heard so far and leaves the action unfinished: the next start and
`vins resume` offer the rest, which `settle_before_resending` reads back first, so a VIN whose
answer was lost is not sent twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from hm_tui.service.models import NO_ANSWER, NOT_SENT, ItemResult, NewClearance
from hm_tui.service.store.health import JournalUnavailable

if TYPE_CHECKING:
    from hm_tui.service.platform.client import PlatformClient
    from hm_tui.service.store.db import Journal

log = logging.getLogger("hm_tui.add")

GROUP = 500  # VINs journaled together: a killed add loses at most this many answers
#: Why a VIN of a stopped add has no answer, as the journal and the dialog say it.
WHY = {
    NOT_SENT: "stopped before it was sent",
    NO_ANSWER: "stopped while waiting for the platform: it may have been added "
    "(adding it again is safe)",
}

Apply = Callable[[list[NewClearance], list[ItemResult]], None]
Progress = Callable[[int, int, int], None]  # action id, VINs answered, VINs in all
Stopped = Callable[[list[ItemResult]], None]
#: What a VIN read back before a resume must hold to count as added (its answer was lost):
#: an add of it now would change nothing.
ADDED_STATES = frozenset({"pending", "approved"})
ALREADY_ADDED = "already on the platform: its answer was lost when the add was interrupted"
READ_BATCH = 100  # VINs per filtered list call when reading back


class OperatorStop:
    """Set by the operator's explicit stop just before the add is cancelled: only then is the add
    journaled as stopped (finished). Without it a cancelled add stays resumable."""

    def __init__(self) -> None:
        self.requested = False

    def request(self) -> None:
        self.requested = True


class AddRun:
    """`await AddRun(...).run()`: the per-VIN results, in the order of `items`.

    `apply(items, answers)` puts answers in the roster; `on_stop(results)` hears every VIN's
    outcome when the add is stopped half-way (the cancellation then goes on up); `stop` says
    whether a cancellation is the operator's stop (module doc). `action_id` continues that
    unfinished action of the journal (a resume) instead of beginning a new one; `fix` names a
    bulk fix ("add again", "add again with tag …") in the journal."""

    def __init__(
        self,
        client: PlatformClient,
        journal: Journal,
        items: Sequence[NewClearance],
        *,
        apply: Apply,
        progress: Progress,
        on_stop: Stopped | None = None,
        stop: OperatorStop | None = None,
        group: int | None = None,
        action_id: int | None = None,
        fix: str | None = None,
    ) -> None:
        self.client, self.journal = client, journal
        self.items = list(items)
        self.apply, self.progress, self.on_stop = apply, progress, on_stop
        self.stop = stop or OperatorStop()
        self.group = max(group or GROUP, 1)
        self.action_id = action_id or 0
        self.fix = fix  # a bulk fix's name ("add again"), kept in the journal's params
        self.results: list[ItemResult] = []  # journaled and applied
        self._begun: asyncio.Future[int] | None = None
        self._sending: list[NewClearance] = []  # the group whose requests are out
        self._heard: list[ItemResult] = []  # its answers so far (not journaled yet)

    async def run(self) -> list[ItemResult]:
        try:
            await self._begin()
            for start in range(0, len(self.items), self.group):
                await self._send(start)
        except asyncio.CancelledError:
            await self._stopped()
            raise
        await asyncio.to_thread(self.journal.finish, self.action_id)
        return self.results

    async def _begin(self) -> None:
        if self.action_id:  # resuming: the journal has it already
            self._begun = asyncio.get_running_loop().create_future()
            self._begun.set_result(self.action_id)
            return
        params: dict[str, Any] = {"items": msgspec.to_builtins(self.items)}
        if self.fix:
            params["fix"] = self.fix
        self._begun = asyncio.ensure_future(
            asyncio.to_thread(self.journal.begin, "add", [i.vin for i in self.items], params)
        )
        self.action_id = await asyncio.shield(self._begun)  # a stop now still learns the id

    async def _send(self, start: int) -> None:
        self._sending = group = self.items[start : start + self.group]

        def report(n: int, _total: int) -> None:
            self.progress(self.action_id, start + n, len(self.items))

        answers = await self.client.add_clearances(
            group, progress=report, on_chunk=self._heard.extend
        )
        try:
            await asyncio.to_thread(self.journal.record_items, self.action_id, _rows(answers))
        except JournalUnavailable as error:  # answered, so in the roster; nothing more is sent
            self.apply(group, answers)
            self._sending, self._heard = [], []
            raise JournalUnavailable(error.problem, sent=True) from error
        self.apply(group, answers)
        self.results += answers
        self._sending, self._heard = [], []

    async def _stopped(self) -> None:
        """Journal what a cancellation leaves, put the answers heard in the roster, then tell
        `on_stop` every VIN's outcome. The operator's stop finishes the action (one
        transaction); anything else records the answers heard and leaves it resumable."""
        heard = list(self._heard)
        if heard:
            self.apply(self._sending, heard)
        left = self._left_over([*self.results, *heard])
        action_id = await self._action_id()
        if action_id is not None:  # in a thread: it completes even if cancelled again
            if self.stop.requested:
                await asyncio.to_thread(
                    self.journal.finish_stopped, action_id, _rows(heard), _rows(left)
                )
            elif heard:
                await asyncio.to_thread(self.journal.record_items, action_id, _rows(heard))
        if self.on_stop is not None:
            self.on_stop([*self.results, *heard, *left])

    def _left_over(self, answers: list[ItemResult]) -> list[ItemResult]:
        """A result for each VIN without an answer: out when the stop came, or never sent."""
        answered = {r.vin.upper() for r in answers}
        out = {i.vin.upper() for i in self._sending}
        left = []
        for item in self.items:
            if item.vin.upper() not in answered:
                status = NO_ANSWER if item.vin.upper() in out else NOT_SENT
                left.append(ItemResult(item.vin, status, WHY[status]))
        return left

    async def _action_id(self) -> int | None:
        """The journal's id for this add, once `begin` (maybe still running) has made it."""
        if self._begun is None:
            return None
        try:
            return await asyncio.shield(self._begun)
        except Exception:  # the journal could not begin: nothing to close
            log.exception("journal: the stopped add was never begun")
            return None


async def settle_before_resending(
    client: PlatformClient, items: Sequence[NewClearance]
) -> tuple[list[ItemResult], list[NewClearance]]:
    """Before an interrupted add's VINs are sent again: read them back from the platform
    (filtered list calls, READ_BATCH VINs each). A VIN it holds as pending or approved was
    added (its answer was lost with the process): answered from what the platform holds, not
    sent twice. Returns (those answers, the items still to send)."""
    held: dict[str, str] = {}
    vins = [i.vin.upper() for i in items]
    for start in range(0, len(vins), READ_BATCH):
        batch = vins[start : start + READ_BATCH]
        query = {"vin": {"operator": "in", "value": batch}}
        for clearance in await client.list_clearances(query):
            held[clearance.vin.upper()] = clearance.status
    answered, to_send = [], []
    for item in items:
        status = held.get(item.vin.upper())
        if status in ADDED_STATES:
            answered.append(ItemResult(item.vin, status, ALREADY_ADDED))
        else:
            to_send.append(item)
    return answered, to_send


def _rows(results: list[ItemResult]) -> list[tuple[str, str, str]]:
    return [(r.vin, r.status, r.description or "") for r in results]
