"""One tray per session, over a local socket: a second start asks the first to show itself;
a stale socket file is taken over; a silent or noisy peer never blocks the tray."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from glmtray.ui.single_instance import (
    SHOW_MESSAGE,
    UNIX_SOCKETS,
    SingleInstance,
    signal_running_instance,
    socket_path,
)

pytestmark = pytest.mark.skipif(not UNIX_SOCKETS, reason="Windows uses QLocalServer's pipe")


@pytest.fixture
def name(tmp_path: Path) -> str:
    return str(tmp_path / "glmtray-test.sock")


def test_nobody_listening_means_this_is_the_first(name: str) -> None:
    assert signal_running_instance(name) is False


def test_a_second_start_asks_the_first_to_show(qapp: Any, qtbot: QtBot, name: str) -> None:
    first = SingleInstance(name)
    assert first.listen()
    with qtbot.waitSignal(first.show_requested, timeout=3000):
        assert signal_running_instance(name) is True
    first.close()
    assert not os.path.exists(name)
    assert signal_running_instance(name) is False


def test_a_stale_socket_file_is_taken_over(qapp: Any, qtbot: QtBot, name: str) -> None:
    """A crashed tray leaves its socket file; nobody answers on it, so the next one takes it."""
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(name)
    stale.close()  # the file stays, nobody listens
    assert os.path.exists(name) and signal_running_instance(name) is False
    instance = SingleInstance(name)
    assert instance.listen()
    with qtbot.waitSignal(instance.show_requested, timeout=3000):
        assert signal_running_instance(name)
    instance.close()


def test_a_peer_that_says_nothing_or_something_else_is_ignored(
    qapp: Any, qtbot: QtBot, name: str
) -> None:
    instance = SingleInstance(name)
    assert instance.listen()
    shown: list[bool] = []
    instance.show_requested.connect(lambda: shown.append(True))
    silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    silent.connect(name)  # connects, never writes, stays open
    noisy = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    noisy.connect(name)
    noisy.sendall(b"x" * 100_000 if sys.platform != "darwin" else b"hello")
    qtbot.wait(200)  # the tray's event loop runs: it must not hang on the silent peer
    assert shown == []
    with qtbot.waitSignal(instance.show_requested, timeout=3000):
        assert signal_running_instance(name)
    silent.close()
    noisy.close()
    instance.close()


def test_closing_leaves_a_newer_instances_socket_alone(qapp: Any, name: str) -> None:
    old = SingleInstance(name)
    assert old.listen()
    os.unlink(name)  # say the session cleaned up, and a new tray started since
    newer = SingleInstance(name)
    assert newer.listen()
    old.close()
    assert os.path.exists(name)
    newer.close()
    assert not os.path.exists(name)


def test_a_bare_name_lives_in_the_temporary_folder() -> None:
    import tempfile

    assert socket_path("glmtray-x") == os.path.join(tempfile.gettempdir(), "glmtray-x")
    assert socket_path("/run/user/1000/glmtray-x") == "/run/user/1000/glmtray-x"


def test_the_message_is_the_one_a_second_start_sends() -> None:
    assert SHOW_MESSAGE == b"show\n"
