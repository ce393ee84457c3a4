"""One frozen settings object, built once at start-up from flags and environment, then passed down.

Nothing else in slawatch reads `os.environ`: a flag wins over its `SLAWATCH_*` variable, which wins
over the default. The same object configures Faust, kafka-python and the embedded broker, so SASL/SSL
settings given once reach every Kafka client.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

DEFAULT_WEB_PORT = 6066
# Tansu answers JoinGroup only after half the session timeout (see docs/architecture.md), so a short
# timeout makes a worker ready in ~5 s instead of ~33 s. Apache Kafka gets the usual 45 s.
EMBEDDED_SESSION_TIMEOUT_S = 10.0
CLUSTER_SESSION_TIMEOUT_S = 45.0
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


def _default_topics_dir() -> Path:
    """topics/ beside src/ in a checkout (editable install); else ./topics."""
    here = Path(__file__).resolve().parents[2] / "topics"
    return here if here.is_dir() else Path.cwd() / "topics"


@dataclass(frozen=True, slots=True)
class KafkaSecurity:
    """Passed through unchanged to every Kafka client; empty means PLAINTEXT."""

    protocol: str = "PLAINTEXT"  # PLAINTEXT | SSL | SASL_PLAINTEXT | SASL_SSL
    sasl_mechanism: str | None = None  # PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512
    sasl_username: str | None = None
    sasl_password: str | None = None
    ssl_cafile: str | None = None

    def kafka_python_kwargs(self) -> dict[str, object]:
        kwargs: dict[str, object] = {"security_protocol": self.protocol}
        if self.sasl_mechanism:
            kwargs.update(
                sasl_mechanism=self.sasl_mechanism,
                sasl_plain_username=self.sasl_username,
                sasl_plain_password=self.sasl_password,
            )
        if self.ssl_cafile:
            kwargs["ssl_cafile"] = self.ssl_cafile
        return kwargs


@dataclass(frozen=True, slots=True)
class Settings:
    broker: str | None = None  # "host:port[,host:port]"; None = start the embedded broker
    broker_port: int = 0  # embedded broker port; 0 = any free port
    security: KafkaSecurity = field(default_factory=KafkaSecurity)
    web_host: str = "127.0.0.1"
    web_port: int = DEFAULT_WEB_PORT
    catalog_paths: tuple[str, ...] = ()
    topics_dir: Path = field(default_factory=_default_topics_dir)
    data_dir: Path = Path(".run")
    session_timeout_s: float | None = None  # None = pick by broker kind
    max_record_bytes: int = 1_048_576
    max_future_skew_s: float = 86_400.0  # an event stamped further ahead than this is absurd
    strict_events: bool = False  # refuse events with unknown top-level fields (default: ignore, count, log)
    log_level: str = "info"
    log_json: bool = False
    # Alerts are decided at event-time step edges (so they do not depend on batching); the step
    # bounds detection latency from above and costs one decision per SLO per step with traffic.
    decision_step_s: float = 0.1

    @property
    def embedded(self) -> bool:
        return self.broker is None

    @property
    def bootstrap_servers(self) -> list[str]:
        if self.broker is None:
            raise RuntimeError("the embedded broker's address is known only once it runs")
        return [hp.strip() for hp in self.broker.split(",") if hp.strip()]

    @property
    def faust_broker_url(self) -> str:
        return ";".join(f"kafka://{hp}" for hp in self.bootstrap_servers)

    @property
    def effective_session_timeout_s(self) -> float:
        if self.session_timeout_s is not None:
            return self.session_timeout_s
        return EMBEDDED_SESSION_TIMEOUT_S if self.embedded else CLUSTER_SESSION_TIMEOUT_S

    def with_broker(self, address: str) -> Settings:
        """The same settings pointed at a running broker (the embedded one once it is up)."""
        return replace(self, broker=address)


def normalise_broker(value: str | None) -> str | None:
    """'kafka://a:9092;kafka://b:9092' or 'a:9092,b:9092' -> 'a:9092,b:9092'."""
    if not value:
        return None
    parts = [p.strip() for p in value.replace(";", ",").split(",") if p.strip()]
    hosts = [p.removeprefix("kafka://") for p in parts]
    for hp in hosts:
        host, _, port = hp.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"broker address {hp!r} is not host:port (e.g. kafka://127.0.0.1:9092)")
    return ",".join(hosts)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags every long-running command shares; each has a SLAWATCH_* variable."""
    g = parser.add_argument_group("connection (flags override SLAWATCH_* environment variables)")
    g.add_argument("--broker", help="Kafka bootstrap, e.g. kafka://host:9092; unset = embedded broker [SLAWATCH_BROKER]")
    g.add_argument("--broker-port", type=int, help="port of the embedded broker, 0 = any free [SLAWATCH_BROKER_PORT]")
    g.add_argument("--security-protocol", help="PLAINTEXT|SSL|SASL_PLAINTEXT|SASL_SSL [SLAWATCH_SECURITY_PROTOCOL]")
    g.add_argument("--sasl-mechanism", help="PLAIN|SCRAM-SHA-256|SCRAM-SHA-512 [SLAWATCH_SASL_MECHANISM]")
    g.add_argument("--sasl-username", help="[SLAWATCH_SASL_USERNAME]")
    g.add_argument("--sasl-password", help="prefer the variable [SLAWATCH_SASL_PASSWORD]")
    g.add_argument("--ssl-cafile", help="CA bundle for SSL [SLAWATCH_SSL_CAFILE]")
    g.add_argument("--web-host", help="bind address of /metrics and /healthz [SLAWATCH_WEB_HOST]")
    g.add_argument("--web-port", type=int, help=f"port of /metrics and /healthz (default {DEFAULT_WEB_PORT}) [SLAWATCH_WEB_PORT]")
    g.add_argument("--catalog", action="append", help="catalogue file or folder, repeatable [SLAWATCH_CATALOG, comma-separated]")
    g.add_argument("--topics-dir", help="folder of topic specs [SLAWATCH_TOPICS_DIR]")
    g.add_argument("--data-dir", help="worker state folder (default .run) [SLAWATCH_DATA_DIR]")
    g.add_argument("--session-timeout", type=float, help="consumer group session timeout, seconds [SLAWATCH_SESSION_TIMEOUT]")
    g.add_argument("--strict-events", action="store_true", default=None,
                   help="dead-letter events with unknown top-level fields instead of ignoring them [SLAWATCH_STRICT_EVENTS=1]")
    g.add_argument("--decision-step", type=float, help="seconds of event time between alert decisions (default 0.1) [SLAWATCH_DECISION_STEP]")
    g.add_argument("--log-level", help="debug|info|warning|error [SLAWATCH_LOG_LEVEL]")
    g.add_argument("--log-json", action="store_true", default=None, help="JSON log lines [SLAWATCH_LOG_JSON=1]")


