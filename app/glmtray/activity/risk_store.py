"""Risk state kept between runs, in the event store: the last risk-flag reading and which
notices were already sent, so a restart neither loses an episode nor repeats a notice.

Both are the store's account's own (`EventStore.get_state` is per account): a china
key's flag reading or sent notices never answer for a global key."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

from glmtray.activity.events import EventStore, Signal, to_utc_iso
from glmtray.activity.risk import RiskFlagReading
from glmtray.activity.risk_text import Notice
from glmtray.platform.codes import CodeClass

RISK_FLAG_STATE_KEY = "risk.flag_last"
NOTICES_SENT_STATE_KEY = "risk.notices_sent"


def load_risk_flag(store: EventStore) -> RiskFlagReading | None:
    """The last reading persisted by `record_risk_flag`, or None if there is none."""
    text = store.get_state(RISK_FLAG_STATE_KEY)
    if not text:
        return None
    try:
        data = json.loads(text)
        value = data["value"]
        moment = datetime.fromisoformat(data["time"])
    except (ValueError, KeyError, TypeError):
        return None
    if value is not None and not isinstance(value, bool):
        return None
    return RiskFlagReading(value, moment)


def record_risk_flag(store: EventStore, value: bool | None, now: datetime) -> RiskFlagReading:
    """Keep the reading, and store a restriction signal while the flag reads true.

    True readings are stored at most once per hour (the poller reads it often), plus one
    at the last true reading when it flips to false, so that the episode's last-seen
    time is exact without an event per poll.
    """
    previous = load_risk_flag(store)
    reading = RiskFlagReading(value, now)
    if value is True:
        store.add(_flag_signal(now, f"risk_flag:{to_utc_iso(now)[:13]}"))
    elif previous is not None and previous.value is True:
        store.add(_flag_signal(previous.time, f"risk_flag:last:{to_utc_iso(previous.time)}"))
    store.set_state(RISK_FLAG_STATE_KEY, json.dumps({"value": value, "time": to_utc_iso(now)}))
    return reading


def _flag_signal(moment: datetime, dedup_key: str) -> Signal:
    return Signal(
        time=moment,
        source="risk_flag",
        code=None,
        message="The platform's risk-control flag reads restricted.",
        dedup_key=dedup_key,
        code_class=CodeClass.RESTRICTED,
    )


class NoticeLedger:
    """Remembers which notices were sent, in the event store, so a restart does not
    send the same episode's notice again."""

    def __init__(self, store: EventStore, keep: int = 200) -> None:
        self._store = store
        self._keep = keep

    def _sent(self) -> list[str]:
        text = self._store.get_state(NOTICES_SENT_STATE_KEY)
        try:
            value = json.loads(text) if text else []
        except ValueError:
            return []
        return [str(item) for item in value] if isinstance(value, list) else []

    def take_unsent(self, notices: Iterable[Notice]) -> list[Notice]:
        """The notices not sent before; marks them as sent."""
        sent = self._sent()
        known = set(sent)
        fresh: list[Notice] = []
        for notice in notices:
            if notice.dedup_key not in known:
                fresh.append(notice)
                known.add(notice.dedup_key)
                sent.append(notice.dedup_key)
        if fresh:
            self._store.set_state(NOTICES_SENT_STATE_KEY, json.dumps(sent[-self._keep :]))
        return fresh
