"""E3 (model usage) and E4 (tool usage): the platform's span rules, read by the real client
from the real simulator over loopback, and the per-span cache that keeps the platform
asked at most once every 10 minutes, one request at a time, keeping old data on failure."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from glmtray.errors import UnexpectedResponse
from glmtray.history.views import Span, UsageCache, load_history_view
from glmtray.platform import usage
from glmtray.platform.client import PlatformClient, Timeouts
from glmtray.platform.regions import Region
from glmtray.simulator import (
    MODEL_USAGE_PATH,
    SIMULATOR_API_KEY,
    TOOL_USAGE_PATH,
    PlatformSimulator,
    RecordedRequest,
)

UTC8 = timezone(timedelta(hours=8))
T0 = datetime(2026, 11, 26, 9, 30, 15, tzinfo=timezone.utc)  # 17:30:15 in UTC+8, a Thursday
USAGE_PATHS = (MODEL_USAGE_PATH, TOOL_USAGE_PATH)


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now.timestamp()


class NoHistory:
    """A store with no readings: these tests are about E3/E4 (the store has its own)."""

    def read(self, since: datetime, until: datetime) -> list[Any]:
        return []


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sim(clock: Clock) -> Iterator[PlatformSimulator]:
    with PlatformSimulator("pro", clock=clock, slow_seconds=1.0) as simulator:
        yield simulator


@pytest.fixture
def client(sim: PlatformSimulator) -> Iterator[PlatformClient]:
    timeouts = Timeouts(connect=2.0, read=5.0)
    with PlatformClient(
        SIMULATOR_API_KEY, Region.GLOBAL, base_url=sim.base_url, timeouts=timeouts
    ) as platform:
        yield platform


def usage_requests(sim: PlatformSimulator) -> list[RecordedRequest]:
    return [r for r in sim.requests if r.path in USAGE_PATHS]


# -- span rules -------------------------------------------------------------------------


def test_24_hours_come_in_hourly_buckets_asked_in_utc8(
    sim: PlatformSimulator, client: PlatformClient
) -> None:
    start = Span.DAY.usage_start(T0)
    assert start == datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)
    models = client.model_usage_buckets(start, T0)
    tools = client.tool_usage_buckets(start, T0)

    for request in usage_requests(sim):
        assert request.query == {
            "startTime": "2026-11-25 17:00:00",
            "endTime": "2026-11-26 17:30:15",
        }
        assert request.auth_form == "raw"
    assert [r.path for r in usage_requests(sim)] == [MODEL_USAGE_PATH, TOOL_USAGE_PATH]
    for buckets in (models.tokens, models.calls, tools.calls):
        assert len(buckets) == 25
        assert [b.start for b in buckets] == [start + timedelta(hours=i) for i in range(25)]
        assert {b.length for b in buckets} == {timedelta(hours=1)}
    # Busy platform hours have tokens, and the totals are the platform's own.
    assert models.total_tokens is not None and models.total_tokens > 0
    assert models.total_calls is not None and models.total_calls > 0
    assert sum(b.values[usage.ALL_MODELS] for b in models.tokens) == models.total_tokens
    assert sum(b.values[usage.ALL_MODELS] for b in models.calls) == models.total_calls
    assert set(models.tokens_by_model) == {"glm-4.6", "glm-4.5-air"}
    assert sum(models.tokens_by_model.values()) == models.total_tokens
    assert set(tools.calls_by_tool) == {"search", "web-reader", "zread"}
    for tool in ("search", "web-reader", "zread"):
        assert sum(b.values[tool] for b in tools.calls) == tools.calls_by_tool[tool]


@pytest.mark.parametrize(
    ("span", "days", "first_day"),
    [(Span.WEEK, 8, "2026-11-19 00:00:00"), (Span.MONTH, 31, "2026-10-27 00:00:00")],
)
def test_7_and_30_days_come_in_daily_buckets_of_platform_days(
    sim: PlatformSimulator, client: PlatformClient, span: Span, days: int, first_day: str
) -> None:
    start = span.usage_start(T0)
    assert start <= T0 - span.duration < start + timedelta(days=1)
    assert T0 - start < usage.MAX_SPAN
    models = client.model_usage_buckets(start, T0)
    tools = client.tool_usage_buckets(start, T0)
    assert [r.query["startTime"] for r in usage_requests(sim)] == [first_day, first_day]
    assert {r.query["endTime"] for r in usage_requests(sim)} == {"2026-11-26 17:30:15"}
    for buckets in (models.tokens, tools.calls):
        assert len(buckets) == days
        assert {b.length for b in buckets} == {timedelta(days=1)}
        for bucket in buckets:  # each a whole platform day: midnight in UTC+8
            local = bucket.start.astimezone(UTC8)
            assert (local.hour, local.minute) == (0, 0) and bucket.start.tzinfo is timezone.utc
    assert models.tokens[-1].start.astimezone(UTC8).date().isoformat() == "2026-11-26"


def test_the_48_hour_boundary_decides_hourly_or_daily(
    sim: PlatformSimulator, client: PlatformClient
) -> None:
    two_days = client.model_usage_buckets(T0 - timedelta(hours=48), T0)
    assert {b.length for b in two_days.tokens} == {timedelta(hours=1)}
    assert len(two_days.tokens) == 49
    longer = client.model_usage_buckets(T0 - timedelta(hours=48, seconds=1), T0)
    assert {b.length for b in longer.tokens} == {timedelta(days=1)}
    assert len(longer.tokens) == 3


def test_a_span_over_31_days_is_refused_before_any_request(
    sim: PlatformSimulator, client: PlatformClient
) -> None:
    for call in (
        client.model_usage_buckets,
        client.tool_usage_buckets,
        client.model_usage,
        client.tool_usage,
    ):
        with pytest.raises(usage.SpanRefused, match="31 days"):
            call(T0 - timedelta(days=32), T0)
        with pytest.raises(usage.SpanRefused):
            call(T0 - timedelta(days=31, seconds=1), T0)
        with pytest.raises(usage.SpanRefused):
            call(T0, T0 - timedelta(seconds=1))
    assert sim.requests == []
    # 31 days exactly is the platform's limit, not beyond it: asked, and answered.
    month = client.model_usage_buckets(T0 - timedelta(days=31), T0)
    assert len(month.tokens) == 32 and len(sim.requests) == 1


def test_the_simulator_refuses_what_the_client_never_asks(sim: PlatformSimulator) -> None:
    """The platform's own refusal, for a client that would ask: HTTP 200, success false."""
    import httpx

    params = {"startTime": "2026-10-01 00:00:00", "endTime": "2026-11-26 00:00:00"}
    for path in USAGE_PATHS:
        answer = httpx.get(
            sim.base_url + path, params=params, headers={"Authorization": SIMULATOR_API_KEY}
        )
        body = answer.json()
        assert answer.status_code == 200 and body["success"] is False
        assert body["code"] == 400 and "31 days" in body["msg"]


