"""The bootnodes' p2p identity on their volumes: the init container's script, run as emitted
with /bin/sh against a temporary volume, and the one key that opts a node into rotation.

go-spacemesh v1.7.6 p2p/identity.go EnsureIdentity reads <data-folder>/p2p/p2p.key when it
exists and writes one only when it does not, so what the init container leaves there is the
identity the node runs as."""

from __future__ import annotations

import os
import subprocess

import pytest

from components.spacemesh import builder as sb
from components.spacemesh import workload_builder as swb
from tests.spacemesh.test_builders import error, raw, settings

OLD = '{"Key":"CAESQOLD","ID":"12D3KooWold"}'
NEW = '{"Key":"CAESQNEW","ID":"12D3KooWnew"}'


def init_container(s, node: str) -> dict:
    p = next(p for p in sb.plan_nodes(s) if p.name == node)
    (c,) = swb.node_spec(s, p, "ns", "existing", "c", None).workload.init_containers
    return c


def run_init(c: dict, tmp_path, volume_key, secret_key=NEW) -> subprocess.CompletedProcess:
    """The container's own command, its env with the two paths moved under tmp_path (the
    volume at /data and the Secret at /etc/spacemesh-identity, as its volumeMounts say)."""
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    env = {e["name"]: e["value"] for e in c["env"]}
    moved = {k: v.replace(mounts["data"], str(tmp_path / "data")).replace(mounts["identity"], str(tmp_path / "identity"))
             for k, v in env.items()}
    (tmp_path / "identity").mkdir(exist_ok=True)
    (tmp_path / "identity" / "p2p.key").write_text(secret_key)
    if volume_key is not None:
        os.makedirs(moved["P2P_DIR"], exist_ok=True)
        with open(os.path.join(moved["P2P_DIR"], "p2p.key"), "w") as f:
            f.write(volume_key)
    assert c["command"][:2] == ["/bin/sh", "-c"]
    return subprocess.run(c["command"], env={"PATH": os.environ["PATH"], **moved}, capture_output=True, text=True, timeout=30)


def volume(tmp_path) -> dict[str, str]:
    d = tmp_path / "data" / "node" / "p2p"
    return {f: (d / f).read_text() for f in sorted(os.listdir(d))}


def test_the_key_lands_where_go_spacemesh_reads_it(tmp_path):
    c = init_container(settings(), "miner-2")
    # --data-folder=/data/node (node_args); p2p/identity.go reads <data-folder>/p2p/p2p.key.
    assert {"name": "P2P_DIR", "value": "/data/node/p2p"} in c["env"]
    assert "--data-folder=/data/node" in sb.node_args(settings(), sb.plan_nodes(settings())[1], "ns")
    done = run_init(c, tmp_path, volume_key=None)
    assert done.returncode == 0 and volume(tmp_path) == {"p2p.key": NEW}


def test_the_same_key_is_left_alone(tmp_path):
    done = run_init(init_container(settings(), "miner-2"), tmp_path, volume_key=NEW)
    assert (done.returncode, done.stderr) == (0, "") and volume(tmp_path) == {"p2p.key": NEW}


def test_a_rotated_key_stops_the_pod_in_one_line_and_changes_nothing(tmp_path):
    done = run_init(init_container(settings(), "miner-2"), tmp_path, volume_key=OLD)
    assert done.returncode == 1
    assert done.stderr == (
        "miner-2: the p2p.key on the volume is not spacemeshSecrets.p2pKeys.miner-2, so the node would run as a peer other than "
        "spacemesh.identities.miner-2; nothing was changed. To take the new key add miner-2 to spacemesh.rotateP2pKeys and run up; "
        "to keep the old one set its key and identity back\n")
    assert volume(tmp_path) == {"p2p.key": OLD}


def test_a_listed_node_takes_the_new_key_and_keeps_the_old_one(tmp_path):
    s = settings(rotateP2pKeys=["miner-2"])
    c = init_container(s, "miner-2")
    assert {"name": "ROTATE", "value": "true"} in c["env"]
    assert {"name": "ROTATE", "value": "false"} in init_container(s, "miner-3")["env"]
    done = run_init(c, tmp_path, volume_key=OLD)
    assert done.returncode == 0, done.stderr
    files = volume(tmp_path)
    (backup,) = [f for f in files if f != "p2p.key"]
    assert backup.startswith("p2p.key.replaced-") and files == {"p2p.key": NEW, backup: OLD}
    assert done.stdout.startswith("miner-2: p2p.key replaced by spacemeshSecrets.p2pKeys.miner-2 (spacemesh.rotateP2pKeys); the old key is kept as ")


def test_listing_a_node_restarts_only_that_node():
    from tests.conftest import example, run
    from tools.plan.diff import diff

    changed = diff(example("spacemesh"), run("spacemesh", ["spacemesh.rotateP2pKeys=[\"miner-3\"]"]))
    assert changed.created == () and changed.deleted == ()
    assert [u.rsplit("::", 1)[1] for u in changed.updated] == ["spacemesh-miner-3-workload"]


@pytest.mark.parametrize("node", ["miner-5", "miner-9"])
def test_only_bootnodes_can_be_listed(node):
    assert error(raw(rotateP2pKeys=[node])) == (
        f"pegasus:spacemesh.rotateP2pKeys[0]: {node!r} is not the bootstrap node or a bootnode; only they get their p2p key "
        "from spacemeshSecrets.p2pKeys")
