"""Make the project root importable (`policy.policies`, `tests.policy.fixtures`) however
pytest is started; `python -m pytest` adds it already, a bare `pytest` does not."""

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
