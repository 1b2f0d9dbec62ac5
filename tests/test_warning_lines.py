"""A snapshot's warnings as people read them: in their language, each fact once; the
English stays in the snapshot for scripts."""

from __future__ import annotations

from glmtray import i18n
from glmtray.catalogs import ensure_compiled
from glmtray.errors import PlatformUnavailable
from glmtray.platform.models import Section
from glmtray.report import warning_lines

UNREACHABLE = PlatformUnavailable()
WARNINGS = [
    f"Quota: {UNREACHABLE.source_message}",
    f"Subscription: {UNREACHABLE.source_message}",
    "Something the parser noticed",
]
PROBLEMS = {Section.QUOTA: UNREACHABLE, Section.SUBSCRIPTION: UNREACHABLE}


def test_endpoints_failing_alike_make_one_line() -> None:
    i18n.set_language("en")
    lines = warning_lines(WARNINGS, PROBLEMS)
    assert lines == [
        f"Quota and subscription: {UNREACHABLE.message}",
        "Something the parser noticed",
    ]


def test_in_chinese_the_endpoints_and_the_message_are_chinese(chinese: None) -> None:
    unreachable = PlatformUnavailable()  # made in the user's language, as at a fetch
    lines = warning_lines(
        WARNINGS[:2], {Section.QUOTA: unreachable, Section.SUBSCRIPTION: unreachable}
    )
    assert len(lines) == 1
    assert "额度" in lines[0] and "订阅" in lines[0]
    assert "Quota" not in lines[0] and "could not be reached" not in lines[0]


def test_the_concurrency_tooltip_line_is_one_sentence_in_either_language() -> None:
    from glmtray.activity.concurrency import ConcurrencyState

    state = ConcurrencyState(None, None, 2, 1, "1-2", None, 3, None, peak_now=False)
    i18n.set_language("en")
    assert state.tooltip_line == "Concurrency: 2 sessions in 1 project active, limit seen ≈3"
    ensure_compiled()
    i18n.set_language("zh_CN")
    try:
        line = state.tooltip_line
        assert line == "并发：1 个项目中有 2 个会话活跃，观察到的上限 ≈3"
    finally:
        i18n.set_language("en")
