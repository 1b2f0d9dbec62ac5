"""A history view as CSV (one tidy table) or JSON (the view's own structure).

The CSV has one row per value: `timestamp,kind,name,value,unit`, the timestamp in ISO 8601
with its offset. Kinds:

- `window_share`: a window's share used at a refresh (`name` its key, unit `percent`);
- `window_reset`: a window reset (no value);
- `peak_period`: the start of a peak period, its length in hours;
- `model_tokens`, `model_calls`: per bucket (unit `tokens/hour`, `calls/day`, ...), named
  by model, or `all_models` where the platform does not split the bucket by model;
- `tool_calls`: per tool per bucket;
- `model_tokens_total`, `tool_calls_total`: the platform's totals over the usage span,
  stamped with its first bucket's start.

Names, kinds and units are fixed identifiers (not translated): files are read by programs.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta, timezone, tzinfo

from glmtray.history.views import HistoryView, UsageBucket
from glmtray.platform.usage import DAY, HOUR

CSV_COLUMNS = ("timestamp", "kind", "name", "value", "unit")


def iso(moment: datetime, tz: tzinfo = timezone.utc) -> str:
    """ISO 8601 with the offset written out ("2026-11-26T09:00:00+00:00")."""
    return moment.astimezone(tz).isoformat(timespec="seconds")


def number(value: float) -> int | float:
    """A count as an int when it is whole (tokens, calls), else the float."""
    if math.isfinite(value) and value == int(value):
        return int(value)
    return value


def _text(value: float) -> str:
    return str(number(value))


def _per(length: timedelta) -> str:
    if length == HOUR:
        return "hour"
    if length == DAY:
        return "day"
    return f"{int(length.total_seconds())}s"


def _percent(share: float) -> float:
    return round(share * 100, 2)


def _bucket_rows(
    kind: str, what: str, buckets: Sequence[UsageBucket], tz: tzinfo
) -> Iterator[list[str]]:
    for bucket in buckets:
        for name, value in bucket.values.items():
            yield [iso(bucket.start, tz), kind, name, _text(value), f"{what}/{_per(bucket.length)}"]


def _total_rows(
    kind: str, unit: str, totals: Mapping[str, float], buckets: Sequence[UsageBucket], tz: tzinfo
) -> Iterator[list[str]]:
    if not totals or not buckets:
        return
    stamp = iso(buckets[0].start, tz)
    for name, value in totals.items():
        yield [stamp, kind, name, _text(value), unit]


def csv_rows(view: HistoryView, tz: tzinfo = timezone.utc) -> Iterator[list[str]]:
    """The CSV's rows, header excluded."""
    for window in view.windows:
        for point in window.points:
            yield [
                iso(point.at, tz),
                "window_share",
                window.key,
                _text(_percent(point.share)),
                "percent",
            ]
        for reset in window.resets:
            yield [iso(reset, tz), "window_reset", window.key, "", ""]
    for start, end in view.peak_periods:
        hours = round((end - start).total_seconds() / 3600, 4)
        yield [iso(start, tz), "peak_period", view.peak_rule or "peak", _text(hours), "hours"]
    yield from _bucket_rows("model_tokens", "tokens", view.model_tokens, tz)
    yield from _bucket_rows("model_calls", "calls", view.model_calls, tz)
    yield from _bucket_rows("tool_calls", "calls", view.tool_calls, tz)
    yield from _total_rows("model_tokens_total", "tokens", view.model_totals, view.model_tokens, tz)
    yield from _total_rows("tool_calls_total", "calls", view.tool_totals, view.tool_calls, tz)


def view_csv(view: HistoryView, tz: tzinfo = timezone.utc) -> str:
    """The view as one tidy CSV table (RFC 4180, CRLF line ends), times in `tz`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(csv_rows(view, tz))
    return out.getvalue()


def _buckets_json(buckets: Sequence[UsageBucket], tz: tzinfo) -> list[dict[str, object]]:
    return [
        {
            "start": iso(b.start, tz),
            "length_seconds": int(b.length.total_seconds()),
            "values": {name: number(value) for name, value in b.values.items()},
        }
        for b in buckets
    ]


def view_json(view: HistoryView, tz: tzinfo = timezone.utc) -> dict[str, object]:
    """The view as JSON-able data, named as HistoryView's fields; times in ISO 8601 with
    the offset, shares 0..1, counts as integers where whole."""
    return {
        "span": view.span.value,
        "start": iso(view.start, tz),
        "end": iso(view.end, tz),
        "windows": [
            {
                "key": w.key,
                "label": w.label,
                "points": [{"at": iso(p.at, tz), "share": p.share} for p in w.points],
                "resets": [iso(r, tz) for r in w.resets],
            }
            for w in view.windows
        ],
        "peak_rule": view.peak_rule or None,
        "peak_periods": [{"start": iso(a, tz), "end": iso(b, tz)} for a, b in view.peak_periods],
        "model_tokens": _buckets_json(view.model_tokens, tz),
        "model_calls": _buckets_json(view.model_calls, tz),
        "tool_calls": _buckets_json(view.tool_calls, tz),
        "model_totals": {name: number(v) for name, v in view.model_totals.items()},
        "tool_totals": {name: number(v) for name, v in view.tool_totals.items()},
        "usage_fetched_at": iso(view.usage_fetched_at, tz) if view.usage_fetched_at else None,
        "usage_note": view.usage_note,
    }