def test_naive_times_are_refused(client: PlatformClient) -> None:
    with pytest.raises(usage.SpanRefused, match="aware"):
        client.model_usage_buckets(datetime(2026, 11, 25), datetime(2026, 11, 26))


# -- the cache ----------------------------------------------------------------------------


def test_one_fetch_per_span_every_10_minutes(
    sim: PlatformSimulator, client: PlatformClient, clock: Clock
) -> None:
    cache = UsageCache()
    first = load_history_view(client, NoHistory(), Span.DAY, T0, cache)
    assert len(usage_requests(sim)) == 2 and first.usage_note is None
    assert first.usage_fetched_at == T0

    clock.now = T0 + timedelta(minutes=9, seconds=59)
    again = load_history_view(client, NoHistory(), Span.DAY, clock.now, cache)
    assert len(usage_requests(sim)) == 2  # not asked again
    assert again.model_tokens == first.model_tokens and again.usage_fetched_at == T0
    assert again.end == clock.now  # the window shares still end now

    week = load_history_view(client, NoHistory(), Span.WEEK, clock.now, cache)
    assert len(usage_requests(sim)) == 4  # another span has its own 10 minutes
    assert {b.length for b in week.model_tokens} == {timedelta(days=1)}

    clock.now = T0 + timedelta(minutes=10)
    later = load_history_view(client, NoHistory(), Span.DAY, clock.now, cache)
    assert len(usage_requests(sim)) == 6
    assert later.usage_fetched_at == clock.now
    assert later.model_tokens[0].start == datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)


