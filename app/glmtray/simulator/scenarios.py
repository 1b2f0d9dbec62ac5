"""What the platform simulator answers, scenario by scenario.

Each scenario maps an endpoint path to a builder `Call -> Reply`. Builders are pure
functions of the call (clock time, query, language), so a test that moves the clock gets
moved reset times, renewal dates and demo growth, and the same clock always gives the
same answer. Shapes follow /work/shared/platform-api.md, quirks included.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from glmtray.timeutil import PLATFORM_TZ

SIMULATOR_API_KEY: str = "5f1e0c3a9b7d4e2f8a6c1b0d3e5f7a9c.SimuLatorKey2026"
DEMO_API_KEY: str = "d3m0d3m0d3m0d3m0d3m0d3m0d3m0d3m0.DemoModeKey20260"
ACCEPTED_KEYS: frozenset[str] = frozenset({SIMULATOR_API_KEY, DEMO_API_KEY})

QUOTA_PATH = "/api/monitor/usage/quota/limit"
SUBSCRIPTION_PATH = "/api/biz/subscription/list"
MODEL_USAGE_PATH = "/api/monitor/usage/model-usage"
TOOL_USAGE_PATH = "/api/monitor/usage/tool-usage"
RISK_PATH = "/api/biz/labelCustomer/isRiskCustomer"
RESET_PATH = "/api/biz/customer-package-reset/use"  # a write: a monitor must never call it
PLATFORM_PATHS: tuple[str, ...] = (
    QUOTA_PATH,
    SUBSCRIPTION_PATH,
    MODEL_USAGE_PATH,
    TOOL_USAGE_PATH,
    RISK_PATH,
)

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
HOUR, DAY = 3600.0, 86400.0
FIVE_HOURS, WEEK = 5 * HOUR, 7 * DAY


@dataclass(frozen=True)
class Reply:
    """One HTTP answer: a JSON-able payload, or raw bytes sent as they are."""

    status: int = 200
    payload: Any = None
    content_type: str = "application/json; charset=utf-8"

    @property
    def code(self) -> int | None:
        """The business code inside the body, for the request log (None if there is none)."""
        body = self.payload
        if isinstance(body, dict):
            inner = body.get("error")
            raw = inner.get("code") if isinstance(inner, dict) else body.get("code")
            try:
                return int(str(raw))
            except ValueError:
                return None
        return None

    def body(self) -> bytes:
        if isinstance(self.payload, bytes):
            return self.payload
        return json.dumps(self.payload, ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True)
class Call:
    now: float
    query: Mapping[str, str] = field(default_factory=dict)
    lang: str = "en"


Builder = Callable[[Call], Reply]


# --- envelopes ---------------------------------------------------------------------------


def ok(data: Any, call: Call | None = None) -> Reply:
    msg = "操作成功" if call is not None and call.lang == "zh" else "Operation successful"
    return Reply(200, {"code": 200, "msg": msg, "data": data, "success": True})


def biz_error(code: int, msg: str, status: int = 200) -> Reply:
    return Reply(status, {"code": code, "msg": msg, "success": False})


def const(reply: Reply) -> Builder:
    return lambda _call: reply


AUTH_401 = biz_error(401, "token expired or incorrect")
AUTH_1000 = biz_error(1000, "Authentication Failed")
AUTH_HTTP_401 = biz_error(401, "token expired or incorrect", status=401)
NOT_FOUND = biz_error(404, "Not Found: no such resource", status=404)
NO_PLAN = biz_error(500, "当前用户不存在coding plan")
EXPIRED = biz_error(1309, "Your GLM Coding Plan package has expired, please renew to continue")
LOCKED = biz_error(1112, "Your account has been locked, please contact customer service")
RATE_LIMITED = Reply(
    429,
    {
        "error": {
            "code": "1302",
            "message": "High concurrency usage of this API, please reduce concurrency "
            "or contact customer service to increase limits",
        }
    },
)
NGINX_502 = Reply(
    502,
    (
        b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
        b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
        b"</body>\r\n</html>\r\n"
    ),
    "text/html",
)
HTML_PAGE = Reply(
    200,
    (
        b'<!DOCTYPE html><html><head><meta charset="utf-8"><title>Sign in</title></head>'
        b'<body><div id="app">Please sign in to continue.</div></body></html>'
    ),
    "text/html; charset=utf-8",
)
TRUNCATED_JSON = Reply(
    200,
    b'{"code":200,"msg":"Operation successful","data":{"level":"pro",'
    b'"limits":[{"type":"TOKENS_LIMIT","unit":3,"numb',
)


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    handlers: Mapping[str, Builder]
    accept_raw: bool = True
    accept_bearer: bool = True
    keys: frozenset[str] = ACCEPTED_KEYS
    auth_failure: Reply = AUTH_401
    slow: bool = False

    def respond(self, path: str, call: Call) -> Reply:
        return self.handlers[path](call)


def server_error(path: str, now: float) -> Reply:
    """A Spring-style 500 body, as a backend behind the gateway would send it."""
    stamp = datetime.fromtimestamp(now, PLATFORM_TZ).isoformat(timespec="milliseconds")
    return Reply(
        500, {"timestamp": stamp, "status": 500, "error": "Internal Server Error", "path": path}
    )


# --- time helpers ------------------------------------------------------------------------


def local(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, PLATFORM_TZ)


def fmt_time(ts: float) -> str:
    return local(ts).strftime(TIME_FORMAT)


def fmt_date(ts: float) -> str:
    return local(ts).strftime("%Y-%m-%d")


def parse_time(text: str) -> float:
    return datetime.strptime(text.strip(), TIME_FORMAT).replace(tzinfo=PLATFORM_TZ).timestamp()


def ms(ts: float) -> int:
    return int(ts * 1000)


def _period_end(now: float, days: float) -> float:
    """A period end `days` ahead at a fixed wall time, like a purchase made at 16:55:13."""
    day = local(now + days * DAY)
    return day.replace(hour=16, minute=55, second=13, microsecond=0).timestamp()


def _month_before(ts: float) -> float:
    d = local(ts)
    year, month = (d.year, d.month - 1) if d.month > 1 else (d.year - 1, 12)
    for day in (d.day, 30, 29, 28):  # clamp 31 March -> 28/29 February
        try:
            return d.replace(year=year, month=month, day=day).timestamp()
        except ValueError:
            continue
    raise AssertionError("unreachable")


def noise(*parts: int) -> float:
    """A deterministic value in [0, 1) for the given integers (stable across runs)."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big") / 2**32


