"""The platform client: read-only calls to the account endpoints, over httpx.

It sends the raw key first and retries once with `Bearer` on an authentication failure,
remembering the form that worked. It never calls an endpoint that changes the account.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from glmtray import __version__
from glmtray.errors import (
    AuthenticationFailed,
    GlmtrayError,
    PlatformError,
    PlatformUnavailable,
    ProxyFailed,
    UnexpectedResponse,
)
from glmtray.i18n import N_, localized
from glmtray.platform import parsing
from glmtray.platform.auth import AuthScheme
from glmtray.platform.models import SECTION_LABELS, Quota, Section, Snapshot, Subscription
from glmtray.platform.proxies import ProxyChoice, choose_proxy, proxy_transport
from glmtray.platform.regions import Region, info, validate_base_url
from glmtray.platform.tls import platform_tls_context
from glmtray.platform.transfer import BodyTooLarge, CappedBody, UnknownEncoding, Watchdog
from glmtray.redact import register_secret
from glmtray.timeutil import utcnow

if TYPE_CHECKING:
    from glmtray.platform import usage

log = logging.getLogger(__name__)

NO_PLAN_IN_LIST = N_("No active coding-plan subscription in the subscription list.")
"""A snapshot warning, in English (status --json); shown through the catalog."""
T = TypeVar("T")

QUOTA_PATH = "/api/monitor/usage/quota/limit"
SUBSCRIPTIONS_PATH = "/api/biz/subscription/list"
MODEL_USAGE_PATH = "/api/monitor/usage/model-usage"
TOOL_USAGE_PATH = "/api/monitor/usage/tool-usage"
RISK_FLAG_PATH = "/api/biz/labelCustomer/isRiskCustomer"

MAX_RESPONSE_BYTES = 2 * 1024 * 1024
"""Account endpoints answer in a few kilobytes; anything larger is not theirs."""


MAX_TOTAL_SECONDS = 600.0
"""No request waits longer than this, whatever the caller asked."""


@dataclass(frozen=True)
class Timeouts:
    connect: float = 5.0
    read: float = 10.0
    total: float | None = None
    """The most one request (both auth forms included) may take, headers and body; None:
    connect + 2 x read. httpx's own timeouts are per read, so a server that drips a byte
    a second would otherwise hold a request for as long as it likes."""

    @property
    def overall(self) -> float:
        fallback = self.connect + 2 * self.read
        total = self.total if self.total is not None else fallback
        if not (math.isfinite(total) and total > 0):
            total = fallback if math.isfinite(fallback) and fallback > 0 else 25.0
        return min(total, MAX_TOTAL_SECONDS)


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
        key = api_key.strip() if isinstance(api_key, str) else ""
        if not key or any(ch.isspace() for ch in key) or not key.isprintable():
            raise AuthenticationFailed(
                "The API key is empty or contains spaces or control characters."
            )
        if not key.isascii():
            # HTTP headers carry ASCII only; such a key is a paste with a typographic
            # quote or dash, or not a key at all.
            raise AuthenticationFailed(
                "API keys contain only ASCII characters; the key given has other characters "
                "(check for a pasted quote, dash or space)."
            )
        register_secret(key)
        self._key = key
        self.region = region
        self.base_url = validate_base_url(base_url or info(region).api_base)
        self.auth_scheme = auth_scheme or AuthScheme.RAW
        self._auth_confirmed = auth_scheme is not None
        self._on_auth_scheme = on_auth_scheme
        self._locks = _EndpointLocks()
        self._timeouts = timeouts or Timeouts()
        self._budget = threading.local()
        self.proxy: ProxyChoice | None = None
        self._proxy_problem: ProxyFailed | None = None
        if transport is None:
            transport = self._transport()
        self._http = httpx.Client(
            timeout=httpx.Timeout(self._timeouts.read, connect=self._timeouts.connect),
            headers={
                "Accept-Language": ACCEPT_LANGUAGE.get(language[:2], ACCEPT_LANGUAGE["en"]),
                "Content-Type": "application/json",
                "Accept": "application/json",
                # Only what `transfer.CappedBody` can inflate under its cap.
                "Accept-Encoding": "gzip, deflate",
                "User-Agent": f"glmtray/{__version__}",
            },
            follow_redirects=False,
            trust_env=True,
            transport=transport,
        )

    def _transport(self) -> httpx.HTTPTransport:
        """Direct or through the environment's proxy (see `proxies`). Keep-alive is off:
        every request gets its own connection, so the deadline watchdog always holds the
        socket it may have to shut down (three small requests per refresh)."""
        limits = httpx.Limits(max_keepalive_connections=0)
        try:
            self.proxy = choose_proxy(self.base_url)
            if self.proxy is not None:
                log.debug("platform requests go through %s", self.proxy.where().lower())
                return proxy_transport(self.proxy, limits)
        except ProxyFailed as problem:
            # Raised at each request rather than here, so that a snapshot reports it
            # like any other unreachable platform.
            self._proxy_problem = problem
        return httpx.HTTPTransport(limits=limits, trust_env=True, verify=platform_tls_context())

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
        """E3's raw columns. Spans the platform refuses raise `usage.SpanRefused` unasked."""
        return parsing.parse_usage_series(self._get(MODEL_USAGE_PATH, _span(start, end)))

    def tool_usage(self, start: datetime, end: datetime) -> parsing.UsageSeries:
        """E4's raw columns. Spans the platform refuses raise `usage.SpanRefused` unasked."""
        return parsing.parse_usage_series(self._get(TOOL_USAGE_PATH, _span(start, end)))

    def model_usage_buckets(self, start: datetime, end: datetime) -> usage.ModelUsage:
        """E3 as buckets: hourly up to 48 hours, daily beyond. A span over 31 days raises
        `usage.SpanRefused` before any request."""
        from glmtray.platform import usage  # the history's: not loaded for the glance

        length = usage.bucket_length(start, end)
        return usage.parse_model_usage(self._get(MODEL_USAGE_PATH, _span(start, end)), length)

    def tool_usage_buckets(self, start: datetime, end: datetime) -> usage.ToolUsage:
        """E4 as buckets, with E3's span rules."""
        from glmtray.platform import usage

        length = usage.bucket_length(start, end)
        return usage.parse_tool_usage(self._get(TOOL_USAGE_PATH, _span(start, end)), length)

    def risk_flag(self) -> bool | None:
        """China only: the platform publishes no risk flag for the global region."""
        if self.region is not Region.CHINA:
            return None
        return parsing.parse_risk_flag(self._get(RISK_FLAG_PATH))

    def snapshot(
        self,
        *,
        include_subscription: bool = True,
        include_risk: bool = True,
        within: float | None = None,
    ) -> Snapshot:
        """Everything at once. One failing endpoint does not lose the others, except a
        rejected key, which fails them all and is raised.

        `within` bounds the whole snapshot in seconds (the CLI's --timeout): an endpoint
        not reached by then is reported as unavailable without being asked."""
        if within is not None:
            with self.budget(within):
                return self.snapshot(
                    include_subscription=include_subscription, include_risk=include_risk
                )
        problems: dict[Section, PlatformError] = {}
        warnings: list[str] = []

        def fetch(section: Section, call: Callable[[], T]) -> T | None:
            try:
                return call()
            except AuthenticationFailed:
                raise
            except PlatformError as error:
                problems[section] = error
                # English in the snapshot (status --json); the panel shows the error's own
                # message, in the user's language.
                warnings.append(f"{SECTION_LABELS[section]}: {error.source_message}")
                return None

        quota = fetch(Section.QUOTA, self.quota)
        subscription: Subscription | None = None
        if include_subscription:
            subscriptions = fetch(Section.SUBSCRIPTION, self.subscriptions)
            if subscriptions is not None:
                subscription = parsing.active_coding_plan(subscriptions)
                if subscription is None:
                    warnings.append(NO_PLAN_IN_LIST)
        risk = fetch(Section.RISK, self.risk_flag) if include_risk else None
        return Snapshot(
            region=self.region,
            fetched_at=utcnow(),
            quota=quota,
            subscription=subscription,
            risk_restricted=risk,
            problems=problems,
            warnings=tuple(warnings),
        )

    @contextlib.contextmanager
    def budget(self, seconds: float) -> Iterator[None]:
        """Within the block, every request made on this thread ends `seconds` from now at
        the latest (the CLI's --timeout over several endpoints); a request not started by
        then is reported as unavailable without being made."""
        outer: float | None = getattr(self._budget, "end", None)
        end = time.monotonic() + max(0.0, seconds)
        self._budget.end = end if outer is None else min(outer, end)
        try:
            yield
        finally:
            self._budget.end = outer

    # -- transport ---------------------------------------------------------------
    def _deadline(self) -> float:
        deadline = time.monotonic() + self._timeouts.overall
        end: float | None = getattr(self._budget, "end", None)
        return deadline if end is None else min(deadline, end)

    def _get(self, path: str, params: dict[str, str] | None = None) -> Any:
        deadline = self._deadline()
        with self._locks.get(path):
            try:
                return self._get_with_scheme(path, params, self.auth_scheme, deadline)
            except AuthenticationFailed:
                if self._auth_confirmed or self.auth_scheme is AuthScheme.BEARER:
                    raise
                log.info("raw key rejected on %s; retrying once with Bearer", path)
                data = self._get_with_scheme(path, params, AuthScheme.BEARER, deadline)
                self._remember(AuthScheme.BEARER)
                return data

    def _remember(self, scheme: AuthScheme) -> None:
        first_time = not self._auth_confirmed or scheme is not self.auth_scheme
        self.auth_scheme = scheme
        self._auth_confirmed = True
        if first_time and self._on_auth_scheme is not None:
            self._on_auth_scheme(scheme)

    def _get_with_scheme(
        self, path: str, params: dict[str, str] | None, scheme: AuthScheme, deadline: float
    ) -> Any:
        header = self._key if scheme is AuthScheme.RAW else f"Bearer {self._key}"
        status, content_type, body = self._fetch(path, params, header, deadline)
        data = _decode(path, status, content_type, body)
        if not self._auth_confirmed:
            self._remember(scheme)
        return data

    def _late(self, path: str) -> PlatformUnavailable:
        seconds = f"{self._timeouts.overall:g}"
        return PlatformUnavailable(
            localized("The platform did not answer in time (within {seconds} s).", seconds=seconds),
            detail=path,
        )

    def _fetch(
        self, path: str, params: dict[str, str] | None, auth: str, deadline: float
    ) -> tuple[int, str, bytes]:
        if self._proxy_problem is not None:
            raise ProxyFailed(self._proxy_problem.message, detail=path)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise self._late(path)
        timeout = httpx.Timeout(
            min(self._timeouts.read, remaining), connect=min(self._timeouts.connect, remaining)
        )
        watchdog = Watchdog(remaining)
        try:
            with self._http.stream(
                "GET",
                self.base_url + path,
                params=params,
                headers={"Authorization": auth},
                timeout=timeout,
                extensions={"trace": watchdog.trace},
            ) as response:
                watchdog.watch(response.extensions.get("network_stream"))
                return self._read(path, response, watchdog, deadline)
        except GlmtrayError:
            raise
        except httpx.HTTPError as error:
            if watchdog.fired or time.monotonic() >= deadline:
                raise self._late(path) from None
            raise self._transport_error(path, error) from None
        except (BodyTooLarge, MemoryError):
            raise UnexpectedResponse(
                detail=f"{path}: response larger than {MAX_RESPONSE_BYTES} bytes"
            ) from None
        except zlib.error:
            raise UnexpectedResponse(
                detail=f"{path}: compressed response could not be decompressed"
            ) from None
        except UnknownEncoding as error:
            raise UnexpectedResponse(
                detail=f"{path}: response compressed as {error.encoding[:40]!r}"
            ) from None
        except Exception as error:  # e.g. a SOCKS server answering garbage: never a traceback
            if watchdog.fired:
                raise self._late(path) from None
            raise PlatformUnavailable(
                localized(
                    "The connection to the platform failed ({error}).", error=type(error).__name__
                ),
                detail=path,
            ) from None
        finally:
            watchdog.cancel()

    def _read(
        self, path: str, response: httpx.Response, watchdog: Watchdog, deadline: float
    ) -> tuple[int, str, bytes]:
        if response.status_code == 407 and self.proxy is not None:
            raise ProxyFailed(
                localized(
                    "{proxy} refused glmtray's credentials (HTTP 407). Check the user name and "
                    "password in {source}.",
                    proxy=self.proxy.where(),
                    source=self.proxy.source,
                ),
                http_status=407,
                detail=path,
            )
        length = parsing.to_int(response.headers.get("content-length"))
        if length is not None and length > MAX_RESPONSE_BYTES:
            raise BodyTooLarge
        if response.is_stream_consumed:
            # A body built in memory (a test's MockTransport) has been read already.
            body = CappedBody([], MAX_RESPONSE_BYTES)
            body.feed(response.content)
            return response.status_code, response.headers.get("content-type", ""), body.content()
        body = CappedBody(
            response.headers.get_list("content-encoding", split_commas=True), MAX_RESPONSE_BYTES
        )
        for chunk in response.iter_raw():
            if watchdog.fired or time.monotonic() >= deadline:
                raise self._late(path)
            body.feed(chunk)
        if watchdog.fired:
            raise self._late(path)
        return response.status_code, response.headers.get("content-type", ""), body.content()

    def _transport_error(self, path: str, error: httpx.HTTPError) -> PlatformError:
        """The typed error for a failed connection, naming the proxy when one is in use."""
        proxy = self.proxy
        text = str(error).lower()
        if isinstance(error, httpx.ConnectError) and any(
            word in text for word in ("certificate", "ssl", "tls")
        ):
            return PlatformUnavailable(_connect_message(error), detail=path)
        if proxy is None:
            if isinstance(error, httpx.TimeoutException):
                return PlatformUnavailable(
                    localized("The platform did not answer in time."), detail=path
                )
            if isinstance(error, httpx.ConnectError):
                return PlatformUnavailable(_connect_message(error), detail=path)
            return PlatformUnavailable(
                localized(
                    "The connection to the platform failed ({error}).", error=type(error).__name__
                ),
                detail=path,
            )
        if isinstance(error, httpx.ProxyError):
            if "407" in text or "username/password" in text or "requested" in text:
                return ProxyFailed(
                    localized(
                        "{proxy} refused glmtray's credentials. Check the user name and "
                        "password in {source}.",
                        proxy=proxy.where(),
                        source=proxy.source,
                    ),
                    detail=path,
                )
            return ProxyFailed(
                localized("{proxy} could not connect to the platform.", proxy=proxy.where()),
                detail=path,
            )
        if isinstance(error, (httpx.ConnectError, httpx.ConnectTimeout)):
            return ProxyFailed(
                localized("{proxy} could not be reached.", proxy=proxy.where()), detail=path
            )
        if isinstance(error, httpx.TimeoutException):
            return PlatformUnavailable(
                localized(
                    "The platform did not answer in time (through the proxy in {source}).",
                    source=proxy.source,
                ),
                detail=path,
            )
        return PlatformUnavailable(
            localized(
                "The connection to the platform through the proxy in {source} failed ({error}).",
                source=proxy.source,
                error=type(error).__name__,
            ),
            detail=path,
        )


