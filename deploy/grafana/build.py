"""Build slawatch's Grafana dashboards into deploy/grafana/dashboards/*.json (`make dashboards`).

Usage: build.py [--check]   --check exits 1 if a committed file differs from a fresh build.
The files are the bare dashboard model Grafana's file provisioning loads (no import wrapper).
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

# The classic dashboard model (schemaVersion 42) is what Grafana's file provisioning loads; the SDK
# nudges towards its v2 schema, which only Grafana 12's new API takes.
warnings.filterwarnings("ignore", "Prefer using dashboardv2", DeprecationWarning)

from grafana_foundation_sdk.cog.encoder import JSONEncoder  # noqa: E402

from boards import detail, overview, worker  # noqa: E402

OUT = HERE / "dashboards"
BOARDS = {"slo-overview.json": overview.build, "slo-detail.json": detail.build, "slawatch-worker.json": worker.build}


def rendered() -> dict[str, str]:
    """File name -> JSON text of each dashboard, exactly as committed."""
    return {name: JSONEncoder(indent=2, sort_keys=True).encode(build()) + "\n" for name, build in BOARDS.items()}


def main(argv: list[str]) -> int:
    stale = [name for name, text in rendered().items()
             if not (OUT / name).exists() or (OUT / name).read_text() != text]
    if "--check" in argv:
        for name in stale:
            print(f"deploy/grafana/dashboards/{name} differs from a fresh build: run `make dashboards`", file=sys.stderr)
        return 1 if stale else 0
    OUT.mkdir(exist_ok=True)
    for name, text in rendered().items():
        (OUT / name).write_text(text)
    print(f"wrote {len(BOARDS)} dashboards to {OUT.relative_to(HERE.parents[1])}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
