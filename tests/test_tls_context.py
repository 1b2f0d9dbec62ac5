"""One TLS context per process for the platform's connections, rebuilt when the
environment names other certificates, and trusting the system's certificates without
loading them all up front."""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import httpx
import pytest

from glmtray.platform import tls
from glmtray.platform.tls import new_tls_context, platform_tls_context
from tests.helpers import serve_https


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


# --- which certificates are trusted ----------------------------------------------------------


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "5")
        self.end_headers()
        self.wfile.write(b"hello")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def https_server(certificate: tuple[Path, Path]) -> Iterator[str]:
    with serve_https(_Hello, certificate) as port:
        yield f"https://127.0.0.1:{port}/"


def hashed_directory(folder: Path, certificate: Path) -> Path:
    """A certificate directory as update-ca-certificates leaves it: <subject hash>.0."""
    subject_hash = subprocess.run(
        ["openssl", "x509", "-hash", "-noout", "-in", str(certificate)],
        check=True, capture_output=True, text=True, timeout=30,
    ).stdout.strip()  # fmt: skip
    folder.mkdir()
    (folder / "ca-certificates.crt").write_bytes(b"")  # a bundle the lookup must not need
    (folder / f"{subject_hash}.0").write_bytes(certificate.read_bytes())
    return folder


def system_store_is(monkeypatch: pytest.MonkeyPatch, directory: Path | None) -> None:
    """Make `directory` the system's certificate directory, as OpenSSL reports it."""
    paths = ssl.get_default_verify_paths()
    capath = str(directory) if directory is not None else None
    monkeypatch.setattr(ssl, "get_default_verify_paths", lambda: paths._replace(capath=capath))
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)


def test_the_system_directory_is_looked_up_only_when_a_chain_needs_it(
    tmp_path: Path,
    certificate: tuple[Path, Path],
    https_server: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    system_store_is(monkeypatch, hashed_directory(tmp_path / "certs", certificate[0]))
    context = new_tls_context()
    assert context.cert_store_stats()["x509_ca"] == 0  # nothing loaded up front
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    with httpx.Client(verify=context) as client:
        assert client.get(https_server).text == "hello"
    assert context.cert_store_stats()["x509_ca"] == 1  # the one root the chain needed


def test_a_server_the_system_does_not_trust_is_refused(
    tmp_path: Path, https_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import certifi

    other = tmp_path / "other"
    other.mkdir()
    # A hashed directory holding someone else's root: not ours, so the handshake must fail.
    first_root = Path(certifi.where()).read_text().split("-----END CERTIFICATE-----")[0]
    (other / "0a1b2c3d.0").write_text(first_root + "-----END CERTIFICATE-----\n")
    system_store_is(monkeypatch, other)
    with httpx.Client(verify=new_tls_context()) as client, pytest.raises(httpx.ConnectError):
        client.get(https_server)


def test_a_directory_without_hashed_names_falls_back_to_certifi(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundles_only = tmp_path / "pki"
    bundles_only.mkdir()
    (bundles_only / "ca-bundle.crt").write_text("")
    for directory in (bundles_only, None, tmp_path / "missing"):
        system_store_is(monkeypatch, directory)
        assert tls.system_certificate_directory() is None
        assert new_tls_context().cert_store_stats()["x509_ca"] > 100  # certifi's whole bundle


def test_ssl_cert_file_wins_over_the_system_directory(
    tmp_path: Path,
    certificate: tuple[Path, Path],
    https_server: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    system_store_is(monkeypatch, tmp_path)  # empty: would trust nothing
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    with httpx.Client(verify=new_tls_context()) as client:
        assert client.get(https_server).status_code == 200
