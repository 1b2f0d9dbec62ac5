"""The `glmtray` command. `status`, `login`, `logout` and `simulate` never import Qt,
so they start fast and work on machines without a display.

Only the standard library's lightest modules are imported here: `glmtray statusline`
(a FAST_COMMANDS entry, run by Claude Code many times a minute) is dispatched by `main`
before anything else loads. Whatever only some commands need (logging, the keyring, the
settings, the errors and their translations) is imported in the functions that use it.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import sys
from collections.abc import Callable, Sequence

from glmtray import __version__
from glmtray.i18n import _

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from datetime import datetime
    from pathlib import Path
    from typing import TypeVar

    from glmtray.credentials import Account
    from glmtray.errors import GlmtrayError
    from glmtray.key_helper import PendingRead
    from glmtray.platform.regions import Region
    from glmtray.settings import Settings

    T = TypeVar("T")

    from glmtray.activity.concurrency import ConcurrencyState
    from glmtray.activity.events import Event, EventStore
    from glmtray.history.forecast import Forecast
    from glmtray.peak import PeakStatus
    from glmtray.platform.models import Snapshot
    from glmtray.report import RiskReportData

EXIT_OK = 0
EXIT_USAGE = 1
EXIT_AUTH = 2
EXIT_NO_PLAN = 3
EXIT_UNAVAILABLE = 4
EXIT_UNEXPECTED = 5
EXIT_RESTRICTED = 6
"""The account is locked or restricted by risk control: not "no active coding plan"."""
# Translated once, at import: the command line's language comes from the environment, set
# before this module loads (other command modules use this text as it is).
EXIT_CODES_HELP = _(
    "exit codes: 0 success (also with warnings), 1 usage error, 2 authentication failed, "
    "3 no active coding plan, 4 platform unavailable, 5 unexpected response, "
    "6 account locked or restricted by risk control (status still prints the report)"
)
ENV_API_KEY = "GLMTRAY_API_KEY"
ENV_BASE_URL = "GLMTRAY_BASE_URL"


def _setup_logging(verbose: bool) -> None:
    import logging

    from glmtray.redact import RedactingFilter, install_log_redaction

    # Every record is masked where it is made, whichever logger (a library's too) makes it.
    install_log_redaction()
    handler = logging.StreamHandler(sys.stderr)
    # On the handler, not only the root logger: the tray app lowers the root level to INFO
    # for its log file, and a terminal that started it must not fill with INFO lines.
    handler.setLevel(logging.DEBUG if verbose else logging.WARNING)
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
        from glmtray.settings import SettingsStore

        result = SettingsStore().load()
        if result.notice:
            print(_("glmtray: {message}").format(message=result.notice), file=sys.stderr)
        _loaded_settings.append(result.settings)
    return _loaded_settings[0]


def _region(args: argparse.Namespace) -> Region:
    from glmtray.platform.regions import Region

    if args.region:
        return Region.parse(args.region)
    return _settings().region


def _base_url(args: argparse.Namespace) -> str | None:
    return args.base_url or os.environ.get(ENV_BASE_URL) or _settings().base_url


GRACE_SECONDS = 2.0
"""Past the client's own deadline, how long the CLI still waits before it gives up on a
call it cannot interrupt (a name lookup hanging in the resolver)."""


def _bounded(call: Callable[[], T], seconds: float) -> T:
    """Run a platform call in a daemon thread and wait at most `seconds`. The client's own
    deadline ends nearly everything; this ends the rest (getaddrinfo cannot be timed out)."""
    import threading

    from glmtray.errors import PlatformUnavailable

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
        raise PlatformUnavailable(
            _("The platform did not answer in time (within {seconds} s).").format(
                seconds=f"{seconds:g}"
            )
        )
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
                        # English whatever the language: what a script reads.
                        "title": error.source_title,
                        "message": error.source_message,
                    }
                }
            )
        )
    print(
        _("glmtray: {title}: {message}").format(title=error.title, message=error.message),
        file=sys.stderr,
    )
    return error.exit_code


def _api_key(region: Region) -> str:
    """The key from GLMTRAY_API_KEY, else the keyring's for `region`; AuthenticationFailed
    when there is none (the keyring's own errors pass through)."""
    from glmtray.credentials import Account, CredentialStore
    from glmtray.errors import AuthenticationFailed

    key = os.environ.get(ENV_API_KEY, "").strip()
    if not key:
        store = CredentialStore()
        key = store.bounded(lambda: store.get(Account(region))) or ""
    if not key:
        raise AuthenticationFailed(
            _(
                "Not signed in for the {region} region: run 'glmtray login' or set {variable}."
            ).format(region=region.value, variable=ENV_API_KEY)
        )
    return key


def cmd_status(args: argparse.Namespace) -> int:
    from glmtray.credentials import Account
    from glmtray.errors import AccountRestricted, GlmtrayError
    from glmtray.platform.client import PlatformClient, Timeouts
    from glmtray.platform.models import Section
    from glmtray.report import snapshot_json, snapshot_text
    from glmtray.snapshot import save_fetch
    from glmtray.timeutil import utcnow

    if not math.isfinite(args.timeout) or args.timeout <= 0:
        print(_("glmtray: --timeout takes a positive number of seconds"), file=sys.stderr)
        return EXIT_USAGE
    region = _region(args)
    try:
        key = _api_key(region)
    except GlmtrayError as error:
        return _fail(error, args.json)
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
    now = utcnow()
    # The history is the signed-in account's, as the tray keeps it (region and label).
    account = Account(region, _settings().account_label)
    concurrency = _concurrency(snapshot.tier.value if snapshot.tier else None, account)
    risk = _risk_report(snapshot, account, now)
    peak = _peak(snapshot, now)
    save_fetch(snapshot, account, _settings(), locked=risk.locked)  # for `statusline`
    forecasts = _forecasts(snapshot, account, now)
    if args.json:
        data = snapshot_json(snapshot, risk=risk, peak=peak)
        for window in data["windows"]:
            forecast = forecasts.get(window["id"])
            window["forecast"] = forecast.to_json(now) if forecast is not None else None
        data["concurrency"] = concurrency.to_json() if concurrency is not None else None
        print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        print(snapshot_text(snapshot, now, risk=risk, peak=peak))
        for line in _forecast_lines(forecasts, now):
            print(line)
        if concurrency is not None and concurrency.tooltip_line:
            print(concurrency.tooltip_line)
    if isinstance(quota_problem, AccountRestricted) or risk.locked or risk.restricted is True:
        said = (
            _("glmtray: the account is locked by risk control")
            if risk.locked
            else _("glmtray: the account is restricted by risk control")
        )
        print(said, file=sys.stderr)
        return EXIT_RESTRICTED
    if quota_problem is not None:
        print(
            _("glmtray: {title}: {message}").format(
                title=quota_problem.title, message=quota_problem.message
            ),
            file=sys.stderr,
        )
        return quota_problem.exit_code
    return EXIT_OK


HISTORY_BUSY_TIMEOUT_S = 0.5
"""While the tray writes the usage history, `status` waits this long at most, then goes on
without recording its own fetch."""


def _forecasts(snapshot: Snapshot, account: Account, now: datetime) -> dict[str, Forecast]:
    """Record this fetch in the account's usage history, as the tray does, and forecast
    each window from it. The history is a bonus: when it cannot be used the command goes on
    (forecasts without history, or none), never fails."""
    import logging

    from glmtray.history.forecast import forecasts_for
    from glmtray.history.recorder import HISTORY_FILE, HistoryRecorder
    from glmtray.history.store import HistoryStore
    from glmtray.peak import rule_for
    from glmtray.settings import data_dir

    settings = _settings()
    store: HistoryStore | None = None
    try:
        store = HistoryStore(
            data_dir() / HISTORY_FILE, account.username, busy_timeout=HISTORY_BUSY_TIMEOUT_S
        )
        HistoryRecorder(store).record(snapshot, now)
        rule = rule_for(snapshot.quota, settings.peak_rule)
        return forecasts_for(store, snapshot, now, rule, settings.peak_hours)
    except Exception:
        logging.getLogger(__name__).warning("no forecast: the usage history failed", exc_info=True)
        return {}
    finally:
        if store is not None:
            store.close()


def _forecast_lines(forecasts: dict[str, Forecast], now: datetime) -> list[str]:
    """The windows forecast to run out before their reset, one line each (as the tooltip)."""
    from glmtray.history.forecast import labelled_phrase, runs_out_before_reset

    return [labelled_phrase(f, now) for f in runs_out_before_reset(forecasts)]


def _peak(snapshot: Snapshot, now: datetime) -> PeakStatus | None:
    from glmtray.peak import peak_status, rule_for

    settings = _settings()
    if snapshot.quota is None and settings.peak_rule not in ("credit", "token"):
        return None  # no plan seen and no rule chosen: nothing to say which rule counts
    return peak_status(now, rule_for(snapshot.quota, settings.peak_rule), settings.peak_hours)


def _risk_report(snapshot: Snapshot, account: Account, now: datetime) -> RiskReportData:
    """The tray's risk report: the flag read now, the errors the account endpoints gave
    now, and the account's stored history (transcripts, meter), evaluated as the tray
    does. Read only: nothing is written, no notice is marked as sent. When the history
    cannot be read, the flag alone (`history_read` false)."""
    import logging

    from glmtray.report import RiskReportData

    try:
        return _risk_from_history(snapshot, account, now)
    except Exception:
        logging.getLogger(__name__).warning("the risk history could not be read", exc_info=True)
        return RiskReportData.from_flag(snapshot.risk_restricted)


def _risk_from_history(snapshot: Snapshot, account: Account, now: datetime) -> RiskReportData:
    from glmtray.activity.risk import RiskFlagReading, RiskMonitor
    from glmtray.activity.risk_store import load_risk_flag
    from glmtray.report import RiskReportData
    from glmtray.settings import data_dir

    events: list[Event] = []
    stored_flag: RiskFlagReading | None = None
    offsets: str | None = None
    store_path = data_dir() / EVENTS_FILE
    if store_path.exists():
        with _read_store(store_path, account.username) as store:
            events = store.all_events()
            stored_flag = load_risk_flag(store)
            offsets = store.get_shared_state(OFFSETS_KEY)
    known = {event.dedup_key for event in events}
    fresh = [e for e in _unstored_events(snapshot, offsets, now) if e.dedup_key not in known]
    flag = snapshot.risk_restricted
    reading = RiskFlagReading(flag, snapshot.fetched_at) if flag is not None else stored_flag
    state = RiskMonitor().evaluate([*events, *fresh], reading, now)
    return RiskReportData.from_state(flag, state, [*events, *fresh])


EVENTS_FILE = "events.sqlite3"


def _read_store(path: Path, account: str) -> EventStore:
    """The history opened for a quick read: `status` reads it as a bonus, so while the
    tray holds a write lock it waits a second, then reports what the platform said
    alone, rather than holding the command."""
    from glmtray.activity.events import EventStore

    return EventStore(path, account, busy_timeout=1.0, busy_retries=0)


OFFSETS_KEY = "transcripts.offsets"
"""The transcript reader's saved offsets (`risk_watch.OFFSETS_STATE_KEY`)."""
TRANSCRIPT_LOOKBACK_DAYS = 7


def _unstored_events(snapshot: Snapshot, offsets: str | None, now: datetime) -> list[Event]:
    """Signals seen now that the store does not hold: the account endpoints' business
    errors of this run, and transcript lines past the saved offsets (read, never saved)."""
    from datetime import timedelta

    from glmtray.activity.events import Event
    from glmtray.activity.transcripts import TranscriptReader, default_root
    from glmtray.platform.codes import classify

    found: list[Event] = []
    for error in snapshot.problems.values():
        if error.code is None:
            continue
        found.append(
            Event(
                id=-1 - len(found),
                time=snapshot.fetched_at,
                source="account_endpoint",
                code=error.code,
                code_class=classify(error.code),
                message=error.platform_message or error.message,
                trace_id=None,
                dedup_key=f"account:{error.code}:{snapshot.fetched_at.strftime('%Y%m%d%H')}",
                http_status=error.http_status,
            )
        )
    if not _settings().transcripts_enabled:
        return found
    try:
        saved = json.loads(offsets) if offsets else None
    except ValueError:
        saved = None
    reader = TranscriptReader(
        default_root(),
        saved if isinstance(saved, dict) else None,
        modified_since=now - timedelta(days=TRANSCRIPT_LOOKBACK_DAYS),
    )
    for line_error in reader.scan(now).errors:
        signal = line_error.to_signal()
        found.append(
            Event(
                id=-1 - len(found),
                time=signal.time,
                source=signal.source,
                code=signal.code,
                code_class=signal.code_class or classify(signal.code),
                message=signal.message,
                trace_id=signal.trace_id,
                dedup_key=signal.dedup_key or f"transcript:{len(found)}",
                http_status=signal.http_status,
            )
        )
    return found


def _concurrency(tier: str | None, account: Account) -> ConcurrencyState | None:
    """What is running now: the local meter's numbers when it runs, and the coding sessions
    active in the last minutes from transcripts changed in that window only (cheap).
    None when it cannot be worked out: it is a bonus, never a reason for status to fail."""
    import logging

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
    foreground_port = None if meter is not None else _foreground_meter_port(account)
    if foreground_port is not None:
        meter = fetch_meter_stats(foreground_port)
    activity = None
    if settings.transcripts_enabled:
        window = timedelta(minutes=5)
        reader = TranscriptReader(default_root(), modified_since=now - window)
        reader.scan(now)
        activity = reader.active_sessions(window, now)
    limits = None
    store_path = data_dir() / EVENTS_FILE
    if store_path.exists():
        try:
            with EventStore(store_path, account.username) as store:
                limits = LimitSeenBook(store, settings.peak_hours).limits(now)
        except Exception:  # the app's history is a bonus here, never a reason to fail
            limits = None
    return concurrency_state(
        meter, activity, tier, limits=limits, peak_hours=settings.peak_hours, now=now
    )


def _foreground_meter_port(account: Account) -> int | None:
    """The port of a running `glmtray meter` for this account, as it left it in the store."""
    from glmtray.settings import data_dir

    store_path = data_dir() / EVENTS_FILE
    if not store_path.exists():
        return None
    with _read_store(store_path, account.username) as store:
        text = store.get_state(METER_RUNNING_KEY)
    try:
        port = json.loads(text).get("port") if text else None
    except (ValueError, AttributeError):
        return None
    return port if isinstance(port, int) and 0 < port < 65536 else None


def _read_key() -> str:
    """The key typed or piped in; "" when there is none (end of input)."""
    import getpass

    from glmtray.errors import AuthenticationFailed

    try:
        if sys.stdin is None:
            return ""
        if sys.stdin.isatty():
            return getpass.getpass(_("GLM Coding Plan API key (input hidden): "))
        return sys.stdin.readline(64 * 1024)
    except EOFError:
        return ""
    except UnicodeDecodeError:
        raise AuthenticationFailed(
            _("API keys contain only ASCII characters; the input given is not even text.")
        ) from None


def cmd_login(args: argparse.Namespace) -> int:
    from glmtray.credentials import Account, CredentialStore
    from glmtray.errors import GlmtrayError
    from glmtray.platform.client import PlatformClient, Timeouts
    from glmtray.platform.models import Quota
    from glmtray.settings import SettingsStore

    region = _region(args)
    try:
        key = _read_key().strip()
    except GlmtrayError as error:
        return _fail(error)
    if not key:
        print(_("glmtray: no key given"), file=sys.stderr)
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
    tier = quota.tier.display_name if quota.tier else _("unknown tier")
    print(
        _("Signed in ({region}, {tier}). The key is stored in the system keyring.").format(
            region=region.value, tier=tier
        )
    )
    return EXIT_OK


def cmd_logout(args: argparse.Namespace) -> int:
    from glmtray.credentials import Account, CredentialStore
    from glmtray.errors import GlmtrayError

    region = _region(args)
    store = CredentialStore()
    try:
        removed = store.bounded(lambda: store.delete(Account(region)))
    except GlmtrayError as error:
        return _fail(error)
    print(
        _("Signed out: the key was removed from the keyring.")
        if removed
        else _("No key was stored.")
    )
    return EXIT_OK


def cmd_simulate(args: argparse.Namespace) -> int:
    from glmtray.simulator import serve

    try:
        serve(args.scenario, args.host, args.port, args.coding_limit)
    except ValueError as error:
        print(_("glmtray: {message}").format(message=error), file=sys.stderr)
        return EXIT_USAGE
    except OSError as error:
        print(
            _("glmtray: cannot listen on {host}:{port}: {reason}").format(
                host=args.host, port=args.port, reason=error.strerror
            ),
            file=sys.stderr,
        )
        return EXIT_USAGE
    return EXIT_OK


METER_RUNNING_KEY = "meter.foreground"
"""Per-account state while `glmtray meter` runs: its port, so `status` asks it for counts."""
METER_LAST_RUN_KEY = "meter.foreground_last_run"
"""Per-account state: what the last `glmtray meter` run counted, written when it stops."""


def cmd_meter(args: argparse.Namespace) -> int:
    """The local meter in the foreground, without the tray, until SIGINT or SIGTERM.

    It records into the signed-in account's event store, as the tray's meter does, so the
    tray and `status` see the business errors it met; its counts are kept in that store
    when it stops. On a signal it stops listening at once, gives answers in flight the
    meter's short grace, cuts the rest (they are counted) and exits 0."""
    import signal
    import threading
    from datetime import datetime as clock
    from datetime import timezone

    from glmtray.activity.events import EventStore
    from glmtray.credentials import Account
    from glmtray.meter.server import LocalMeter, MeterPortInUse
    from glmtray.platform.regions import info
    from glmtray.settings import data_dir

    settings = _settings()
    region = _region(args)
    port = settings.meter_port if args.port is None else args.port
    if not 0 <= port <= 65535:
        print(_("glmtray: --port takes a number from 0 to 65535"), file=sys.stderr)
        return EXIT_USAGE
    upstream = _base_url(args) or info(region).api_base
    account = Account(region, settings.account_label)
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        data_dir().mkdir(parents=True, exist_ok=True)
        with EventStore(data_dir() / EVENTS_FILE, account.username) as store:
            meter = LocalMeter(upstream, port=port, events=store, peak_hours=settings.peak_hours)
            try:
                meter.start()
            except MeterPortInUse as error:
                return _fail(error)
            started = clock.now(timezone.utc)
            try:
                store.set_state(
                    METER_RUNNING_KEY,
                    json.dumps(
                        {"port": meter.port, "pid": os.getpid(), "since": started.isoformat()}
                    ),
                )
                print(
                    _(
                        "glmtray meter on {url} for {account}, forwarding to {upstream} "
                        "(Ctrl-C stops it)"
                    ).format(url=meter.url, account=account.username, upstream=upstream),
                    flush=True,
                )
                while not stop.wait(0.5):
                    pass
            finally:
                meter.stop()
                stats = meter.snapshot()
                record = {
                    **stats.to_json(),
                    "since": started.isoformat(),
                    "stopped_at": clock.now(timezone.utc).isoformat(),
                }
                store.set_state(METER_LAST_RUN_KEY, json.dumps(record))
                store.delete_state(METER_RUNNING_KEY)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print(
        _("meter stopped: {requests} requests, {errors} business errors").format(
            requests=stats.requests_total, errors=stats.errors_total
        ),
        flush=True,
    )
    return EXIT_OK


def cmd_gui(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from glmtray.platform.regions import Region
    from glmtray.system_check import missing_message, missing_packages

    missing = missing_packages()
    if missing:
        print(_("glmtray: {message}").format(message=missing_message(missing)), file=sys.stderr)
        early_read = getattr(args, "early_key_read", None)
        if early_read is not None:
            early_read.cancel()
        return EXIT_USAGE
    first = None
    if not args.demo:
        # The key's read and the first look at the platform, in a child process on the other
        # core while Qt loads (key_helper.py); a thread waits for them (first_fetch.py).
        from glmtray.credentials import Account
        from glmtray.key_helper import PendingRead, first_look_options
        from glmtray.settings import SettingsStore

        store = SettingsStore()
        loaded = store.load()  # a damaged file's notice goes on to the panel
        if args.region:
            loaded = replace(loaded, settings=replace(loaded.settings, region=Region(args.region)))
        account = Account(loaded.settings.region, loaded.settings.account_label)
        # Begun by main() before the command line was parsed, when it could tell a tray
        # start from the arguments alone; otherwise now.
        pending_key = getattr(args, "early_key_read", None) or PendingRead(
            account, options=first_look_options(args.base_url)
        )

        from glmtray.environment import LoadedOnce, normal_environment
        from glmtray.first_fetch import FirstFetch, preferred_language

        first = normal_environment(args.base_url, pending_key)
        first.settings = LoadedOnce(store, loaded)
        first.first_fetch = FirstFetch(first, account, preferred_language())
    from glmtray.ui.application import run_app

    code: int = run_app(demo=args.demo, base_url=args.base_url, environment=first)
    return code


SCENARIO_LIST = "(the simulator's scenarios)"
"""Stands for the list in `simulate --help`, written out only when that help is shown: the
simulator is not loaded for every command (a status line runs `status` often)."""


def _scenario_list_formatter() -> type[argparse.HelpFormatter]:
    """`simulate --help`'s formatter (made here: argparse is not loaded for fast commands)."""
    import argparse

    class ScenarioListFormatter(argparse.RawDescriptionHelpFormatter):
        def add_text(self, text: str | None) -> None:
            if text == SCENARIO_LIST:
                from glmtray.simulator.scenarios import SCENARIOS

                text = (
                    _("scenarios:")
                    + "\n"
                    + "\n".join(
                        f"  {name:<18} {scenario.description}"
                        for name, scenario in SCENARIOS.items()
                    )
                )
            super().add_text(text)

    return ScenarioListFormatter


def add_timeout_argument(parser: argparse.ArgumentParser) -> None:
    """`--timeout SECONDS`, for the commands that ask the platform."""
    parser.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help=_("give up on the platform after this long"),
    )


def build_parser(*, with_commands: bool = True) -> argparse.ArgumentParser:
    """The command line's parser. Without its commands for a tray start (which names none,
    see `tray_start`): building them loads every command's module."""
    import argparse

    from glmtray.platform.regions import Region

    parser = argparse.ArgumentParser(
        prog="glmtray",
        description=_(
            "Tray monitor for the GLM Coding Plan. Without a command, starts the tray app."
        ),
        epilog=EXIT_CODES_HELP,
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"glmtray {__version__}",
        # Python 3.11's argparse does not pass this default through gettext.
        help=_("show program's version number and exit"),
    )
    parser.add_argument("-v", "--verbose", action="store_true", help=_("log details to stderr"))
    parser.add_argument(
        "--demo", action="store_true", help=_("run the app against a built-in demo platform")
    )
    parser.add_argument(
        "--base-url",
        help=_(
            "platform address override for the tray app (https, or http on loopback: the simulator)"
        ),
    )
    parser.add_argument(
        "--region",
        choices=[r.value for r in Region],
        help=_("the tray app's region for this run (default: the saved one)"),
    )
    if not with_commands:
        return parser
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def with_region(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--region", choices=[r.value for r in Region], help=_("default: the saved region")
        )
        p.add_argument(
            "--base-url", help=_("platform address override (https, or http on loopback)")
        )

    status = sub.add_parser(
        "status",
        help=_("print plan, quota windows, renewal and risk state"),
        epilog=EXIT_CODES_HELP,
    )
    status.add_argument("--json", action="store_true", help=_("machine-readable output"))
    add_timeout_argument(status)
    with_region(status)
    status.set_defaults(func=cmd_status)

    login = sub.add_parser(
        "login", help=_("check an API key (read from a hidden prompt or stdin) and store it")
    )
    with_region(login)
    login.set_defaults(func=cmd_login)

    logout = sub.add_parser("logout", help=_("remove the stored API key"))
    with_region(logout)
    logout.set_defaults(func=cmd_logout)

    simulate = sub.add_parser(
        "simulate",
        help=_("serve the platform simulator on loopback"),
        formatter_class=_scenario_list_formatter(),
        epilog=SCENARIO_LIST,
    )
    simulate.add_argument("--host", default="127.0.0.1", help=_("a loopback address"))
    simulate.add_argument("--port", type=int, default=8899, help=_("0 picks a free port"))
    simulate.add_argument(
        "--scenario", default="demo", metavar="NAME",
        help=_("the scenario to start with (listed below); switch it while it runs"),
    )  # fmt: skip
    simulate.add_argument(
        "--coding-limit",
        type=int,
        metavar="N",
        help=_("answer 1302 above N coding requests at once"),
    )
    simulate.set_defaults(func=cmd_simulate)

    meter = sub.add_parser(
        "meter",
        help=_("run the local meter in the foreground, without the tray (loopback only)"),
        epilog=_(
            "Ctrl-C or SIGTERM stops it; what it saw goes to the signed-in account's history."
        ),
    )
    meter.add_argument(
        "--port", type=int, default=None, metavar="N", help=_("default: the saved meter port")
    )
    with_region(meter)
    meter.set_defaults(func=cmd_meter)
    for name, module_name in COMMAND_MODULES.items():
        module = importlib.import_module(module_name)
        command = sub.add_parser(name, help=module.HELP, description=module.DESCRIPTION)
        module.add_arguments(command)
        command.set_defaults(func=module.run)
    return parser


COMMAND_MODULES = {
    "history": "glmtray.cli_history",
    "statusline": "glmtray.cli_statusline",
}
"""Commands kept in modules of their own. Each has HELP, DESCRIPTION, `add_arguments(parser)`
and `run(args) -> int`."""
FAST_COMMANDS = {"statusline": "glmtray.cli_statusline"}
"""Commands run by other programs many times a minute: dispatched to their module's
`main(argv) -> int` before anything else is built or imported."""


TRAY_OPTIONS_WITH_VALUES = ("--base-url", "--region")
TRAY_FLAGS = ("-v", "--verbose")


def tray_start(arguments: Sequence[str]) -> tuple[str | None, str | None] | None:
    """The --region and --base-url of `arguments` when they start the tray with its saved
    key (no command, no --demo, no help); None otherwise. Read without argparse, before
    anything is imported, so that the key's read and first look (the longest step of a
    start) begin first. Anything this does not recognise (an abbreviation, a command)
    answers None: the read then starts after parsing, as it always could."""
    values: dict[str, str] = {}
    items = iter(arguments)
    for item in items:
        if item in TRAY_FLAGS:
            continue
        name, has_value, value = item.partition("=")
        if name not in TRAY_OPTIONS_WITH_VALUES:
            return None
        if not has_value:
            following = next(items, None)
            if following is None:
                return None
            value = following
        values[name] = value
    return values.get("--region"), values.get("--base-url")


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments and arguments[0] in FAST_COMMANDS:
        # Before anything else is imported: the command loads only what it needs.
        fast: int = importlib.import_module(FAST_COMMANDS[arguments[0]]).main(arguments[1:])
        return fast
    start = tray_start(arguments)
    starts_tray = start is not None
    early_read: PendingRead | None = None
    if start is not None:
        from glmtray.collector import pause_for_start
        from glmtray.key_helper import PendingRead

        pause_for_start()  # until the first data is on screen (collector.py)

        region, base_url = start
        early_read = PendingRead.saved_account(region, first_look=True, base_url=base_url)
    import logging

    from glmtray.errors import GlmtrayError
    from glmtray.redact import redact

    _loaded_settings.clear()
    parser = build_parser(with_commands=not starts_tray)
    try:
        args = parser.parse_args(arguments)
    except SystemExit:
        if early_read is not None:
            early_read.cancel()
        raise
    del parser  # main() lasts as long as the tray: the parser need not
    _setup_logging(args.verbose)
    func = getattr(args, "func", cmd_gui)
    if early_read is not None:
        if func is cmd_gui and not args.demo:
            args.early_key_read = early_read
        else:
            early_read.cancel()
    try:
        result: int = func(args)
    except GlmtrayError as error:
        return _fail(error)
    except ValueError as error:
        print(_("glmtray: {message}").format(message=redact(str(error))), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # a bug: say so in one line; -v logs the (redacted) details
        logging.getLogger(__name__).debug("unexpected error", exc_info=True)
        print(
            _("glmtray: unexpected error ({error}); run with -v for details").format(
                error=type(error).__name__
            ),
            file=sys.stderr,
        )
        return EXIT_USAGE
    return result


if __name__ == "__main__":
    sys.exit(main())
