"""One TLS context per process for the platform's connections, rebuilt when the
environment names other certificates."""

from __future__ import annotations

from pathlib import Path

import pytest

from glmtray.platform.tls import platform_tls_context


def test_every_connection_shares_one_context() -> None:
    assert platform_tls_context() is platform_tls_context()


def test_other_certificates_get_a_context_of_their_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import certifi

    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(Path(certifi.where()).read_bytes())
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    default = platform_tls_context()
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    chosen = platform_tls_context()
    assert chosen is not default
    assert chosen is platform_tls_context()
    monkeypatch.delenv("SSL_CERT_FILE")
    assert platform_tls_context() is default