def _flag(value: str) -> bool:
    """A SLAWATCH_* on/off variable: 1, true or yes is on."""
    return value.lower() in ("1", "true", "yes")


def build_settings(args: argparse.Namespace | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Flags, then SLAWATCH_* variables, then defaults."""
    env = os.environ if environ is None else environ
    ns = vars(args) if args is not None else {}

    def pick(flag: str, var: str, convert=str, default=None):
        value = ns.get(flag)
        if value is not None:
            return value
        raw = env.get(var)
        if raw in (None, ""):
            return default
        try:
            return convert(raw)
        except ValueError:
            raise ValueError(f"{var}={raw!r} is not a valid {convert.__name__}") from None

    defaults = Settings()
    catalog = ns.get("catalog") or [p for p in env.get("SLAWATCH_CATALOG", "").split(",") if p]
    security = KafkaSecurity(
        protocol=pick("security_protocol", "SLAWATCH_SECURITY_PROTOCOL", default="PLAINTEXT"),
        sasl_mechanism=pick("sasl_mechanism", "SLAWATCH_SASL_MECHANISM"),
        sasl_username=pick("sasl_username", "SLAWATCH_SASL_USERNAME"),
        sasl_password=pick("sasl_password", "SLAWATCH_SASL_PASSWORD"),
        ssl_cafile=pick("ssl_cafile", "SLAWATCH_SSL_CAFILE"),
    )
    return check_settings(Settings(
        broker=normalise_broker(pick("broker", "SLAWATCH_BROKER")),
        broker_port=pick("broker_port", "SLAWATCH_BROKER_PORT", int, defaults.broker_port),
        security=security,
        web_host=pick("web_host", "SLAWATCH_WEB_HOST", default=defaults.web_host),
        web_port=pick("web_port", "SLAWATCH_WEB_PORT", int, defaults.web_port),
        catalog_paths=tuple(catalog),
        topics_dir=Path(pick("topics_dir", "SLAWATCH_TOPICS_DIR", default=str(defaults.topics_dir))),
        data_dir=Path(pick("data_dir", "SLAWATCH_DATA_DIR", default=str(defaults.data_dir))),
        session_timeout_s=pick("session_timeout", "SLAWATCH_SESSION_TIMEOUT", float),
        decision_step_s=pick("decision_step", "SLAWATCH_DECISION_STEP", float, defaults.decision_step_s),
        strict_events=bool(pick("strict_events", "SLAWATCH_STRICT_EVENTS", _flag, False)),
        log_level=pick("log_level", "SLAWATCH_LOG_LEVEL", default=defaults.log_level),
        log_json=bool(pick("log_json", "SLAWATCH_LOG_JSON", lambda v: v.lower() in ("1", "true", "yes"), False)),
    ))


def check_settings(settings: Settings) -> Settings:
    """The settings, or ValueError naming the first value that cannot work, so the CLI says so in one
    line before any client, broker or logger trips over it later."""
    s, security = settings, settings.security
    checks = (
        (0 <= s.broker_port <= 65535, f"--broker-port {s.broker_port}: a port is 0-65535"),
        (0 <= s.web_port <= 65535, f"--web-port {s.web_port}: a port is 0-65535"),
        (s.log_level.lower() in LOG_LEVELS, f"--log-level {s.log_level}: one of {', '.join(LOG_LEVELS)}"),
        (security.protocol in SECURITY_PROTOCOLS,
         f"--security-protocol {security.protocol}: one of {', '.join(SECURITY_PROTOCOLS)}"),
        (security.sasl_mechanism in (None, *SASL_MECHANISMS),
         f"--sasl-mechanism {security.sasl_mechanism}: one of {', '.join(SASL_MECHANISMS)}"),
        (math.isfinite(s.decision_step_s) and s.decision_step_s > 0,
         f"--decision-step {s.decision_step_s}: seconds > 0"),
        (s.session_timeout_s is None or (math.isfinite(s.session_timeout_s) and s.session_timeout_s > 0),
         f"--session-timeout {s.session_timeout_s}: seconds > 0"),
    )
    for ok, problem in checks:
        if not ok:
            raise ValueError(problem)
    return settings
