"""Business codes out of error texts as coding tools record them: JSON, brackets, and the
platform's known message texts (English and Chinese); reset times and the window a limit
error concerns; retry-after-ms as a fallback."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from glmtray.platform.codes import (
    MAX_RETRY_AFTER,
    MESSAGE_TEXTS,
    LimitReset,
    back_at_from_retry_after,
    limit_reset,
    normalise_message,
    parse_business_error,
    parse_reset_time,
    recognise_message,
    strip_client_prefix,
)
from glmtray.platform.models import FIVE_HOUR, MONTHLY_TOOLS, WEEKLY

UTC = timezone.utc
NOW = datetime(2026, 9, 8, 12, 0, tzinfo=UTC)

# The live texts of platform-api.md, as the platform sends them.
CHINESE_1308 = "已达到 5 小时的使用上限。您的限额将在 2026-08-25 07:41:44 重置。"
ENGLISH_1308 = "Usage limit reached for 5 hour. Your limit will reset at 2026-09-09 05:38:28"
BRACKETED_1310 = (
    "[1310][Weekly/Monthly Limit Exhausted. Your limit will reset at 2026-09-09 05:38:28]"
)
ENGLISH_1313 = (
    "Your account's current usage pattern does not comply with the Fair Usage Policy, "
    "and your request frequency has been limited. Please contact support."
)
ENGLISH_1302 = (
    "High concurrency usage of this API, please reduce concurrency or contact customer "
    "service to increase limits"
)


# --- the table -------------------------------------------------------------------------------


def filled(template: str) -> str:
    """A template as the platform fills it in."""
    return (
        template.replace("${next_flush_time}", "2026-09-09 05:38:28")
        .replace("${number}", "5")
        .replace("${unit}", "小时")
        .replace("...", "")
    )


@pytest.mark.parametrize(
    ("code", "template"),
    [(code, template) for code, templates in MESSAGE_TEXTS.items() for template in templates],
)
def test_every_table_text_is_recognised_filled_in_and_behind_a_prefix(
    code: int, template: str
) -> None:
    text = filled(template)
    assert recognise_message(text) == code
    assert recognise_message(f"API Error: Request rejected (429) · {text}") == code
    assert recognise_message(f"API Error: 403 {text}。") == code


def test_table_holds_the_documented_codes_in_both_languages() -> None:
    documented = {1000, 1110, 1111, 1112, 1113, 1121, 1302, 1303, 1305, 1308, 1309, 1310, 1313}
    assert set(MESSAGE_TEXTS) == documented
    for code in (1000, 1110, 1111, 1112, 1113, 1121, 1302, 1308, 1310, 1313):
        languages = {any("\u4e00" <= ch <= "\u9fff" for ch in text) for text in MESSAGE_TEXTS[code]}
        assert languages == {True, False}, code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        # Full-width comma (both code points the china docs use), ASCII comma, no comma.
        ("您的账户已被锁定，请联系客服解锁", 1112),
        ("您的账户已被锁定,请联系客服解锁", 1112),
        ("您的账户已被锁定, 请联系客服解锁。", 1112),
        ("您的账户已被锁定\uff0c请联系客服解锁", 1112),
        # Spaces around "API" come and go between copies.
        ("您当前使用该API的并发数过高，请降低并发，或联系客服增加限额", 1302),
        ("您当前使用该  API  的频率过高, 请降低频率, 或联系客服增加限额", 1303),
        ("该API已触发流量限制", 1305),
        # Chinese full stop vs ASCII full stop, curly apostrophe, other case, line breaks.
        ("您的账户当前处于非活动状态.请检查账户信息", 1110),
        ("YOUR ACCOUNT’S CURRENT USAGE PATTERN does not comply with\nthe Fair Usage Policy", 1313),
        ("您的账户当前使用模式不符合公平使用策略，请求频率已受到限制。", 1313),
        ("余额不足或无可用资源包,请充值。", 1113),
        ("账户存违规行为，账号已被锁定", 1121),
        ("您的 GLM Coding Plan 套餐已到期，暂无法使用，前往官方续订后即可恢复使用。", 1309),
        ("Rate limit reached for requests", 1302),
        (ENGLISH_1302, 1302),
        # The placeholders hold other numbers and units.
        ("已达到 1 周 的使用上限。您的限额将在 2026-09-09 05:38:28 重置。", 1308),
        ("您已达到每周／每月使用上限，您的限额将在 2026-09-09 05:38:28 重置", 1310),
        # 1310's text holds 1308's "Your limit will reset at": the longer match wins.
        ("Weekly/Monthly Limit Exhausted. Your limit will reset at 2026-09-09 05:38:28", 1310),
        (ENGLISH_1308, 1308),
        (CHINESE_1308, 1308),
    ],
)
def test_message_variants(text: str, code: int) -> None:
    assert recognise_message(text) == code


@pytest.mark.parametrize(
    "text",
    [
        "",
        "API Error: 500 Internal Server Error",
        "API Error: 529 Overloaded",
        "Rate limit reached for gpt-4 in organization org-1 on requests per min",
        "This request would exceed the rate limit for your organization",
        "invalid x-api-key",
        # A placeholder is a short filler, not a page of unrelated text.
        "已达到" + "x" * 500 + "的使用上限。您的限额将在 2026-09-09 05:38:28 重置",
        "Your limit",
    ],
)
def test_other_texts_are_not_the_platform(text: str) -> None:
    assert recognise_message(text) is None
    assert parse_business_error(text) == (None, "", None)


def test_normalise_message() -> None:
    assert normalise_message(" A，b。c、 D ’ ") == "a,b.c,d'"


# --- parse_business_error in both Claude Code formats ------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Claude Code 2.1: only error.message is left.
        (
            f"API Error: Request rejected (429) · {ENGLISH_1302}",
            (1302, ENGLISH_1302, None),
        ),
        (
            f"API Error: Request rejected (429) · {CHINESE_1308}",
            (1308, CHINESE_1308, None),
        ),
        (
            "API Error: Request rejected (429) · [1313][Your account's current usage pattern"
            " does not comply with the Fair Usage Policy.][20260909053828abcdef]",
            (
                1313,
                "Your account's current usage pattern does not comply with the Fair Usage Policy.",
                "20260909053828abcdef",
            ),
        ),
        (
            f"API Error: Request rejected (429) · {BRACKETED_1310}",
            (
                1310,
                "Weekly/Monthly Limit Exhausted. Your limit will reset at 2026-09-09 05:38:28",
                None,
            ),
        ),
        (
            "API Error: 403 您的账户已被锁定，请联系客服解锁",
            (1112, "您的账户已被锁定，请联系客服解锁", None),
        ),
        ("API Error: 401 Authentication Failed", (1000, "Authentication Failed", None)),
        (
            "API Error: 402 余额不足或无可用资源包,请充值。",
            (1113, "余额不足或无可用资源包,请充值。", None),
        ),
        # The older format: JSON in the text. Its code wins over the text's look.
        (
            'API Error: 429 {"error":{"code":"1302","message":"' + ENGLISH_1302 + '"}}',
            (1302, ENGLISH_1302, None),
        ),
        (
            'API Error: 429 {"error":{"code":"1305","message":"您的账户已被锁定"}}',
            (1305, "您的账户已被锁定", None),
        ),
        # Anthropic-style endpoint: 1113 in error.type, and only the text.
        (
            'API Error: 402 {"type":"error","error":{"type":"1113",'
            '"message":"余额不足或无可用资源包,请充值。"}}',
            (1113, "余额不足或无可用资源包,请充值。", None),
        ),
        (
            'API Error: 400 {"type":"error","error":{"type":"invalid_request_error",'
            '"message":"余额不足或无可用资源包,请充值。"}}',
            (1113, "余额不足或无可用资源包,请充值。", None),
        ),
        # A bracketed code wins over a known text in its message.
        ("[1302][您的账户已被锁定][t-1]", (1302, "您的账户已被锁定", "t-1")),
    ],
)
def test_business_errors_in_both_formats(
    text: str, expected: tuple[int | None, str, str | None]
) -> None:
    assert parse_business_error(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("API Error: Request rejected (429) · busy", "busy"),
        ("API Error: 401 Authentication Failed", "Authentication Failed"),
        ("API Error: 429 · slow", "slow"),
        ("no prefix here", "no prefix here"),
    ],
)
def test_strip_client_prefix(text: str, expected: str) -> None:
    assert strip_client_prefix(text) == expected


# --- reset times -------------------------------------------------------------------------------


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (CHINESE_1308, utc(2026, 8, 24, 23, 41, 44)),
        (ENGLISH_1308, utc(2026, 9, 8, 21, 38, 28)),
        (BRACKETED_1310, utc(2026, 9, 8, 21, 38, 28)),
        (
            "您已达到每周/每月使用上限，您的限额将在 2026-09-09 05:38:28 重置",
            utc(2026, 9, 8, 21, 38, 28),
        ),
        (
            "已达到 5 小时的使用上限。您的限额将在 2026年8月25日 07:41:44 重置。",
            utc(2026, 8, 24, 23, 41, 44),
        ),
        ("Your limit will reset at 2026/09/09 05:38", utc(2026, 9, 8, 21, 38)),
        ("Your limit will reset at 2026-09-09T05:38:28.250", utc(2026, 9, 8, 21, 38, 28)),
        ("Your limit will reset at 2026-09-09 05:38:28 UTC+9", utc(2026, 9, 8, 20, 38, 28)),
        ("Your limit will reset at 2026-09-09 05:38:28 +0530", utc(2026, 9, 9, 0, 8, 28)),
        ("Your limit will reset at 2026-09-09 05:38:28 GMT", utc(2026, 9, 9, 5, 38, 28)),
        # The latest possible time east of Greenwich exists in UTC.
        ("Your limit will reset at 9999-12-31 23:59:59", utc(9999, 12, 31, 15, 59, 59)),
        # Garbled or absent: None, never an exception.
        ("Your limit will reset at 0001-01-01 00:00:00", None),
        ("Your limit will reset at 9999-12-31 23:59:59 -05:00", None),
        ("Your limit will reset at 0000-01-01 00:00:00", None),
        ("Your limit will reset at 2026-02-30 05:38:28", None),
        ("Your limit will reset at 2026-09-09 25:38:28", None),
        ("Your limit will reset at 2026-09-09 05:61:00", None),
        ("Your limit will reset at 2026-09-09 05:38:28 +99:00", None),
        ("Your limit will reset at ${next_flush_time}", None),
        ("Your limit will reset at", None),
        ("已达到 5 小时的使用上限。您的限额将在  重置。", None),
        ("", None),
    ],
)
def test_reset_time_shapes(message: str, expected: datetime | None) -> None:
    parsed = parse_reset_time(message)
    assert parsed == expected
    if parsed is not None:
        assert parsed.tzinfo is not None


def test_reset_time_without_a_zone_is_utc_plus_8() -> None:
    parsed = parse_reset_time(ENGLISH_1308)
    assert parsed is not None and parsed.utcoffset() == timedelta(hours=8)


@given(st.text(max_size=200))
def test_reset_time_never_raises(text: str) -> None:
    parsed = parse_reset_time("Your limit will reset at " + text)
    if parsed is not None:
        parsed.astimezone(UTC)  # every result can be stored and shown


@given(
    st.integers(min_value=0, max_value=99999),
    st.integers(min_value=0, max_value=99),
    st.integers(min_value=0, max_value=99),
    st.integers(min_value=0, max_value=99),
    st.sampled_from(["", " Z", " +08:00", " -12:00", " UTC+14", " +99:99", " GMT-3"]),
)
def test_any_digits_in_a_reset_time_never_raise(
    year: int, month: int, day: int, hour: int, zone: str
) -> None:
    text = f"您的限额将在 {year:04d}-{month:02d}-{day:02d} {hour:02d}:00:00{zone} 重置"
    parsed = parse_reset_time(text)
    if parsed is not None:
        parsed.astimezone(UTC)


# --- the window a limit error concerns, and when the user is back -------------------------------


@pytest.mark.parametrize(
    ("code", "message", "window"),
    [
        (1308, CHINESE_1308, FIVE_HOUR),
        (1308, ENGLISH_1308, FIVE_HOUR),
        (1308, "Your limit will reset at 2026-09-09 05:38:28", FIVE_HOUR),
        (1308, "已达到 1 周的使用上限。您的限额将在 2026-09-09 05:38:28 重置。", WEEKLY),
        (
            1308,
            "Usage limit reached for 7 days. Your limit will reset at 2026-09-09 05:38:28",
            WEEKLY,
        ),
        (1308, "已达到 10 小时的使用上限。您的限额将在 2026-09-09 05:38:28 重置。", "10_hour"),
        (1308, "Usage limit reached for 1 month.", MONTHLY_TOOLS),
        (1308, "Usage limit reached. Your limit will reset in 3 hours.", FIVE_HOUR),
        (1310, BRACKETED_1310, WEEKLY),
        (1310, "您已达到每周/每月使用上限", WEEKLY),
        (
            1310,
            "Monthly Limit Exhausted. Your limit will reset at 2026-10-01 00:00:00",
            MONTHLY_TOOLS,
        ),
        (1310, "您已达到每月使用上限，您的限额将在 2026-10-01 00:00:00 重置", MONTHLY_TOOLS),
        (1316, "5-hour limit reached", FIVE_HOUR),
        (1317, "7-day limit reached", WEEKLY),
        (1318, "", WEEKLY),
        (1319, "", WEEKLY),
        (1320, "", WEEKLY),
        (1321, "", WEEKLY),
        (1304, "daily call limit", None),
    ],
)
def test_window_of_each_limit_code(code: int, message: str, window: str | None) -> None:
    found = limit_reset(code, message)
    assert found is not None
    assert (found.code, found.window) == (code, window)


@pytest.mark.parametrize("code", [1302, 1303, 1305, 1313, 1112, 1113, 1000, 1311, 9999])
def test_other_codes_are_no_limit(code: int) -> None:
    assert limit_reset(code, ENGLISH_1308) is None


def test_code_recognised_from_the_message_when_absent() -> None:
    assert limit_reset(None, f"API Error: Request rejected (429) · {CHINESE_1308}") == LimitReset(
        1308, FIVE_HOUR, utc(2026, 8, 24, 23, 41, 44)
    )
    assert limit_reset(None, BRACKETED_1310) == LimitReset(
        1310, WEEKLY, utc(2026, 9, 8, 21, 38, 28)
    )
    assert limit_reset(None, '{"error":{"code":"1316","message":"limit"}}') == LimitReset(
        1316, FIVE_HOUR, None
    )
    assert limit_reset(None, ENGLISH_1302) is None
    assert limit_reset(None, "") is None


def test_retry_after_is_the_fallback_for_back_at() -> None:
    without_time = "[1310][Weekly/Monthly Limit Exhausted. Your limit will reset at ...]"
    found = limit_reset(1310, without_time, retry_after_ms="7200000", now=NOW)
    assert found == LimitReset(1310, WEEKLY, NOW + timedelta(hours=2))
    # The named time wins over the header.
    named = limit_reset(1310, BRACKETED_1310, retry_after_ms="1000", now=NOW)
    assert named is not None and named.back_at == utc(2026, 9, 8, 21, 38, 28)
    # Without `now` the header cannot be used; a garbled one is ignored.
    assert limit_reset(1310, without_time, retry_after_ms="7200000") == LimitReset(
        1310, WEEKLY, None
    )
    assert limit_reset(1310, without_time, retry_after_ms="soon", now=NOW) == LimitReset(
        1310, WEEKLY, None
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("3600000", NOW + timedelta(hours=1)),
        (" 1500 ", NOW + timedelta(milliseconds=1500)),
        ("1500.5", NOW + timedelta(milliseconds=1500.5)),
        ("0", NOW),
        (str(int(MAX_RETRY_AFTER / timedelta(milliseconds=1))), NOW + MAX_RETRY_AFTER),
        (str(int(MAX_RETRY_AFTER / timedelta(milliseconds=1)) + 1), None),
        ("1e20", None),
        ("-1", None),
        ("nan", None),
        ("inf", None),
        ("-inf", None),
        ("abc", None),
        ("", None),
        ("0x10", None),
        (None, None),
    ],
)
def test_back_at_from_retry_after(value: str | None, expected: datetime | None) -> None:
    assert back_at_from_retry_after(value, NOW) == expected


def test_back_at_from_retry_after_at_the_end_of_the_calendar() -> None:
    end = datetime.max.replace(tzinfo=UTC)
    assert back_at_from_retry_after("1000", end) is None


# --- texts that once crashed the reader -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"code":"²"}', (None, "", None)),
        ('{"error":{"code":"' + "9" * 5000 + '"}}', (None, "", None)),
        ('{"error":{"code":' + "9" * 40 + ',"message":"m"}}', (None, "m", None)),
        ('{"error":{"code":-1302,"message":"m"}}', (None, "m", None)),
        ('{"a":' * 5000, (None, "", None)),
        ("[١٣٠٢][Arabic-Indic digits][t]", (None, "", None)),
        ('{"error":{"code":"١٣٠٢","message":"m"}}', (None, "m", None)),
        ('{"error":{"code":"999999999","message":"m"}}', (999999999, "m", None)),
    ],
)
def test_odd_codes_are_no_codes_and_never_raise(
    text: str, expected: tuple[int | None, str, str | None]
) -> None:
    assert parse_business_error(text) == expected
