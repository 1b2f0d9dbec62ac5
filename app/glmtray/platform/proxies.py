"""Which proxy, if any, the platform client uses, chosen once per client from the environment.

httpx reads the proxy variables itself, but then a proxy that cannot be used surfaces as an
ImportError, a ValueError at construction or a bare ConnectError that names neither the
variable nor the proxy. glmtray reads the same variables, in the same order as curl
(lowercase first; `<scheme>_proxy`, then `all_proxy`), so that every failure can say
"the proxy in HTTPS_PROXY (socks5://127.0.0.1:1080)". The display never carries the user
name or password of the proxy URL.

Loopback: with NO_PROXY unset, a loopback platform address (the simulator, demo mode) is
always reached directly: no proxy can reach this machine's loopback, and the simulator
speaks plain http. When NO_PROXY is set it is the user's full list and is followed as
written (curl and httpx do not bypass loopback on their own either).
"""

from __future__ import annotations

import ipaddress
import os
import sys
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from glmtray.errors import ProxyFailed
from glmtray.i18n import Localized, localized
from glmtray.platform.regions import is_loopback_host
from glmtray.platform.tls import platform_tls_context
from glmtray.redact import register_secret

USABLE_SCHEMES = ("http", "https", "socks5", "socks5h")
SYSTEM_SETTINGS = "the system proxy settings"


@dataclass(frozen=True)
class ProxyChoice:
    url: str
    """The proxy URL as configured, credentials included: for httpx only, never shown."""
    source: str
    """The variable it came from, spelled as set (`HTTPS_PROXY`, `all_proxy`), or the
    system settings."""
    shown: str
    """scheme://host:port, without credentials: safe for messages and logs."""

    def where(self) -> Localized:
        return localized("The proxy in {source} ({shown})", source=self.source, shown=self.shown)


def _lookup(environ: Mapping[str, str], name: str) -> tuple[str, str] | None:
    """(variable, value) of the first non-empty spelling; lowercase wins, as in curl."""
    spellings = [name.lower(), name.upper()]
    if name.lower() == "http_proxy" and "REQUEST_METHOD" in environ:
        spellings = [name.lower()]  # CGI: HTTP_PROXY may come from a request header (httpoxy)
    for variable in spellings:
        value = environ.get(variable)
        if value is not None and value.strip():
            return variable, value.strip()
    return None


def _no_proxy_list(environ: Mapping[str, str]) -> list[str] | None:
    """NO_PROXY's entries, or None when the variable is not set at all."""
    for variable in ("no_proxy", "NO_PROXY"):
        if variable in environ:
            text = environ[variable]
            return [part.strip() for part in text.replace(" ", ",").split(",") if part.strip()]
    return None


def _bypassed(host: str, port: int | None, entries: list[str]) -> bool:
    host = host.strip("[]").lower().rstrip(".")
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for raw in entries:
        entry = raw.lower()
        if entry == "*":
            return True
        entry_port: int | None = None
        if entry.startswith("["):  # [::1] or [::1]:8080
            inner, _, rest = entry[1:].partition("]")
            entry = inner
            if rest.startswith(":") and rest[1:].isdigit():
                entry_port = int(rest[1:])
        elif entry.count(":") == 1:  # host:port (a bare IPv6 address has several colons)
            name, _, port_text = entry.partition(":")
            if port_text.isdigit():
                entry, entry_port = name, int(port_text)
        if entry_port is not None and entry_port != port:
            continue
        if address is not None:
            try:
                if address in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                pass
            continue
        entry = entry.lstrip("*").lstrip(".").rstrip(".")
        if entry and (host == entry or host.endswith("." + entry)):
            return True
    return False


def shown(url: str) -> str:
    """scheme://host:port of a proxy URL, without user name or password."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = parts.port
    except ValueError:
        return "an address glmtray cannot read"
    if ":" in host:
        host = f"[{host}]"
    scheme = parts.scheme or "http"
    return f"{scheme}://{host}:{port}" if port else f"{scheme}://{host}"


def choose_proxy(base_url: str, environ: Mapping[str, str] | None = None) -> ProxyChoice | None:
    """The proxy for requests to `base_url`, or None to connect directly.

    Raises ProxyFailed for a proxy that is configured but cannot be used at all (a scheme
    httpx does not speak, an address that does not parse), so the user learns why rather
    than glmtray silently going direct.
    """
    env = os.environ if environ is None else environ
    target = urlsplit(base_url)
    host = target.hostname or ""
    try:
        port = target.port or (443 if target.scheme == "https" else 80)
    except ValueError:
        port = None
    no_proxy = _no_proxy_list(env)
    if no_proxy is None:
        if is_loopback_host(host):
            return None
    elif _bypassed(host, port, no_proxy):
        return None
    found = _lookup(env, f"{target.scheme}_proxy") or _lookup(env, "all_proxy")
    if found is None and environ is None and sys.platform in ("win32", "darwin"):
        # urllib also reads the Windows registry and macOS system configuration.
        system = urllib.request.getproxies().get(target.scheme) or ""
        if system.strip():
            found = (SYSTEM_SETTINGS, system.strip())
    if found is None:
        return None
    variable, value = found
    url = value if "://" in value else f"http://{value}"
    choice = ProxyChoice(url=url, source=variable, shown=shown(url))
    _check(choice)
    return choice


def _check(choice: ProxyChoice) -> None:
    try:
        parsed = httpx.URL(choice.url)
    except (httpx.InvalidURL, ValueError, TypeError):
        raise ProxyFailed(
            localized(
                "The proxy in {source} is not a valid proxy address. "
                "Use a form such as http://host:3128 or socks5://host:1080.",
                source=choice.source,
            )
        ) from None
    if parsed.password:
        register_secret(parsed.password)
    if parsed.scheme not in USABLE_SCHEMES:
        raise ProxyFailed(
            localized(
                "{proxy} uses a kind of proxy glmtray cannot use ({scheme}); "
                "use an http, https, socks5 or socks5h proxy.",
                proxy=choice.where(),
                scheme=parsed.scheme,
            )
        )
    if not parsed.host:
        raise ProxyFailed(localized("{proxy} names no host.", proxy=choice.where()))


def proxy_transport(choice: ProxyChoice, limits: httpx.Limits) -> httpx.HTTPTransport:
    try:
        return httpx.HTTPTransport(
            proxy=httpx.Proxy(choice.url),
            limits=limits,
            trust_env=True,
            verify=platform_tls_context(),
        )
    except ImportError:
        raise ProxyFailed(
            localized(
                "{proxy} is a SOCKS proxy, and the socksio package that SOCKS needs is not "
                "installed (install httpx[socks]).",
                proxy=choice.where(),
            )
        ) from None
    except (ValueError, TypeError, httpx.InvalidURL):
        raise ProxyFailed(localized("{proxy} cannot be used.", proxy=choice.where())) from None
