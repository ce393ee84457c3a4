"""A stable, JSON-ready dump of a Catalog: the golden tests compare it, reviewers read it.

Enums become their values, floats are rounded to 9 places (so 2.0000000000000004 reads 2.0) and
key order follows the model's fields, so a diff of two dumps is a diff of two catalogues. Fields a
value derives itself (init=False, such as lookup indexes) are left out: they say nothing new.
"""

from __future__ import annotations

import json
from dataclasses import fields, is_dataclass
from enum import Enum
from typing import Any

from slawatch.core.model import Catalog


def to_data(value: Any) -> Any:
    if is_dataclass(value):
        out = {"type": type(value).__name__} if type(value).__name__ in ("RollingWindow", "CalendarWindow",
                                                                          "FixedExclusion", "RecurringExclusion") else {}
        out.update({f.name: to_data(getattr(value, f.name)) for f in fields(value) if f.init})  # not derived ones
        return out
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, (tuple, list)):
        return [to_data(v) for v in value]
    return value


def dump_catalog(catalog: Catalog) -> str:
    return json.dumps(to_data(catalog), indent=2, ensure_ascii=False) + "\n"
