"""Renewal reminders: the money side of the plan. Pure rules, tested without Qt.

The platform charges at renewal unless the subscription is cancelled at least three days
before, and refunds nothing, so glmtray reminds the user before that last day, on it,
and (with auto-renew off) before the plan ends. Each reminder is sent once per renewal
date; after a renewal the next date starts the cycle again.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal

from glmtray.alerts import Notification
from glmtray.i18n import _, day_month
from glmtray.platform.models import Subscription
from glmtray.platform.regions import Region, info
from glmtray.settings import Settings

PLAN_ENDING_NOTICE_DAYS = 3
CURRENCY_SYMBOLS = {"USD": "$", "CNY": "¥"}


def money(amount: Decimal | None, currency: str | None) -> str | None:
    if amount is None:
        return None
    text = f"{amount:.2f}".removesuffix(".00")
    symbol = CURRENCY_SYMBOLS.get(currency or "")
    return f"{symbol}{text}" if symbol else f"{text} {currency or ''}".strip()


def short_day(day: date) -> str:
    """ "12 Feb" / "2月12日"."""
    return day_month(day)


def manual_subscription(settings: Settings, plan_name: str | None) -> Subscription | None:
    """The renewal date the user entered by hand, as a subscription, or None."""
    if not settings.manual_renewal_date:
        return None
    try:
        day = date.fromisoformat(settings.manual_renewal_date)
    except ValueError:
        return None
    return Subscription(
        product=plan_name or "GLM Coding Plan",
        product_id=None,
        status="VALID",
        in_current_period=True,
        auto_renew=True,
        next_renewal=day,
        billing_cycle=settings.manual_billing_cycle,
        price=None,
        currency=None,
        entered_by_hand=True,
    )


def renewal_notifications(
    sub: Subscription,
    settings: Settings,
    region: Region,
    now: datetime,
    sent: set[str],
    tz: tzinfo | None = None,
) -> list[Notification]:
    renewal_day = sub.local_renewal_day(tz)
    cancel_by = sub.local_cancel_by(tz)
    if renewal_day is None or cancel_by is None:
        return []
    today = now.astimezone(tz).date()
    url = info(region).subscription_page
    price = money(sub.price, sub.currency)
    result: list[Notification] = []

    def once(key: str, title: str, body: str, urgent: bool = False) -> None:
        if key not in sent:
            sent.add(key)
            result.append(Notification(key, "renewal", title, body, url=url, urgent=urgent))

    stamp = renewal_day.isoformat()
    if sub.auto_renew is False:
        days_left = (renewal_day - today).days
        if settings.notify_plan_ending and 0 <= days_left <= PLAN_ENDING_NOTICE_DAYS:
            once(
                f"renewal:ending:{stamp}",
                _("{plan} ends on {day}").format(plan=sub.product, day=short_day(renewal_day)),
                _(
                    "Auto-renew is off, so the plan stops then. "
                    "Renew it on the subscription page to keep coding."
                ),
            )
        return result
    reminder_from = cancel_by - timedelta(days=settings.renewal_reminder_days)
    if settings.notify_renewal and reminder_from <= today < cancel_by:
        # The title says what and when; the body what it costs and what to do.
        body = (
            _("The charge is {price}. To stop it, cancel by {day}: there are no refunds.")
            if price
            else _("To stop it, cancel by {day}: there are no refunds.")
        )
        once(
            f"renewal:before:{stamp}",
            _("{plan} renews on {day}").format(plan=sub.product, day=short_day(renewal_day)),
            body.format(price=price, day=short_day(cancel_by)),
        )
    if settings.notify_cancel_day and today == cancel_by:
        body = (
            _(
                "{plan} renews on {day} for {price}. "
                "Cancel today to stop it: there are no refunds after renewal."
            )
            if price
            else _(
                "{plan} renews on {day}. "
                "Cancel today to stop it: there are no refunds after renewal."
            )
        )
        once(
            f"renewal:cancel-day:{stamp}",
            _("Last day to cancel"),
            body.format(plan=sub.product, day=short_day(renewal_day), price=price),
            urgent=True,
        )
    return result
