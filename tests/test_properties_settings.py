"""Property tests for the settings loader: any bytes in settings.json give settings (with a
notice when the file was unusable, which is then set aside), never an exception."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glmtray.settings import Settings, SettingsStore

BOUNDED = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.sampled_from(["china", "global", "dark", "9" * 500, "\ud800"]),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=10,
)
known = st.fixed_dictionaries(
    {},
    optional={
        f: values
        for f in (
            "region",
            "refresh_seconds",
            "thresholds",
            "notify_reset",
            "meter_port",
            "icon_style",
            "manual_renewal_date",
            "extra",
            "schema_version",
            "renewal_reminder_days",
            "peak_hours",
        )
    },
)


def check(path: Path, content: bytes) -> None:
    for old in path.parent.glob("settings.json*"):
        old.unlink()
    path.write_bytes(content)
    result = SettingsStore(path).load()
    assert isinstance(result.settings, Settings)
    loaded = result.settings
    assert loaded.refresh_seconds >= 60 and 1024 <= loaded.meter_port <= 65535
    assert all(1 <= t <= 100 for t in loaded.thresholds)
    if result.notice is not None:
        assert not path.exists() and len(list(path.parent.glob("settings.json.corrupt-*"))) == 1
    else:
        SettingsStore(path).save(loaded)  # what loaded can be saved back


def encode(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode("utf-8", "surrogatepass")


@BOUNDED
@given(
    content=st.one_of(
        st.binary(max_size=300),
        known.map(encode),
        values.map(encode),
        known.map(lambda v: b"\xef\xbb\xbf" + encode(v)),
    )
)
def test_any_settings_file_loads(tmp_path: Path, content: bytes) -> None:
    check(tmp_path / "settings.json", content)
