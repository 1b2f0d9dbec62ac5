"""The tray's key-reading child never outlives the tray.

A keyring that does not answer (an unlock prompt nobody has seen yet) keeps the child
waiting; when the tray ends meanwhile (Quit, a logout's SIGTERM, a crash), the child must
end too, not sit behind an unlock prompt for a program that is gone.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from glmtray.credentials import Account, ChildReadKeys
from glmtray.errors import KeyringUnresponsive
from glmtray.platform.regions import Region

REPO = Path(__file__).resolve().parents[1]
ACCOUNT = Account(Region.GLOBAL, "default")

# The "tray": starts a read, says the child's pid, then waits to be killed.
PARENT = """
import sys, time
from glmtray.credentials import Account
from glmtray.errors import KeyringUnresponsive
from glmtray.key_helper import PendingRead
from glmtray.platform.regions import Region
pending = PendingRead(Account(Region.GLOBAL, "default"))
print(pending.process.pid, flush=True)
time.sleep(600)
"""


def alive(pid: int) -> bool:
    """Running, not a zombie waiting for its (dead) parent's reaper."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def sleeping_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = tmp_path / "keyring.json"
    store.write_text(json.dumps({}))
    monkeypatch.setenv("GLMTRAY_TEST_KEYRING", str(store))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "tests.file_keyring.SleepingKeyring")
    monkeypatch.setenv("PYTHONPATH", str(REPO))


LINUX_PROC = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")


@LINUX_PROC
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
def test_the_child_ends_with_the_tray(sleeping_keyring: None, how: signal.Signals) -> None:
    tray = subprocess.Popen(
        [sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True, cwd=REPO
    )
    assert tray.stdout is not None
    child = int(tray.stdout.readline())
    try:
        time.sleep(0.5)  # the child is in the keyring's get_password now
        assert alive(child), "the child ended before the tray did"
        tray.send_signal(how)
        tray.wait(5)
        deadline = time.monotonic() + 5
        while alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(child), "the key-reading child outlived the tray"
    finally:
        if tray.poll() is None:
            tray.kill()
            tray.wait()
        if alive(child):
            os.kill(child, signal.SIGKILL)


def test_an_answer_still_comes_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Watching the tray does not cost the ordinary read its answer."""
    store = tmp_path / "keyring.json"
    key = "0123456789abcdef0123456789abcdef.RealUseHelper"
    store.write_text(json.dumps({f"glmtray/{ACCOUNT.username}": key}))
    monkeypatch.setenv("GLMTRAY_TEST_KEYRING", str(store))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "tests.file_keyring.FileKeyring")
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    assert ChildReadKeys().get(ACCOUNT) == key


def test_a_helper_run_by_hand_answers_with_stdin_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Started without the tray's pipe (by hand, by a packaging check) it answers as before,
    whatever its stdin is."""
    store = tmp_path / "keyring.json"
    store.write_text(json.dumps({f"glmtray/{ACCOUNT.username}": "k" * 40}))
    env = {
        **os.environ,
        "GLMTRAY_TEST_KEYRING": str(store),
        "PYTHON_KEYRING_BACKEND": "tests.file_keyring.FileKeyring",
        "PYTHONPATH": str(REPO),
    }
    done = subprocess.run(
        [sys.executable, "-m", "glmtray.key_helper", ACCOUNT.username],
        input="",
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=30,
        check=True,
    )
    assert json.loads(done.stdout) == {"account": ACCOUNT.username, "key": "k" * 40}


@LINUX_PROC
def test_cancel_reads_frees_a_worker_waiting_for_the_keyring(sleeping_keyring: None) -> None:
    """What a quitting tray needs: the worker thread blocked in `get` returns at once, with
    the keyring's "did not answer" error, and the child is gone."""
    keys = ChildReadKeys()
    outcome: list[BaseException | str | None] = []

    def read() -> None:
        try:
            outcome.append(keys.get(ACCOUNT))
        except BaseException as error:  # recorded for the assertion below
            outcome.append(error)

    worker = threading.Thread(target=read, daemon=True)
    worker.start()
    time.sleep(0.5)
    assert worker.is_alive() and not outcome, "the sleeping keyring answered"
    children = [p.pid for p in child_processes() if "glmtray.key_helper" in p.cmdline]
    assert len(children) == 1
    started = time.monotonic()
    keys.cancel_reads()
    worker.join(5)
    assert not worker.is_alive(), "get() still waits after cancel_reads()"
    assert time.monotonic() - started < 2
    assert isinstance(outcome[0], KeyringUnresponsive)
    assert not alive(children[0])
    with pytest.raises(KeyringUnresponsive):  # and no new read starts
        keys.get(ACCOUNT)
    assert not [p for p in child_processes() if "glmtray.key_helper" in p.cmdline]


@dataclass(frozen=True)
class Child:
    pid: int
    cmdline: tuple[str, ...]


def child_processes() -> list[Child]:
    """Running children of this test process."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat_line = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        state, ppid = stat_line.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == os.getpid() and state != "Z":
            found.append(Child(int(entry.name), tuple(cmdline.decode().split("\0"))))
    return found


@LINUX_PROC
def test_a_keyring_that_never_answers_is_given_up_at_the_limit(
    sleeping_keyring: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The read waits on the child's pipe, not on a poll with a timeout: the limit is a
    timer that ends the child, and the tray gets the keyring's "did not answer" error."""
    from glmtray import key_helper

    monkeypatch.setattr(key_helper, "HELPER_TIMEOUT_S", 1.0)
    keys = ChildReadKeys()
    started = time.monotonic()
    with pytest.raises(KeyringUnresponsive):
        keys.get(ACCOUNT)
    assert 1.0 <= time.monotonic() - started < 10
    assert not [p for p in child_processes() if "glmtray.key_helper" in p.cmdline]
