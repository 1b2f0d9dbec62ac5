"""Peak and off-peak: the rule table, the period boundaries across days, weeks and zones,
and the wording in local time."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from glmtray.peak import CREDIT, PEAK_RULES, TOKEN, is_peak_time, peak_phrase, peak_status, rule_for
from glmtray.platform.models import Quota, QuotaWindow
from glmtray.timeutil import PLATFORM_TZ

ROOT = Path(__file__).resolve().parent.parent
UTC8 = PLATFORM_TZ
TOKYO = timezone(timedelta(hours=9), "UTC+9")
NEW_YORK_WINTER = timezone(timedelta(hours=-5), "UTC-5")


def at(y: int, mo: int, d: int, h: int, mi: int = 0, tz: timezone = UTC8) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=tz)


# 2026-12-04 is a Friday, 2026-12-07 a Monday (both in UTC+8).


def test_credit_rule_weekday_afternoon_is_peak_at_1x() -> None:
    status = peak_status(at(2026, 12, 2, 15), CREDIT)  # Wednesday 15:00 UTC+8
    assert status.peak_now and status.multiplier == 1.0 and status.rule == "credit"
    assert status.until == at(2026, 12, 2, 18)
    assert status.until.tzinfo is not None and status.until.utcoffset() == timedelta(0)


def test_credit_rule_morning_is_off_peak_until_the_afternoon() -> None:
    status = peak_status(at(2026, 12, 2, 9, 30), CREDIT)
    assert not status.peak_now and status.multiplier == 0.5
    assert status.until == at(2026, 12, 2, 14)


def test_friday_18_00_is_off_peak_until_monday_14_00() -> None:
    for moment in (at(2026, 12, 4, 18), at(2026, 12, 5, 15), at(2026, 12, 6, 23, 59)):
        status = peak_status(moment, CREDIT)
        assert not status.peak_now and status.multiplier == 0.5
        assert status.until == at(2026, 12, 7, 14)
    assert peak_status(at(2026, 12, 4, 17, 59), CREDIT).peak_now


def test_the_boundaries_themselves() -> None:
    assert is_peak_time(at(2026, 12, 7, 14), PEAK_RULES[CREDIT])
    assert not is_peak_time(at(2026, 12, 7, 13, 59), PEAK_RULES[CREDIT])
    assert not is_peak_time(at(2026, 12, 7, 18), PEAK_RULES[CREDIT])


def test_the_week_boundary_is_the_platform_s_not_the_user_s() -> None:
    # Sunday 23:00 in New York is Monday 12:00 UTC+8: off-peak, peak at 14:00 UTC+8.
    sunday_evening = datetime(2026, 12, 6, 23, 0, tzinfo=NEW_YORK_WINTER)
    status = peak_status(sunday_evening, CREDIT)
    assert not status.peak_now and status.until == at(2026, 12, 7, 14)
    # Monday 01:30 New York is Monday 14:30 UTC+8: peak.
    assert peak_status(datetime(2026, 12, 7, 1, 30, tzinfo=NEW_YORK_WINTER), CREDIT).peak_now
    # Friday 19:30 in Tokyo is Friday 18:30 UTC+8: the weekend has begun.
    friday_tokyo = datetime(2026, 12, 4, 19, 30, tzinfo=TOKYO)
    assert peak_status(friday_tokyo, CREDIT).until == at(2026, 12, 7, 14)


def test_naive_times_are_read_as_utc() -> None:
    assert peak_status(datetime(2026, 12, 2, 7, 0), CREDIT).peak_now  # 15:00 UTC+8


def test_token_rule_counts_3x_every_day_at_peak() -> None:
    saturday = peak_status(at(2026, 12, 5, 15), TOKEN)
    assert saturday.peak_now and saturday.multiplier == 3.0 and saturday.rule == "token"
    assert saturday.until == at(2026, 12, 5, 18)
    evening = peak_status(at(2026, 12, 5, 19), TOKEN)
    assert not evening.peak_now and evening.multiplier == 1.0
    assert evening.until == at(2026, 12, 6, 14)


def test_peak_hours_come_from_the_setting_and_may_wrap_midnight() -> None:
    status = peak_status(at(2026, 12, 2, 23), TOKEN, "22:00-02:00")
    assert status.peak_now and status.until == at(2026, 12, 3, 2)
    # The window belongs to the day it starts: Friday 23:00 is peak on the credit rule,
    # Saturday 23:00 is not, and Saturday 01:00 (Friday's window) still is.
    assert peak_status(at(2026, 12, 4, 23), CREDIT, "22:00-02:00").peak_now
    assert peak_status(at(2026, 12, 5, 1), CREDIT, "22:00-02:00").peak_now
    assert not peak_status(at(2026, 12, 5, 23), CREDIT, "22:00-02:00").peak_now
    # A bad setting falls back to the default hours.
    assert peak_status(at(2026, 12, 2, 15), CREDIT, "nonsense").peak_now


def test_the_rule_follows_the_quota_unless_chosen() -> None:
    credit = QuotaWindow("five_hour", "CREDIT_LIMIT", 10.0, None, used=1, limit=10)
    tokens = QuotaWindow("five_hour", "TOKENS_LIMIT", 10.0, None)
    assert rule_for(Quota("max", (credit,))) == CREDIT
    assert rule_for(Quota("pro", (tokens,))) == TOKEN
    assert rule_for(Quota("pro", ())) == TOKEN
    assert rule_for(None) == TOKEN
    assert rule_for(Quota("max", (credit,)), "token") == TOKEN
    assert rule_for(Quota("pro", (tokens,)), "credit") == CREDIT
    assert rule_for(Quota("max", (credit,)), "bogus") == CREDIT


def test_wording_in_local_time() -> None:
    # Saturday 10:00 UTC+8, read in Tokyo (UTC+9): off-peak until Monday 15:00 Tokyo time.
    now = at(2026, 12, 5, 10)
    status = peak_status(now, CREDIT)
    assert peak_phrase(status, now, TOKYO) == "Off-peak until Mon 15:00: usage counts half"
    peak_now = at(2026, 12, 2, 15)
    assert (
        peak_phrase(peak_status(peak_now, CREDIT), peak_now, UTC8)
        == "Peak until 18:00 (UTC+8 14:00-18:00): usage counts in full"
    )
    assert (
        peak_phrase(peak_status(peak_now, TOKEN), peak_now, TOKYO)
        == "Peak until 19:00 (UTC+8 14:00-18:00): usage counts 3x"
    )
    evening = at(2026, 12, 2, 20)
    assert (
        peak_phrase(peak_status(evening, TOKEN), evening, UTC8)
        == "Off-peak until Thu 14:00: usage counts 1x"
    )


def test_json_shape() -> None:
    data = peak_status(at(2026, 12, 4, 18), CREDIT).to_json()
    assert data == {
        "now": "off-peak",
        "until": "2026-12-07T06:00:00Z",
        "multiplier": 0.5,
        "rule": "credit",
    }


@pytest.mark.skipif(sys.platform == "win32", reason="Windows ignores the TZ variable")
@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        ("UTC", "Off-peak until Mon 06:00: usage counts half"),
        ("Asia/Shanghai", "Off-peak until Mon 14:00: usage counts half"),
        ("America/New_York", "Off-peak until Mon 01:00: usage counts half"),
    ],
)
def test_wording_follows_the_tz_environment(zone: str, expected: str) -> None:
    # Friday 18:00 UTC+8 = Friday 05:00 in New York: "Mon 01:00" is within the week.
    code = (
        "from datetime import datetime\n"
        "from glmtray.peak import peak_status, peak_phrase\n"
        "from glmtray.timeutil import PLATFORM_TZ\n"
        "now = datetime(2026, 12, 4, 18, tzinfo=PLATFORM_TZ)\n"
        "print(peak_phrase(peak_status(now, 'credit'), now))\n"
    )
    env = {**os.environ, "TZ": zone, "PYTHONPATH": str(ROOT / "app")}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected
