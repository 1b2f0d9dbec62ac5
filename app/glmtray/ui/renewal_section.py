"""Subscription and renewal: when the plan renews or ends, the last day to cancel, the rule."""

from __future__ import annotations

from datetime import date, datetime

from PySide6.QtWidgets import QWidget

from glmtray.i18n import N_, _
from glmtray.platform.models import CANCEL_NOTICE_DAYS, Subscription
from glmtray.platform.models import Section as PlatformSection
from glmtray.renewal import manual_subscription
from glmtray.report import renewal_lines
from glmtray.state import AppState, Level, Phase
from glmtray.ui import style
from glmtray.ui.section import Section, heading_label, plain_label, scaled_font, set_colour, vbox
from glmtray.wording import billing_cycle_name

POLICY_NOTE_TOOLTIP = N_(
    "Cancel at least 3 days before billing. No refunds. Renewal charges bonus balance, "
    "then cash balance, then your payment method."
)


def urgent_cancel_line(sub: Subscription, today: date) -> int:
    """Index of the cancel-by line when the last day to cancel is close, else -1."""
    days = sub.days_to_cancel(today)
    if sub.auto_renew is False or days is None:
        return -1
    return 1 if 0 <= days <= CANCEL_NOTICE_DAYS else -1


class RenewalSection(Section):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = vbox(self, 3)
        layout.addWidget(heading_label(self.tr("SUBSCRIPTION"), self))
        self.lines = [plain_label() for _ in range(3)]
        for label in self.lines:
            layout.addWidget(label)
        self.policy_note = plain_label(
            self.tr("Cancel at least 3 days before billing. No refunds.")
        )
        self.policy_note.setFont(scaled_font(self, -1))
        self.policy_note.setToolTip(_(POLICY_NOTE_TOOLTIP))
        layout.addSpacing(2)
        layout.addWidget(self.policy_note)

    def render_state(self, state: AppState, now: datetime) -> None:
        dark = self.is_dark()
        snap = state.snapshot if state.phase is not Phase.SIGNED_OUT else None
        today = now.astimezone().date()
        lines: list[str] = []
        urgent_line = -1
        sub = snap.subscription if snap else None
        if sub is not None:
            lines = renewal_lines(sub, today)
            if sub.billing_cycle:
                lines.append(
                    self.tr("Billing cycle: {cycle}").format(
                        cycle=billing_cycle_name(sub.billing_cycle)
                    )
                )
            urgent_line = urgent_cancel_line(sub, today)
        elif snap is not None:
            manual = manual_subscription(state.settings, snap.plan_name)
            if manual is not None:
                lines = renewal_lines(manual, today)
                urgent_line = urgent_cancel_line(manual, today)
            else:
                problem = snap.problems.get(PlatformSection.SUBSCRIPTION)
                if problem is not None:
                    lines = [
                        self.tr("Renewal date unavailable: {reason}").format(reason=problem.title)
                    ]
                elif snap.quota is not None:
                    lines = [
                        self.tr(
                            "The platform did not give a renewal date. You can enter it "
                            "by hand in Settings."
                        )
                    ]
        self.setVisible(bool(lines))
        for index, label in enumerate(self.lines):
            label.setVisible(index < len(lines))
            if index < len(lines):
                label.setText(lines[index])
                urgent = index == urgent_line
                label.setFont(scaled_font(self, 0, bold=urgent))
                set_colour(label, style.level_colour(Level.WARNING, dark) if urgent else None)
        set_colour(self.policy_note, style.grey(dark))
        # The cancel rule matters only while the plan would renew.
        renews = sub is not None and sub.auto_renew is not False
        self.policy_note.setVisible(renews or urgent_line >= 0)
