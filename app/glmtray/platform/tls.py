"""The TLS context every connection to the platform uses: the account client's, the
meter's upstream and a proxy's.

Which certificates it trusts, in order:
- SSL_CERT_FILE or SSL_CERT_DIR when the environment sets one (as httpx does);
- otherwise the system's hashed certificate directory, where it has one (Debian, Ubuntu,
  Arch, openSUSE: /etc/ssl/certs). OpenSSL looks a root up there by name only when a
  server's chain needs it, so building the context costs about 2 ms and nothing stays in
  memory but the roots in use. This is the system's own trust store: the same Mozilla list
  certifi ships, plus whatever the user's administrator added (a company's TLS proxy);
- otherwise certifi's bundle, loaded whole (30-60 ms and a few MB): macOS, Windows, and
  systems whose certificates come only as one file.

One context serves every connection of the process (an SSLContext is safe to share between
threads): the tray's is built with its client, on the worker once the icon shows data; the
start's first look builds its own in the key's child (first_fetch.py).
"""

from __future__ import annotations

import os
import re
import ssl
import threading

import httpx

_lock = threading.Lock()
_contexts: dict[tuple[str, str], ssl.SSLContext] = {}

HASHED_NAME = re.compile(r"[0-9a-f]{8}\.[0-9]+")
"""How OpenSSL names a certificate in a hashed directory: subject hash, dot, sequence."""


def system_certificate_directory() -> str | None:
    """OpenSSL's default certificate directory when it holds hashed names (None when it is
    missing, or holds only bundles that a directory lookup would never find)."""
    directory = ssl.get_default_verify_paths().capath
    if not directory:
        return None
    try:
        with os.scandir(directory) as entries:
            if any(HASHED_NAME.fullmatch(entry.name) for entry in entries):
                return directory
    except OSError:
        pass
    return None


def new_tls_context() -> ssl.SSLContext:
    """A context for the certificates the environment names now (see the module's doc)."""
    if os.environ.get("SSL_CERT_FILE") or os.environ.get("SSL_CERT_DIR"):
        return httpx.create_ssl_context(trust_env=True)
    directory = system_certificate_directory()
    if directory is not None:
        return ssl.create_default_context(capath=directory)
    return httpx.create_ssl_context(trust_env=False)  # certifi's bundle


def platform_tls_context() -> ssl.SSLContext:
    """The process's context for the certificates the environment names now (a change of
    SSL_CERT_FILE or SSL_CERT_DIR gets a context of its own)."""
    where = (os.environ.get("SSL_CERT_FILE", ""), os.environ.get("SSL_CERT_DIR", ""))
    with _lock:
        context = _contexts.get(where)
        if context is None:
            context = _contexts[where] = new_tls_context()
        return context
