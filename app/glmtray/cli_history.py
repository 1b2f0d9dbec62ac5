"""`glmtray history`: each quota window's share over a span, from the local history the
tray records, and the platform's model tokens and tool calls for it (E3, E4).

It signs in as `status` does (GLMTRAY_API_KEY, else the keyring's key for the region),
shares its exit codes and error output, and reads the history file without writing it.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from glmtray.i18n import _

if TYPE_CHECKING:
    from glmtray.history.store import HistoryRow, HistoryStore
    from glmtray.history.views import HistoryView, Span, UsageBucket

HELP = _("print quota windows, model tokens and tool calls over the last 24 hours, 7 or 30 days")
DESCRIPTION = _(
    "Each quota window's share used over the span, as the tray recorded it at each refresh, "
    "and the platform's model tokens and tool calls per hour (24h) or per day (7d, 30d)."
)
READ_BUSY_TIMEOUT = 1.0
"""While the tray writes the history, wait this long, then show the platform's usage alone."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from glmtray.cli import EXIT_CODES_HELP, add_timeout_argument
    from glmtray.platform.regions import Region

    parser.epilog = EXIT_CODES_HELP
    parser.add_argument(
        "--span",
        choices=["24h", "7d", "30d"],
        default="24h",
        help=_("how far back to look (default: 24h)"),
    )
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help=_("machine-readable output"))
    form.add_argument(
        "--csv",
        action="store_true",
        help=_("one CSV table: timestamp, kind, name, value, unit"),
    )
    add_timeout_argument(parser)
    parser.add_argument(
        "--region", choices=[r.value for r in Region], help=_("default: the saved region")
    )
    parser.add_argument(
        "--base-url", help=_("platform address override (https, or http on loopback)")
    )


def run(args: argparse.Namespace) -> int:
    from glmtray.cli import (
        EXIT_OK,
        EXIT_USAGE,
        GRACE_SECONDS,
        _api_key,
        _base_url,
        _bounded,
        _fail,
        _region,
        _settings,
    )
    from glmtray.credentials import Account
    from glmtray.errors import AuthenticationFailed, GlmtrayError
    from glmtray.history.export import view_csv, view_json
    from glmtray.history.views import Span, UsageCache, load_history_view
    from glmtray.platform.client import PlatformClient, Timeouts
    from glmtray.timeutil import utcnow

    if not math.isfinite(args.timeout) or args.timeout <= 0:
        print(_("glmtray: --timeout takes a positive number of seconds"), file=sys.stderr)
        return EXIT_USAGE
    span = Span(args.span)
    region = _region(args)
    try:
        key = _api_key(region)
    except GlmtrayError as error:
        return _fail(error, args.json)
    settings = _settings()
    account = Account(region, settings.account_label)
    timeout = min(max(0.5, args.timeout), 600.0)
    timeouts = Timeouts(connect=min(5.0, timeout), read=timeout, total=timeout)
    cache = UsageCache()
    now = utcnow()
    store = _open_store(account.username)
    try:
        base_url = _base_url(args)

        def fetch() -> HistoryView:
            client = PlatformClient(key, region, base_url=base_url, timeouts=timeouts)
            with client, client.budget(timeout):
                return load_history_view(
                    client,
                    store,
                    span,
                    now,
                    cache,
                    peak_rule=settings.peak_rule,
                    peak_hours=settings.peak_hours,
                )

        view = _bounded(fetch, timeout + GRACE_SECONDS)
    except GlmtrayError as error:
        return _fail(error, args.json)
    finally:
        store.close()
    last = cache.last(span)
    problem = None if last is None else (last.models_error or last.tools_error)
    if isinstance(problem, AuthenticationFailed):
        return _fail(problem, args.json)
    if args.json:
        print(json.dumps(view_json(view), indent=2, ensure_ascii=False))
    elif args.csv:
        sys.stdout.write(view_csv(view))
    else:
        print(history_text(view, settings.peak_hours))
    if problem is not None:
        print(f"glmtray: {problem.title}: {problem.message}", file=sys.stderr)
        return problem.exit_code
    return EXIT_OK


class _NoHistory:
    """No history file yet (the tray has not run for this account): no readings."""

    def read(self, since: datetime, until: datetime) -> list[HistoryRow]:
        return []

    def close(self) -> None:
        pass


def _open_store(account: str) -> _NoHistory | HistoryStore:
    from glmtray.history.recorder import HISTORY_FILE  # the file the tray's recorder writes
    from glmtray.history.store import HistoryStore
    from glmtray.settings import data_dir

    path = data_dir() / HISTORY_FILE
    if not path.exists():  # reading must not create the tray's file
        return _NoHistory()
    return HistoryStore(path, account, busy_timeout=READ_BUSY_TIMEOUT)


# -- the text table ---------------------------------------------------------------------


def _span_title(span: Span) -> str:
    from glmtray.history.views import Span

    return {
        Span.DAY: _("last 24 hours"),
        Span.WEEK: _("last 7 days"),
        Span.MONTH: _("last 30 days"),
    }[span]


def _when(moment: datetime) -> str:
    """ "1 Dec 16:45" in local time, in the user's language."""
    from glmtray.i18n import day_month_clock

    return day_month_clock(moment.astimezone())


