"""One word for the platform link, the same in the header and the notification, and true:
"unreachable" only when no answer came at all; "degraded" when the platform answers with errors
(or too slowly); "refused" when it answers and refuses our access."""

from __future__ import annotations

from hm_tui.emulator.server import Emulator
from hm_tui.service.errors import (
    AuthError,
    Forbidden,
    LoginError,
    NetworkError,
    ServerError,
    failure_of,
)
from hm_tui.ui.widgets.header import header_content
from tests.helpers import wait_for
from tests.service.platform_helpers import Control
from tests.ui.app_support import loaded, make_app


def titles(app: object) -> list[str]:
    return [n.title for n in app._notifications]  # type: ignore[attr-defined]


async def test_errors_from_the_platform_read_degraded_in_header_and_toast(
    emulator: Emulator,
) -> None:
    app = make_app(emulator)
    async with app.run_test(size=(100, 24)) as pilot:
        await loaded(app, emulator)
        await Control(emulator).faults(http_error_rate=1.0, statuses=[503])
        for _ in range(3):  # three failed polls in a row: the link counts as down
            await pilot.press("r")
            await wait_for(lambda: app.session.fleet.health.consecutive_failures >= 1, 10)
        await wait_for(lambda: app.session.health.api == "down", 15, message="three failures")
        await wait_for(lambda: "Platform degraded (answers with errors)" in titles(app), 10)
        assert "Platform unreachable" not in titles(app)  # it answered: 503s
        assert app.header_state().api == "degraded"
        assert "API degraded" in header_content(app.header_state()).plain
        await Control(emulator).faults()


async def test_no_answer_at_all_reads_unreachable_in_header_and_toast(emulator: Emulator) -> None:
    app = make_app(emulator, base_url="http://127.0.0.1:9/v1")  # nobody listens there
    async with app.run_test(size=(100, 24)):
        await wait_for(lambda: "Platform unreachable" in titles(app), 20)
        await wait_for(lambda: app.header_state().api == "unreachable", 10)
        assert "API unreachable" in header_content(app.header_state()).plain


def test_how_a_call_failed_is_told_by_what_came_back() -> None:
    assert failure_of(NetworkError("cannot connect to h:1", sent=False)) == "no answer"
    slow = NetworkError("h did not answer in time")
    slow.slow = True  # (service/platform/transport.py's deadline: an answer trickling in)
    assert failure_of(slow) == "errors"
    assert failure_of(ServerError("Service unavailable", status=503)) == "errors"
    assert failure_of(Forbidden("Forbidden", status=403)) == "refused"
    refused = LoginError(AuthError("bad secret", status=401), "http://h:1/v1", "p")
    assert failure_of(refused) == "refused"
    cannot = LoginError(NetworkError("cannot connect", sent=False), "http://h:1/v1", "p")
    assert failure_of(cannot) == "no answer"
