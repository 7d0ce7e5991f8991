"""The local pieces of one MQTT session per certificate (docs/feed-sessions.md): the private
directory, the holder's lock, and the frames on the holder's socket."""

from __future__ import annotations

import json
import os
import stat
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers import wait_for

from hm_tui.emulator.broker import free_port
from hm_tui.emulator.certs import ensure_certs
from hm_tui.service.config.profiles import MqttSettings
from hm_tui.service.feed.client import FeedClient
from hm_tui.service.feed.local import (
    MAX_FRAME,
    FrameReader,
    HolderLock,
    SharingUnavailable,
    frame,
    private_dir,
    runtime_dir,
    session_paths,
)
from hm_tui.service.feed.share import HolderNews


def test_the_directory_is_made_private_and_a_shared_one_is_refused_with_the_fix(
    tmp_path: Path,
) -> None:
    made = private_dir(tmp_path / "runtime" / "hm-tui")
    assert stat.S_IMODE(made.stat().st_mode) == 0o700
    open_one = tmp_path / "open"
    open_one.mkdir(mode=0o755)
    os.chmod(open_one, 0o755)
    with pytest.raises(SharingUnavailable, match=f"chmod 700 {open_one}"):
        private_dir(open_one)
    link = tmp_path / "link"
    link.symlink_to(made)
    with pytest.raises(SharingUnavailable, match="not a directory"):
        private_dir(link)


def test_the_runtime_directory_follows_the_environment() -> None:
    assert runtime_dir({"HM_TUI_RUNTIME_DIR": "/x/y"}) == Path("/x/y")
    assert runtime_dir({"XDG_RUNTIME_DIR": "/run/user/7"}) == Path("/run/user/7/hm-tui")
    assert runtime_dir({}) == Path(f"/tmp/hm-tui-{os.getuid()}")


def test_paths_name_neither_broker_nor_client_id_and_differ_per_session(tmp_path: Path) -> None:
    one = session_paths(tmp_path, "mqtt.example", 8883, "a-certificate-id")
    two = session_paths(tmp_path, "mqtt.example", 8884, "a-certificate-id")
    assert one != two and one.socket.parent == tmp_path
    assert "certificate" not in str(one.socket) and "example" not in str(one.lock)
    with pytest.raises(SharingUnavailable, match="too long"):
        session_paths(tmp_path / ("d" * 120), "h", 1, "c")


def test_one_holder_at_a_time_and_the_lock_file_goes_with_it(tmp_path: Path) -> None:
    path = tmp_path / "s.lock"
    first, second = HolderLock(path), HolderLock(path)
    assert first.try_acquire() and not second.try_acquire()
    assert path.read_text() == f"{os.getpid()}\n"
    first.release()
    assert not path.exists()
    assert second.try_acquire() and not first.try_acquire()
    second.release()


def test_frames_arrive_whole_however_the_bytes_are_cut() -> None:
    frames = [frame("m", 7, [["t/a", b"\x00payload"], ["t/b", b"{}"]]), frame("s", {"a": 1})]
    stream = b"".join(frames)
    reader = FrameReader()
    got = [fields for i in range(len(stream)) for fields in reader.feed(stream[i : i + 1])]
    assert got == [["m", 7, [["t/a", b"\x00payload"], ["t/b", b"{}"]]], ["s", {"a": 1}]]
    with pytest.raises(ValueError, match="frame of"):
        list(FrameReader().feed((MAX_FRAME + 1).to_bytes(4, "big")))
    with pytest.raises(ValueError, match="not a list"):
        list(FrameReader().feed(b"\x00\x00\x00\x01\x07"))


def test_without_a_private_directory_the_feed_holds_its_session_alone_and_says_why(
    tmp_path: Path,
) -> None:
    certs = ensure_certs(tmp_path / "certs")
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    settings = MqttSettings(
        host="127.0.0.1",
        port=free_port(),
        client_id=certs.client_id,
        ca_file=str(certs.ca_file),
        cert_file=str(certs.client_cert),
        key_file=str(certs.client_key),
    )
    feed = FeedClient(settings, "sandbox", "app", share_dir=str(shared))
    feed.start()
    try:
        state = feed.state
    finally:
        feed.stop()
    assert state.role == "alone"
    assert state.sharing_error == f"{shared} is open to other users (chmod 700 {shared})"


def test_an_attached_feed_marks_the_holders_backlog_as_replayed(tmp_path: Path) -> None:
    """The holder says when it connected and whether the broker kept the session: the data
    that comes in right after, measured before that moment, is the session's queue."""
    certs = ensure_certs(tmp_path / "certs")
    settings = MqttSettings(
        host="127.0.0.1",
        port=1,
        client_id=certs.client_id,
        ca_file=str(certs.ca_file),
        cert_file=str(certs.client_cert),
        key_file=str(certs.client_key),
    )
    feed = FeedClient(settings, "sandbox", "app")
    feed.on_holder("c", [datetime.now(UTC).isoformat(), True])
    old = {"data": "on", "timestamp": "2025-11-23T10:00:00Z"}
    payload = {"version": 1, "message_id": "a" * 64, "vin": "WBA12345678901234"}
    payload["data"] = {"ignition": {"state": old}}  # type: ignore[assignment]
    feed.ingest("t", json.dumps(payload).encode())
    assert feed.state.replayed == 1
    assert [point.replayed for point in feed.drain()] == [True]


def test_takeovers_counted_by_the_holders_add_up_across_holders() -> None:
    """An attached feed's `takeovers` (what the metrics read) only grows: it adds what each
    holder counted while it was attached to it, not the holders' totals."""
    news = HolderNews()
    news.attached(100)
    news.heard(3)  # the holder had counted 3 before we came
    news.heard(5)
    news.attached(200)  # a new holder, with counts of its own
    news.heard(1)
    news.heard(2)
    assert news.takeovers == 3 and news.last_holder == 200


async def test_a_feed_on_another_topic_is_refused_by_the_holder_and_says_so(
    tmp_path: Path,
) -> None:
    certs = ensure_certs(tmp_path / "certs")
    base = MqttSettings(
        host="127.0.0.1",
        port=free_port(),  # no broker: the holder keeps trying, and holds the session meanwhile
        client_id=certs.client_id,
        ca_file=str(certs.ca_file),
        cert_file=str(certs.client_cert),
        key_file=str(certs.client_key),
    )
    holder = FeedClient(base, "sandbox", "app")
    other = FeedClient(replace(base, topic="sandbox/level13/other/#"), "sandbox", "app")
    holder.start()
    try:
        await wait_for(lambda: holder.state.role == "holder", 10)
        other.start()
        await wait_for(lambda: other.state.last_error, 10, message="the refusal")
        state = other.state
    finally:
        other.stop()
        holder.stop()
    assert state.status == "retrying" and state.role == ""
    assert state.last_error == (
        f"cannot attach to the MQTT session: hm-tui process {os.getpid()} holds this "
        "certificate's MQTT session for another topic (sandbox/level13/app/#)"
    )
