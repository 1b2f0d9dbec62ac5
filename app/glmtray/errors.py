"""Errors as types, each carrying a short user-facing title and message.

One place in each front end (CLI, tray) decides how to show them. None of them ever
carries the API key: messages are built from fixed text, business codes and the
platform's own `msg`, which is passed through `redact` before it is stored.

`title` and `message` are in the user's language; `source_title` and `source_message` keep
the English, for what a script reads (`status --json`), which never changes with the
language. A subclass writes its title in English (`title = N_("...")`) and its default
message with the `tr` it is given, so that both forms come from one text.
"""

from __future__ import annotations

from collections.abc import Callable

from glmtray.i18n import N_, _
from glmtray.redact import redact

Translate = Callable[[str], str]


def _english(text: str) -> str:
    return text


class GlmtrayError(Exception):
    """Base of every error glmtray shows to a person."""

    title = N_("Something went wrong")
    exit_code = 1

    def __init__(self, message: str = "", *, detail: str | None = None) -> None:
        english_title = type(self).title
        self.source_title = english_title
        self.title = _(english_title)
        # A Localized message knows its English; any other given message is what it is.
        english = getattr(message, "english", message)
        self.source_message = redact(english or self.default_message(_english))
        self.message = redact(message or self.default_message(_))
        self.detail = redact(detail) if detail else None
        super().__init__(self.message)

    def default_message(self, tr: Translate = _) -> str:
        """The message when none is given, through `tr` (English or the user's language)."""
        return tr(type(self).title)

    def __str__(self) -> str:
        return self.message


class InsecureBaseUrl(GlmtrayError):
    title = N_("Insecure platform address")


class PlatformError(GlmtrayError):
    """Anything the platform (or the road to it) answered other than usable data."""

    title = N_("Platform error")
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
    title = N_("API key not accepted")
    exit_code = 2

    def default_message(self, tr: Translate = _) -> str:
        return tr(
            "The platform rejected the API key. Check that it is the key of this region's "
            "account and that it has not been deleted."
        )


class NoCodingPlan(PlatformError):
    title = N_("No active coding plan")
    exit_code = 3

    def default_message(self, tr: Translate = _) -> str:
        return tr("This account has no active GLM Coding Plan subscription.")


class PlanExpired(NoCodingPlan):
    title = N_("Coding plan expired")

    def default_message(self, tr: Translate = _) -> str:
        return tr("The GLM Coding Plan of this account has expired.")


class AccountRestricted(PlatformError):
    title = N_("Account restricted")
    exit_code = 6  # not "no plan": the plan is there, the account is held

    def default_message(self, tr: Translate = _) -> str:
        return tr(
            "The platform reports this account as locked or restricted by risk control. "
            "You can ask support for a review."
        )


class RateLimited(PlatformError):
    title = N_("Rate limited")
    exit_code = 4

    def default_message(self, tr: Translate = _) -> str:
        return tr("The platform asked glmtray to slow down. It will try again later.")


class PlatformUnavailable(PlatformError):
    title = N_("Platform unreachable")
    exit_code = 4

    def default_message(self, tr: Translate = _) -> str:
        return tr("The platform could not be reached. Check the network connection.")


class ProxyFailed(PlatformUnavailable):
    """The proxy the environment names cannot be used: a bad address, unreachable, or it
    refused the credentials. The message names the variable and the proxy, never its
    user name or password."""

    title = N_("Proxy unusable")
    exit_code = 4

    def default_message(self, tr: Translate = _) -> str:
        return tr("The configured proxy could not be used.")


class UnexpectedResponse(PlatformError):
    title = N_("Unexpected answer from the platform")
    exit_code = 5

    def default_message(self, tr: Translate = _) -> str:
        return tr("The platform answered in a form glmtray does not understand.")


class CredentialError(GlmtrayError):
    """The OS keyring is missing, locked or failing."""

    title = N_("Keyring unavailable")
    exit_code = 1

    def __init__(self, message: str = "", *, backend: str = "unknown") -> None:
        self.backend = backend
        super().__init__(message)

    def default_message(self, tr: Translate = _) -> str:
        return tr("The system keyring ({backend}) could not be used.").format(backend=self.backend)


class KeyringLocked(CredentialError):
    title = N_("Keyring locked")


class KeyringUnresponsive(CredentialError):
    """The keyring did not answer in time (an unlock prompt nobody sees, a hung D-Bus)."""

    title = N_("Keyring not answering")

    def default_message(self, tr: Translate = _) -> str:
        return tr("The system keyring ({backend}) did not answer in time.").format(
            backend=self.backend
        )


class SettingsError(GlmtrayError):
    title = N_("Settings could not be saved")
