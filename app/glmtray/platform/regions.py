"""The platform's two regions, their hosts and the web pages glmtray links to.

Kept in one table because the platform moves pages around: a changed link is a one-line fix.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import Enum
from urllib.parse import urlsplit

from glmtray.errors import InsecureBaseUrl


class Region(str, Enum):
    GLOBAL = "global"
    CHINA = "china"

    @classmethod
    def parse(cls, text: str) -> Region:
        try:
            return cls(text.strip().lower())
        except ValueError:
            raise ValueError(f"unknown region {text!r}: use 'global' or 'china'") from None


@dataclass(frozen=True)
class RegionInfo:
    region: Region
    display_name: str
    api_base: str
    console: str
    api_keys_page: str
    subscription_page: str
    billing_page: str
    usage_policy_page: str
    support_email: str
    currency: str
    """ISO 4217 code the region bills in."""


REGIONS: dict[Region, RegionInfo] = {
    Region.GLOBAL: RegionInfo(
        region=Region.GLOBAL,
        display_name="Global (z.ai)",
        api_base="https://api.z.ai",
        console="https://z.ai",
        api_keys_page="https://z.ai/manage-apikey/apikey-list",
        subscription_page="https://z.ai/manage-apikey/subscription",
        billing_page="https://z.ai/manage-apikey/billing",
        usage_policy_page="https://docs.z.ai/devpack/usage-policy",
        support_email="support@z.ai",
        currency="USD",
    ),
    Region.CHINA: RegionInfo(
        region=Region.CHINA,
        display_name="China (bigmodel.cn)",
        api_base="https://open.bigmodel.cn",
        console="https://bigmodel.cn",
        api_keys_page="https://bigmodel.cn/usercenter/proj-mgmt/apikeys",
        subscription_page="https://bigmodel.cn/coding-plan/personal/overview",
        billing_page="https://bigmodel.cn/coding-plan/personal/usage",
        usage_policy_page="https://docs.bigmodel.cn/cn/coding-plan/overview",
        support_email="support@bigmodel.cn",
        currency="CNY",
    ),
}


def info(region: Region) -> RegionInfo:
    return REGIONS[region]


def is_loopback_host(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_base_url(url: str) -> str:
    """Return the base URL without a trailing slash, or raise InsecureBaseUrl.

    Plain http is accepted only for loopback hosts (the simulator), so a key can never
    travel in clear text over a network.
    """
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    if not host or parts.scheme not in ("http", "https"):
        raise InsecureBaseUrl(f"not an http(s) URL: {url!r}")
    if parts.scheme == "http" and not is_loopback_host(host):
        raise InsecureBaseUrl(
            f"plain http is allowed only for loopback hosts, not {host!r}; use https"
        )
    if parts.query or parts.fragment:
        raise InsecureBaseUrl("the base URL must not carry a query or fragment")
    return url.strip().rstrip("/")
