from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from glmtray.errors import (
    AccountRestricted,
    AuthenticationFailed,
    NoCodingPlan,
    PlanExpired,
    RateLimited,
    UnexpectedResponse,
)
from glmtray.platform import parsing
from glmtray.platform.models import FIVE_HOUR, MONTHLY_TOOLS, WEEKLY, Tier
from tests.helpers import load_body


def quota(name: str) -> parsing.Quota:  # type: ignore[name-defined]
    return parsing.parse_quota(parsing.unwrap_envelope(load_body(name)))


def test_pro_plan_windows_and_tools() -> None:
    q = quota("quota_pro.json")
    assert q.tier is Tier.PRO
    assert [w.id for w in q.windows] == [FIVE_HOUR, WEEKLY, MONTHLY_TOOLS]
    five = q.window(FIVE_HOUR)
    assert five is not None and five.used_percent == 17
    assert five.resets_at == datetime.fromtimestamp(1782724971.179, tz=timezone.utc)
    tools = q.window(MONTHLY_TOOLS)
    assert tools is not None
    assert (tools.limit, tools.used, tools.remaining) == (1000, 0, 1000)
    assert [t.name for t in tools.tools] == ["search-prime", "web-reader", "zread"]
    assert q.blocking_window is five


def test_credit_plan_windows_are_recognised() -> None:
    q = quota("quota_credit.json")
    assert q.tier is Tier.MAX
    assert [w.id for w in q.windows] == [FIVE_HOUR, WEEKLY]
    assert all(w.type == "CREDIT_LIMIT" for w in q.windows)
    assert q.windows[0].used == 984


def test_idle_window_has_no_reset_time_and_is_not_started() -> None:
    q = quota("quota_idle.json")
    five = q.window(FIVE_HOUR)
    assert five is not None
    assert five.resets_at is None and not five.started
    assert q.blocking_window is not None and q.blocking_window.id == WEEKLY


def test_weekly_exhausted_blocks_even_with_low_five_hour() -> None:
    q = quota("quota_weekly_exhausted.json")
    blocking = q.blocking_window
    assert blocking is not None and blocking.id == WEEKLY and blocking.is_exhausted


def test_quirky_strings_unknown_types_and_overrun() -> None:
    q = quota("quota_quirky.json")
    assert q.tier is Tier.PRO  # "Pro" in another case
    ids = [w.id for w in q.windows]
    assert ids[0] == FIVE_HOUR
    assert q.windows[0].used_percent == 55
    assert q.windows[0].resets_at is not None
    assert ids[1] == "foo_limit_4_1"
    assert q.windows[1].label == "Foo limit (1 x unit 4)"  # unit 4 is not known: no guess
    over = q.window(MONTHLY_TOOLS)
    assert (
        over is not None and over.used_percent == 100 and over.remaining == 0 and over.used == 130
    )
    # a second 5-hour window keeps a distinct, stable id; the non-object entry is ignored
    assert ids[3] == "five_hour_2" and len(ids) == 4
    assert q.blocking_window is over


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("no_plan.json", NoCodingPlan),
        ("auth_401.json", AuthenticationFailed),
        ("auth_1000.json", AuthenticationFailed),
        ("locked_1112.json", AccountRestricted),
        ("expired_1309.json", PlanExpired),
        ("rate_limited_429.json", RateLimited),
        ("unknown_code.json", UnexpectedResponse),
    ],
)
def test_business_errors_inside_http_200(body: str, error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        parsing.unwrap_envelope(load_body(body))
    assert caught.value.message  # type: ignore[attr-defined]


def test_unknown_code_is_named_in_message() -> None:
    with pytest.raises(UnexpectedResponse) as caught:
        parsing.unwrap_envelope(load_body("unknown_code.json"))
    assert "1999" in caught.value.message and caught.value.code == 1999


@pytest.mark.parametrize(
    "body", [[1, 2], "text", None, {"code": 200, "data": "x", "success": "false"}]
)
def test_wrong_shapes_raise_unexpected_response(body: object) -> None:
    with pytest.raises(UnexpectedResponse):
        parsing.parse_quota(parsing.unwrap_envelope(body))


def test_limits_not_a_list() -> None:
    with pytest.raises(UnexpectedResponse):
        parsing.parse_quota({"level": "pro", "limits": {"a": 1}})


def test_active_coding_plan_is_chosen_among_other_products() -> None:
    subs = parsing.parse_subscriptions(
        parsing.unwrap_envelope(load_body("subscriptions.json")), "USD"
    )
    assert len(subs) == 3
    active = parsing.active_coding_plan(subs)
    assert active is not None
    assert active.product == "GLM Coding Pro"
    assert active.auto_renew is True
    assert active.next_renewal == date(2026, 12, 12)
    assert active.cancel_by == date(2026, 12, 9)
    assert active.price == Decimal("27.00") and active.currency == "USD"
    assert active.billing_cycle == "monthly"


def test_auto_renew_off_uses_end_of_valid_range() -> None:
    subs = parsing.parse_subscriptions(
        parsing.unwrap_envelope(load_body("subscriptions_auto_renew_off.json"))
    )
    active = parsing.active_coding_plan(subs)
    assert active is not None and active.auto_renew is False
    assert active.next_renewal == date(2026, 12, 12)
    assert active.price == Decimal("240")


def test_zoned_renewal_time_is_the_platform_day() -> None:
    # 20:00 UTC on the 11th is already the 12th in UTC+8, the platform's calendar.
    subs = parsing.parse_subscriptions(
        parsing.unwrap_envelope(load_body("subscriptions_zoned.json"))
    )
    active = parsing.active_coding_plan(subs)
    assert active is not None and active.next_renewal == date(2026, 12, 12)


def test_no_coding_plan_in_list() -> None:
    subs = parsing.parse_subscriptions([{"productName": "Resource Pack", "status": "VALID"}])
    assert parsing.active_coding_plan(subs) is None


@pytest.mark.parametrize(
    ("body", "expected"),
    [("risk_true.json", True), ("risk_false.json", False), ("risk_null.json", None)],
)
def test_risk_flag(body: str, expected: bool | None) -> None:
    assert parsing.parse_risk_flag(parsing.unwrap_envelope(load_body(body))) is expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [("false", False), (0, False), ({"isRisk": False}, False), ("yes", True), (1, True)],
)
def test_risk_flag_variants(data: object, expected: bool) -> None:
    assert parsing.parse_risk_flag(data) is expected


def test_usage_series() -> None:
    series = parsing.parse_usage_series(parsing.unwrap_envelope(load_body("model_usage.json")))
    assert len(series.times) == 2
    assert series.series["modelCallCount"] == (3, 5)
    assert series.totals["totalTokensUsage"] == 4600


def test_reset_time_in_seconds_is_understood() -> None:
    window = parsing.parse_window(
        {"type": "TOKENS_LIMIT", "unit": 3, "number": 5, "nextResetTime": 1782724971}
    )
    assert window.resets_at == datetime.fromtimestamp(1782724971, tz=timezone.utc)
