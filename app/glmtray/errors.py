"""Errors as types, each carrying a short user-facing title and message.

One place in each front end (CLI, tray) decides how to show them. None of them ever
carries the API key: messages are built from fixed text, business codes and the
platform's own `msg`, which is passed through `redact` before it is stored.
"""

from __future__ import annotations

from glmtray.redact import redact


class GlmtrayError(Exception):
    """Base of every error glmtray shows to a person."""

    title = "Something went wrong"
    exit_code = 1

    def __init__(self, message: str = "", *, detail: str | None = None) -> None:
        self.message = redact(message or self.default_message())
        self.detail = redact(detail) if detail else None
        super().__init__(self.message)

    def default_message(self) -> str:
        return self.title

    def __str__(self) -> str:
        return self.message


class InsecureBaseUrl(GlmtrayError):
    title = "Insecure platform address"


class PlatformError(GlmtrayError):
    """Anything the platform (or the road to it) answered other than usable data."""

    title = "Platform error"
    exit_code = 5

    def __init__(
        self,
        message: str = "",
        *,
        code: int | None = None,
        http_status: int | None = None,
        platform_message: str | None = None,
        detail: str | None = None,
    ) -> None:
        self.code = code
        self.http_status = http_status
        self.platform_message = redact(platform_message) if platform_message else None
        super().__init__(message, detail=detail)


class AuthenticationFailed(PlatformError):
    title = "API key not accepted"
    exit_code = 2

    def default_message(self) -> str:
        return (
            "The platform rejected the API key. Check that it is the key of this region's "
            "account and that it has not been deleted."
        )


class NoCodingPlan(PlatformError):
    title = "No active coding plan"
    exit_code = 3

    def default_message(self) -> str:
        return "This account has no active GLM Coding Plan subscription."


class PlanExpired(NoCodingPlan):
    title = "Coding plan expired"

    def default_message(self) -> str:
        return "The GLM Coding Plan of this account has expired."


class AccountRestricted(PlatformError):
    title = "Account restricted"
    exit_code = 6  # not "no plan": the plan is there, the account is held

    def default_message(self) -> str:
        return (
            "The platform reports this account as locked or restricted by risk control. "
            "You can ask support for a review."
        )


class RateLimited(PlatformError):
    title = "Rate limited"
    exit_code = 4

    def default_message(self) -> str:
        return "The platform asked glmtray to slow down. It will try again later."


class PlatformUnavailable(PlatformError):
    title = "Platform unreachable"
    exit_code = 4

    def default_message(self) -> str:
        return "The platform could not be reached. Check the network connection."


class ProxyFailed(PlatformUnavailable):
    """The proxy the environment names cannot be used: a bad address, unreachable, or it
    refused the credentials. The message names the variable and the proxy, never its
    user name or password."""

    title = "Proxy unusable"
    exit_code = 4

    def default_message(self) -> str:
        return "The configured proxy could not be used."


class UnexpectedResponse(PlatformError):
    title = "Unexpected answer from the platform"
    exit_code = 5

    def default_message(self) -> str:
        return "The platform answered in a form glmtray does not understand."


class CredentialError(GlmtrayError):
    """The OS keyring is missing, locked or failing."""

    title = "Keyring unavailable"
    exit_code = 1

    def __init__(self, message: str = "", *, backend: str = "unknown") -> None:
        self.backend = backend
        super().__init__(message)

    def default_message(self) -> str:
        return f"The system keyring ({self.backend}) could not be used."


class KeyringLocked(CredentialError):
    title = "Keyring locked"


class KeyringUnresponsive(CredentialError):
    """The keyring did not answer in time (an unlock prompt nobody sees, a hung D-Bus)."""

    title = "Keyring not answering"

    def default_message(self) -> str:
        return f"The system keyring ({self.backend}) did not answer in time."


class SettingsError(GlmtrayError):
    title = "Settings could not be saved"
