"""The detection engine: the pure object the Faust layer and `slawatch replay` drive.

See engine.Engine for the API and the order of calls; runtime for when decisions are taken;
core.policies and core.alerts for what is decided.
"""

from slawatch.core.alerts import LifecycleConfig
from slawatch.engine.records import AlertRecord, Applied, StatusRecord
from slawatch.engine.engine import Engine

__all__ = ["AlertRecord", "Applied", "Engine", "LifecycleConfig", "StatusRecord"]