def test_one_request_in_flight_per_span(clock: Clock) -> None:
    with (
        PlatformSimulator("slow", clock=clock, slow_seconds=1.0) as sim,
        PlatformClient(SIMULATOR_API_KEY, Region.GLOBAL, base_url=sim.base_url) as client,
    ):
        cache = UsageCache()
        views: list[Any] = []
        start = threading.Barrier(3)

        def look() -> None:
            start.wait()
            views.append(load_history_view(client, NoHistory(), Span.DAY, T0, cache))

        threads = [threading.Thread(target=look) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert len(views) == 3
        assert [r.path for r in usage_requests(sim)] == [MODEL_USAGE_PATH, TOOL_USAGE_PATH]
        assert all(v.model_tokens == views[0].model_tokens for v in views)
        assert len(views[0].model_tokens) == 25 and views[0].usage_note is None


def test_a_failed_fetch_keeps_the_last_good_data_and_says_how_old(
    sim: PlatformSimulator, client: PlatformClient, clock: Clock
) -> None:
    cache = UsageCache()
    good = load_history_view(client, NoHistory(), Span.DAY, T0, cache)
    assert good.model_tokens and good.tool_calls

    sim.set_scenario("http_500")
    clock.now = T0 + timedelta(minutes=25)
    kept = load_history_view(client, NoHistory(), Span.DAY, clock.now, cache)
    # The road failed: E4 is not asked after E3 failed that way.
    assert [r.path for r in usage_requests(sim)][2:] == [MODEL_USAGE_PATH]
    assert kept.model_tokens == good.model_tokens and kept.tool_calls == good.tool_calls
    assert kept.model_totals == good.model_totals and kept.usage_fetched_at == T0
    assert kept.usage_note is not None
    assert "could not be refreshed" in kept.usage_note
    assert "HTTP 500" in kept.usage_note and "25 min old" in kept.usage_note

    sim.set_scenario("pro")
    clock.now = T0 + timedelta(minutes=36)
    fresh = load_history_view(client, NoHistory(), Span.DAY, clock.now, cache)
    assert fresh.usage_note is None and fresh.usage_fetched_at == clock.now


def test_a_failure_with_nothing_kept_says_so(
    sim: PlatformSimulator, client: PlatformClient
) -> None:
    sim.set_scenario("rate_limited")
    view = load_history_view(client, NoHistory(), Span.WEEK, T0, UsageCache())
    assert view.model_tokens == () and view.tool_calls == () and view.model_totals == {}
    assert view.usage_fetched_at is None
    assert view.usage_note is not None and "could not be loaded" in view.usage_note


def test_wrong_shapes_are_explained_not_crashed_on(
    sim: PlatformSimulator, client: PlatformClient
) -> None:
    sim.set_scenario("wrong_shape")  # E3's data is a string, E4's a list
    view = load_history_view(client, NoHistory(), Span.DAY, T0, UsageCache())
    assert view.model_tokens == () and view.tool_calls == ()
    assert view.usage_note is not None and "unexpected shape" in view.usage_note
    assert len(usage_requests(sim)) == 2  # a bad body is no reason to skip the other

    sim.set_scenario("pro")
    view = load_history_view(client, NoHistory(), Span.DAY, T0, UsageCache())
    assert view.usage_note is None


def test_one_series_failing_keeps_the_other(
    sim: PlatformSimulator, client: PlatformClient, clock: Clock
) -> None:
    cache = UsageCache()
    tools_then_broken: list[bool] = []

    def tools() -> usage.ToolUsage:
        if tools_then_broken:
            raise UnexpectedResponse("The platform's tool usage data has an unexpected shape.")
        tools_then_broken.append(True)
        return client.tool_usage_buckets(Span.DAY.usage_start(clock.now), clock.now)

    def models() -> usage.ModelUsage:
        return client.model_usage_buckets(Span.DAY.usage_start(clock.now), clock.now)

    first = cache.get(Span.DAY, T0, models, tools)
    assert first.models is not None and first.tools is not None
    clock.now = T0 + timedelta(minutes=12)
    second = cache.get(Span.DAY, clock.now, models, tools)
    assert second.models_at == clock.now and second.models_error is None
    assert second.tools is first.tools and second.tools_at == T0
    assert second.tools_error is not None
    from glmtray.history.views import usage_note

    note = usage_note(second, clock.now)
    assert note is not None and note.startswith("Tool usage could not be refreshed")
    assert "12 min old" in note


def test_a_rejected_key_is_not_tried_on_the_second_endpoint(clock: Clock) -> None:
    with (
        PlatformSimulator("wrong_key", clock=clock) as sim,
        PlatformClient(SIMULATOR_API_KEY, Region.GLOBAL, base_url=sim.base_url) as client,
    ):
        cache = UsageCache()
        view = load_history_view(client, NoHistory(), Span.DAY, T0, cache)
        # Raw key, then Bearer once (the platform's auth order), then nothing more.
        assert [(r.path, r.auth_form) for r in sim.requests] == [
            (MODEL_USAGE_PATH, "wrong"),
            (MODEL_USAGE_PATH, "wrong"),
        ]
        assert view.usage_note is not None and "could not be loaded" in view.usage_note
        assert SIMULATOR_API_KEY not in view.usage_note
        last = cache.last(Span.DAY)
        assert last is not None and last.models_error is last.tools_error


# -- robust parsing -----------------------------------------------------------------------


def test_quirky_bodies_are_read() -> None:
    data = {
        "x_time": ["2026-11-26 10:00", "2026-11-26 11:00", "2026-11-26 12:00"],
        "modelCallCount": ["3", None, 7.0],
        "tokensUsage": [1200, "3400"],  # shorter than x_time: the last bucket has no value
        "extraSeries": [1, 2, 3],
        "totalUsage": {
            "totalModelCallCount": "10",
            "totalTokensUsage": None,
            "modelSummaryList": [
                {"modelName": "glm-5-preview", "totalTokens": "4600"},
                {"modelName": None, "totalTokens": 5},
                "not an entry",
                {"modelName": "glm-4.6", "totalTokens": 0},
            ],
        },
    }
    models = usage.parse_model_usage(data, usage.HOUR)
    # One model used in the span: its name keys the buckets.
    assert [dict(b.values) for b in models.tokens] == [
        {"glm-5-preview": 1200.0},
        {"glm-5-preview": 3400.0},
        {},
    ]
    assert [dict(b.values) for b in models.calls] == [
        {"glm-5-preview": 3.0},
        {},
        {"glm-5-preview": 7.0},
    ]
    assert models.tokens[0].start == datetime(2026, 11, 26, 2, 0, tzinfo=timezone.utc)
    assert models.tokens_by_model == {"glm-5-preview": 4600.0, "glm-4.6": 0.0}
    assert models.total_tokens is None and models.total_calls == 10.0

    tools = usage.parse_tool_usage(
        {
            "x_time": ["2026-11-25", "2026-11-26"],
            "networkSearchCount": [1, "2"],
            "webReadMcpCount": None,
            "visionMcpCount": [0, 4],
            "zreadMcpCount": "seven",
            "totalUsage": {"totalNetworkSearchCount": 3, "totalVisionMcpCount": "4", "x": 1},
        },
        usage.HOUR,  # asked hourly, answered in days: the labels say what they are
    )
    assert [b.length for b in tools.calls] == [usage.DAY, usage.DAY]
    assert tools.calls[0].start == datetime(2026, 11, 24, 16, 0, tzinfo=timezone.utc)
    assert [dict(b.values) for b in tools.calls] == [
        {"search": 1.0, "vision": 0.0},
        {"search": 2.0, "vision": 4.0},
    ]
    assert tools.calls_by_tool == {"search": 3.0, "vision": 4.0}


def test_empty_usage_is_no_buckets() -> None:
    models = usage.parse_model_usage({"x_time": [], "tokensUsage": []}, usage.DAY)
    assert models.tokens == () and models.tokens_by_model == {}
    assert usage.parse_tool_usage({}, usage.DAY).calls == ()


@pytest.mark.parametrize(
    "data",
    [
        None,
        "no data",
        [1, 2, 3],
        {"x_time": "2026-11-26 10:00"},
        {"x_time": ["yesterday"]},
        {"x_time": [20261126]},
        {"x_time": ["2026-11-26 10:00"] * (usage.MAX_BUCKETS + 1)},
    ],
)
def test_bad_bodies_are_a_clear_error(data: object) -> None:
    for parse in (usage.parse_model_usage, usage.parse_tool_usage):
        with pytest.raises(UnexpectedResponse) as caught:
            parse(data, usage.HOUR)
        assert caught.value.message and "usage" in caught.value.message


@pytest.mark.parametrize(
    ("field", "tool"),
    [
        ("networkSearchCount", "search"),
        ("totalWebReadMcpCount", "web-reader"),
        ("zreadMcpCount", "zread"),
        ("imageGenMcpCount", "image-gen"),
        ("totalUsage", None),
        ("x_time", None),
        ("Count", None),
    ],
)
def test_tool_names(field: str, tool: str | None) -> None:
    assert usage.tool_name(field) == tool


def test_quirky_usage_from_the_simulator_is_read(
    sim: PlatformSimulator, client: PlatformClient
) -> None:
    sim.set_scenario("quirky")
    view = load_history_view(client, NoHistory(), Span.DAY, T0, UsageCache())
    assert view.usage_note is None
    assert len(view.model_tokens) == 25
    assert all(isinstance(b.values[usage.ALL_MODELS], float) for b in view.model_tokens)
    assert view.model_calls[0].values == {}  # the null bucket: no value, not a zero
    assert view.model_totals["glm-4.5v"] == 0.0 and len(view.model_totals) == 3
    assert set(view.tool_totals) == {"search", "web-reader", "zread", "vision"}
    assert sum(b.values["vision"] for b in view.tool_calls) == view.tool_totals["vision"]
    assert sum(b.values["search"] for b in view.tool_calls) == view.tool_totals["search"]


def test_the_demo_usage_is_deterministic_and_lives_with_the_clock(clock: Clock) -> None:
    def look(at: datetime) -> Any:
        clock.now = at
        with (
            PlatformSimulator("demo", clock=clock) as sim,
            PlatformClient(SIMULATOR_API_KEY, Region.GLOBAL, base_url=sim.base_url) as client,
        ):
            return load_history_view(client, NoHistory(), Span.DAY, at, UsageCache())

    first, same = look(T0), look(T0)
    assert first.model_tokens == same.model_tokens and first.model_totals == same.model_totals
    later = look(T0 + timedelta(hours=3))
    assert later.model_tokens[0].start == first.model_tokens[3].start
    # Hours both views hold as whole hours read the same; new hours appear at the end.
    assert later.model_tokens[0].values == first.model_tokens[3].values
    assert later.model_tokens[-1].start == first.model_tokens[-1].start + timedelta(hours=3)
    assert later.model_totals != first.model_totals
    light = [v.model_totals["glm-4.5-air"] / sum(v.model_totals.values()) for v in (first, later)]
    assert light[0] != light[1] and all(0.1 <= share <= 0.4 for share in light)


def test_a_bug_in_a_fetch_is_not_cached_as_no_usage(
    sim: PlatformSimulator, client: PlatformClient
) -> None:
    cache = UsageCache()

    def refused() -> usage.ModelUsage:
        return client.model_usage_buckets(T0 - timedelta(days=40), T0)

    def tools() -> usage.ToolUsage:
        return client.tool_usage_buckets(Span.DAY.usage_start(T0), T0)

    with pytest.raises(usage.SpanRefused):
        cache.get(Span.DAY, T0, refused, tools)
    assert cache.last(Span.DAY) is None and cache.due(Span.DAY, T0)
    assert sim.requests == []
    view = load_history_view(client, NoHistory(), Span.DAY, T0, cache)
    assert len(view.model_tokens) == 25 and view.usage_note is None
