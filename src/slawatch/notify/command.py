"""The `slawatch notify alertmanager` verb: its flags, its checks, and the consumer it runs on.

A bad `--url` is said in one line before anything starts; an Alertmanager that does not answer is
not an error (the notifier waits for it and commits nothing meanwhile), a broker that does not
answer is (`reachable_broker`).
"""

from __future__ import annotations

import argparse
import os
import signal
from urllib.parse import urlsplit

from slawatch.cli_checks import CliError, positive_number, reachable_broker
from slawatch.settings import Settings
from slawatch.ui.links import DEFAULT_UI_PORT

URL_VARIABLE = "SLAWATCH_ALERTMANAGER_URL"
STATUS_PAGE_VARIABLE = "SLAWATCH_STATUS_PAGE_URL"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", default=os.environ.get(URL_VARIABLE),
                        help=f"Alertmanager base address, e.g. http://127.0.0.1:9093 (or {URL_VARIABLE})")
    parser.add_argument("--status-page-url", default=os.environ.get(STATUS_PAGE_VARIABLE),
                        help="where alerts link to (generatorURL); default: the local status page "
                             f"http://127.0.0.1:{DEFAULT_UI_PORT} (or {STATUS_PAGE_VARIABLE})")
    parser.add_argument("--resend-interval", type=positive_number, default=os.environ.get("SLAWATCH_RESEND_INTERVAL", "60"),
                        help="seconds between re-sends of firing alerts (default 60, as Prometheus; "
                             "or SLAWATCH_RESEND_INTERVAL)")
    parser.add_argument("--max-backoff", type=positive_number, default=os.environ.get("SLAWATCH_MAX_BACKOFF", "15"),
                        help="longest wait in seconds between retries while Alertmanager is down "
                             "(default 15, or SLAWATCH_MAX_BACKOFF)")


def options_from(args):
    from slawatch.notify.alertmanager import alerts_endpoint
    from slawatch.notify.loop import NotifyOptions

    if not args.url:
        raise CliError(f"no Alertmanager given: pass --url http://HOST:9093 (or set {URL_VARIABLE})")
    try:
        alerts_endpoint(args.url)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    status_page = args.status_page_url or f"http://127.0.0.1:{DEFAULT_UI_PORT}"
    parts = urlsplit(status_page)
    if parts.scheme not in ("http", "https") or not parts.netloc:  # Alertmanager refuses a bad generatorURL
        raise CliError(f"--status-page-url {status_page!r}: not an http(s) address")
    return NotifyOptions(url=args.url, status_page_url=status_page,
                         resend_interval_s=args.resend_interval, max_backoff_s=args.max_backoff)


def run(args, settings: Settings) -> int:
    from kafka import KafkaConsumer

    from slawatch.notify.alertmanager import AlertmanagerClient
    from slawatch.notify.loop import FETCH_WAIT_MS, Notifier

    options = options_from(args)
    settings = reachable_broker(settings)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # SIGTERM stops it as Ctrl-C does
    common = dict(bootstrap_servers=settings.bootstrap_servers, fetch_max_wait_ms=FETCH_WAIT_MS,
                  **settings.security.kafka_python_kwargs())
    session_ms = int(settings.effective_session_timeout_s * 1000)
    consumer = KafkaConsumer(group_id=options.group_id, enable_auto_commit=False, auto_offset_reset="earliest",
                             session_timeout_ms=session_ms, heartbeat_interval_ms=max(1000, session_ms // 3),
                             **common)
    notifier = Notifier(consumer, AlertmanagerClient(options.url), options,
                        log_reader=lambda: KafkaConsumer(enable_auto_commit=False, **common))
    print(f"slawatch notify: {notifier.client.endpoint} <- sla.warnings, sla.breaches "
          f"(group {options.group_id}); Ctrl-C stops it", flush=True)
    try:
        notifier.run()
    except KeyboardInterrupt:
        pass
    finally:
        consumer.close(autocommit=False)
    return 0


# `slawatch run` starts the notifier as a child process when an Alertmanager is named.
NOTIFY_GRACE_S = 1.0  # measured: it stops in ~0.1 s


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--alertmanager-url", default=os.environ.get(URL_VARIABLE),
                        help=f"also run the notifier, posting alerts to this Alertmanager (or {URL_VARIABLE})")


def check_run_url(args) -> None:
    """A bad --alertmanager-url is said before `slawatch run` starts anything."""
    from slawatch.notify.alertmanager import alerts_endpoint

    if args.alertmanager_url:
        try:
            alerts_endpoint(args.alertmanager_url)
        except ValueError as exc:
            raise CliError(str(exc).replace("--url", "--alertmanager-url", 1)) from None


def child_command(args, settings: Settings, status_page_url: str, session_timeout_s: float | None) -> list[str] | None:
    import sys

    if not args.alertmanager_url:
        return None
    cmd = [sys.executable, "-m", "slawatch", "notify", "alertmanager", "--broker", settings.broker,
           "--url", args.alertmanager_url, "--status-page-url", status_page_url, "--log-level", settings.log_level]
    return cmd + (["--session-timeout", str(session_timeout_s)] if session_timeout_s else [])


def banner_line(args) -> str:
    if args.alertmanager_url:
        return f"  paging     alerts -> Alertmanager {args.alertmanager_url} (notifier running)"
    return f"  paging     off (set {URL_VARIABLE} to page through Alertmanager)"