def _span(start: datetime, end: datetime) -> dict[str, str]:
    """E3/E4's query (UTC+8); a span the platform would refuse raises first."""
    from glmtray.platform import usage

    return usage.query_params(start, end)


def _connect_message(error: httpx.ConnectError) -> str:
    text = str(error).lower()
    if "certificate" in text or "ssl" in text or "tls" in text:
        return localized(
            "A secure connection to the platform could not be made (certificate or TLS error)."
        )
    if "name" in text and ("resolution" in text or "known" in text or "resolve" in text):
        return localized(
            "The platform's address could not be resolved. Check the network connection."
        )
    return localized("The platform could not be reached. Check the network connection.")


def _decode(path: str, status: int, content_type: str, body: bytes) -> Any:
    stripped = body.lstrip()
    looks_html = "html" in content_type.lower() or stripped[:1] == b"<"
    if status >= 500:
        raise PlatformUnavailable(
            localized(
                "The platform is having trouble (HTTP {status}). glmtray will try again.",
                status=status,
            ),
            http_status=status,
            detail=path,
        )
    if looks_html:
        raise PlatformUnavailable(
            localized(
                "The platform answered with a web page instead of data; it may be under "
                "maintenance."
            ),
            http_status=status,
            detail=path,
        )
    try:
        decoded = parsing.parse_json(body)
    except UnexpectedResponse as error:
        if status in (401, 403):
            raise AuthenticationFailed(http_status=status) from None
        raise UnexpectedResponse(detail=f"{path}: HTTP {status}, {error.detail}") from None
    if status in (401, 403) and isinstance(decoded, dict) and "code" not in decoded:
        raise AuthenticationFailed(http_status=status)
    return parsing.unwrap_envelope(decoded, status)
