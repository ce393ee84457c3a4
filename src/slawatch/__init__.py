"""slawatch: SLA breach detection on event streams."""

__version__ = "0.1.0"
