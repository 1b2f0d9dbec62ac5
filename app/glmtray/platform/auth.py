"""How the platform wants an account's key sent: as it is, or as a Bearer token.

Apart from the client so that what remembers it (`account_memory`) and the first look at
the start do not load the HTTP stack just to name it.
"""

from __future__ import annotations

from enum import Enum


class AuthScheme(str, Enum):
    RAW = "raw"
    BEARER = "bearer"
