"""The platform simulator, exercised over real loopback HTTP as the client will see it."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from glmtray.simulator import (
    DEMO_API_KEY,
    MODEL_USAGE_PATH,
    PLATFORM_PATHS,
    QUOTA_PATH,
    RESET_PATH,
    RISK_PATH,
    SCENARIOS,
    SIMULATOR_API_KEY,
    SUBSCRIPTION_PATH,
    TOOL_USAGE_PATH,
    PlatformSimulator,
    scenario_names,
    serve,
)
from glmtray.simulator import server as server_module

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 3, 1, 10, 30, 0, tzinfo=CST).timestamp()
HOUR, DAY = 3600.0, 86400.0


class FakeClock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sim(clock: FakeClock) -> Iterator[PlatformSimulator]:
    with PlatformSimulator("pro", clock=clock, slow_seconds=0.2) as simulator:
        yield simulator


def get(
    sim: PlatformSimulator,
    path: str,
    *,
    auth: str | None = SIMULATOR_API_KEY,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    sent = dict(headers or {})
    if auth is not None:
        sent["Authorization"] = auth
    return httpx.get(sim.base_url + path, headers=sent, params=params, timeout=10)


def data(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True and body["code"] == 200, body
    return body["data"]


def limits_by_window(sim: PlatformSimulator) -> dict[tuple[str, int, int], dict[str, Any]]:
    limits = data(get(sim, QUOTA_PATH))["limits"]
    return {(w["type"], w["unit"], w["number"]): w for w in limits}


def cst_date(ts: float) -> str:
    return datetime.fromtimestamp(ts, CST).strftime("%Y-%m-%d")


def valid_end(entry: dict[str, Any]) -> datetime:
    end_text = entry["valid"][20:]  # "yyyy-MM-dd HH:mm:ss-yyyy-MM-dd HH:mm:ss"
    return datetime.strptime(end_text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=CST)


# --- the scenario table --------------------------------------------------------------------

REQUIRED = {
    "lite", "pro", "max", "credit", "idle", "weekly_exhausted", "no_plan", "expired",
    "auto_renew_off", "renewal_soon", "cancel_soon", "restricted", "locked", "rate_limited", "wrong_key",
    "bearer_only", "http_500", "http_502", "html_error", "malformed_json", "wrong_shape",
    "slow", "quirky", "partial", "demo",
    "credit_max", "floor_tie", "legacy_tokens", "v1_overrun", "team_plan", "stale_renewal",
}  # fmt: skip


def test_every_promised_scenario_exists_with_a_one_line_description() -> None:
    assert set(scenario_names()) >= REQUIRED
    assert scenario_names() == list(SCENARIOS)
    for name, scenario in SCENARIOS.items():
        assert scenario.name == name
        assert scenario.description.strip() and "\n" not in scenario.description


def test_unknown_scenario_and_non_loopback_host_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown scenario"):
        PlatformSimulator("platinum")
    with pytest.raises(ValueError, match="loopback"):
        PlatformSimulator("pro", host="0.0.0.0")


# --- healthy token plans -------------------------------------------------------------------


@pytest.mark.parametrize(("tier", "price"), [("lite", 10), ("pro", 30), ("max", 80)])
def test_token_plans_answer_quota_and_a_valid_monthly_subscription(
    clock: FakeClock, tier: str, price: int
) -> None:
    with PlatformSimulator(tier, clock=clock) as sim:
        quota = data(get(sim, QUOTA_PATH))
        assert quota["level"] == tier
        windows = {(w["type"], w["unit"], w["number"]): w for w in quota["limits"]}
        five, week = windows[("TOKENS_LIMIT", 3, 5)], windows[("TOKENS_LIMIT", 6, 1)]
        tools = windows[("TIME_LIMIT", 5, 1)]
        for w in (five, week, tools):
            assert 0 <= w["percentage"] <= 100
            assert w["nextResetTime"] > clock.now * 1000  # epoch milliseconds, in the future
        assert five["nextResetTime"] - clock.now * 1000 <= 5 * HOUR * 1000
        assert [d["modelCode"] for d in tools["usageDetails"]] == [
            "search-prime",
            "web-reader",
            "zread",
        ]
        assert sum(d["usage"] for d in tools["usageDetails"]) == tools["currentValue"]
        assert tools["usage"] - tools["currentValue"] == tools["remaining"]

        (sub,) = data(get(sim, SUBSCRIPTION_PATH, params={"pageSize": "10", "pageNum": "1"}))
        assert sub["productName"] == f"GLM Coding {tier.capitalize()}"
        assert sub["status"] == "VALID" and sub["inCurrentPeriod"] is True
        assert sub["autoRenew"] == 1 and sub["billingCycle"] == "monthly"
        assert sub["actualPrice"] == price
        assert sub["nextRenewTime"] == cst_date(clock.now + 20 * DAY)
        assert valid_end(sub).strftime("%Y-%m-%d") == sub["nextRenewTime"]
        assert data(get(sim, RISK_PATH)) is False


def test_reset_and_renewal_dates_follow_the_clock(sim: PlatformSimulator, clock: FakeClock) -> None:
    before = limits_by_window(sim)[("TOKENS_LIMIT", 3, 5)]["nextResetTime"]
    renew_before = data(get(sim, SUBSCRIPTION_PATH))[0]["nextRenewTime"]
    clock.now += 3 * DAY
    assert limits_by_window(sim)[("TOKENS_LIMIT", 3, 5)]["nextResetTime"] == before + 3 * DAY * 1000
    assert data(get(sim, SUBSCRIPTION_PATH))[0]["nextRenewTime"] == cst_date(T0 + 23 * DAY)
    assert renew_before == cst_date(T0 + 20 * DAY)


def test_success_message_follows_accept_language(sim: PlatformSimulator) -> None:
    zh = get(sim, RISK_PATH, headers={"Accept-Language": "zh-CN,zh"}).json()
    en = get(sim, RISK_PATH, headers={"Accept-Language": "en-US,en"}).json()
    assert zh["msg"] == "操作成功" and en["msg"] == "Operation successful"


# --- window and plan variants --------------------------------------------------------------


def test_credit_windows(sim: PlatformSimulator) -> None:
    sim.set_scenario("credit")
    windows = limits_by_window(sim)
    five, week = windows[("CREDIT_LIMIT", 3, 5)], windows[("CREDIT_LIMIT", 6, 1)]
    assert five["currentValue"] + five["remaining"] == five["usage"]
    assert five["percentage"] == 23 and week["percentage"] == 9
    assert not any(kind == "TOKENS_LIMIT" for kind, _, _ in windows)


def test_live_2026_credit_row_as_captured(sim: PlatformSimulator) -> None:
    sim.set_scenario("credit_max")
    body = get(sim, QUOTA_PATH).json()
    assert body["data"]["level"] == "max"
    five = {(w["unit"], w["number"]): w for w in body["data"]["limits"]}[(3, 5)]
    assert five["nextResetTime"] == int((T0 + 3 * HOUR + 7 * 60) * 1000)
    del five["nextResetTime"]
    assert five == {"type": "CREDIT_LIMIT", "unit": 3, "number": 5, "usage": 28000,
                    "currentValue": 5184, "remaining": 22815, "percentage": 18}  # fmt: skip
    for row in body["data"]["limits"]:  # fractional credits floored: one short of exact
        assert row["remaining"] == row["usage"] - row["currentValue"] - 1


def test_floor_tie_percentages_are_the_platform_s_floors(sim: PlatformSimulator) -> None:
    sim.set_scenario("floor_tie")
    rows = data(get(sim, QUOTA_PATH))["limits"]
    for row in rows:
        assert row["percentage"] == max(1, row["currentValue"] * 100 // row["usage"])
    assert [r["percentage"] for r in rows] == [11, 11, 1]
    assert [(r["unit"], r["number"]) for r in rows] == [(3, 5), (6, 1), (3, 72)]


def test_legacy_and_v1_rows(sim: PlatformSimulator) -> None:
    sim.set_scenario("legacy_tokens")
    rows = data(get(sim, QUOTA_PATH))["limits"]
    assert rows[0]["usage"] is None and rows[0]["currentValue"] is None
    assert "nextResetTime" not in rows[0] and rows[0]["percentage"] > 0
    assert "usage" not in rows[1] and "usage" not in rows[2]
    assert "nextResetTime" not in rows[2] and rows[2]["type"] == "TIME_LIMIT"
    sim.set_scenario("v1_overrun")
    (only,) = data(get(sim, QUOTA_PATH))["limits"]
    assert (only["currentValue"], only["usage"]) == (200112618, 200000000)


def test_team_plan_has_no_windows(sim: PlatformSimulator) -> None:
    sim.set_scenario("team_plan")
    assert get(sim, QUOTA_PATH).json() == {
        "code": 200, "msg": "操作成功", "data": {"limits": [], "level": "pro"}
    }  # fmt: skip


def test_stale_renewal_names_the_start_of_the_period(sim: PlatformSimulator) -> None:
    sim.set_scenario("stale_renewal")
    (entry,) = data(get(sim, SUBSCRIPTION_PATH))
    assert entry["nextRenewTime"] == entry["valid"][:10]
    assert valid_end(entry).timestamp() > T0 + 29 * DAY


def test_idle_window_has_no_reset_time(sim: PlatformSimulator) -> None:
    sim.set_scenario("idle")
    five = limits_by_window(sim)[("TOKENS_LIMIT", 3, 5)]
    assert five["percentage"] == 0 and "nextResetTime" not in five


def test_weekly_exhausted_while_five_hour_is_low(sim: PlatformSimulator) -> None:
    sim.set_scenario("weekly_exhausted")
    windows = limits_by_window(sim)
    assert windows[("TOKENS_LIMIT", 6, 1)]["percentage"] == 100
    assert windows[("TOKENS_LIMIT", 3, 5)]["percentage"] == 3


def _active_coding(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        e
        for e in entries
        if "coding" in (e["productName"] + e["productId"]).lower()
        and e["status"] == "VALID"
        and e["inCurrentPeriod"] is True
    ]


def test_no_plan(sim: PlatformSimulator) -> None:
    sim.set_scenario("no_plan")
    response = get(sim, QUOTA_PATH)
    assert response.status_code == 200
    assert response.json() == {"code": 500, "msg": "当前用户不存在coding plan", "success": False}
    entries = data(get(sim, SUBSCRIPTION_PATH))
    assert entries and not _active_coding(entries)
    assert any("coding" not in e["productName"].lower() for e in entries)


def test_expired(sim: PlatformSimulator, clock: FakeClock) -> None:
    sim.set_scenario("expired")
    body = get(sim, QUOTA_PATH).json()
    assert body["code"] == 1309 and body["success"] is False
    (sub,) = data(get(sim, SUBSCRIPTION_PATH))
    assert sub["status"] == "EXPIRED" and sub["inCurrentPeriod"] is False
    assert valid_end(sub).timestamp() < clock.now


def test_auto_renew_off_ends_with_the_valid_range(sim: PlatformSimulator, clock: FakeClock) -> None:
    sim.set_scenario("auto_renew_off")
    (sub,) = data(get(sim, SUBSCRIPTION_PATH))
    assert sub["autoRenew"] == 0 and "nextRenewTime" not in sub
    assert valid_end(sub).strftime("%Y-%m-%d") == cst_date(clock.now + 20 * DAY)


def test_renewal_soon(sim: PlatformSimulator, clock: FakeClock) -> None:
    sim.set_scenario("renewal_soon")
    (sub,) = data(get(sim, SUBSCRIPTION_PATH))
    assert sub["autoRenew"] == 1 and sub["nextRenewTime"] == cst_date(clock.now + 2 * DAY)


def test_restricted_flags_risk_but_quota_still_works(sim: PlatformSimulator) -> None:
    sim.set_scenario("restricted")
    assert data(get(sim, RISK_PATH)) is True
    assert data(get(sim, QUOTA_PATH))["level"] == "pro"


def test_locked_is_a_business_code_in_http_200(sim: PlatformSimulator) -> None:
    sim.set_scenario("locked")
    response = get(sim, QUOTA_PATH)
    assert response.status_code == 200
    assert response.json()["code"] == 1112 and response.json()["success"] is False


def test_quirky_payloads(sim: PlatformSimulator, clock: FakeClock) -> None:
    sim.set_scenario("quirky")
    response = get(sim, QUOTA_PATH)
    body = response.json()
    assert "traceId" in body
    limits = body["data"]["limits"]
    assert {w["type"] for w in limits} == {"TOKENS_LIMIT", "FOO_LIMIT", "TIME_LIMIT"}
    five = limits[0]
    assert five["unit"] == "3" and five["percentage"] == "41"
    assert int(five["nextResetTime"]) > clock.now * 1000
    foo = next(w for w in limits if w["type"] == "FOO_LIMIT")
    assert (foo["unit"], foo["number"]) == (4, 1)
    tools = next(w for w in limits if w["type"] == "TIME_LIMIT")
    assert tools["currentValue"] > int(tools["usage"])

    entries = get(sim, SUBSCRIPTION_PATH).json()["data"]
    assert len(entries) == 4
    assert [e for e in entries[:-1] if e["status"] == "EXPIRED"]
    assert "coding" not in entries[0]["productName"].lower()
    (active,) = _active_coding(entries)
    assert active is entries[-1] or active == entries[-1]
    assert active["autoRenew"] is True
    zoned = datetime.fromisoformat(active["nextRenewTime"].replace("Z", "+00:00"))
    assert zoned.utcoffset() == timedelta(0)
    # The zone matters: in platform time this is midnight of the renewal day.
    assert zoned.astimezone(CST).strftime("%Y-%m-%d %H:%M") == (
        cst_date(clock.now + 20 * DAY) + " 00:00"
    )


def test_partial_answers_quota_but_not_subscriptions(sim: PlatformSimulator) -> None:
    sim.set_scenario("partial")
    assert data(get(sim, QUOTA_PATH))["limits"]
    assert get(sim, SUBSCRIPTION_PATH).status_code == 500


# --- broken answers ------------------------------------------------------------------------


@pytest.mark.parametrize("path", PLATFORM_PATHS)
def test_rate_limited(sim: PlatformSimulator, path: str) -> None:
    sim.set_scenario("rate_limited")
    response = get(sim, path)
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "1302"
    assert sim.requests[-1].code == 1302


def test_http_failures_and_html(sim: PlatformSimulator) -> None:
    sim.set_scenario("http_500")
    response = get(sim, QUOTA_PATH)
    assert response.status_code == 500 and response.json()["path"] == QUOTA_PATH
    sim.set_scenario("http_502")
    response = get(sim, QUOTA_PATH)
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert "nginx" in response.text
    sim.set_scenario("html_error")
    response = get(sim, SUBSCRIPTION_PATH)
    assert response.status_code == 200 and response.text.lstrip().startswith("<!DOCTYPE html>")


def test_malformed_json(sim: PlatformSimulator) -> None:
    sim.set_scenario("malformed_json")
    response = get(sim, QUOTA_PATH)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.text)


def test_wrong_shape(sim: PlatformSimulator) -> None:
    sim.set_scenario("wrong_shape")
    assert not isinstance(data(get(sim, QUOTA_PATH))["limits"], list)
    assert isinstance(data(get(sim, SUBSCRIPTION_PATH)), str)
    assert "data" not in get(sim, RISK_PATH).json()


# --- authentication ------------------------------------------------------------------------


def test_raw_bearer_demo_missing_and_wrong_keys(sim: PlatformSimulator) -> None:
    assert data(get(sim, RISK_PATH)) is False
    assert data(get(sim, RISK_PATH, auth=f"Bearer {SIMULATOR_API_KEY}")) is False
    assert data(get(sim, RISK_PATH, auth=DEMO_API_KEY)) is False
    rejected = {"code": 401, "msg": "token expired or incorrect", "success": False}
    for auth in (None, "", "0" * 32 + ".NotTheRightKey1", f"Bearer {SIMULATOR_API_KEY}x"):
        response = get(sim, QUOTA_PATH, auth=auth)
        assert (response.status_code, response.json()) == (200, rejected)
    forms = [r.auth_form for r in sim.requests]
    assert forms == ["raw", "bearer", "raw", "none", "none", "wrong", "wrong"]
    assert [r.code for r in sim.requests] == [200, 200, 200, 401, 401, 401, 401]


@pytest.mark.parametrize(
    ("scenario", "status", "code"),
    [
        ("lite", 200, 1000),
        ("max", 401, 401),
        ("wrong_key", 200, 401),
        ("wrong_key_1000", 200, 1000),
        ("wrong_key_http401", 401, 401),
    ],
)
def test_auth_failure_shapes(sim: PlatformSimulator, scenario: str, status: int, code: int) -> None:
    sim.set_scenario(scenario)
    keys = ["nope"] if scenario in ("lite", "max") else [SIMULATOR_API_KEY, DEMO_API_KEY]
    for key in keys:
        for auth in (key, f"Bearer {key}"):
            response = get(sim, QUOTA_PATH, auth=auth)
            assert response.status_code == status
            assert response.json()["code"] == code and response.json()["success"] is False


def test_bearer_only_rejects_the_raw_key(sim: PlatformSimulator) -> None:
    sim.set_scenario("bearer_only")
    raw = get(sim, QUOTA_PATH)
    assert raw.status_code == 200 and raw.json()["code"] == 401
    assert data(get(sim, QUOTA_PATH, auth=f"Bearer {SIMULATOR_API_KEY}"))["level"] == "pro"
    assert [(r.auth_form, r.code) for r in sim.requests] == [("raw", 401), ("bearer", 200)]


def test_the_key_is_never_recorded_or_logged(
    sim: PlatformSimulator, capfd: pytest.CaptureFixture[str]
) -> None:
    get(sim, QUOTA_PATH)
    get(sim, QUOTA_PATH, auth=f"Bearer {SIMULATOR_API_KEY}")
    get(sim, QUOTA_PATH, auth="0123456789abcdef0123456789abcdef.SomeoneElsesKey")
    httpx.post(sim.base_url + RESET_PATH, headers={"Authorization": SIMULATOR_API_KEY})
    out, err = capfd.readouterr()
    assert len(sim.requests) == 4
    for text in (repr(sim.requests), out, err):
        assert SIMULATOR_API_KEY not in text and "SomeoneElsesKey" not in text
    assert err == ""  # the default access log is silenced


# --- writes and unknown paths --------------------------------------------------------------


def test_write_endpoint_is_refused_and_recorded(sim: PlatformSimulator) -> None:
    response = httpx.post(
        sim.base_url + RESET_PATH,
        headers={"Authorization": SIMULATOR_API_KEY},
        json={"packageId": 1},
    )
    assert response.status_code == 404
    assert response.json()["success"] is False and response.json()["code"] == 404
    assert get(sim, "/api/not/a/thing").status_code == 404
    assert httpx.post(sim.base_url + QUOTA_PATH).status_code == 404  # known path, wrong verb
    recorded = [(r.method, r.path, r.status) for r in sim.requests]
    assert recorded == [
        ("POST", RESET_PATH, 404),
        ("GET", "/api/not/a/thing", 404),
        ("POST", QUOTA_PATH, 404),
    ]
    assert sim.requests[0].auth_form == "raw"


# --- control endpoints ---------------------------------------------------------------------


def test_control_endpoints_switch_scenario(sim: PlatformSimulator) -> None:
    get(sim, RISK_PATH)
    state = httpx.get(sim.base_url + "/_simulator/state").json()
    assert state["scenario"] == "pro" and state["requests"] == 1
    switched = httpx.post(sim.base_url + "/_simulator/scenario", json={"scenario": "restricted"})
    assert switched.status_code == 200 and sim.scenario == "restricted"
    assert data(get(sim, RISK_PATH)) is True
    for body in ({"scenario": "platinum"}, {}, [1]):
        refused = httpx.post(sim.base_url + "/_simulator/scenario", json=body)
        assert refused.status_code == 400
    assert (
        httpx.post(sim.base_url + "/_simulator/scenario", content=b"{not json").status_code == 400
    )
    assert sim.scenario == "restricted"
    assert httpx.get(sim.base_url + "/_simulator/state").json()["requests"] == 2
    assert len(sim.requests) == 2  # control calls are not platform requests
    with pytest.raises(ValueError):
        sim.set_scenario("platinum")


# --- model and tool usage series -----------------------------------------------------------


def _span(start: float, end: float) -> dict[str, str]:
    def fmt(ts: float) -> str:
        return datetime.fromtimestamp(ts, CST).strftime("%Y-%m-%d %H:%M:%S")

    return {"startTime": fmt(start), "endTime": fmt(end)}


def test_model_usage_hourly_then_daily_and_bounded(sim: PlatformSimulator) -> None:
    day_start = datetime(2026, 2, 27, tzinfo=CST).timestamp()
    hourly = data(get(sim, MODEL_USAGE_PATH, params=_span(day_start, day_start + DAY - 1)))
    assert (
        len(hourly["x_time"]) == 24 == len(hourly["modelCallCount"]) == len(hourly["tokensUsage"])
    )
    assert hourly["x_time"][0] == "2026-02-27 00:00"
    total = hourly["totalUsage"]
    assert total["totalModelCallCount"] == sum(hourly["modelCallCount"]) > 0
    assert total["totalTokensUsage"] == sum(hourly["tokensUsage"])
    assert sum(m["totalTokens"] for m in total["modelSummaryList"]) == total["totalTokensUsage"]

    week = data(get(sim, MODEL_USAGE_PATH, params=_span(day_start - 5 * DAY, day_start + DAY - 1)))
    assert len(week["x_time"]) == 6 and week["x_time"][-1] == "2026-02-27"
    assert week["tokensUsage"][-1] == sum(hourly["tokensUsage"])  # a day sums its hours

    too_long = get(sim, MODEL_USAGE_PATH, params=_span(T0 - 32 * DAY, T0))
    assert too_long.status_code == 200 and too_long.json()["success"] is False
    missing = get(sim, MODEL_USAGE_PATH)
    assert missing.status_code == 200 and missing.json()["success"] is False


def test_usage_in_the_future_is_zero(sim: PlatformSimulator) -> None:
    series = data(get(sim, TOOL_USAGE_PATH, params=_span(T0 + HOUR, T0 + 10 * HOUR)))
    for column in ("networkSearchCount", "webReadMcpCount", "zreadMcpCount"):
        assert series[column] == [0] * len(series["x_time"])
    assert set(series["totalUsage"]) >= {
        "totalNetworkSearchCount",
        "totalWebReadMcpCount",
        "totalZreadMcpCount",
    }


# --- slowness and shutdown -----------------------------------------------------------------


def test_slow_answers_after_the_delay(sim: PlatformSimulator) -> None:
    sim.set_scenario("slow")
    started = time.monotonic()
    assert data(get(sim, QUOTA_PATH))["level"] == "pro"
    assert time.monotonic() - started >= 0.2


def test_stop_is_prompt_with_a_slow_request_in_flight(clock: FakeClock) -> None:
    sim = PlatformSimulator("slow", clock=clock, slow_seconds=60)
    sim.start()
    url = sim.base_url + QUOTA_PATH
    outcome: list[object] = []

    def call() -> None:
        try:
            outcome.append(httpx.get(url, headers={"Authorization": SIMULATOR_API_KEY}, timeout=30))
        except httpx.HTTPError as exc:
            outcome.append(exc)

    worker = threading.Thread(target=call)
    worker.start()
    time.sleep(0.5)  # loopback: the request is in the handler, sleeping, well before this
    started = time.monotonic()
    sim.stop()
    worker.join(timeout=5)
    assert time.monotonic() - started < 2
    assert not worker.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], httpx.HTTPError)
    assert [r.status for r in sim.requests] == [0]
    with pytest.raises(httpx.ConnectError):
        httpx.get(url, timeout=2)


# --- demo ----------------------------------------------------------------------------------


def test_demo_grows_with_the_clock_and_resets(sim: PlatformSimulator, clock: FakeClock) -> None:
    sim.set_scenario("demo")
    first = limits_by_window(sim)
    assert first == limits_by_window(sim)  # deterministic for a given clock
    reset_ms = first[("TOKENS_LIMIT", 3, 5)]["nextResetTime"]
    window_start = reset_ms / 1000 - 5 * HOUR
    samples = []
    for minutes in (1, 60, 120, 180, 240, 299):
        clock.now = window_start + minutes * 60
        samples.append(limits_by_window(sim))
    five = [s[("TOKENS_LIMIT", 3, 5)]["percentage"] for s in samples]
    assert five == sorted(five) and five[-1] - five[0] >= 40
    assert {s[("TOKENS_LIMIT", 3, 5)]["nextResetTime"] for s in samples} == {reset_ms}
    weekly = [s[("TOKENS_LIMIT", 6, 1)]["percentage"] for s in samples]
    assert weekly == sorted(weekly) and weekly[-1] - weekly[0] <= 5  # slow
    tools = [s[("TIME_LIMIT", 5, 1)]["currentValue"] for s in samples]
    assert tools == sorted(tools)

    clock.now = window_start + 5 * HOUR + 60  # the window ended a minute ago
    after = limits_by_window(sim)[("TOKENS_LIMIT", 3, 5)]
    assert after["percentage"] < five[-1] and after["percentage"] <= 5
    assert after["nextResetTime"] == reset_ms + 5 * HOUR * 1000


def test_demo_tool_calls_tick_up_and_renewal_is_ahead(
    sim: PlatformSimulator, clock: FakeClock
) -> None:
    sim.set_scenario("demo")
    clock.now = datetime(2026, 3, 2, 9, 0, tzinfo=CST).timestamp()
    month_start = clock.now - 7 * DAY
    totals = []
    for _ in range(4):
        series = data(get(sim, TOOL_USAGE_PATH, params=_span(month_start, clock.now)))
        totals.append(sum(series["totalUsage"].values()))
        clock.now += 3 * HOUR
    assert totals == sorted(totals) and totals[-1] > totals[0]
    (sub,) = data(get(sim, SUBSCRIPTION_PATH, auth=DEMO_API_KEY))
    renew = datetime.strptime(sub["nextRenewTime"], "%Y-%m-%d").replace(tzinfo=CST)
    assert sub["status"] == "VALID" and 0 < renew.timestamp() - clock.now + DAY <= 31 * DAY


# --- serve() -------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "example.com", "::"])
def test_serve_refuses_non_loopback_hosts(host: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        serve("pro", host, 0)


def test_serve_prints_how_to_use_it_and_stops_on_ctrl_c(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: dict[str, Any] = {}

    def interrupted() -> None:
        printed = capsys.readouterr().out
        seen["out"] = printed
        url = printed.split(" on ", 1)[1].split()[0]
        seen["url"] = url
        seen["risk"] = httpx.get(
            url + RISK_PATH, headers={"Authorization": SIMULATOR_API_KEY}
        ).json()
        raise KeyboardInterrupt

    monkeypatch.setattr(server_module, "_block_until_interrupted", interrupted)
    serve("restricted", "127.0.0.1", 0)
    assert SIMULATOR_API_KEY in seen["out"] and "/_simulator/scenario" in seen["out"]
    assert seen["risk"]["data"] is True
    with pytest.raises(httpx.ConnectError):
        httpx.get(seen["url"] + RISK_PATH, timeout=2)
    assert "stopped" in capsys.readouterr().out


def test_base_url_needs_a_running_simulator() -> None:
    sim = PlatformSimulator()
    with pytest.raises(RuntimeError):
        _ = sim.base_url
    sim.stop()  # harmless when never started


def _raw_exchange(port: int, raw: bytes) -> tuple[int, dict[str, str]]:
    """Send `raw` as it is and read the answer to its end: (status, lowercase headers)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(raw)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    status_line, *lines = data.partition(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines)}
    return int(status_line.split(" ")[1]), headers