# --- E1 quota ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Tier:
    level: str
    price: int
    tool_cap: int
    tool_used: tuple[int, int, int]  # search-prime, web-reader, zread this month
    calls_per_hour: float  # E3 activity at the busiest hour
    tools_per_hour: float


TIERS = {
    "lite": Tier("lite", 10, 100, (7, 4, 1), 8.0, 0.3),
    "pro": Tier("pro", 30, 1000, (21, 12, 4), 30.0, 1.2),
    "max": Tier("max", 80, 4000, (301, 170, 41), 90.0, 4.0),
}
TOOL_CODES = ("search-prime", "web-reader", "zread")


def window(
    kind: str, unit: int, number: int, pct: int, reset_at: float | None, **extra: Any
) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": kind, "unit": unit, "number": number, "percentage": pct}
    if reset_at is not None:
        entry["nextResetTime"] = ms(reset_at)
    entry.update(extra)
    return entry


def tool_window(tier: Tier, used: tuple[int, ...], reset_at: float) -> dict[str, Any]:
    total = sum(used)
    return window(
        "TIME_LIMIT",
        5,
        1,
        min(100, total * 100 // tier.tool_cap),
        reset_at,
        usage=tier.tool_cap,
        currentValue=total,
        remaining=max(0, tier.tool_cap - total),
        usageDetails=[{"modelCode": c, "usage": u} for c, u in zip(TOOL_CODES, used, strict=True)],
    )


def quota(
    tier: str,
    five_hour: int | None,
    weekly: int,
    *,
    kind: str = "TOKENS_LIMIT",
    idle: bool = False,
    extra: Mapping[str, Any] | None = None,
) -> Builder:
    """E1 for a plan whose 5-hour window is `five_hour` % used and weekly `weekly` %."""
    t = TIERS[tier]

    def build(call: Call) -> Reply:
        now, more = call.now, dict(extra or {})
        limits = [
            window(
                kind,
                3,
                5,
                five_hour or 0,
                None if idle else now + 2 * HOUR + 13 * 60,
                **more.get("five_hour", {}),
            ),
            window(kind, 6, 1, weekly, now + 3 * DAY + 4 * HOUR, **more.get("weekly", {})),
            tool_window(t, t.tool_used, now + 17 * DAY + 6 * HOUR),
        ]
        return ok({"level": t.level, "limits": limits}, call)

    return build


# --- E2 subscriptions --------------------------------------------------------------------


def coding_sub(
    tier: str,
    end: float,
    *,
    status: str = "VALID",
    in_period: bool = True,
    auto_renew: int | bool = 1,
    renew_date: str | None = "",
) -> dict[str, Any]:
    """One subscription entry; `renew_date` "" means the end date, None means absent."""
    t = TIERS[tier]
    start = _month_before(end)
    entry: dict[str, Any] = {
        "productName": f"GLM Coding {tier.capitalize()}",
        "productId": f"coding-plan-{tier}-monthly",
        "status": status,
        "inCurrentPeriod": in_period,
        "autoRenew": auto_renew,
        "currentRenewTime": fmt_date(start),
        "valid": f"{fmt_time(start)}-{fmt_time(end)}",
        "billingCycle": "monthly",
        "initialPrice": t.price,
        "actualPrice": t.price,
        "currentPeriod": 3,
        "purchaseTime": fmt_time(_month_before(_month_before(start))),
        "paymentChannel": "card",
        "customerId": "sim-customer-0001",
    }
    if renew_date is not None:
        entry["nextRenewTime"] = renew_date or fmt_date(end)
    return entry


def other_product(end: float) -> dict[str, Any]:
    return {
        "productName": "GLM-4.6 Token Package 10M",
        "productId": "token-pack-10m",
        "status": "VALID",
        "inCurrentPeriod": True,
        "autoRenew": 0,
        "valid": f"{fmt_time(end - 90 * DAY)}-{fmt_time(end)}",
        "billingCycle": "once",
        "initialPrice": 5,
        "actualPrice": 5,
        "currentPeriod": 1,
        "customerId": "sim-customer-0001",
    }


def subscriptions(tier: str, renew_in_days: float = 20, **kw: Any) -> Builder:
    return lambda call: ok([coding_sub(tier, _period_end(call.now, renew_in_days), **kw)], call)


def no_plan_subs(call: Call) -> Reply:
    old = _period_end(call.now, -200)
    return ok(
        [
            other_product(_period_end(call.now, 60)),
            coding_sub(
                "lite", old, status="EXPIRED", in_period=False, auto_renew=0, renew_date=None
            ),
        ],
        call,
    )


# --- E3 / E4 usage series ----------------------------------------------------------------


def _diurnal(hour_start: float) -> float:
    """Busier in the platform's working hours, quiet at night (UTC+8)."""
    h = local(hour_start).hour
    return 0.08 if h < 8 else 0.5 + 0.5 * math.sin(math.pi * (h - 8) / 16)


def _hour_share(hour_start: float, now: float) -> float:
    """How much of the hour has happened: future hours are empty, the current one partial."""
    return max(0.0, min(1.0, (now - hour_start) / HOUR))


def _model_hour(tier: Tier, scale: float, h: float, now: float) -> tuple[int, int]:
    n = int(h // HOUR)
    calls = round(
        tier.calls_per_hour * scale * _diurnal(h) * (0.3 + noise(n, 1)) * _hour_share(h, now)
    )
    return calls, calls * (9000 + int(noise(n, 2) * 21000))


def _tool_hour(tier: Tier, scale: float, h: float, now: float) -> tuple[int, int, int]:
    n, base = int(h // HOUR), tier.tools_per_hour * scale * _diurnal(h) * _hour_share(h, now)
    return (
        round(base * 1.6 * noise(n, 3)),
        round(base * noise(n, 4)),
        round(base * 0.4 * noise(n, 5)),
    )


def _buckets(call: Call) -> tuple[list[str], list[list[float]]] | Reply:
    """Bucket labels and, per bucket, the hour starts it sums; or a business error."""
    try:
        start = parse_time(call.query["startTime"])
        end = parse_time(call.query["endTime"])
    except (KeyError, ValueError):
        return biz_error(400, "startTime and endTime are required, format yyyy-MM-dd HH:mm:ss")
    if end < start:
        return biz_error(400, "endTime must not be before startTime")
    if end - start > 31 * DAY:
        return biz_error(400, "The query time range cannot exceed 31 days")
    first = math.floor(start / HOUR) * HOUR  # UTC+8 is a whole-hour offset
    hours = [first + i * HOUR for i in range(int((end - first) // HOUR) + 1)]
    if end - start <= 48 * HOUR:
        return [local(h).strftime("%Y-%m-%d %H:%M") for h in hours], [[h] for h in hours]
    days: dict[str, list[float]] = {}
    for h in hours:
        days.setdefault(fmt_date(h), []).append(h)
    return list(days), list(days.values())


def _light_model_share(h: float) -> float:
    """How much of an hour's tokens went to the light model (glm-4.5-air): 10-40 %, varying
    from hour to hour, so each span's split by model is its own."""
    return 0.1 + 0.3 * noise(int(h // HOUR), 6)


def model_usage(tier: str, scale: float = 1.0) -> Builder:
    t = TIERS[tier]

    def build(call: Call) -> Reply:
        b = _buckets(call)
        if isinstance(b, Reply):
            return b
        labels, groups = b
        per = [[_model_hour(t, scale, h, call.now) for h in g] for g in groups]
        calls = [sum(c for c, _ in g) for g in per]
        tokens = [sum(k for _, k in g) for g in per]
        total = sum(tokens)
        light = sum(
            round(k * _light_model_share(h))
            for g, hours in zip(per, groups, strict=True)
            for (_, k), h in zip(g, hours, strict=True)
        )
        return ok(
            {
                "x_time": labels,
                "modelCallCount": calls,
                "tokensUsage": tokens,
                "totalUsage": {
                    "totalModelCallCount": sum(calls),
                    "totalTokensUsage": total,
                    "modelSummaryList": [
                        {"modelName": "glm-4.6", "totalTokens": total - light},
                        {"modelName": "glm-4.5-air", "totalTokens": light},
                    ],
                },
            },
            call,
        )

    return build


def tool_usage(tier: str, scale: float = 1.0) -> Builder:
    t = TIERS[tier]

    def build(call: Call) -> Reply:
        b = _buckets(call)
        if isinstance(b, Reply):
            return b
        labels, groups = b
        per = [[_tool_hour(t, scale, h, call.now) for h in g] for g in groups]
        cols = [[sum(x[i] for x in g) for g in per] for i in range(3)]
        return ok(
            {
                "x_time": labels,
                "networkSearchCount": cols[0],
                "webReadMcpCount": cols[1],
                "zreadMcpCount": cols[2],
                "totalUsage": {
                    "totalNetworkSearchCount": sum(cols[0]),
                    "totalWebReadMcpCount": sum(cols[1]),
                    "totalZreadMcpCount": sum(cols[2]),
                },
            },
            call,
        )

    return build


def risk(flag: bool) -> Builder:
    return lambda call: ok(flag, call)


# --- demo: a plan that looks alive -------------------------------------------------------

DEMO_EPOCH = 1767225600.0  # 2026-01-01 00:00 UTC; windows and billing months count from it
MONTH = 30 * DAY


def cycle(now: float, length: float) -> tuple[int, float, float]:
    """(index, start, fraction elapsed) of the fixed-length cycle containing `now`."""
    index = math.floor((now - DEMO_EPOCH) / length)
    start = DEMO_EPOCH + index * length
    return index, start, (now - start) / length


def demo_quota(call: Call) -> Reply:
    t = TIERS["pro"]
    k5, s5, f5 = cycle(call.now, FIVE_HOURS)
    kw, sw, fw = cycle(call.now, WEEK)
    _, sm, fm = cycle(call.now, MONTH)
    peak5 = 55 + 40 * noise(k5, 10)  # each 5-hour window ends at a different height
    used = round(420 * fm)
    split = (round(used * 0.55), round(used * 0.35))
    limits = [
        window("TOKENS_LIMIT", 3, 5, min(100, round(peak5 * f5**0.85)), s5 + FIVE_HOURS),
        window("TOKENS_LIMIT", 6, 1, min(100, round((40 + 25 * noise(kw, 11)) * fw)), sw + WEEK),
        tool_window(t, (split[0], split[1], used - sum(split)), sm + MONTH),
    ]
    return ok({"level": "pro", "limits": limits}, call)


def demo_subs(call: Call) -> Reply:
    _, start, _ = cycle(call.now, MONTH)
    return ok([coding_sub("pro", start + MONTH)], call)


# --- the scenarios -----------------------------------------------------------------------


def standard(tier: str = "pro", /, **overrides: Builder) -> dict[str, Builder]:
    """A healthy account of `tier`, with some endpoints replaced."""
    five, week = {"lite": (42, 18), "pro": (17, 3), "max": (8, 11)}[tier]
    handlers: dict[str, Builder] = {
        QUOTA_PATH: quota(tier, five, week),
        SUBSCRIPTION_PATH: subscriptions(tier),
        MODEL_USAGE_PATH: model_usage(tier),
        TOOL_USAGE_PATH: tool_usage(tier),
        RISK_PATH: risk(False),
    }
    handlers.update({_PATH_ALIASES[k]: v for k, v in overrides.items()})
    return handlers


_PATH_ALIASES = {
    "e1": QUOTA_PATH,
    "e2": SUBSCRIPTION_PATH,
    "e3": MODEL_USAGE_PATH,
    "e4": TOOL_USAGE_PATH,
    "e10": RISK_PATH,
}


def everywhere(builder: Builder) -> dict[str, Builder]:
    return dict.fromkeys(PLATFORM_PATHS, builder)


# fmt: off
def _quirky_quota(call: Call) -> Reply:
    now, t = call.now, TIERS["pro"]
    limits = [
        {"type": "TOKENS_LIMIT", "unit": "3", "number": "5", "percentage": "41",
         "nextResetTime": str(ms(now + 3 * HOUR)), "windowId": "w5h", "extra": {"x": 1}},
        window("FOO_LIMIT", 4, 1, 7, now + 9 * HOUR, fooDetail={"bar": [1, 2]}),
        window("TOKENS_LIMIT", 6, 1, 22, now + 5 * DAY),
        {"type": "TIME_LIMIT", "unit": 5, "number": 1, "usage": str(t.tool_cap),
         "currentValue": 1043, "remaining": 0, "percentage": 100,
         "nextResetTime": ms(now + 11 * DAY),
         "usageDetails": [{"modelCode": "search-prime", "usage": "612"},
                          {"modelCode": "web-reader", "usage": 380},
                          {"modelCode": "zread", "usage": 40},
                          {"modelCode": "vision-mcp", "usage": 11, "note": "new tool"}]},
    ]
    return Reply(200, {"code": 200, "msg": "Operation successful", "success": True,
                       "traceId": "sim-7f3a", "data": {"level": "pro", "planVersion": "v3",
                                                       "limits": limits}})


def _quirky_model_usage(call: Call) -> Reply:
    """E3 with numbers as strings, a null bucket, a model with no tokens and extra fields."""
    reply = model_usage("pro")(call)
    data = reply.payload.get("data") if isinstance(reply.payload, dict) else None
    if not isinstance(data, dict):
        return reply  # the span was refused: the refusal as it is
    data["tokensUsage"] = [str(v) for v in data["tokensUsage"]]
    if data["modelCallCount"]:
        data["modelCallCount"][0] = None
    totals = data["totalUsage"]
    totals["totalTokensUsage"] = str(totals["totalTokensUsage"])
    totals["modelSummaryList"].append({"modelName": "glm-4.5v", "totalTokens": "0"})
    data["granularity"] = "auto"
    return reply


def _quirky_tool_usage(call: Call) -> Reply:
    """E4 with a tool glmtray has no name for (`visionMcpCount`) and numbers as strings."""
    reply = tool_usage("pro")(call)
    data = reply.payload.get("data") if isinstance(reply.payload, dict) else None
    if not isinstance(data, dict):
        return reply
    # Keyed by the bucket's label, so a bucket reads the same in every span that holds it.
    vision = [round(2 * noise(int("".join(filter(str.isdigit, x))), 7)) for x in data["x_time"]]
    data["visionMcpCount"] = vision
    data["networkSearchCount"] = [str(v) for v in data["networkSearchCount"]]
    data["totalUsage"]["totalVisionMcpCount"] = sum(vision)
    return reply


def _quirky_subs(call: Call) -> Reply:
    now = call.now
    end = _period_end(now, 20)
    valid = coding_sub("pro", end, auto_renew=True)
    # An explicit zone: midnight UTC+8 of the renewal day, written in UTC (the previous day).
    day = local(end).replace(hour=0, minute=0, second=0)
    valid["nextRenewTime"] = day.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    valid.update(actualPrice="30.00", initialPrice="30", discountInfo=None, tags=["promo"])
    gone: dict[str, Any] = {"status": "EXPIRED", "in_period": False, "renew_date": None}
    return Reply(200, {"code": 0, "msg": "Operation successful", "success": True, "data": [
        other_product(_period_end(now, 40)),
        coding_sub("lite", _period_end(now, -100), auto_renew=False, **gone),
        coding_sub("pro", _period_end(now, -10), auto_renew=0, **gone),
        valid,
    ]})
# fmt: on
# fmt: off
# --- live shapes seen in 2026 (platform-api.md, "Live shapes seen in 2026") --------------


def credit_max_quota(call: Call) -> Reply:
    """A Max plan on credit windows, the 5-hour row as captured live (5184 of 28000)."""
    now = call.now
    limits = [
        {"type": "CREDIT_LIMIT", "unit": 3, "number": 5, "usage": 28000, "currentValue": 5184,
         "remaining": 22815, "percentage": 18, "nextResetTime": ms(now + 3 * HOUR + 7 * 60)},
        {"type": "CREDIT_LIMIT", "unit": 6, "number": 1, "usage": 140000, "currentValue": 20160,
         "remaining": 119839, "percentage": 14, "nextResetTime": ms(now + 4 * DAY + 2 * HOUR)},
    ]
    return ok({"level": "max", "limits": limits}, call)


def floor_tie_quota(call: Call) -> Reply:
    """Two credit windows whose floored percentages tie at 11: the 5-hour one (1438/12000,
    11.98 %) is closer to its cap than the weekly one (6700/60000, 11.17 %), which resets
    later and so would win a tie of floors."""
    now = call.now
    limits = [
        {"type": "CREDIT_LIMIT", "unit": 3, "number": 5, "usage": 12000, "currentValue": 1438,
         "remaining": 10561, "percentage": 11, "nextResetTime": ms(now + 2 * HOUR)},
        {"type": "CREDIT_LIMIT", "unit": 6, "number": 1, "usage": 60000, "currentValue": 6700,
         "remaining": 53299, "percentage": 11, "nextResetTime": ms(now + 2 * DAY)},
        {"type": "CREDIT_LIMIT", "unit": 3, "number": 72, "usage": 10000, "currentValue": 71,
         "remaining": 9928, "percentage": 1, "nextResetTime": ms(now + DAY)},
    ]
    return ok({"level": "pro", "limits": limits}, call)


def legacy_quota(call: Call) -> Reply:
    """A legacy token plan: percentages with null or absent counts; a TIME_LIMIT row with
    no `usage` and no `nextResetTime`; the 5-hour window in use with no reset time."""
    now = call.now
    limits = [
        {"type": "TOKENS_LIMIT", "unit": 3, "number": 5, "usage": None, "currentValue": None,
         "remaining": None, "percentage": 9},
        {"type": "TOKENS_LIMIT", "unit": 6, "number": 1, "percentage": 31,
         "nextResetTime": ms(now + 5 * DAY)},
        {"type": "TIME_LIMIT", "unit": 5, "number": 1, "currentValue": 12, "percentage": 2,
         "usageDetails": [{"modelCode": "search-prime", "usage": 9},
                          {"modelCode": "web-reader", "usage": 1}]},
    ]
    return ok({"level": "pro", "limits": limits}, call)


def v1_quota(call: Call) -> Reply:
    """An old V1 plan: a 5-hour row only, absolute tokens past the cap (Feb 2026)."""
    limits = [
        {"type": "TOKENS_LIMIT", "unit": 3, "number": 5, "usage": 200000000,
         "currentValue": 200112618, "remaining": 0, "percentage": 100,
         "nextResetTime": ms(call.now + 47 * 60)},
    ]
    return ok({"level": "lite", "limits": limits}, call)


def team_quota(call: Call) -> Reply:
    """A team plan: a quota answer with no windows at all, `msg` in Chinese."""
    return Reply(200, {"code": 200, "msg": "操作成功", "data": {"limits": [], "level": "pro"}})


def stale_renewal_subs(call: Call) -> Reply:
    """Captured on the renewal day: `nextRenewTime` is the start of the current period."""
    end = _period_end(call.now, 30)
    entry = coding_sub("max", end)
    entry["nextRenewTime"] = fmt_date(_month_before(end))
    return ok([entry], call)


# fmt: on


def _wrong_shape(path: str) -> Builder:
    def build(call: Call) -> Reply:
        if path == QUOTA_PATH:
            return ok({"level": "pro", "limits": {"type": "TOKENS_LIMIT", "percentage": 5}})
        if path == TOOL_USAGE_PATH:
            return ok([1, 2, 3])
        if path == RISK_PATH:  # no data at all: "unknown", which a client must not read as fine
            return Reply(200, {"code": 200, "msg": "Operation successful", "success": True})
        return ok("no data")

    return build


def _http_500(path: str) -> Builder:
    return lambda call: server_error(path, call.now)


# fmt: off
def _build() -> dict[str, Scenario]:
    s, pro, nobody = Scenario, standard("pro"), frozenset[str]()
    silent = {"e3": model_usage("pro", 0.0), "e4": tool_usage("pro", 0.0)}
    credit = quota("pro", 23, 9, kind="CREDIT_LIMIT", extra={
        "five_hour": {"usage": 2000, "currentValue": 460, "remaining": 1540},
        "weekly": {"usage": 20000, "currentValue": 1800, "remaining": 18200}})
    expired_sub = subscriptions("pro", -5, status="EXPIRED", in_period=False, auto_renew=0,
                                renew_date=None)
    items = [
        s("lite", "GLM Coding Lite, healthy; wrong keys get code 1000", standard("lite"),
          auth_failure=AUTH_1000),
        s("pro", "GLM Coding Pro, healthy, renews in 20 days", pro),
        s("max", "GLM Coding Max, healthy; wrong keys get HTTP 401", standard("max"),
          auth_failure=AUTH_HTTP_401),
        s("credit", "Pro plan on CREDIT_LIMIT windows with absolute credit figures",
          standard(e1=credit)),
        s("idle", "5-hour window not started: no nextResetTime, 0 %",
          standard(e1=quota("pro", 0, 12, idle=True))),
        s("weekly_exhausted", "Weekly window at 100 % while the 5-hour one shows 3 %",
          standard(e1=quota("pro", 3, 100))),
        s("no_plan", "No coding plan: E1 code 500, E2 only other products and an old expiry",
          standard(e1=const(NO_PLAN), e2=no_plan_subs, **silent)),
        s("expired", "Coding plan expired: E1 code 1309, E2 entry EXPIRED",
          standard(e1=const(EXPIRED), e2=expired_sub, **silent)),
        s("auto_renew_off", "Auto-renew off: no nextRenewTime, plan ends with `valid` in 20 days",
          standard(e2=subscriptions("pro", 20, auto_renew=0, renew_date=None))),
        s("renewal_soon", "Auto-renew on, next charge in 2 days (inside the cancel-by margin)",
          standard(e2=subscriptions("pro", 2))),
        s("cancel_soon", "Auto-renew on, renews in 4.5 days: the last day to cancel is tomorrow",
          standard(e2=subscriptions("pro", 4.5))),
        s("restricted", "Risk-control flag set (E10 true); quota still answers",
          standard(e10=risk(True))),
        s("locked", "Account locked: E1 code 1112 in HTTP 200", standard(e1=const(LOCKED))),
        s("rate_limited", "Every endpoint: HTTP 429 with error code 1302",
          everywhere(const(RATE_LIMITED))),
        s("wrong_key", "Every key rejected: code 401 in HTTP 200", pro, keys=nobody),
        s("wrong_key_1000", "Every key rejected: code 1000 in HTTP 200", pro, keys=nobody,
          auth_failure=AUTH_1000),
        s("wrong_key_http401", "Every key rejected with HTTP 401", pro, keys=nobody,
          auth_failure=AUTH_HTTP_401),
        s("bearer_only", "Raw key rejected (code 401), `Bearer <key>` accepted", pro,
          accept_raw=False),
        s("http_500", "Every endpoint: HTTP 500 with a JSON error page",
          {p: _http_500(p) for p in PLATFORM_PATHS}),
        s("http_502", "Every endpoint: HTTP 502 nginx HTML page", everywhere(const(NGINX_502))),
        s("html_error", "Every endpoint: HTTP 200 with an HTML page", everywhere(const(HTML_PAGE))),
        s("malformed_json", "Every endpoint: HTTP 200, JSON cut off mid-way",
          everywhere(const(TRUNCATED_JSON))),
        s("wrong_shape", "Valid JSON, wrong shapes: limits an object, data a string",
          {p: _wrong_shape(p) for p in PLATFORM_PATHS}),
        s("slow", "Healthy Pro plan that answers only after `slow_seconds`", pro, slow=True),
        s("quirky", "Numeric strings, unknown window type, tool and fields, zoned renewal date",
          standard(e1=_quirky_quota, e2=_quirky_subs, e3=_quirky_model_usage,
                   e4=_quirky_tool_usage)),
        s("partial", "Quota answers, the subscription list fails with HTTP 500",
          standard(e2=_http_500(SUBSCRIPTION_PATH))),
        s("demo", "Live-looking Pro plan: usage grows with the clock and resets",
          standard(e1=demo_quota, e2=demo_subs)),
        s("credit_max", "Max plan on CREDIT_LIMIT windows: 5184 of 28000 credits (live capture)",
          standard("max", e1=credit_max_quota)),
        s("floor_tie", "Credit windows whose floored percentages tie; a (3, 72) window of its own",
          standard(e1=floor_tie_quota)),
        s("legacy_tokens", "Legacy token plan: null counts, a 5-hour window in use with no reset",
          standard(e1=legacy_quota)),
        s("v1_overrun", "Old V1 plan: one 5-hour row, tokens past the cap (200112618/200000000)",
          standard("lite", e1=v1_quota)),
        s("team_plan", "Team plan: `limits: []`, no quota windows at all",
          standard(e1=team_quota)),
        s("stale_renewal", "nextRenewTime is the start of the current period (renewal-day capture)",
          standard("max", e2=stale_renewal_subs)),
    ]
    return {sc.name: sc for sc in items}
# fmt: on


SCENARIOS: dict[str, Scenario] = _build()


def scenario_names() -> list[str]:
    return list(SCENARIOS)
