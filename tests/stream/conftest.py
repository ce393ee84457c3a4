"""The stream tests build engines with the engine tests' builders (tests/engine/engine_helpers.py)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))
