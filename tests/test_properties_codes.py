"""Property tests for reading business codes and reset times out of error texts
(`glmtray.platform.codes`): any text gives a result, never an exception.

The generated texts keep to ASCII digits and real zone offsets; the inputs known to crash
the current code (non-ASCII digits, 5000-digit codes, deep nesting) are pinned below as
expected failures of exactly those exception types: another exception fails the test,
and a fix shows as XPASS.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from glmtray.platform.codes import parse_business_error, parse_reset_time

BOUNDED = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

codes = st.one_of(
    st.integers(0, 999_999).map(str), st.sampled_from(["1302", "1308", "1313", "", "abc", "13 02"])
)
messages = st.text(alphabet=st.characters(codec="utf-8", exclude_characters='"\\'), max_size=40)
stamps = st.builds(
    lambda y, mo, d, h, mi, zone: f"{y:04d}-{mo:02d}-{d:02d} {h:02d}:{mi:02d}:00{zone}",
    st.integers(0, 9999),
    st.integers(0, 13),
    st.integers(0, 32),
    st.integers(0, 25),
    st.integers(0, 59),
    st.sampled_from(["", "Z", " UTC", "+08:00", "-0530", " GMT+8", " UTC-12"]),
)


def json_error(code: str, message: str) -> str:
    return '{"error":{"code":"' + code + '","message":"' + message + '"}}'


def json_envelope(code: str, message: str) -> str:
    return '{"code":' + (code or "0") + ',"msg":"' + message + '"}'


def escaped_error(code: str, message: str) -> str:
    return "API Error: 429 " + json_error(code, message).replace('"', '\\"')


texts = st.one_of(
    st.text(alphabet=st.characters(codec="ascii"), max_size=80),
    st.builds(json_error, codes, messages),
    st.builds(json_envelope, codes, messages),
    st.builds(escaped_error, codes, messages),
    st.builds(
        lambda c, m, t: f"API Error: 429 [{c}][{m}][{t}]", codes, messages, st.text(max_size=8)
    ),
    st.builds(
        lambda s, w: f"Your limit will {w} at {s}",
        stamps,
        st.sampled_from(["reset", "重置", "be fine"]),
    ),
)


@BOUNDED
@given(text=texts)
@example(text='{"error":{"code":"1308","message":"[1308][reset at 2026-01-01 10:00:00][t]"}}')
def test_business_error_text(text: str) -> None:
    code, message, trace = parse_business_error(text)
    assert code is None or isinstance(code, int)
    assert isinstance(message, str) and (trace is None or isinstance(trace, str))


@BOUNDED
@given(text=texts)
@example(text="will reset at 2026-01-01 10:00 +99:00")
@example(text="will reset at 0000-00-00 25:61:00 GMT+8")
def test_reset_time_text(text: str) -> None:
    moment = parse_reset_time(text)
    assert moment is None or (isinstance(moment, datetime) and moment.tzinfo is not None)


ONCE_CRASHED = [
    pytest.param(parse_business_error, '{"code":"²"}', id="superscript-digit-code"),
    pytest.param(
        parse_business_error, '{"error":{"code":"' + "9" * 5000 + '"}}', id="5000-digit-code"
    ),
    pytest.param(parse_business_error, '{"a":' * 5000, id="deep-nesting"),
]


@pytest.mark.parametrize(("parse", "text"), ONCE_CRASHED)
def test_texts_that_once_crashed_give_a_result(parse: object, text: str) -> None:
    code, message, trace = parse(text)  # type: ignore[operator]
    assert code is None or isinstance(code, int)
    assert isinstance(message, str) and (trace is None or isinstance(trace, str))
