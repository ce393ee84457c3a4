"""Topics as code: every spec is complete, its example matches its schema, and apply is idempotent."""

from __future__ import annotations

import jsonschema
import pytest
from kafka import KafkaAdminClient
from kafka.admin import NewTopic

from kafka_helpers import REPO
from slawatch.conventions import ALL_TOPICS
from slawatch.topics import TopicSpecError, apply_topics, load_spec, load_specs

SPECS = load_specs(REPO / "topics")


def test_there_is_one_spec_per_topic():
    assert set(SPECS) == set(ALL_TOPICS)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_each_example_record_matches_its_own_schema(name):
    spec = SPECS[name]
    jsonschema.validate(spec.example, spec.value_schema)


def test_compacted_topics_are_the_ones_holding_latest_state():
    assert {n for n, s in SPECS.items() if s.cleanup_policy == "compact"} == {"sla.status", "sla.records", "sla.catalog"}


def test_a_spec_without_partitions_is_refused_naming_the_file(tmp_path):
    bad = tmp_path / "t.yaml"
    bad.write_text((REPO / "topics" / "sla.events.yaml").read_text().replace("partitions: 4\n", ""))
    with pytest.raises(TopicSpecError, match=r"t\.yaml: missing partitions"):
        load_spec(bad)


@pytest.mark.integration
def test_apply_creates_every_topic_then_finds_nothing_to_do(broker):
    first = apply_topics(SPECS, [broker])
    second = apply_topics(SPECS, [broker])
    assert set(first.created) | set(first.unchanged) == set(ALL_TOPICS)
    assert second.created == () and set(second.unchanged) == set(ALL_TOPICS) and second.drift == ()


@pytest.mark.integration
def test_apply_reports_drift_and_leaves_the_topic_alone(broker):
    spec = SPECS["sla.status"]
    admin = KafkaAdminClient(bootstrap_servers=broker)
    try:
        renamed = {"sla.status-drift": spec.__class__(**{**{f: getattr(spec, f) for f in spec.__slots__}, "name": "sla.status-drift"})}
        admin.create_topics([NewTopic("sla.status-drift", 2, 1)])
        report = apply_topics(renamed, [broker])
        assert report.drift == ("sla.status-drift: partitions 2 on the broker, 4 in the spec",)
        assert len(admin.describe_topics(["sla.status-drift"])[0]["partitions"]) == 2
    finally:
        admin.close()
