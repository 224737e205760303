"""The watcher's code as the pod sees it: watcher.py and the standard-library-only modules of
pegasus/ it imports, at their package paths under the code folder (the ConfigMap volume's
`items` put them there; pegasus/__init__.py and pegasus/chain/__init__.py import nothing)."""

from __future__ import annotations

import os

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

# path in the pod -> path in the repository
FILES = {
    "watcher.py": "components/operator/watcher.py",
    "pegasus/__init__.py": "pegasus/__init__.py",
    "pegasus/errors.py": "pegasus/errors.py",
    "pegasus/names.py": "pegasus/names.py",
    "pegasus/sharding.py": "pegasus/sharding.py",
    "pegasus/chain/__init__.py": "pegasus/chain/__init__.py",
    "pegasus/chain/model.py": "pegasus/chain/model.py",
    "pegasus/chain/reader.py": "pegasus/chain/reader.py",
}


def code() -> dict[str, str]:
    out = {}
    for pod_path, repo_path in FILES.items():
        with open(os.path.join(REPO, repo_path), encoding="utf-8") as f:
            out[pod_path] = f.read()
    return out