def _bucket_label(bucket: UsageBucket) -> str:
    """An hour in local time ("Tue 16:00"); a day as the platform counts it, in UTC+8
    ("Tue 1 Dec")."""
    from glmtray.i18n import day_month, weekday_clock, weekday_name
    from glmtray.platform.usage import DAY
    from glmtray.timeutil import PLATFORM_TZ

    if bucket.length >= DAY:
        day = bucket.start.astimezone(PLATFORM_TZ).date()
        return f"{weekday_name(day)} {day_month(day)}"
    return weekday_clock(bucket.start.astimezone())


def _count(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{round(value):,}"


def _in_peak(bucket: UsageBucket, periods: Sequence[tuple[datetime, datetime]]) -> bool:
    end = bucket.start + bucket.length
    return any(start < end and bucket.start < stop for start, stop in periods)


def _name(key: str) -> str:
    from glmtray.platform.usage import ALL_MODELS

    return _("All models") if key == ALL_MODELS else key


def _table(
    title: str,
    buckets: Sequence[UsageBucket],
    extra: Sequence[UsageBucket],
    extra_title: str,
    periods: Sequence[tuple[datetime, datetime]],
) -> list[str]:
    from glmtray.platform.usage import DAY

    names: list[str] = []
    for bucket in buckets:
        names.extend(name for name in bucket.values if name not in names)
    daily = bool(buckets) and buckets[0].length >= DAY
    headers = [_("Day") if daily else _("Time"), *(_name(n) for n in names)]
    if extra:
        headers.append(extra_title)
    rows: list[list[str]] = []
    for index, bucket in enumerate(buckets):
        label = _bucket_label(bucket) + (" *" if _in_peak(bucket, periods) else "  ")
        row = [label, *(_count(bucket.values.get(n)) for n in names)]
        if extra:
            other = extra[index].values if index < len(extra) else {}
            row.append(_count(sum(other.values())) if other else "-")
        rows.append(row)
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    return [title, *(_aligned(cells, widths) for cells in (headers, *rows))]


def _aligned(cells: Sequence[str], widths: Sequence[int]) -> str:
    """The first column to the left, numbers to the right."""
    padded = [
        cell.ljust(width) if index == 0 else cell.rjust(width)
        for index, (cell, width) in enumerate(zip(cells, widths, strict=True))
    ]
    return "  " + "  ".join(padded).rstrip()


def _shares(view: HistoryView) -> list[str]:
    from glmtray.i18n import ngettext

    lines = [_("Quota windows (share used)")]
    if not view.windows:
        lines.append(
            "  " + _("No readings in this span yet: the tray records the windows at each refresh.")
        )
        return lines
    from glmtray.report import display_width
    from glmtray.wording import window_name

    names = {window.key: window_name(window.key, window.label) for window in view.windows}
    width = max(display_width(name) for name in names.values())
    for window in view.windows:
        now_share = window.points[-1].share * 100 if window.points else 0.0
        highest = max((p.share for p in window.points), default=0.0) * 100
        resets = len(window.resets)
        if resets:
            reset_text = ngettext(
                "{n} reset, the last {when}", "{n} resets, the last {when}", resets
            ).format(n=resets, when=_when(window.resets[-1]))
        else:
            reset_text = _("no reset")
        line = _("now {now:.0f} %, highest {highest:.0f} %, {resets}").format(
            now=now_share, highest=highest, resets=reset_text
        )
        name = names[window.key]
        lines.append(f"  {name}{' ' * (width - display_width(name))}  {line}")
    return lines


def _totals(title: str, totals: dict[str, float] | None) -> list[str]:
    if not totals:
        return []
    whole = sum(totals.values())
    parts = [
        _("{name} {count} ({share:.0f} %)").format(
            name=name, count=_count(value), share=100 * value / whole if whole else 0
        )
        for name, value in sorted(totals.items(), key=lambda item: -item[1])
    ]
    return ["  " + title.format(items=", ".join(parts))]


def history_text(view: HistoryView, peak_hours: str) -> str:
    """The view as a readable text table (times in local time; days are the platform's)."""
    from glmtray.platform.usage import DAY

    lines = [
        _("Usage history, {span} ({start} to {end})").format(
            span=_span_title(view.span), start=_when(view.start), end=_when(view.end)
        ),
        "",
        *_shares(view),
    ]
    daily = bool(view.model_tokens or view.tool_calls) and all(
        b.length >= DAY for b in (*view.model_tokens, *view.tool_calls)
    )
    if view.model_tokens:
        title = (
            _("Model tokens per day (days in UTC+8)")
            if daily
            else _("Model tokens per hour (* peak hours, UTC+8 {hours})").format(hours=peak_hours)
        )
        periods = () if daily else view.peak_periods
        lines += ["", *_table(title, view.model_tokens, view.model_calls, _("Calls"), periods)]
        lines += _totals(_("Tokens by model over the span: {items}"), dict(view.model_totals))
    if view.tool_calls:
        title = _("Tool calls per day (days in UTC+8)") if daily else _("Tool calls per hour")
        periods = () if daily else view.peak_periods
        lines += ["", *_table(title, view.tool_calls, (), "", periods)]
    if view.usage_note:
        lines += ["", view.usage_note]
    elif not view.model_tokens and not view.tool_calls:
        lines += ["", _("The platform reported no model or tool usage for this span.")]
    return "\n".join(lines)


def main(argv: Sequence[str]) -> int:
    from glmtray.cli import main as cli_main

    return cli_main(["history", *argv])
