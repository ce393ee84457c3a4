"""One settings object: flags win over SLAWATCH_* variables, which win over defaults."""

from __future__ import annotations

import argparse

import pytest

from slawatch.settings import EMBEDDED_SESSION_TIMEOUT_S, add_arguments, build_settings, normalise_broker


def parse(*argv):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(argv))


def test_without_a_broker_the_embedded_one_is_meant_with_a_short_session_timeout():
    settings = build_settings(parse(), environ={})
    assert settings.embedded and settings.effective_session_timeout_s == EMBEDDED_SESSION_TIMEOUT_S
    assert settings.web_host == "127.0.0.1"


def test_the_environment_configures_and_a_flag_overrides_it():
    env = {"SLAWATCH_BROKER": "kafka://a:9092", "SLAWATCH_WEB_PORT": "7000", "SLAWATCH_CATALOG": "x.yaml,y.yaml"}
    assert build_settings(parse(), env).broker == "a:9092"
    assert build_settings(parse(), env).web_port == 7000
    assert build_settings(parse(), env).catalog_paths == ("x.yaml", "y.yaml")
    assert build_settings(parse("--broker", "b:9093", "--web-port", "7001"), env).broker == "b:9093"
    assert build_settings(parse("--web-port", "7001"), env).web_port == 7001


def test_a_cluster_gets_the_usual_session_timeout():
    assert build_settings(parse("--broker", "h:9092"), {}).effective_session_timeout_s == 45.0


def test_sasl_settings_reach_the_kafka_clients():
    env = {"SLAWATCH_SECURITY_PROTOCOL": "SASL_SSL", "SLAWATCH_SASL_MECHANISM": "SCRAM-SHA-512",
           "SLAWATCH_SASL_USERNAME": "u", "SLAWATCH_SASL_PASSWORD": "p"}
    kwargs = build_settings(parse("--broker", "h:9092"), env).security.kafka_python_kwargs()
    assert kwargs == {"security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512",
                      "sasl_plain_username": "u", "sasl_plain_password": "p"}


@pytest.mark.parametrize(("given", "normal"), [("kafka://a:1;kafka://b:2", "a:1,b:2"), ("a:1, b:2", "a:1,b:2"), ("", None)])
def test_broker_addresses_are_normalised(given, normal):
    assert normalise_broker(given) == normal


def test_a_broker_address_without_a_port_is_refused_clearly():
    with pytest.raises(ValueError, match="host:port"):
        normalise_broker("kafka://justahost")


def test_strict_events_is_off_unless_the_flag_or_its_variable_turns_it_on():
    assert build_settings(parse(), {}).strict_events is False
    assert build_settings(parse(), {"SLAWATCH_STRICT_EVENTS": "0"}).strict_events is False
    assert build_settings(parse(), {"SLAWATCH_STRICT_EVENTS": "1"}).strict_events is True
    assert build_settings(parse("--strict-events"), {}).strict_events is True
