"""deploy/compose, deploy/k8s and the Dockerfile, validated offline (no container runtime here):
the compose file against the compose-spec JSON schema, the kustomize output against the Kubernetes
schemas (strict), the Alertmanager config by amtool, and every slawatch command in them parsed by
slawatch's own CLI, every catalogue by its validator, every file they mount present."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from programs import KUBECTL_HINT, require, run
from slawatch.catalog import validate_paths
from slawatch.cli import _parser

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
COMPOSE = DEPLOY / "compose" / "compose.yaml"
ALERTMANAGER_HINT = "run `make system-deps` (or apt-get install prometheus-alertmanager, which ships amtool)"
KAFKA_KRAFT_ENV = {"KAFKA_NODE_ID", "KAFKA_PROCESS_ROLES", "KAFKA_LISTENERS", "KAFKA_ADVERTISED_LISTENERS",
                   "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", "KAFKA_CONTROLLER_QUORUM_VOTERS",
                   "KAFKA_CONTROLLER_LISTENER_NAMES", "KAFKA_INTER_BROKER_LISTENER_NAME", "CLUSTER_ID",
                   "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
                   "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS"}


def assert_slawatch_command(argv: list[str]) -> None:
    """The command line parses with slawatch's CLI: the verb exists, every flag is known."""
    args, unknown = _parser().parse_known_args(argv)
    assert getattr(args, "func", None) and not unknown, f"slawatch {' '.join(argv)}: unknown {unknown}"


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())  # PyYAML resolves the anchors and << merges


def slawatch_services(doc: dict) -> dict[str, dict]:
    return {name: s for name, s in doc["services"].items() if s.get("image", "").startswith("slawatch:")}


def test_the_compose_file_is_valid_against_the_compose_spec_schema():
    run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec", str(COMPOSE)])


def test_compose_runs_kafka_in_kraft_mode_a_one_shot_topics_apply_two_workers_and_the_monitoring():
    doc = compose()
    services = doc["services"]
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert KAFKA_KRAFT_ENV <= set(services["kafka"]["environment"]), "give the image's full KRaft env set"
    ours = slawatch_services(doc)
    assert {"topics", "worker-1", "worker-2", "notifier"} == set(ours)
    assert ours["topics"]["command"][:2] == ["topics", "apply"] and ours["topics"]["restart"] == "no"
    for name, service in ours.items():
        assert_slawatch_command(service["command"])
        assert service["environment"]["SLAWATCH_BROKER"] == "kafka:9092", name
    for worker in ("worker-1", "worker-2"):
        assert ours[worker]["environment"]["SLAWATCH_WEB_HOST"] == "0.0.0.0"
        assert ours[worker]["depends_on"]["topics"]["condition"] == "service_completed_successfully"
    assert {"prometheus", "alertmanager", "grafana"} <= set(services)


def bind_sources(service: dict) -> list[tuple[Path, str]]:
    mounts = [v.split(":") for v in service.get("volumes", []) if v.startswith(".")]
    return [((COMPOSE.parent / m[0]).resolve(), m[1]) for m in mounts]


def test_every_file_compose_mounts_exists_and_the_mounted_catalogue_is_valid():
    services = compose()["services"]
    for name, service in services.items():
        for source, _ in bind_sources(service):
            assert source.exists(), f"{name} mounts {source}, which is missing"
    [(catalogue, _)] = bind_sources(services["worker-1"])
    assert validate_paths([catalogue]) == []


def test_prometheus_scrapes_the_compose_workers_and_grafana_loads_the_provisioned_dashboards():
    services = compose()["services"]
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    [job] = config["scrape_configs"]
    assert job["job_name"] == "slawatch"  # the rules select job="slawatch"
    targets = {t for c in job["static_configs"] for t in c["targets"]}
    assert targets == {f"{services[w]['hostname']}:6066" for w in ("worker-1", "worker-2")}
    [am] = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert am.split(":")[0] in services
    grafana = dict((target, source) for source, target in bind_sources(services["grafana"]))
    provider = yaml.safe_load((DEPLOY / "grafana" / "provisioning" / "dashboards" / "slawatch.yaml").read_text())
    dashboards_path = provider["providers"][0]["options"]["path"]
    assert grafana[dashboards_path] == DEPLOY / "grafana" / "dashboards"
    assert grafana["/etc/grafana/provisioning"] == DEPLOY / "grafana" / "provisioning"
    assert "PROMETHEUS_URL" in services["grafana"]["environment"]  # the datasource file interpolates it


