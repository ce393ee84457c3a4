"""The `slawatch ui` verb: its flags, its checks, and the feed and server it runs.

Said in one line before anything starts: a busy or foreign `--ui-port`/`--ui-host`, a broker that
does not answer, a broker without the sla.status topic.
"""

from __future__ import annotations

import argparse
import os
import signal

from slawatch.cli_checks import CliError, positive_number, reachable_broker
from slawatch.settings import Settings
from slawatch.ui.links import DEFAULT_UI_PORT

HOST_VARIABLE, PORT_VARIABLE = "SLAWATCH_UI_HOST", "SLAWATCH_UI_PORT"


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port 1-65535")
    return int(text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ui-host", default=os.environ.get(HOST_VARIABLE, "127.0.0.1"),
                        help=f"bind address of the status page (default 127.0.0.1, or {HOST_VARIABLE})")
    parser.add_argument("--ui-port", type=_port, default=os.environ.get(PORT_VARIABLE, str(DEFAULT_UI_PORT)),
                        help=f"port of the status page (default {DEFAULT_UI_PORT}, or {PORT_VARIABLE})")
    parser.add_argument("--refresh", type=positive_number, default=os.environ.get("SLAWATCH_UI_REFRESH", "10"),
                        help="seconds between the page's own reloads (default 10, or SLAWATCH_UI_REFRESH)")


def page_url(args) -> str:
    return f"http://{args.ui_host}:{args.ui_port}"


def bind(args, store, source: str):
    from slawatch.ui.server import PageSettings, make_server

    try:
        return make_server(args.ui_host, args.ui_port, store, PageSettings(max(1, round(args.refresh)), source))
    except OSError as exc:
        raise CliError(f"--ui-port {args.ui_port}: cannot listen on {args.ui_host}:{args.ui_port}: "
                       f"{exc.strerror or exc} (give another --ui-port)") from None


def run(args, settings: Settings) -> int:
    from kafka import KafkaConsumer

    from slawatch.cli_checks import require_topic
    from slawatch.conventions import TOPIC_STATUS
    from slawatch.ui.feed import StatusFeed
    from slawatch.ui.store import StatusStore

    settings = reachable_broker(settings)
    store = StatusStore()
    server = bind(args, store, settings.broker)
    consumer = KafkaConsumer(bootstrap_servers=settings.bootstrap_servers, enable_auto_commit=False,
                             fetch_max_wait_ms=100, **settings.security.kafka_python_kwargs())
    try:
        require_topic(consumer, TOPIC_STATUS, settings.broker)
    except CliError as exc:
        consumer.close()
        server.server_close()
        raise CliError(f"{exc}; create it with `slawatch topics apply`, then run a worker") from None
    feed = StatusFeed(consumer, store)
    feed.start()
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # SIGTERM stops it as Ctrl-C does
    print(f"slawatch ui: status page on {page_url(args)} (from {TOPIC_STATUS} on {settings.broker}); "
          "Ctrl-C stops it", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        feed.stop()
        feed.join(3)
    return 0


# `slawatch run` starts the status page as a child process; these are its parts of that.
UI_GRACE_S = 1.0  # measured: it stops in ~0.3 s


def check_free(args) -> None:
    """Said before `slawatch run` starts anything: the page's port is taken."""
    from slawatch.ui.store import StatusStore

    bind(args, StatusStore(), "").server_close()


def child_command(args, settings: Settings) -> list[str]:
    import sys

    return [sys.executable, "-m", "slawatch", "ui", "--broker", settings.broker, "--ui-host", args.ui_host,
            "--ui-port", str(args.ui_port), "--refresh", str(args.refresh), "--log-level", settings.log_level]
