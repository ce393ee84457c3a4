"""What a `slawatch` verb checks before it starts, and the one line it says when something is wrong.

A problem the person at the terminal can fix (a bad flag value, a missing file or folder, a busy
port, a broker that does not answer) is said as `slawatch VERB: what is wrong` on stderr with a
non-zero exit, never a traceback. The checks run before anything starts, so nothing is left to stop;
the broker check is one bounded metadata round-trip (`wait_until_ready`), so no Kafka client blocks.
"""

from __future__ import annotations

import argparse
import errno
import math
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

from slawatch.settings import Settings


class CliError(Exception):
    """A problem the person can fix, said as one line after `slawatch VERB: `; exit status 1."""


def problem_line(exc: Exception) -> str | None:
    """One line for a failure the person can fix; None for anything else (a bug keeps its traceback).
    A catalogue that does not load has its problems printed first, one per line, as the worker's are."""
    from slawatch.broker import BrokerNotReady
    from slawatch.catalog import CatalogError
    from slawatch.topics import TopicSpecError

    if isinstance(exc, CatalogError):
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        errors = sum(p.is_error for p in exc.problems)
        return f"the catalogue has {errors} error(s), listed above (check with `slawatch catalog validate`)"
    if isinstance(exc, (CliError, BrokerNotReady, TopicSpecError)):
        return str(exc)
    if isinstance(exc, OSError):
        return f"{exc.filename}: {exc.strerror}" if exc.filename and exc.strerror else str(exc)
    kafka_errors = sys.modules.get("kafka.errors")
    if kafka_errors is not None and isinstance(exc, kafka_errors.KafkaError):
        return f"Kafka: {exc}"
    return None


def positive_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number > 0")
    return value


def reachable_broker(settings: Settings) -> Settings:
    """The settings once their --broker answered a metadata request, within a bounded wait."""
    from slawatch.broker.embedded import REACH_TIMEOUT_S, wait_until_ready

    if settings.embedded:
        raise CliError("no broker given. Pass --broker HOST:PORT (or SLAWATCH_BROKER), "
                       "or use `slawatch run`, which starts an embedded one.")
    if settings.security.ssl_cafile:
        readable_file(settings.security.ssl_cafile, "--ssl-cafile")
    wait_until_ready(settings.broker, REACH_TIMEOUT_S, settings.security.kafka_python_kwargs())
    return settings


def existing_paths(paths: Sequence[str], what: str) -> list[str]:
    for path in paths:
        if not os.path.exists(path):
            raise CliError(f"{what} {path}: {os.strerror(errno.ENOENT)}")
    return list(paths)


def readable_file(path: str, what: str) -> str:
    try:
        with open(path, "rb"):
            return path
    except OSError as exc:
        raise CliError(f"{what} {path}: {exc.strerror}") from None


def free_web_port(settings: Settings) -> None:
    """Said before the worker starts: Faust would log a traceback when its web server cannot bind."""
    host, port = settings.web_host, settings.web_port
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the web server binds
            sock.bind((host, port))
    except OSError as exc:
        raise CliError(f"--web-port {port}: cannot listen on {host}:{port}: {exc.strerror or exc} "
                       "(give another --web-port)") from None


def data_dir(path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(f"data folder {path}: {exc.strerror} (give --data-dir)") from None
    return path


def require_topic(consumer, topic: str, broker: str) -> None:
    """A misspelt topic is said at once; subscribing to it would wait in silence for ever."""
    known = consumer.topics()
    if topic not in known:
        listed = ", ".join(sorted(t for t in known if not t.startswith("_"))) or "none"
        raise CliError(f"no topic {topic} on {broker} (topics there: {listed})")


def catalog_from(paths: Sequence[str]):
    """The catalogue; CatalogError (every problem, printed by `main`) when it does not load."""
    from slawatch.catalog import load_catalog
    from slawatch.core.model import Catalog

    if not paths:
        return Catalog((), ())
    return load_catalog(existing_paths(paths, "catalogue"))
