"""The demo's living history: the days before the demo started, as its simulator would
have answered them, so the forecast and the history window have something to show at once."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from glmtray.history.recorder import history_rows
from glmtray.history.store import HistoryRow, HistoryStore
from glmtray.platform.models import Snapshot
from glmtray.platform.parsing import parse_quota
from glmtray.platform.regions import Region
from glmtray.simulator.scenarios import Call, demo_quota

SEED_DAYS = 3
SEED_STEP = timedelta(minutes=5)


def seed_demo_history(store: HistoryStore, now: float, days: int = SEED_DAYS) -> int:
    """Write `days` of readings every `SEED_STEP` up to `now` (the simulator's clock, epoch
    seconds), each what the demo scenario answers at that moment; the readings written."""
    end = datetime.fromtimestamp(now, tz=timezone.utc)
    moment = end - timedelta(days=days)
    rows: list[HistoryRow] = []
    while moment < end:
        reply = demo_quota(Call(moment.timestamp()))
        quota = parse_quota(reply.payload["data"])
        snapshot = Snapshot(Region.GLOBAL, moment, quota, None, risk_restricted=None)
        rows.extend(history_rows(snapshot, moment))
        moment += SEED_STEP
    store.add(end, rows)
    return len(rows)
