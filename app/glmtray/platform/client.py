"""The platform client: read-only calls to the account endpoints, over httpx.

It sends the raw key first and retries once with `Bearer` on an authentication failure,
remembering the form that worked. It never calls an endpoint that changes the account.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar

import httpx

from glmtray import __version__
from glmtray.errors import (
    AuthenticationFailed,
    PlatformError,
    PlatformUnavailable,
    UnexpectedResponse,
)
from glmtray.platform import parsing
from glmtray.platform.models import Quota, Section, Snapshot, Subscription
from glmtray.platform.regions import Region, info, validate_base_url
from glmtray.redact import register_secret
from glmtray.timeutil import PLATFORM_TZ, utcnow

log = logging.getLogger(__name__)
T = TypeVar("T")

QUOTA_PATH = "/api/monitor/usage/quota/limit"
SUBSCRIPTIONS_PATH = "/api/biz/subscription/list"
MODEL_USAGE_PATH = "/api/monitor/usage/model-usage"
TOOL_USAGE_PATH = "/api/monitor/usage/tool-usage"
RISK_FLAG_PATH = "/api/biz/labelCustomer/isRiskCustomer"

MAX_RESPONSE_BYTES = 2 * 1024 * 1024
"""Account endpoints answer in a few kilobytes; anything larger is not theirs."""


class AuthScheme(str, Enum):
    RAW = "raw"
    BEARER = "bearer"


@dataclass(frozen=True)
class Timeouts:
    connect: float = 5.0
    read: float = 10.0


ACCEPT_LANGUAGE = {"en": "en-US,en", "zh": "zh-CN,zh"}


@dataclass
class _EndpointLocks:
    """One lock per endpoint: never two requests to one endpoint at once."""

    locks: dict[str, threading.Lock] = field(default_factory=dict)
    guard: threading.Lock = field(default_factory=threading.Lock)

    def get(self, path: str) -> threading.Lock:
        with self.guard:
            return self.locks.setdefault(path, threading.Lock())


class PlatformClient:
    def __init__(
        self,
        api_key: str,
        region: Region,
        *,
        base_url: str | None = None,
        language: str = "en",
        timeouts: Timeouts | None = None,
        auth_scheme: AuthScheme | None = None,
        transport: httpx.BaseTransport | None = None,
        on_auth_scheme: Callable[[AuthScheme], None] | None = None,
    ) -> None:
        key = api_key.strip()
        if not key or any(ch.isspace() for ch in key) or not key.isprintable():
            raise AuthenticationFailed(
                "The API key is empty or contains spaces or control characters."
            )
        register_secret(key)
        self._key = key
        self.region = region
        self.base_url = validate_base_url(base_url or info(region).api_base)
        self.auth_scheme = auth_scheme or AuthScheme.RAW
        self._auth_confirmed = auth_scheme is not None
        self._on_auth_scheme = on_auth_scheme
        self._locks = _EndpointLocks()
        t = timeouts or Timeouts()
        self._http = httpx.Client(
            timeout=httpx.Timeout(t.read, connect=t.connect),
            headers={
                "Accept-Language": ACCEPT_LANGUAGE.get(language[:2], ACCEPT_LANGUAGE["en"]),
                "Content-Type": "application/json",
                "Accept": "application/json",
                "User-Agent": f"glmtray/{__version__}",
            },
            follow_redirects=False,
            trust_env=True,
            transport=transport,
        )

    # -- lifecycle ---------------------------------------------------------------
    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> PlatformClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:  # never show the key, even in a debugger or a traceback
        return f"PlatformClient(region={self.region.value!r}, base_url={self.base_url!r})"

    # -- endpoints ---------------------------------------------------------------
    def quota(self) -> Quota:
        return parsing.parse_quota(self._get(QUOTA_PATH))

    def subscriptions(self) -> list[Subscription]:
        data = self._get(SUBSCRIPTIONS_PATH, {"pageSize": "10", "pageNum": "1"})
        return parsing.parse_subscriptions(data, info(self.region).currency)

    def model_usage(self, start: datetime, end: datetime) -> parsing.UsageSeries:
        return parsing.parse_usage_series(self._get(MODEL_USAGE_PATH, _span(start, end)))

    def tool_usage(self, start: datetime, end: datetime) -> parsing.UsageSeries:
        return parsing.parse_usage_series(self._get(TOOL_USAGE_PATH, _span(start, end)))

    def risk_flag(self) -> bool | None:
        """China only: the platform publishes no risk flag for the global region."""
        if self.region is not Region.CHINA:
            return None
        return parsing.parse_risk_flag(self._get(RISK_FLAG_PATH))

    def snapshot(self, *, include_subscription: bool = True, include_risk: bool = True) -> Snapshot:
        """Everything at once. One failing endpoint does not lose the others, except a
        rejected key, which fails them all and is raised."""
        problems: dict[Section, PlatformError] = {}
        warnings: list[str] = []

        def fetch(section: Section, label: str, call: Callable[[], T]) -> T | None:
            try:
                return call()
            except AuthenticationFailed:
                raise
            except PlatformError as error:
                problems[section] = error
                warnings.append(f"{label}: {error.message}")
                return None

        quota = fetch(Section.QUOTA, "Quota", self.quota)
        subscription: Subscription | None = None
        if include_subscription:
            subscriptions = fetch(Section.SUBSCRIPTION, "Subscription", self.subscriptions)
            if subscriptions is not None:
                subscription = parsing.active_coding_plan(subscriptions)
                if subscription is None:
                    warnings.append("No active coding-plan subscription in the subscription list.")
        risk = fetch(Section.RISK, "Risk flag", self.risk_flag) if include_risk else None
        return Snapshot(
            region=self.region,
            fetched_at=utcnow(),
            quota=quota,
            subscription=subscription,
            risk_restricted=risk,
            problems=problems,
            warnings=tuple(warnings),
        )

    # -- transport ---------------------------------------------------------------
    def _get(self, path: str, params: dict[str, str] | None = None) -> Any:
        with self._locks.get(path):
            try:
                return self._get_with_scheme(path, params, self.auth_scheme)
            except AuthenticationFailed:
                if self._auth_confirmed or self.auth_scheme is AuthScheme.BEARER:
                    raise
                log.info("raw key rejected on %s; retrying once with Bearer", path)
                data = self._get_with_scheme(path, params, AuthScheme.BEARER)
                self._remember(AuthScheme.BEARER)
                return data

    def _remember(self, scheme: AuthScheme) -> None:
        first_time = not self._auth_confirmed or scheme is not self.auth_scheme
        self.auth_scheme = scheme
        self._auth_confirmed = True
        if first_time and self._on_auth_scheme is not None:
            self._on_auth_scheme(scheme)

    def _get_with_scheme(self, path: str, params: dict[str, str] | None, scheme: AuthScheme) -> Any:
        header = self._key if scheme is AuthScheme.RAW else f"Bearer {self._key}"
        status, content_type, body = self._fetch(path, params, header)
        data = _decode(path, status, content_type, body)
        if not self._auth_confirmed:
            self._remember(scheme)
        return data

    def _fetch(self, path: str, params: dict[str, str] | None, auth: str) -> tuple[int, str, bytes]:
        url = self.base_url + path
        try:
            with self._http.stream(
                "GET", url, params=params, headers={"Authorization": auth}
            ) as response:
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > MAX_RESPONSE_BYTES:
                        raise UnexpectedResponse(
                            detail=f"{path}: response larger than {MAX_RESPONSE_BYTES} bytes"
                        )
                    chunks.append(chunk)
                return (
                    response.status_code,
                    response.headers.get("content-type", ""),
                    b"".join(chunks),
                )
        except httpx.TimeoutException:
            raise PlatformUnavailable("The platform did not answer in time.", detail=path) from None
        except httpx.ConnectError as error:
            raise PlatformUnavailable(_connect_message(error), detail=path) from None
        except httpx.HTTPError as error:
            raise PlatformUnavailable(
                f"The connection to the platform failed ({type(error).__name__}).", detail=path
            ) from None


def _span(start: datetime, end: datetime) -> dict[str, str]:
    fmt = "%Y-%m-%d %H:%M:%S"
    return {
        "startTime": start.astimezone(PLATFORM_TZ).strftime(fmt),
        "endTime": end.astimezone(PLATFORM_TZ).strftime(fmt),
    }


def _connect_message(error: httpx.ConnectError) -> str:
    text = str(error).lower()
    if "certificate" in text or "ssl" in text or "tls" in text:
        return "A secure connection to the platform could not be made (certificate or TLS error)."
    if "name" in text and ("resolution" in text or "known" in text or "resolve" in text):
        return "The platform's address could not be resolved. Check the network connection."
    return "The platform could not be reached. Check the network connection."


def _decode(path: str, status: int, content_type: str, body: bytes) -> Any:
    stripped = body.lstrip()
    looks_html = "html" in content_type.lower() or stripped[:1] == b"<"
    if status >= 500:
        raise PlatformUnavailable(
            f"The platform is having trouble (HTTP {status}). glmtray will try again.",
            http_status=status,
            detail=path,
        )
    if looks_html:
        raise PlatformUnavailable(
            "The platform answered with a web page instead of data; it may be under maintenance.",
            http_status=status,
            detail=path,
        )
    try:
        decoded = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        if status in (401, 403):
            raise AuthenticationFailed(http_status=status) from None
        raise UnexpectedResponse(detail=f"{path}: HTTP {status}, body is not JSON") from None
    if status in (401, 403) and isinstance(decoded, dict) and "code" not in decoded:
        raise AuthenticationFailed(http_status=status)
    return parsing.unwrap_envelope(decoded, status)
