"""The platform's business error codes and what each one means for a subscriber."""

from __future__ import annotations

from enum import Enum


class CodeClass(str, Enum):
    AUTH_FAILED = "auth_failed"
    THROTTLED = "throttled"
    WINDOW_EXHAUSTED = "window_exhausted"
    RESTRICTED = "restricted"
    LOCKED = "locked"
    PLAN_MISSING = "plan_missing"
    MODEL_UNAVAILABLE = "model_unavailable"
    ACCOUNT = "account"
    UNKNOWN = "unknown"


# code -> (class, short description)
BUSINESS_CODES: dict[int, tuple[CodeClass, str]] = {
    1000: (CodeClass.AUTH_FAILED, "authentication failed"),
    1001: (CodeClass.AUTH_FAILED, "authentication failed"),
    1002: (CodeClass.AUTH_FAILED, "authentication failed"),
    1003: (CodeClass.AUTH_FAILED, "authentication failed"),
    1004: (CodeClass.AUTH_FAILED, "authentication failed"),
    1110: (CodeClass.ACCOUNT, "account inactive"),
    1111: (CodeClass.ACCOUNT, "account does not exist"),
    1112: (CodeClass.LOCKED, "account locked"),
    1113: (CodeClass.PLAN_MISSING, "arrears, or no resource package"),
    1121: (CodeClass.LOCKED, "account locked for irregular activity"),
    1302: (CodeClass.THROTTLED, "concurrency too high"),
    1303: (CodeClass.THROTTLED, "request frequency too high"),
    1304: (CodeClass.WINDOW_EXHAUSTED, "daily call limit reached"),
    1305: (CodeClass.THROTTLED, "traffic limit, temporarily overloaded"),
    1308: (CodeClass.WINDOW_EXHAUSTED, "usage cap of the window reached"),
    1309: (CodeClass.PLAN_MISSING, "coding plan expired"),
    1310: (CodeClass.WINDOW_EXHAUSTED, "weekly or monthly limit exhausted"),
    1311: (CodeClass.MODEL_UNAVAILABLE, "plan does not include the model"),
    1312: (CodeClass.MODEL_UNAVAILABLE, "model busy"),
    1313: (CodeClass.RESTRICTED, "fair-use restriction (risk control)"),
    1316: (CodeClass.WINDOW_EXHAUSTED, "5-hour limit reached"),
    1317: (CodeClass.WINDOW_EXHAUSTED, "7-day limit reached"),
    1318: (CodeClass.WINDOW_EXHAUSTED, "limit reached, no extra-usage balance"),
    1319: (CodeClass.WINDOW_EXHAUSTED, "limit reached, no extra-usage balance"),
    1320: (CodeClass.WINDOW_EXHAUSTED, "limit reached, spend cap"),
    1321: (CodeClass.WINDOW_EXHAUSTED, "limit reached, spend cap"),
}

RISK_CONTROL_CODES = frozenset({1112, 1121, 1313})
AUTH_CODES = frozenset({401, 1000, 1001, 1002, 1003, 1004})


def classify(code: int | str | None) -> CodeClass:
    try:
        number = int(str(code).strip())
    except (TypeError, ValueError):
        return CodeClass.UNKNOWN
    if number == 401:
        return CodeClass.AUTH_FAILED
    return BUSINESS_CODES.get(number, (CodeClass.UNKNOWN, ""))[0]


def describe(code: int | str | None) -> str:
    try:
        number = int(str(code).strip())
    except (TypeError, ValueError):
        return "unknown error"
    return BUSINESS_CODES.get(number, (CodeClass.UNKNOWN, f"platform error {number}"))[1]
