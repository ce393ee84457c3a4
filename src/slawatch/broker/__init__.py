"""The embedded Kafka-protocol broker (Tansu) used by `make run` and the tests."""

from slawatch.broker.embedded import BrokerNotReady, EmbeddedBroker, wait_until_ready

__all__ = ["BrokerNotReady", "EmbeddedBroker", "wait_until_ready"]
