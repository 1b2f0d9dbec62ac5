"""The quota and renewal shapes seen live in 2026, read by the real client over loopback
HTTP from the simulator, and the wording `status` and the panel give them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone

import pytest

from glmtray.platform.client import PlatformClient
from glmtray.platform.models import FIVE_HOUR, MONTHLY_TOOLS, WEEKLY, Quota, QuotaWindow, Snapshot
from glmtray.platform.parsing import parse_window, renewal_day, window_share
from glmtray.platform.regions import Region
from glmtray.report import (
    NO_WINDOWS_WARNING,
    reset_phrase,
    snapshot_json,
    snapshot_text,
    window_figures,
)
from glmtray.simulator import SIMULATOR_API_KEY, PlatformSimulator
from glmtray.timeutil import PLATFORM_TZ

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def sim() -> Iterator[PlatformSimulator]:
    with PlatformSimulator("pro", clock=NOW.timestamp) as simulator:
        yield simulator


def snapshot_of(sim: PlatformSimulator, scenario: str) -> Snapshot:
    sim.set_scenario(scenario)
    with PlatformClient(SIMULATOR_API_KEY, Region.GLOBAL, base_url=sim.base_url) as client:
        return client.snapshot(include_risk=False)


def window(snapshot: Snapshot, window_id: str) -> QuotaWindow:
    found = snapshot.quota.window(window_id) if snapshot.quota else None
    assert found is not None, [w.id for w in snapshot.windows]
    return found


def test_credit_windows_keep_their_absolute_figures(sim: PlatformSimulator) -> None:
    snap = snapshot_of(sim, "credit_max")
    five = window(snap, FIVE_HOUR)
    assert (five.used, five.limit, five.type) == (5184, 28000, "CREDIT_LIMIT")
    assert five.unit_name == "credits" and five.has_counts
    # The true share, not the platform's floor of 18.
    assert five.used_percent == pytest.approx(100 * 5184 / 28000)
    assert five.platform_percent == 18
    assert window_figures(five) == "5,184 of 28,000 credits"
    assert snap.quota is not None and snap.quota.uses_credits
    data = snapshot_json(snap)
    row = next(w for w in data["windows"] if w["id"] == FIVE_HOUR)
    assert row["figures"] == "5,184 of 28,000 credits" and row["unit_name"] == "credits"
    assert row["used_percent"] == 18.5
    assert "5,184 of 28,000 credits" in snapshot_text(snap, NOW)


def test_floored_percentages_that_tie_do_not_pick_the_wrong_blocking_window(
    sim: PlatformSimulator,
) -> None:
    snap = snapshot_of(sim, "floor_tie")
    five, weekly = window(snap, FIVE_HOUR), window(snap, WEEKLY)
    assert five.platform_percent == weekly.platform_percent == 11
    assert five.used_percent == pytest.approx(100 * 1438 / 12000)
    assert weekly.used_percent == pytest.approx(100 * 6700 / 60000)
    # On the floors alone the weekly window (resetting last) would win the tie.
    assert snap.blocking_window is not None and snap.blocking_window.id == FIVE_HOUR
    assert snapshot_json(snap)["blocking_window"] == FIVE_HOUR


def test_an_unknown_length_is_a_window_of_its_own_with_a_readable_label(
    sim: PlatformSimulator,
) -> None:
    snap = snapshot_of(sim, "floor_tie")
    ids = [w.id for w in snap.windows]
    assert ids == [FIVE_HOUR, WEEKLY, "credit_limit_3_72"]
    odd = window(snap, "credit_limit_3_72")
    assert odd.label == "72-hour window"
    # 71 of 10000 is 0.71 %: the platform's floor raised to 1 is not used when counts exist.
    assert odd.platform_percent == 1 and odd.used_percent == pytest.approx(0.71)


def test_a_pair_in_an_unknown_unit_is_never_folded_into_a_known_window() -> None:
    row = parse_window({"type": "TOKENS_LIMIT", "unit": 4, "number": 7, "percentage": 40})
    assert row.id == "tokens_limit_4_7" and row.id != WEEKLY
    assert "unit 4" in row.label  # no guess at what unit 4 means
    weekish = parse_window({"type": "TOKENS_LIMIT", "unit": 6, "number": 2, "percentage": 5})
    assert weekish.id == "tokens_limit_6_2" and weekish.label == "2-week window"
    tools = parse_window({"type": "TIME_LIMIT", "unit": 6, "number": 1, "percentage": 5})
    assert tools.id == "time_limit_6_1" and tools.label == "1-week tool calls"


def test_legacy_rows_fall_back_to_the_platform_percentage(sim: PlatformSimulator) -> None:
    snap = snapshot_of(sim, "legacy_tokens")
    five = window(snap, FIVE_HOUR)
    assert five.used is None and five.limit is None and five.used_percent == 9
    assert window_figures(five) is None
    # In use with no reset time: unknown, not "not started".
    assert five.resets_at is None and five.reset_unknown
    assert reset_phrase(five, NOW) == "reset time unknown"
    tools = window(snap, MONTHLY_TOOLS)
    # No `usage` on the TIME_LIMIT row: the percentage counts, the count is kept.
    assert tools.used == 12 and tools.limit is None and tools.used_percent == 2
    assert reset_phrase(tools, NOW) == "reset time unknown"
    assert "reset time unknown" in snapshot_text(snap, NOW)
    assert not snap.quota or not snap.quota.uses_credits


def test_an_idle_window_is_still_not_started(sim: PlatformSimulator) -> None:
    snap = snapshot_of(sim, "idle")
    five = window(snap, FIVE_HOUR)
    assert five.resets_at is None and not five.reset_unknown
    assert reset_phrase(five, NOW) == "not started"


def test_counts_past_the_cap_read_full_with_nothing_left(sim: PlatformSimulator) -> None:
    snap = snapshot_of(sim, "v1_overrun")
    assert [w.id for w in snap.windows] == [FIVE_HOUR]
    five = window(snap, FIVE_HOUR)
    assert five.used_percent == 100 and five.remaining == 0 and five.is_exhausted
    assert window_figures(five) == "200,112,618 of 200,000,000 tokens"


def test_a_plan_without_windows_is_a_state_of_its_own(sim: PlatformSimulator) -> None:
    snap = snapshot_of(sim, "team_plan")
    assert snap.quota is not None and snap.quota.windows == ()
    assert not snap.quota.has_windows and not snap.has_windows
    assert snap.blocking_window is None and snap.tier is not None
    data = snapshot_json(snap)
    assert data["windows"] == [] and data["has_windows"] is False
    assert data["blocking_window"] is None and NO_WINDOWS_WARNING in data["warnings"]
    text = snapshot_text(snap, NOW)
    assert "No quota windows" in text and "100" not in text.split("Renews")[0]


def test_a_stale_renewal_date_gives_way_to_the_end_of_the_valid_range(
    sim: PlatformSimulator,
) -> None:
    snap = snapshot_of(sim, "stale_renewal")
    sub = snap.subscription
    assert sub is not None and sub.valid_until is not None and sub.valid_from is not None
    today = NOW.astimezone(PLATFORM_TZ).date()
    assert sub.next_renewal == sub.valid_until.astimezone(PLATFORM_TZ).date()
    assert sub.next_renewal > today
    assert sub.renews_at == sub.valid_until


def test_renewal_day_rules() -> None:
    end = datetime(2026, 3, 12, 16, 55, 13, tzinfo=PLATFORM_TZ)
    now = datetime(2026, 2, 12, 9, 0, tzinfo=PLATFORM_TZ)
    # On the renewal day the capture names the start of the period: stale.
    assert renewal_day(date(2026, 2, 12), end, now) == date(2026, 3, 12)
    # A future date is kept, even one before the end of the range.
    assert renewal_day(date(2026, 2, 20), end, now) == date(2026, 2, 20)
    # No date: the end of the range; nothing at all: None.
    assert renewal_day(None, end, now) == date(2026, 3, 12)
    assert renewal_day(None, None, now) is None
    # A past date with no later range end stays (never an invented date).
    assert renewal_day(date(2026, 2, 1), None, now) == date(2026, 2, 1)
    assert renewal_day(date(2026, 2, 1), end - timedelta(days=40), now) == date(2026, 2, 1)


@pytest.mark.parametrize(
    ("used", "limit", "percentage", "share"),
    [
        (1438, 12000, 11, 100 * 1438 / 12000),
        (71, 10000, 1, 0.71),
        (200112618, 200000000, 100, 100.0),
        (None, None, 17, 17.0),
        (5, None, 3, 3.0),
        (5, 0, 3, 3.0),
        (None, None, None, 0.0),
        (0, 1000, 0, 0.0),
    ],
)
def test_window_share(
    used: int | None, limit: int | None, percentage: float | None, share: float
) -> None:
    assert window_share(used, limit, percentage) == pytest.approx(share)


def test_blocking_window_ties_on_true_shares_go_to_the_later_reset() -> None:
    soon = datetime(2026, 12, 1, 10, tzinfo=timezone.utc)
    late = soon + timedelta(days=3)
    a = QuotaWindow("five_hour", "CREDIT_LIMIT", 50.0, soon, used=1000, limit=2000)
    b = QuotaWindow("weekly", "CREDIT_LIMIT", 50.0, late, used=5000, limit=10000)
    assert Quota("pro", (a, b)).blocking_window is b
