"""Topics as code: the specs in topics/*.yaml, and `slawatch topics apply`.

Each spec names its partitions, replication, cleanup policy, retention, key, the JSON Schema of its
value and an example. `apply` creates what is missing and reports drift on what exists; it never
alters an existing topic, because changing partitions re-keys data and that is an operator's call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from slawatch.conventions import ALL_TOPICS
from slawatch.core.durations import parse_duration

REQUIRED_FIELDS = ("name", "partitions", "replication", "cleanup_policy", "retention", "key", "value_schema", "example")


class TopicSpecError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int
    replication: int
    cleanup_policy: str
    retention_ms: int  # -1 = forever
    value_schema: dict = field(repr=False, compare=False, hash=False)
    example: object = field(repr=False, compare=False, hash=False)
    description: str = ""

    @property
    def configs(self) -> dict[str, str]:
        return {"cleanup.policy": self.cleanup_policy, "retention.ms": str(self.retention_ms)}


def _retention_ms(value: object, where: str) -> int:
    if value == -1 or value == "-1":
        return -1
    try:
        return parse_duration(str(value)) * 1000
    except ValueError as exc:
        raise TopicSpecError(f"{where}: retention: {exc} (or -1 for forever)") from None


def _read_yaml(path: Path) -> object:
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise TopicSpecError(f"{where}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from None


def load_spec(path: Path) -> TopicSpec:
    raw = _read_yaml(path)
    if not isinstance(raw, dict):
        raise TopicSpecError(f"{path}: a topic spec must be a mapping")
    missing = [f for f in REQUIRED_FIELDS if f not in raw]
    if missing:
        raise TopicSpecError(f"{path}: missing {', '.join(missing)}")
    if raw["cleanup_policy"] not in ("delete", "compact", "compact,delete"):
        raise TopicSpecError(f"{path}: cleanup_policy must be delete, compact or compact,delete")
    for f in ("partitions", "replication"):
        if not isinstance(raw[f], int) or raw[f] < 1:
            raise TopicSpecError(f"{path}: {f} must be a whole number >= 1")
    return TopicSpec(
        name=raw["name"],
        partitions=raw["partitions"],
        replication=raw["replication"],
        cleanup_policy=raw["cleanup_policy"],
        retention_ms=_retention_ms(raw["retention"], str(path)),
        value_schema=raw["value_schema"],
        example=raw["example"],
        description=str(raw.get("description", "")).strip(),
    )


def load_specs(topics_dir: Path) -> dict[str, TopicSpec]:
    """Every spec in the folder, keyed by topic name; all of slawatch's topics must be there."""
    if not topics_dir.is_dir():
        problem = "Not a directory" if topics_dir.exists() else "No such file or directory"
        raise TopicSpecError(f"topics folder {topics_dir}: {problem} (give --topics-dir)")
    specs = {}
    for path in sorted(topics_dir.glob("*.yaml")):
        spec = load_spec(path)
        specs[spec.name] = spec
    missing = set(ALL_TOPICS) - specs.keys()
    if missing:
        raise TopicSpecError(f"{topics_dir}: no spec for {', '.join(sorted(missing))}")
    return specs


@dataclass(frozen=True, slots=True)
class ApplyReport:
    created: tuple[str, ...]
    unchanged: tuple[str, ...]
    drift: tuple[str, ...]  # human lines: "sla.events: partitions 2 on the broker, 4 in the spec"
    notes: tuple[str, ...]

    def lines(self) -> list[str]:
        out = [f"created   {n}" for n in self.created]
        out += [f"ok        {n}" for n in self.unchanged]
        out += [f"DRIFT     {d}" for d in self.drift]
        out += [f"note      {n}" for n in self.notes]
        return out


def apply_topics(specs: dict[str, TopicSpec], bootstrap: list[str], security_kwargs: dict | None = None) -> ApplyReport:
    """Create missing topics (replication capped at the cluster's broker count), report drift."""
    from kafka import KafkaAdminClient
    from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
    from kafka.errors import TopicAlreadyExistsError

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, **(security_kwargs or {}))
    try:
        brokers = len(admin.describe_cluster()["brokers"])
        existing = set(admin.list_topics())
        notes, created, unchanged, drift = [], [], [], []
        wanted_replication = {n: min(s.replication, brokers) for n, s in specs.items()}
        capped = sorted(n for n, s in specs.items() if wanted_replication[n] < s.replication)
        if capped:
            notes.append(f"replication capped at {brokers} (brokers in the cluster) for {', '.join(capped)}")
        new = [
            NewTopic(s.name, s.partitions, wanted_replication[s.name], topic_configs=s.configs)
            for s in specs.values()
            if s.name not in existing
        ]
        if new:
            try:
                admin.create_topics(new)
            except TopicAlreadyExistsError:  # a concurrent apply won the race; drift check below
                pass
            created = [t.name for t in new]
        present = [s for s in specs.values() if s.name in existing]
        if present:
            described = {d["name"]: d for d in admin.describe_topics([s.name for s in present])}
            configs = _describe_configs(admin, ConfigResource, ConfigResourceType, [s.name for s in present])
            for spec in present:
                problems = _drift(spec, described.get(spec.name), configs.get(spec.name, {}), wanted_replication[spec.name])
                (drift.extend(problems) if problems else unchanged.append(spec.name))
            if present and not any(configs.values()):
                notes.append("the broker reports no topic configs: cleanup.policy and retention.ms not verified")
        return ApplyReport(tuple(created), tuple(unchanged), tuple(drift), tuple(notes))
    finally:
        admin.close()


def _describe_configs(admin, ConfigResource, ConfigResourceType, names: list[str]) -> dict[str, dict[str, str]]:
    result = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, n) for n in names])
    out: dict[str, dict[str, str]] = {}
    # kafka-python 2.x returns response objects, 3.x a dict {"topic": {name: {config: value}}}.
    if isinstance(result, dict):
        for name, cfg in result.get("topic", {}).items():
            out[name] = {k: (v.get("value") if isinstance(v, dict) else v) for k, v in (cfg or {}).items()}
    return out


def _drift(spec: TopicSpec, described: dict | None, configs: dict[str, str], replication: int) -> list[str]:
    if described is None:
        return [f"{spec.name}: listed by the broker but not described"]
    problems = []
    partitions = len(described["partitions"])
    if partitions != spec.partitions:
        problems.append(f"{spec.name}: partitions {partitions} on the broker, {spec.partitions} in the spec")
    replicas = min((len(p["replica_nodes"]) for p in described["partitions"]), default=0)
    if replicas != replication:
        problems.append(f"{spec.name}: replication {replicas} on the broker, {replication} wanted")
    for key, want in spec.configs.items():
        have = configs.get(key)
        if have is not None and str(have) != want:
            problems.append(f"{spec.name}: {key} {have} on the broker, {want} in the spec")
    return problems
