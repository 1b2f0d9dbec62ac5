"""CSV and JSON of a history view, checked field by field: a view with known values gives
known rows, and a view loaded from the real store and simulator is written out whole."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from glmtray.history.export import CSV_COLUMNS, view_csv, view_json
from glmtray.history.store import HistoryRow, HistoryStore
from glmtray.history.views import (
    HistoryView,
    SharePoint,
    Span,
    UsageBucket,
    UsageCache,
    WindowSeries,
    load_history_view,
)
from glmtray.platform.client import PlatformClient
from glmtray.platform.regions import Region
from glmtray.simulator import SIMULATOR_API_KEY, PlatformSimulator

UTC = timezone.utc
UTC8 = timezone(timedelta(hours=8))
T0 = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
HOUR = timedelta(hours=1)


def known_view() -> HistoryView:
    return HistoryView(
        span=Span.DAY,
        start=T0 - timedelta(days=1),
        end=T0,
        windows=(
            WindowSeries(
                key="five_hour",
                label="5-hour",
                points=(
                    SharePoint(T0 - 2 * HOUR, 0.1198),
                    SharePoint(T0 - HOUR, 0.0),
                ),
                resets=(T0 - timedelta(minutes=90),),
            ),
            WindowSeries(key="weekly", label='Weekly, "quoted"', points=(), resets=()),
        ),
        peak_periods=((T0 - timedelta(hours=3, minutes=30), T0),),
        model_tokens=(UsageBucket(T0 - timedelta(minutes=30), HOUR, {"all_models": 149340.0}),),
        tool_calls=(
            UsageBucket(
                T0 - timedelta(minutes=30), HOUR, {"search": 2.0, "web-reader": 0.0, "vision": 1.5}
            ),
        ),
        usage_note=None,
        model_totals={"glm-4.6": 116485.0, "glm-4.5-air": 32855.0},
        tool_totals={"search": 2.0},
        model_calls=(UsageBucket(T0 - timedelta(minutes=30), HOUR, {"all_models": 7.0}),),
        usage_fetched_at=T0,
        peak_rule="credit",
    )


def test_csv_rows_field_by_field() -> None:
    text = view_csv(known_view())
    assert text.endswith("\r\n")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [
        ["timestamp", "kind", "name", "value", "unit"],
        ["2026-11-26T07:30:00+00:00", "window_share", "five_hour", "11.98", "percent"],
        ["2026-11-26T08:30:00+00:00", "window_share", "five_hour", "0", "percent"],
        ["2026-11-26T08:00:00+00:00", "window_reset", "five_hour", "", ""],
        ["2026-11-26T06:00:00+00:00", "peak_period", "credit", "3.5", "hours"],
        ["2026-11-26T09:00:00+00:00", "model_tokens", "all_models", "149340", "tokens/hour"],
        ["2026-11-26T09:00:00+00:00", "model_calls", "all_models", "7", "calls/hour"],
        ["2026-11-26T09:00:00+00:00", "tool_calls", "search", "2", "calls/hour"],
        ["2026-11-26T09:00:00+00:00", "tool_calls", "web-reader", "0", "calls/hour"],
        ["2026-11-26T09:00:00+00:00", "tool_calls", "vision", "1.5", "calls/hour"],
        ["2026-11-26T09:00:00+00:00", "model_tokens_total", "glm-4.6", "116485", "tokens"],
        ["2026-11-26T09:00:00+00:00", "model_tokens_total", "glm-4.5-air", "32855", "tokens"],
        ["2026-11-26T09:00:00+00:00", "tool_calls_total", "search", "2", "calls"],
    ]


def test_csv_timestamps_in_another_zone_keep_their_offset() -> None:
    rows = list(csv.reader(io.StringIO(view_csv(known_view(), UTC8))))
    assert rows[1][0] == "2026-11-26T15:30:00+08:00"
    for stamp in (r[0] for r in rows[1:]):
        assert datetime.fromisoformat(stamp).utcoffset() == timedelta(hours=8)


def test_json_field_by_field() -> None:
    data = view_json(known_view())
    assert json.loads(json.dumps(data)) == data  # plain JSON types only
    assert data == {
        "span": "24h",
        "start": "2026-11-25T09:30:00+00:00",
        "end": "2026-11-26T09:30:00+00:00",
        "windows": [
            {
                "key": "five_hour",
                "label": "5-hour",
                "points": [
                    {"at": "2026-11-26T07:30:00+00:00", "share": 0.1198},
                    {"at": "2026-11-26T08:30:00+00:00", "share": 0.0},
                ],
                "resets": ["2026-11-26T08:00:00+00:00"],
            },
            {"key": "weekly", "label": 'Weekly, "quoted"', "points": [], "resets": []},
        ],
        "peak_rule": "credit",
        "peak_periods": [
            {"start": "2026-11-26T06:00:00+00:00", "end": "2026-11-26T09:30:00+00:00"}
        ],
        "model_tokens": [
            {
                "start": "2026-11-26T09:00:00+00:00",
                "length_seconds": 3600,
                "values": {"all_models": 149340},
            }
        ],
        "model_calls": [
            {
                "start": "2026-11-26T09:00:00+00:00",
                "length_seconds": 3600,
                "values": {"all_models": 7},
            }
        ],
        "tool_calls": [
            {
                "start": "2026-11-26T09:00:00+00:00",
                "length_seconds": 3600,
                "values": {"search": 2, "web-reader": 0, "vision": 1.5},
            }
        ],
        "model_totals": {"glm-4.6": 116485, "glm-4.5-air": 32855},
        "tool_totals": {"search": 2},
        "usage_fetched_at": "2026-11-26T09:30:00+00:00",
        "usage_note": None,
    }
    assert isinstance(data["model_totals"]["glm-4.6"], int)  # type: ignore[index]


def test_a_real_view_written_out_whole(tmp_path: Path) -> None:
    """Every share, reset, peak period and bucket of a view from the real store and the
    simulator appears in the CSV once, with the values the view holds."""
    store = HistoryStore(tmp_path / "history.sqlite3", "global:default")
    try:
        for hours, share in ((30, 0.5), (6, 0.7), (3, 0.05), (1, 0.35)):
            at = T0 - timedelta(hours=hours)
            resets = T0 - timedelta(hours=4) if hours > 3 else T0 + HOUR
            store.add(at, [HistoryRow(at, "five_hour", "5-hour", share, None, None, resets)])
        with (
            PlatformSimulator("pro", clock=T0.timestamp) as sim,
            PlatformClient(SIMULATOR_API_KEY, Region.GLOBAL, base_url=sim.base_url) as client,
        ):
            view = load_history_view(client, store, Span.WEEK, T0, UsageCache())
    finally:
        store.close()
    rows = list(csv.DictReader(io.StringIO(view_csv(view))))
    assert list(rows[0]) == list(CSV_COLUMNS)
    by_kind: dict[str, list[dict[str, str]]] = {}
    for entry in rows:
        by_kind.setdefault(entry["kind"], []).append(entry)

    shares = by_kind["window_share"]
    assert [float(r["value"]) for r in shares] == [50.0, 70.0, 5.0, 35.0]
    assert [datetime.fromisoformat(r["timestamp"]) for r in shares] == [
        T0 - timedelta(hours=h) for h in (30, 6, 3, 1)
    ]
    assert [datetime.fromisoformat(r["timestamp"]) for r in by_kind["window_reset"]] == [
        T0 - timedelta(hours=4)
    ]
    assert len(by_kind["peak_period"]) == len(view.peak_periods) == 8  # 6 whole, 2 clipped
    assert [float(r["value"]) for r in by_kind["peak_period"]] == [0.5, *[4.0] * 6, 3.5]
    tokens = by_kind["model_tokens"]
    assert len(tokens) == len(view.model_tokens) == 8
    for entry, bucket in zip(tokens, view.model_tokens, strict=True):
        assert datetime.fromisoformat(entry["timestamp"]) == bucket.start
        assert entry["unit"] == "tokens/day" and entry["name"] == "all_models"
        assert int(entry["value"]) == bucket.values["all_models"]
    tools = by_kind["tool_calls"]
    assert len(tools) == 3 * len(view.tool_calls)
    assert {r["name"] for r in tools} == {"search", "web-reader", "zread"}
    assert sum(int(r["value"]) for r in tools if r["name"] == "search") == int(
        view.tool_totals["search"]
    )
    totals = {r["name"]: int(r["value"]) for r in by_kind["model_tokens_total"]}
    assert totals == {k: int(v) for k, v in view.model_totals.items()}
    assert sum(totals.values()) == sum(int(r["value"]) for r in tokens)

    data = view_json(view)
    assert data["span"] == "7d" and len(data["model_tokens"]) == 8  # type: ignore[arg-type]
    assert json.loads(json.dumps(data)) == data
