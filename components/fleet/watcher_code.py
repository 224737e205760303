"""The watcher's function archive: watcher.py with the capacity and timing modules it shares
with the program, as one flat folder (the Lambda handler is watcher.aws_handler; Cloud
Functions' Python runtime loads main.py, which re-exports gcp_handler)."""

from __future__ import annotations

import os

import pulumi

FLEET_DIR = os.path.dirname(os.path.abspath(__file__))
# Relative to the project, where Pulumi runs the program: the state then holds the same paths
# on every machine (the engine compares assets by their content hash either way).
RELATIVE_DIR = os.path.join("components", "fleet")
MODULES = ("watcher.py", "capacity.py", "timing.py")


def archive(with_main: bool = False) -> pulumi.AssetArchive:
    files = {m: pulumi.FileAsset(os.path.join(RELATIVE_DIR, m)) for m in MODULES}
    if with_main:
        files["main.py"] = pulumi.StringAsset("from watcher import gcp_handler  # noqa: F401\n")
    return pulumi.AssetArchive(files)