def test_simulator_control_refuses_browsers_and_foreign_host_names(sim: PlatformSimulator) -> None:
    port = int(sim.base_url.rsplit(":", 1)[1])
    change = b'{"scenario": "max"}'

    def control(*extra: str, host: str = "127.0.0.1") -> int:
        lines = [
            "POST /_simulator/scenario HTTP/1.1",
            f"Host: {host}",
            f"Content-Length: {len(change)}",
            "Connection: close",
            *extra,
        ]
        status, headers = _raw_exchange(port, ("\r\n".join(lines) + "\r\n\r\n").encode() + change)
        assert not [name for name in headers if name.startswith("access-control-")]
        return status

    assert control("Origin: https://evil.example") == 403
    assert control("Origin: null") == 403
    assert control(host=f"evil.example:{port}") == 403
    assert control(host="127.0.0.1.evil.example") == 403
    assert sim.scenario == "pro"  # none of them changed anything
    status, headers = _raw_exchange(
        port, b"OPTIONS /_simulator/scenario HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Origin: https://evil.example\r\nConnection: close\r\n\r\n"
    )  # fmt: skip
    assert status >= 400 and not [n for n in headers if n.startswith("access-control-")]
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost"):
        assert control(host=host) == 200
    assert sim.scenario == "max"
    assert httpx.get(sim.base_url + "/_simulator/state").status_code == 200
