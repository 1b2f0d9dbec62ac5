"""The `glmtray` command. `status`, `login`, `logout` and `simulate` never import Qt,
so they start fast and work on machines without a display."""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import math
import os
import sys
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from glmtray import __version__
from glmtray.credentials import Account, CredentialStore
from glmtray.errors import AuthenticationFailed, GlmtrayError, PlatformUnavailable
from glmtray.platform.regions import Region
from glmtray.redact import RedactingFilter, redact
from glmtray.settings import Settings, SettingsStore

if TYPE_CHECKING:
    from glmtray.activity.concurrency import ConcurrencyState

EXIT_OK = 0
EXIT_USAGE = 1
EXIT_AUTH = 2
ENV_API_KEY = "GLMTRAY_API_KEY"
ENV_BASE_URL = "GLMTRAY_BASE_URL"


def _setup_logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("glmtray: %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, handlers=[handler])
    # httpx logs every URL at INFO; URLs carry no key, but keep the CLI quiet.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)


_loaded_settings: list[Settings] = []


def _settings() -> Settings:
    """The saved settings, loaded once per command. Loading sets a damaged file aside, so
    its notice is shown here, the one time it is given."""
    if not _loaded_settings:
        result = SettingsStore().load()
        if result.notice:
            print(f"glmtray: {result.notice}", file=sys.stderr)
        _loaded_settings.append(result.settings)
    return _loaded_settings[0]


def _region(args: argparse.Namespace) -> Region:
    if args.region:
        return Region.parse(args.region)
    return _settings().region


def _base_url(args: argparse.Namespace) -> str | None:
    return args.base_url or os.environ.get(ENV_BASE_URL) or _settings().base_url


GRACE_SECONDS = 2.0
"""Past the client's own deadline, how long the CLI still waits before it gives up on a
call it cannot interrupt (a name lookup hanging in the resolver)."""
T = TypeVar("T")


def _bounded(call: Callable[[], T], seconds: float) -> T:
    """Run a platform call in a daemon thread and wait at most `seconds`. The client's own
    deadline ends nearly everything; this ends the rest (getaddrinfo cannot be timed out)."""
    outcome: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as error:  # handed to the caller below
            failure.append(error)

    worker = threading.Thread(target=run, name="glmtray-platform", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise PlatformUnavailable(f"The platform did not answer in time (within {seconds:g} s).")
    if failure:
        raise failure[0]
    return outcome[0]


def _fail(error: GlmtrayError, as_json: bool = False) -> int:
    if as_json:
        print(
            json.dumps(
                {
                    "error": {
                        "type": type(error).__name__,
                        "title": error.title,
                        "message": error.message,
                    }
                }
            )
        )
    print(f"glmtray: {error.title}: {error.message}", file=sys.stderr)
    return error.exit_code


def cmd_status(args: argparse.Namespace) -> int:
    from glmtray.platform.client import PlatformClient, Timeouts
    from glmtray.platform.models import Section, Snapshot
    from glmtray.report import snapshot_json, snapshot_text
    from glmtray.timeutil import utcnow

    if not math.isfinite(args.timeout) or args.timeout <= 0:
        print("glmtray: --timeout takes a positive number of seconds", file=sys.stderr)
        return EXIT_USAGE
    region = _region(args)
    key = os.environ.get(ENV_API_KEY, "").strip()
    if not key:
        store = CredentialStore()
        try:
            key = store.bounded(lambda: store.get(Account(region))) or ""
        except GlmtrayError as error:
            return _fail(error, args.json)
    if not key:
        not_signed_in = AuthenticationFailed(
            f"Not signed in for the {region.value} region: run 'glmtray login' "
            f"or set {ENV_API_KEY}."
        )
        return _fail(not_signed_in, args.json)
    try:
        # --timeout bounds the whole command's wait on the platform, every endpoint and
        # every byte included, not each read.
        timeout = min(max(0.5, args.timeout), 600.0)
        timeouts = Timeouts(connect=min(5.0, timeout), read=timeout, total=timeout)
        base_url = _base_url(args)

        def fetch() -> Snapshot:
            with PlatformClient(key, region, base_url=base_url, timeouts=timeouts) as client:
                return client.snapshot(within=timeout)

        snapshot = _bounded(fetch, timeout + GRACE_SECONDS)
    except GlmtrayError as error:
        return _fail(error, args.json)
    quota_problem = snapshot.problems.get(Section.QUOTA)
    concurrency = _concurrency(snapshot.tier.value if snapshot.tier else None, Account(region))
    if args.json:
        data = snapshot_json(snapshot)
        data["concurrency"] = concurrency.to_json() if concurrency is not None else None
        print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        print(snapshot_text(snapshot, utcnow()))
        if concurrency is not None and concurrency.tooltip_line:
            print(concurrency.tooltip_line)
    if quota_problem is not None:
        print(f"glmtray: {quota_problem.title}: {quota_problem.message}", file=sys.stderr)
        return quota_problem.exit_code
    return EXIT_OK


def _concurrency(tier: str | None, account: Account) -> ConcurrencyState | None:
    """What is running now: the local meter's numbers when it runs, and the coding sessions
    active in the last minutes from transcripts changed in that window only (cheap).
    None when it cannot be worked out: it is a bonus, never a reason for status to fail."""
    try:
        return _concurrency_state(tier, account)
    except Exception:
        logging.getLogger(__name__).warning("local activity could not be read", exc_info=True)
        return None


def _concurrency_state(tier: str | None, account: Account) -> ConcurrencyState:
    from datetime import timedelta

    from glmtray.activity.concurrency import LimitSeenBook, concurrency_state, fetch_meter_stats
    from glmtray.activity.events import EventStore
    from glmtray.activity.transcripts import TranscriptReader, default_root
    from glmtray.settings import data_dir
    from glmtray.timeutil import utcnow

    settings = _settings()
    now = utcnow()
    meter = fetch_meter_stats(settings.meter_port) if settings.meter_enabled else None
    activity = None
    if settings.transcripts_enabled:
        window = timedelta(minutes=5)
        reader = TranscriptReader(default_root(), modified_since=now - window)
        reader.scan(now)
        activity = reader.active_sessions(window, now)
    limits = None
    store_path = data_dir() / "events.sqlite3"
    if store_path.exists():
        try:
            with EventStore(store_path, account.username) as store:
                limits = LimitSeenBook(store, settings.peak_hours).limits(now)
        except Exception:  # the app's history is a bonus here, never a reason to fail
            limits = None
    return concurrency_state(
        meter, activity, tier, limits=limits, peak_hours=settings.peak_hours, now=now
    )


def _read_key() -> str:
    """The key typed or piped in; "" when there is none (end of input)."""
    try:
        if sys.stdin is None:
            return ""
        if sys.stdin.isatty():
            return getpass.getpass("GLM Coding Plan API key (input hidden): ")
        return sys.stdin.readline(64 * 1024)
    except EOFError:
        return ""
    except UnicodeDecodeError:
        raise AuthenticationFailed(
            "API keys contain only ASCII characters; the input given is not even text."
        ) from None


def cmd_login(args: argparse.Namespace) -> int:
    from glmtray.platform.client import PlatformClient, Timeouts
    from glmtray.platform.models import Quota

    region = _region(args)
    try:
        key = _read_key().strip()
    except GlmtrayError as error:
        return _fail(error)
    if not key:
        print("glmtray: no key given", file=sys.stderr)
        return EXIT_USAGE
    try:
        base_url = _base_url(args)

        def check() -> Quota:
            with PlatformClient(key, region, base_url=base_url) as client:
                return client.quota()

        quota = _bounded(check, Timeouts().overall * 2 + GRACE_SECONDS)
        credentials = CredentialStore()
        credentials.bounded(lambda: credentials.set(Account(region), key))
        store = SettingsStore()
        settings = _settings()
        if settings.region is not region:
            from dataclasses import replace

            store.save(replace(settings, region=region))
    except GlmtrayError as error:
        return _fail(error)
    tier = quota.tier.display_name if quota.tier else "unknown tier"
    print(f"Signed in ({region.value}, {tier}). The key is stored in the system keyring.")
    return EXIT_OK


def cmd_logout(args: argparse.Namespace) -> int:
    region = _region(args)
    store = CredentialStore()
    try:
        removed = store.bounded(lambda: store.delete(Account(region)))
    except GlmtrayError as error:
        return _fail(error)
    print("Signed out: the key was removed from the keyring." if removed else "No key was stored.")
    return EXIT_OK


def cmd_simulate(args: argparse.Namespace) -> int:
    from glmtray.simulator import serve

    try:
        serve(args.scenario, args.host, args.port, args.coding_limit)
    except ValueError as error:
        print(f"glmtray: {error}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as error:
        print(
            f"glmtray: cannot listen on {args.host}:{args.port}: {error.strerror}", file=sys.stderr
        )
        return EXIT_USAGE
    return EXIT_OK


def cmd_gui(args: argparse.Namespace) -> int:
    from glmtray.ui.application import run_app

    code: int = run_app(demo=args.demo, base_url=args.base_url)
    return code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="glmtray",
        description="Tray monitor for the GLM Coding Plan. Without a command, starts the tray app.",
    )
    parser.add_argument("--version", action="version", version=f"glmtray {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    parser.add_argument(
        "--demo", action="store_true", help="run the app against a built-in demo platform"
    )
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def with_region(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--region", choices=[r.value for r in Region], help="default: the saved region"
        )
        p.add_argument("--base-url", help="platform address override (https, or http on loopback)")

    status = sub.add_parser("status", help="print plan, quota windows, renewal and risk state")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="give up on the platform after this long",
    )
    with_region(status)
    status.set_defaults(func=cmd_status)

    login = sub.add_parser(
        "login", help="check an API key (read from a hidden prompt or stdin) and store it"
    )
    with_region(login)
    login.set_defaults(func=cmd_login)

    logout = sub.add_parser("logout", help="remove the stored API key")
    with_region(logout)
    logout.set_defaults(func=cmd_logout)

    simulate = sub.add_parser("simulate", help="serve the platform simulator on loopback")
    simulate.add_argument("--host", default="127.0.0.1")
    simulate.add_argument("--port", type=int, default=8899)
    simulate.add_argument("--scenario", default="demo")
    simulate.add_argument(
        "--coding-limit", type=int, metavar="N", help="answer 1302 above N coding requests at once"
    )
    simulate.set_defaults(func=cmd_simulate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    _loaded_settings.clear()
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.verbose)
    func = getattr(args, "func", cmd_gui)
    try:
        result: int = func(args)
    except GlmtrayError as error:
        return _fail(error)
    except ValueError as error:
        print(f"glmtray: {redact(str(error))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # a bug: say so in one line; -v logs the (redacted) details
        logging.getLogger(__name__).debug("unexpected error", exc_info=True)
        print(
            f"glmtray: unexpected error ({type(error).__name__}); run with -v for details",
            file=sys.stderr,
        )
        return EXIT_USAGE
    return result


if __name__ == "__main__":
    sys.exit(main())
