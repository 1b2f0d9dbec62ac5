"""The TLS context every connection to the platform uses: the account client's, the
meter's upstream and a proxy's.

Building one loads the whole CA bundle (certifi's, or SSL_CERT_FILE / SSL_CERT_DIR when
set): tens of milliseconds and a few MB each time. One context serves every connection of
the process (an SSLContext is safe to share between threads), and the tray builds it while
it waits for its key, so the first fetch does not pay for it on the way to the icon.
"""

from __future__ import annotations

import os
import ssl
import threading

import httpx

_lock = threading.Lock()
_contexts: dict[tuple[str, str], ssl.SSLContext] = {}


def platform_tls_context() -> ssl.SSLContext:
    """The process's context for the certificates the environment names now (a change of
    SSL_CERT_FILE or SSL_CERT_DIR gets a context of its own)."""
    where = (os.environ.get("SSL_CERT_FILE", ""), os.environ.get("SSL_CERT_DIR", ""))
    with _lock:
        context = _contexts.get(where)
        if context is None:
            context = _contexts[where] = httpx.create_ssl_context(trust_env=True)
        return context


def prepare_connections() -> None:
    """Everything a first client needs that does not depend on the key: the TLS context and
    httpcore, which httpx loads only when its first transport is made (~30 ms)."""
    import httpcore  # noqa: F401  (loaded for its side effect: the import itself)

    platform_tls_context()
