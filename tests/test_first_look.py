"""The tray's first look at the platform, taken by the child that reads the key: the tray
gets the snapshot with the key, does not fetch it again, and remembers what the look learned
about the key; a look it cannot use costs nothing but a fetch of its own."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from glmtray.account_memory import AccountMemory
from glmtray.credentials import Account
from glmtray.environment import normal_environment
from glmtray.first_fetch import FirstLook, decode_first_look, encode_first_look, open_account
from glmtray.key_helper import PendingRead
from glmtray.platform.auth import AuthScheme
from glmtray.platform.regions import Region
from glmtray.simulator import SIMULATOR_API_KEY, PlatformSimulator
from tests.socks_proxy import SocksProxy

REPO = Path(__file__).resolve().parents[1]
ACCOUNT = Account(Region.GLOBAL)


@pytest.fixture
def stored_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The simulator's key in a file keyring the child reads (the settings name the
    default account: global, "default")."""
    store = tmp_path / "keyring.json"
    store.write_text(json.dumps({f"glmtray/{ACCOUNT.username}": SIMULATOR_API_KEY}))
    monkeypatch.setenv("GLMTRAY_TEST_KEYRING", str(store))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "tests.file_keyring.FileKeyring")
    monkeypatch.setenv("PYTHONPATH", str(REPO))


def started_read(sim: PlatformSimulator) -> PendingRead:
    """The read a tray start begins, before its command line is even parsed."""
    return PendingRead.saved_account(first_look=True, base_url=sim.base_url)


def test_the_child_looks_and_the_tray_does_not_fetch_again(
    sim: PlatformSimulator, stored_key: None
) -> None:
    environment = normal_environment(sim.base_url, started_read(sim))
    opening = open_account(environment, ACCOUNT, "en")
    assert opening.snapshot is not None and opening.error is None
    assert opening.snapshot.quota is not None and opening.snapshot.subscription is not None
    looked = len(sim.requests)
    assert looked > 0  # the child's requests
    assert opening.client is None and opening.make_client is not None
    client = opening.make_client()  # the tray's own client, made after the icon
    try:
        assert len(sim.requests) == looked  # made without asking the platform again
        client.quota()
        assert [r.auth_form for r in sim.requests[looked:]] == ["raw"]
    finally:
        client.close()


def test_the_key_is_not_in_the_look(sim: PlatformSimulator, stored_key: None) -> None:
    answer = started_read(sim).answer()
    assert answer is not None and answer["key"] == SIMULATOR_API_KEY
    look = answer["first_look"]
    assert isinstance(look, str)
    assert SIMULATOR_API_KEY.encode() not in base64.b64decode(look)
    assert SIMULATOR_API_KEY not in look


def test_how_the_look_sent_the_key_is_remembered(sim: PlatformSimulator, stored_key: None) -> None:
    """A Bearer-only key: the child's look learns it with one refused request, the tray
    remembers it for the account, and its own client sends Bearer from the first request."""
    sim.set_scenario("bearer_only")
    environment = normal_environment(sim.base_url, started_read(sim))
    opening = open_account(environment, ACCOUNT, "en")
    assert opening.snapshot is not None and opening.make_client is not None
    assert [r.auth_form for r in sim.requests].count("raw") == 1
    assert environment.account_memory.auth_scheme(ACCOUNT) is AuthScheme.BEARER
    assert AccountMemory.default().auth_scheme(ACCOUNT) is AuthScheme.BEARER  # on disk too
    looked = len(sim.requests)
    client = opening.make_client()
    try:
        client.quota()
    finally:
        client.close()
    assert [r.auth_form for r in sim.requests[looked:]] == ["bearer"]


def test_a_rejected_key_comes_back_as_the_look_error(
    sim: PlatformSimulator, stored_key: None
) -> None:
    sim.set_scenario("wrong_key")
    opening = open_account(normal_environment(sim.base_url, started_read(sim)), ACCOUNT, "en")
    assert opening.snapshot is None
    assert type(opening.error).__name__ == "AuthenticationFailed"


@pytest.mark.parametrize(
    "text",
    [
        None,
        42,
        "not base64 at all",
        base64.b64encode(b"not a pickle").decode(),
        base64.b64encode(b"\x80\x04K\x01.").decode(),  # a pickle, but of 1
    ],
)
def test_a_look_that_cannot_be_used_is_none(text: object) -> None:
    assert decode_first_look(text) is None


def test_a_look_survives_its_way_through_the_answer() -> None:
    look = FirstLook(None, None, learned_scheme=AuthScheme.BEARER)
    assert decode_first_look(encode_first_look(look)) == look


def test_the_look_goes_through_the_users_socks_proxy(
    sim: PlatformSimulator, stored_key: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The child inherits the tray's environment: a proxy set there carries its requests
    as it carries the tray's own."""
    monkeypatch.setenv("NO_PROXY", "example.invalid")  # set, and not naming loopback
    with SocksProxy() as socks:
        monkeypatch.setenv("ALL_PROXY", f"socks5://127.0.0.1:{socks.port}")
        environment = normal_environment(sim.base_url, started_read(sim))
        opening = open_account(environment, ACCOUNT, "en")
        assert opening.snapshot is not None and not opening.snapshot.problems
        port = int(sim.base_url.rsplit(":", 1)[1])
        assert socks.seen and {(s.host, s.port) for s in socks.seen} == {("127.0.0.1", port)}
