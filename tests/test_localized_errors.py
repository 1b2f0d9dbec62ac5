"""Errors read in the user's language keep their English for scripts (status --json),
down to the parts they are built from."""

from __future__ import annotations

import pytest

from glmtray.errors import ProxyFailed
from glmtray.platform.proxies import choose_proxy


def test_a_proxy_glmtray_cannot_use_is_said_in_chinese_and_kept_in_english(
    chinese: None,
) -> None:
    with pytest.raises(ProxyFailed) as raised:
        choose_proxy("https://api.z.ai/api", {"HTTPS_PROXY": "ftp://proxy.example:21"})
    error = raised.value
    assert "代理" in error.message and "The proxy in" not in error.message
    assert error.source_message.startswith("The proxy in HTTPS_PROXY (ftp://proxy.example:21)")
    assert "代理" not in error.source_message
