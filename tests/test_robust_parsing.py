"""The parsers against the hostile values seen or feared: inf, NaN, numbers past any
range, wrong container types, reset times and dates at datetime's limits, deep nesting,
oversized prices and business codes that are no numbers. Data or UnexpectedResponse."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from glmtray.errors import GlmtrayError, UnexpectedResponse
from glmtray.platform import parsing
from glmtray.platform.models import Subscription
from glmtray.redact import register_secret

KEY = "fedcba9876543210fedcba9876543210.QrStUvWxYz012345"


def quota_of(limits: object, level: object = "pro") -> parsing.Quota:  # type: ignore[name-defined]
    return parsing.parse_quota({"level": level, "limits": limits})


@pytest.mark.parametrize(
    "value", [float("inf"), float("-inf"), float("nan"), 1e400, 10**400, "nan", "inf", "1e400",
              "-Infinity", "9" * 5000, [], {}, True]
)  # fmt: skip
def test_impossible_numbers_read_as_absent(value: object) -> None:
    window = quota_of(
        [
            {
                "type": "TOKENS_LIMIT",
                "unit": value,
                "number": value,
                "percentage": value,
                "usage": value,
                "currentValue": value,
                "remaining": value,
                "nextResetTime": value,
            }
        ]
    ).windows[0]
    assert window.used_percent == 0.0 and window.resets_at is None
    assert (window.used, window.limit, window.remaining, window.unit) == (None, None, None, None)
    assert window.label  # shown without error


@pytest.mark.parametrize("details", [5, "abc", {"modelCode": "x"}, None, [5, None, "x"]])
def test_usage_details_of_the_wrong_type(details: object) -> None:
    window = quota_of([{"type": "TIME_LIMIT", "unit": 5, "number": 1, "usageDetails": details}])
    assert window.windows[0].tools == ()


@pytest.mark.parametrize("x_time", [5, "2026-01-01 00:00:00", {"a": 1}, [5, None, {}]])
def test_usage_series_with_wrong_container_types(x_time: object) -> None:
    series = parsing.parse_usage_series(
        {"x_time": x_time, "modelCallCount": [1, "2", None, float("nan")], "totalUsage": 5}
    )
    assert series.times == () and series.series == {"modelCallCount": (1, 2, 0, 0)}


@pytest.mark.parametrize("reset", [1e20, 1e15, -1, 0, 253402300800000, "9999-12-31 23:59:59"])
def test_reset_times_beyond_any_calendar_are_absent(reset: object) -> None:
    window = quota_of([{"type": "TOKENS_LIMIT", "unit": 3, "number": 5, "nextResetTime": reset}])
    assert window.windows[0].resets_at is None


@pytest.mark.parametrize(
    ("renew", "valid"),
    [
        ("0001-01-01", "0001-01-01 00:00:00-0001-01-02 00:00:00"),
        ("9999-12-31", "9999-12-30 00:00:00-9999-12-31 23:59:59"),
        ("0001-01-02T00:00:00Z", None),
        ("9999-12-31T23:00:00-12:00", None),
    ],
)
def test_dates_in_years_1_and_9999_are_absent_and_cancel_by_does_not_overflow(
    renew: str, valid: str | None
) -> None:
    sub = parsing.parse_subscription(
        {"productName": "GLM Coding Pro", "status": "VALID", "nextRenewTime": renew,
         "valid": valid}, "USD"
    )  # fmt: skip
    assert sub.next_renewal is None and sub.cancel_by is None
    assert sub.local_cancel_by() is None and sub.days_to_cancel(date.today()) is None


@pytest.mark.parametrize("day", [date(1, 1, 1), date(1, 1, 3), date(9999, 12, 31)])
def test_a_hand_entered_edge_date_gives_no_cancel_day_rather_than_an_overflow(day: date) -> None:
    sub = Subscription("GLM Coding Pro", None, "VALID", True, True, day, None, None, None)
    for value in (sub.cancel_by, sub.renews_at, sub.local_renewal_day()):
        assert value is None or isinstance(value, (date, datetime))
    assert sub.days_to_cancel(date(2026, 1, 1), timezone(timedelta(hours=14))) is None or (
        day.year == 9999
    )


@pytest.mark.parametrize(
    "price", ["1e300000000", 1e300, float("inf"), "NaN", "sNaN", "-1e12", "1" * 100, [1], True]
)
def test_prices_that_cannot_be_shown_are_absent(price: object) -> None:
    sub = parsing.parse_subscription({"productName": "GLM Coding Pro", "actualPrice": price}, "USD")
    assert sub.price is None


def test_a_real_price_is_kept() -> None:
    sub = parsing.parse_subscription({"actualPrice": "30.00", "initialPrice": 45}, "USD")
    assert sub.price == Decimal("30.00")


@pytest.mark.parametrize(
    "body",
    [
        {"code": "nan", "msg": "x"},
        {"code": float("nan")},
        {"code": 1e400},
        {"code": {"a": 1}},
        {"code": "9" * 5000},
    ],
)
def test_business_codes_that_are_no_numbers(body: dict[str, object]) -> None:
    with pytest.raises(UnexpectedResponse):
        parsing.unwrap_envelope(body)


def test_a_code_that_is_no_number_with_success_true_is_data() -> None:
    assert parsing.unwrap_envelope({"code": "OK", "success": True, "data": 1}) == 1


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"a":' * 100_000 + "1" + "}" * 100_000,
        '{"data":' + '{"result":' * 40 + "true" + "}" * 41,
        '{"n": ' + "1" * 10_000 + "}",
        "\ufeff" + "{" * 3,
    ],
)
def test_deep_or_giant_json_is_unexpected(text: str) -> None:
    with pytest.raises(UnexpectedResponse):
        parsing.parse_json(text.encode())


def test_bom_nan_and_infinity_literals_in_a_body() -> None:
    value = parsing.parse_json(b'\xef\xbb\xbf{"a": NaN, "b": Infinity, "c": 1e400}')
    assert value == {"a": None, "b": None, "c": float("inf")}


def test_risk_flag_nested_without_recursion() -> None:
    nested: object = False
    for _ in range(20):
        nested = {"result": nested}
    assert parsing.parse_risk_flag(nested) is False
    deep: object = False
    for _ in range(5000):
        deep = {"result": deep}
    assert parsing.parse_risk_flag(deep) is True  # past any sane depth: not "fine"


def test_platform_text_is_bounded_and_printable() -> None:
    register_secret(KEY)
    body = {"code": 1000, "msg": "bad key " + KEY + " \ud800 \x00\x1b[31m" + "x" * 10_000}
    with pytest.raises(GlmtrayError) as caught:
        parsing.unwrap_envelope(body)
    error = caught.value
    text = f"{error.message} {error.platform_message}"  # type: ignore[attr-defined]
    assert KEY not in text and "\ud800" not in text and "\x1b" not in text
    assert len(error.platform_message or "") <= parsing.MAX_TEXT  # type: ignore[attr-defined]
    json.dumps(text, ensure_ascii=False).encode("utf-8")  # printable as UTF-8