def test_amtool_accepts_the_compose_alertmanager_config():
    amtool = require("amtool", ALERTMANAGER_HINT)
    run([amtool, "check-config", str(DEPLOY / "compose" / "alertmanager.yml")])


@pytest.fixture(scope="module")
def manifests(tmp_path_factory) -> tuple[Path, list[dict]]:
    kubectl = require("kubectl", KUBECTL_HINT)
    built = run([kubectl, "kustomize", str(DEPLOY / "k8s")]).stdout
    path = tmp_path_factory.mktemp("k8s") / "slawatch.yaml"
    path.write_text(built)
    return path, [d for d in yaml.safe_load_all(built) if d]


def test_the_kustomize_base_builds_and_validates_strictly_against_the_kubernetes_schemas(manifests):
    path, docs = manifests
    done = subprocess.run([sys.executable, "-m", "kubernetes_validate", "--strict", "-k", "1.30.0", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    kinds = sorted(d["kind"] for d in docs)
    assert kinds == ["ConfigMap", "ConfigMap", "Deployment", "Deployment", "Namespace", "PodDisruptionBudget", "Service"]


def by_kind_and_name(docs: list[dict]) -> dict[tuple[str, str], dict]:
    return {(d["kind"], d["metadata"]["name"]): d for d in docs}


def test_workers_are_probed_on_readyz_and_healthz_annotated_for_scraping_and_guarded_by_the_pdb(manifests):
    docs = by_kind_and_name(manifests[1])
    worker = docs[("Deployment", "slawatch-worker")]
    pod = worker["spec"]["template"]
    [container] = pod["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert {"name": "SLAWATCH_WEB_HOST", "value": "0.0.0.0"} in container["env"]
    assert pod["metadata"]["annotations"]["prometheus.io/port"] == str(container["ports"][0]["containerPort"])
    pdb = docs[("PodDisruptionBudget", "slawatch-worker")]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    service = docs[("Service", "slawatch-worker")]
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()


def test_every_k8s_command_parses_and_the_catalogue_configmap_is_a_valid_catalogue(manifests, tmp_path):
    docs = manifests[1]
    for doc in docs:
        if doc["kind"] == "Deployment":
            for container in doc["spec"]["template"]["spec"]["containers"]:
                assert_slawatch_command(container["args"])
    [catalogue] = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("slawatch-catalog")]
    for name, text in catalogue["data"].items():
        (tmp_path / name).write_text(text)
    assert validate_paths([tmp_path]) == []
    [config] = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("slawatch-config")]
    assert {"SLAWATCH_BROKER", "SLAWATCH_ALERTMANAGER_URL"} <= set(config["data"])


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", (REPO / "Dockerfile").read_text())
    return [tuple(line.split(None, 1)) for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_the_dockerfile_installs_what_the_makefile_installs_and_runs_the_cli_the_project_declares():
    steps = dockerfile()
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    base = next(args for op, args in steps if op == "FROM")
    python = re.match(r"python:(\d+\.\d+)", base).group(1)
    assert tuple(map(int, python.split("."))) >= tuple(map(int, project["requires-python"].lstrip(">=").split(".")))
    makefile = (REPO / "Makefile").read_text()
    assert "pip install -q -e '.[test,bench,report]'" in makefile  # the Makefile installs this project with pip ...
    run_steps = " ".join(args for op, args in steps if op == "RUN")
    assert "python -m pip install ." in run_steps  # ... and so does the image, without the test extras
    copied = {args.split()[0] for op, args in steps if op == "COPY"} | set(
        " ".join(args for op, args in steps if op == "COPY").split())
    assert {"pyproject.toml", "README.md", "src", "topics"} <= copied
    env = dict(re.findall(r"(SLAWATCH_\w+)=(\S+)", " ".join(args for op, args in steps if op == "ENV")))
    assert env["SLAWATCH_WEB_HOST"] == "0.0.0.0" and env["SLAWATCH_TOPICS_DIR"] == "/app/topics"
    assert next(args for op, args in steps if op == "EXPOSE") == env["SLAWATCH_WEB_PORT"] == "6066"
    entrypoint = yaml.safe_load(next(args for op, args in steps if op == "ENTRYPOINT"))
    assert entrypoint == list(project["scripts"])  # ["slawatch"]
    assert_slawatch_command(yaml.safe_load(next(args for op, args in steps if op == "CMD")))
    assert "/healthz" in next(args for op, args in steps if op == "HEALTHCHECK")
