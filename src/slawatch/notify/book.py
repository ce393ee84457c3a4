"""The alerts firing now, as Alertmanager alerts by identity, each with the partition it came from.

Alertmanager forgets an alert that is not re-sent before its `endsAt`, and forgets every alert when
it restarts, so the notifier must know what fires without asking it: this book, kept from the
records it delivered and rebuilt from the log on assignment. Keyed by label set, as Alertmanager
keys alerts, so a re-fire of the same rule replaces the alert it follows.
"""

from __future__ import annotations

from collections.abc import Iterable

from slawatch.notify.alertmanager import identity

Partition = tuple[str, int]  # (topic, partition): an alert's records all land on its SLO's partition


class FiringBook:
    def __init__(self) -> None:
        self._firing: dict[tuple, tuple[Partition, dict]] = {}

    def record(self, alert: dict, firing: bool, partition: Partition) -> None:
        """Remember a firing alert (its latest figures); forget a resolved one."""
        key = identity(alert)
        if firing:
            self._firing[key] = (partition, alert)
        else:
            self._firing.pop(key, None)

    def firing(self) -> list[dict]:
        return [alert for _, alert in self._firing.values()]

    def forget(self, partitions: Iterable[Partition]) -> None:
        """Partitions another notifier took over: their alerts are its to re-send."""
        gone = set(partitions)
        self._firing = {k: v for k, v in self._firing.items() if v[0] not in gone}

    def __len__(self) -> int:
        return len(self._firing)
