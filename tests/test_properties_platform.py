"""Property tests: whatever the platform sends, the response parsers give data or a typed
error (PlatformError), never another exception, and no message carries the API key.

Bounded (max_examples, no deadline) so the file runs in a few seconds in CI.
"""

from __future__ import annotations

import json
from datetime import date, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from glmtray.errors import PlatformError
from glmtray.platform import parsing
from glmtray.platform.models import Quota, Subscription
from glmtray.redact import register_secret

KEY = "0f1e2d3c4b5a69788796a5b4c3d2e1f0.PrOpErTyTeStKeY1"
register_secret(KEY)
BOUNDED = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Values the platform might put anywhere: every JSON type, the numbers that break
# arithmetic, date-like and number-like text, the key itself.
nasty_numbers = st.sampled_from(
    [0, -1, 1, 5, 200, 1000, 1308, 2**53, 2**63, 10**30, -(10**30), 1e20, 1e308, 1e400,
     float("nan"), float("inf"), float("-inf"), 0.5, -0.0, 1782724971179]
)  # fmt: skip
date_text = st.builds(
    lambda d, h: f"{d.isoformat()} {h:02d}:00:00",
    st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)),
    st.integers(0, 23),
) | st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)).map(date.isoformat)
nasty_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["nan", "NaN", "inf", "-Infinity", "1e400", "9" * 400, "", " ", KEY,
                     "\ud800", "coding plan", "VALID", "TOKENS_LIMIT", "TIME_LIMIT"]),
    date_text,
    st.builds(lambda a, b: f"{a}-{b}", date_text, date_text),
)  # fmt: skip
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), nasty_numbers,
    st.floats(allow_nan=True, allow_infinity=True), nasty_text,
)  # fmt: skip
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=8) | nasty_text, children, max_size=4)
    ),
    max_leaves=12,
)


def fields_of(names: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional={name: json_values for name in names})


limit_rows = fields_of(
    ["type", "unit", "number", "percentage", "usage", "currentValue", "remaining",
     "nextResetTime", "usageDetails"]
)  # fmt: skip
subscription_rows = fields_of(
    ["productName", "productId", "status", "inCurrentPeriod", "autoRenew", "nextRenewTime",
     "currentRenewTime", "valid", "billingCycle", "initialPrice", "actualPrice"]
)  # fmt: skip
envelopes = st.fixed_dictionaries(
    {}, optional={"code": json_values, "msg": json_values, "success": json_values,
                  "message": json_values, "error": json_values}
)  # fmt: skip


def assert_clean(error: PlatformError) -> None:
    text = f"{error.message} {error.detail} {error.platform_message} {error!r} {error.title}"
    assert KEY not in text


def use_quota(quota: Quota) -> None:
    """What the UI and the CLI read from a quota."""
    blocking = quota.blocking_window
    assert blocking is None or blocking in quota.windows
    _ = quota.tier
    for window in quota.windows:
        assert 0.0 <= window.used_percent <= 100.0
        _ = (window.label, window.length_label, window.is_exhausted, window.started)
        if window.resets_at is not None:
            window.resets_at.astimezone(timezone.utc)


def use_subscription(sub: Subscription) -> None:
    _ = (sub.cancel_by, sub.renews_at, sub.is_active_coding_plan)
    for tz in (None, timezone.utc, timezone(timedelta(hours=14)), timezone(timedelta(hours=-12))):
        sub.local_cancel_by(tz)
        sub.local_renewal_day(tz)
        sub.days_to_cancel(date(2026, 6, 1), tz)
    if sub.price is not None:
        assert f"{sub.price:.2f}"  # formatting must stay cheap and possible


@BOUNDED
@given(
    envelope=envelopes,
    level=json_values,
    limits=st.one_of(st.lists(limit_rows | json_values, max_size=5), json_values),
)
@example(envelope={"code": 200}, level="pro", limits=[{"usageDetails": 5, "percentage": 1e400}])
@example(envelope={"code": "nan"}, level=None, limits=[])
def test_quota_parser(envelope: dict[str, Any], level: Any, limits: Any) -> None:
    body = {**envelope, "data": {"level": level, "limits": limits}}
    try:
        quota = parsing.parse_quota(parsing.unwrap_envelope(body))
    except PlatformError as error:
        assert_clean(error)
        return
    use_quota(quota)


@BOUNDED
@given(
    envelope=envelopes,
    rows=st.one_of(st.lists(subscription_rows | json_values, max_size=4), json_values),
)
@example(envelope={}, rows=[{"nextRenewTime": "0001-01-01", "productName": "GLM Coding"}])
@example(envelope={}, rows=[{"valid": "9999-12-30 00:00:00-9999-12-31 23:59:59"}])
@example(envelope={}, rows=[{"actualPrice": "1e300000000"}])
def test_subscription_parser(envelope: dict[str, Any], rows: Any) -> None:
    try:
        subs = parsing.parse_subscriptions(parsing.unwrap_envelope({**envelope, "data": rows}))
    except PlatformError as error:
        assert_clean(error)
        return
    for sub in subs:
        use_subscription(sub)
    active = parsing.active_coding_plan(subs)
    assert active is None or active in subs


@BOUNDED
@given(envelope=envelopes, data=json_values)
def test_risk_parser(envelope: dict[str, Any], data: Any) -> None:
    try:
        flag = parsing.parse_risk_flag(parsing.unwrap_envelope({**envelope, "data": data}))
    except PlatformError as error:
        assert_clean(error)
        return
    assert flag in (True, False, None)


@BOUNDED
@given(data=json_values | fields_of(["x_time", "modelCallCount", "tokensUsage", "totalUsage"]))
def test_usage_series_parser(data: Any) -> None:
    try:
        series = parsing.parse_usage_series(data)
    except PlatformError as error:
        assert_clean(error)
        return
    assert all(isinstance(v, int) for values in series.series.values() for v in values)


@BOUNDED
@given(
    body=st.one_of(
        st.binary(max_size=200),
        json_values.map(lambda v: json.dumps(v, allow_nan=True).encode("utf-8", "surrogatepass")),
        st.builds(lambda n, inner: b"[" * n + inner + b"]" * n, st.integers(0, 3000),
                  st.sampled_from([b"1", b"NaN", b'"x"', b"1e400"])),
    )
)  # fmt: skip
def test_body_decoder(body: bytes) -> None:
    try:
        parsing.parse_json(body)
    except PlatformError as error:
        assert_clean(error)


@BOUNDED
@given(code=json_values, message=json_values, status=st.sampled_from([200, 400, 401, 429, 500]))
def test_business_errors_never_carry_the_key(code: Any, message: Any, status: int) -> None:
    body = {"code": code, "msg": f"{message} {KEY}", "success": False}
    try:
        parsing.unwrap_envelope(body, status)
    except PlatformError as error:
        assert_clean(error)
