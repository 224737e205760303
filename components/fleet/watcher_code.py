"""The watcher's function archive: watcher.py with the capacity and timing modules it shares
with the program, as one flat folder (the Lambda handler is watcher.aws_handler; Cloud
Functions' Python runtime loads main.py, which re-exports gcp_handler)."""

from __future__ import annotations

import hashlib
import os

import pulumi

FLEET_DIR = os.path.dirname(os.path.abspath(__file__))
# Relative to the project, where Pulumi runs the program: the state then holds the same paths
# on every machine (the engine compares assets by their content hash either way).
RELATIVE_DIR = os.path.join("components", "fleet")
MODULES = ("watcher.py", "capacity.py", "timing.py")


MAIN = "from watcher import gcp_handler  # noqa: F401\n"


def archive(with_main: bool = False) -> pulumi.AssetArchive:
    files = {m: pulumi.FileAsset(os.path.join(RELATIVE_DIR, m)) for m in MODULES}
    if with_main:
        files["main.py"] = pulumi.StringAsset(MAIN)
    return pulumi.AssetArchive(files)


def content_hash() -> str:
    """A digest of what the archive holds. The GCP function's code object is named by it: the
    function rebuilds only when its source object's name changes, so a fixed name would keep
    the first code for ever."""
    digest = hashlib.sha256()
    for name in MODULES:
        with open(os.path.join(FLEET_DIR, name), "rb") as f:
            digest.update(name.encode() + b"\0" + f.read() + b"\0")
    digest.update(b"main.py\0" + MAIN.encode())
    return digest.hexdigest()[:16]


def object_name() -> str:
    return f"watcher-{content_hash()}.zip"
