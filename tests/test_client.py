"""The real client against the platform simulator, over real loopback HTTP."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date, timedelta

import httpx
import pytest

from glmtray.errors import (
    AccountRestricted,
    AuthenticationFailed,
    GlmtrayError,
    InsecureBaseUrl,
    NoCodingPlan,
    PlanExpired,
    PlatformUnavailable,
    RateLimited,
    UnexpectedResponse,
)
from glmtray.platform.auth import AuthScheme
from glmtray.platform.client import QUOTA_PATH, RISK_FLAG_PATH, PlatformClient, Timeouts
from glmtray.platform.models import FIVE_HOUR, WEEKLY, Section, Tier
from glmtray.platform.regions import Region
from glmtray.simulator import SIMULATOR_API_KEY, PlatformSimulator, scenario_names
from glmtray.timeutil import utcnow


@pytest.fixture(scope="module")
def sim() -> Iterator[PlatformSimulator]:
    with PlatformSimulator("pro", slow_seconds=3.0) as simulator:
        yield simulator


@pytest.fixture
def client(sim: PlatformSimulator) -> Iterator[PlatformClient]:
    with PlatformClient(
        SIMULATOR_API_KEY, Region.CHINA, base_url=sim.base_url, timeouts=Timeouts(1.0, 1.0)
    ) as c:
        yield c


def use(sim: PlatformSimulator, scenario: str) -> None:
    sim.set_scenario(scenario)
    sim.requests.clear()


@pytest.mark.parametrize(
    ("scenario", "tier"), [("lite", Tier.LITE), ("pro", Tier.PRO), ("max", Tier.MAX)]
)
def test_token_plans(
    sim: PlatformSimulator, client: PlatformClient, scenario: str, tier: Tier
) -> None:
    use(sim, scenario)
    snap = client.snapshot()
    assert snap.tier is tier and not snap.problems
    assert [w.id for w in snap.windows][:2] == [FIVE_HOUR, WEEKLY]
    assert (
        snap.subscription is not None
        and snap.subscription.product == f"GLM Coding {tier.display_name}"
    )
    assert snap.subscription.cancel_by == snap.subscription.next_renewal - timedelta(days=3)  # type: ignore[operator]
    assert snap.risk_restricted is False
    assert client.auth_scheme is AuthScheme.RAW
    assert {r.auth_form for r in sim.requests} == {"raw"}


def test_credit_plan(sim: PlatformSimulator, client: PlatformClient) -> None:
    use(sim, "credit")
    assert {w.type for w in client.quota().windows} >= {"CREDIT_LIMIT"}


def test_idle_window_not_started(sim: PlatformSimulator, client: PlatformClient) -> None:
    use(sim, "idle")
    five = client.quota().window(FIVE_HOUR)
    assert five is not None and five.resets_at is None


def test_weekly_exhausted_is_the_blocking_window(
    sim: PlatformSimulator, client: PlatformClient
) -> None:
    use(sim, "weekly_exhausted")
    quota = client.quota()
    assert quota.blocking_window is not None and quota.blocking_window.id == WEEKLY
    five = quota.window(FIVE_HOUR)
    assert five is not None and five.used_percent < 10


def test_auto_renew_off_and_renewal_soon(sim: PlatformSimulator, client: PlatformClient) -> None:
    use(sim, "auto_renew_off")
    sub = client.snapshot().subscription
    assert sub is not None and sub.auto_renew is False and sub.next_renewal is not None
    use(sim, "renewal_soon")
    sub = client.snapshot().subscription
    assert sub is not None and sub.next_renewal is not None
    assert 0 <= (sub.next_renewal - date.today()).days <= 3


def test_restricted_flag_china_only(sim: PlatformSimulator, client: PlatformClient) -> None:
    use(sim, "restricted")
    assert client.snapshot().risk_restricted is True
    with PlatformClient(SIMULATOR_API_KEY, Region.GLOBAL, base_url=sim.base_url) as global_client:
        sim.requests.clear()
        assert global_client.snapshot().risk_restricted is None
        assert all(r.path != RISK_FLAG_PATH for r in sim.requests)


@pytest.mark.parametrize(
    ("scenario", "error"),
    [
        ("no_plan", NoCodingPlan),
        ("expired", PlanExpired),
        ("locked", AccountRestricted),
        ("rate_limited", RateLimited),
        ("http_500", PlatformUnavailable),
        ("http_502", PlatformUnavailable),
        ("html_error", PlatformUnavailable),
        ("malformed_json", UnexpectedResponse),
        ("wrong_shape", UnexpectedResponse),
        ("slow", PlatformUnavailable),
    ],
)
def test_error_scenarios_are_typed(
    sim: PlatformSimulator, client: PlatformClient, scenario: str, error: type[GlmtrayError]
) -> None:
    use(sim, scenario)
    with pytest.raises(error) as caught:
        client.quota()
    assert caught.value.title and caught.value.message
    snap = client.snapshot(include_subscription=False, include_risk=False)
    assert isinstance(snap.problems[Section.QUOTA], error)


@pytest.mark.parametrize("scenario", ["wrong_key", "wrong_key_1000", "wrong_key_http401"])
def test_wrong_key_retries_once_with_bearer_then_fails(
    sim: PlatformSimulator, client: PlatformClient, scenario: str
) -> None:
    use(sim, scenario)
    with pytest.raises(AuthenticationFailed):
        client.snapshot()
    assert [r.auth_form for r in sim.requests if r.path == QUOTA_PATH] == ["wrong", "wrong"]


def test_bearer_only_key_is_remembered(sim: PlatformSimulator) -> None:
    use(sim, "bearer_only")
    seen: list[AuthScheme] = []
    with PlatformClient(
        SIMULATOR_API_KEY, Region.GLOBAL, base_url=sim.base_url, on_auth_scheme=seen.append
    ) as c:
        c.snapshot()
        c.quota()
    assert seen == [AuthScheme.BEARER]
    forms = [r.auth_form for r in sim.requests]
    assert forms[0] != "bearer" and forms[1:] == ["bearer"] * (len(forms) - 1)


def test_partial_failure_keeps_the_other_sections(
    sim: PlatformSimulator, client: PlatformClient
) -> None:
    use(sim, "partial")
    snap = client.snapshot()
    assert snap.quota is not None and snap.tier is Tier.PRO
    assert isinstance(snap.problems[Section.SUBSCRIPTION], PlatformUnavailable)
    assert any("Subscription" in w for w in snap.warnings)


def test_quirky_shapes(sim: PlatformSimulator, client: PlatformClient) -> None:
    use(sim, "quirky")
    snap = client.snapshot()
    assert not snap.problems and snap.tier is Tier.PRO
    assert any(w.id.startswith("foo_limit") for w in snap.windows)
    assert snap.subscription is not None and snap.subscription.status == "VALID"


def test_demo_scenario(sim: PlatformSimulator, client: PlatformClient) -> None:
    use(sim, "demo")
    snap = client.snapshot()
    assert snap.tier is Tier.PRO and snap.windows and snap.fetched_at <= utcnow()


def test_every_scenario_gives_data_or_a_typed_error(
    sim: PlatformSimulator, client: PlatformClient
) -> None:
    for name in scenario_names():
        use(sim, name)
        try:
            client.snapshot()
        except GlmtrayError as error:
            assert isinstance(error, AuthenticationFailed), name
        assert all(r.method == "GET" for r in sim.requests), name


def test_never_calls_a_write_endpoint(sim: PlatformSimulator, client: PlatformClient) -> None:
    use(sim, "pro")
    client.snapshot()
    client.model_usage(utcnow() - timedelta(hours=5), utcnow())
    client.tool_usage(utcnow() - timedelta(days=2), utcnow())
    assert all(r.method == "GET" and "reset" not in r.path for r in sim.requests)


def test_plain_http_only_for_loopback() -> None:
    with pytest.raises(InsecureBaseUrl):
        PlatformClient(SIMULATOR_API_KEY, Region.GLOBAL, base_url="http://example.com")
    with pytest.raises(InsecureBaseUrl):
        PlatformClient(SIMULATOR_API_KEY, Region.GLOBAL, base_url="http://10.0.0.1:8080")
    for ok in (
        "https://api.z.ai",
        "http://127.0.0.1:9",
        "http://localhost:9",
        "http://[::1]:9",
        "http://127.5.6.7",
    ):
        PlatformClient(SIMULATOR_API_KEY, Region.GLOBAL, base_url=ok).close()


def test_nothing_listening_is_platform_unavailable() -> None:
    with (
        PlatformClient(SIMULATOR_API_KEY, Region.GLOBAL, base_url="http://127.0.0.1:9") as c,
        pytest.raises(PlatformUnavailable),
    ):
        c.quota()


def test_oversized_response_is_refused() -> None:
    big = b'{"code":200,"data":{"limits":[]},"pad":"' + b"x" * (3 * 1024 * 1024) + b'"}'
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=big))
    with (
        PlatformClient(SIMULATOR_API_KEY, Region.GLOBAL, transport=transport) as c,
        pytest.raises(UnexpectedResponse),
    ):
        c.quota()


def test_headers_sent(sim: PlatformSimulator) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200, json={"code": 200, "success": True, "data": {"level": "pro", "limits": []}}
        )

    with PlatformClient(
        "k" * 40, Region.CHINA, language="zh_CN", transport=httpx.MockTransport(handler)
    ) as c:
        c.quota()
    assert seen[0].headers["Accept-Language"] == "zh-CN,zh"
    assert seen[0].headers["Authorization"] == "k" * 40
    assert seen[0].url.host == "open.bigmodel.cn" and seen[0].url.scheme == "https"


@pytest.mark.parametrize("bad", ["", "  ", "abc def", "abc\x00def"])
def test_malformed_key_is_rejected_locally(bad: str) -> None:
    with pytest.raises(AuthenticationFailed):
        PlatformClient(bad, Region.GLOBAL)


def test_key_never_in_logs_or_errors(
    sim: PlatformSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    """No redacting filter is installed here: the raw records must already be clean."""
    texts: list[str] = []
    caplog.set_level(logging.DEBUG)
    for name in scenario_names():
        use(sim, name)
        timeouts = Timeouts(1.0, 0.5)
        with PlatformClient(
            SIMULATOR_API_KEY, Region.CHINA, base_url=sim.base_url, timeouts=timeouts
        ) as c:
            texts.append(repr(c))
            try:
                snap = c.snapshot()
                texts.extend(snap.warnings)
                texts.extend(
                    f"{e.message} {e.detail} {e.platform_message}" for e in snap.problems.values()
                )
            except GlmtrayError as error:
                texts.append(f"{error} {error.detail} {error!r}")
    texts.append(caplog.text)
    assert len(texts) > len(scenario_names())
    assert all(SIMULATOR_API_KEY not in text for text in texts)
    assert "5f1e0c3a9b7d4e2f" not in "".join(texts)
