"""spacemesh.minerP2p: loadBalancer gives each miner a public p2p address of its own, advertised
as bootnodes advertise theirs (go-spacemesh v1.7.6 --advertise-address, whose form the fixture
records from cmd/root.go), so peers outside reach miners and not only the bootnodes."""

from __future__ import annotations

from tests.conftest import example, obj, run
from tests.spacemesh.test_builders import error, raw
from tests.spacemesh.test_upstream import GS

NS = "spacemesh-devnet-412"


def test_each_miner_gets_its_own_advertised_load_balancer():
    from tools.plan.diff import diff

    plan = run("spacemesh", ["spacemesh.minerP2p=loadBalancer"])
    spec = GS["advertiseAddress"]
    for i in range(8, 21):
        lb = obj(plan, "Service", f"miner-{i}-p2p", NS).inputs
        assert lb["spec"]["type"] == "LoadBalancer" and [(p["name"], p["port"]) for p in lb["spec"]["ports"]] == [("p2p", 7513)]
        pod = obj(plan, "StatefulSet", f"miner-{i}", NS).inputs["spec"]["template"]
        assert set(lb["spec"]["selector"].items()) <= set(pod["metadata"]["labels"].items())
        other = obj(plan, "StatefulSet", f"miner-{i - 1}", NS).inputs["spec"]["template"]["metadata"]["labels"]
        assert not set(lb["spec"]["selector"].items()) <= set(other.items())
        (advertised,) = [a for a in pod["spec"]["containers"][0]["args"] if a.startswith(f"--{spec['flag']}=")]
        value = advertised.split("=", 1)[1]
        assert value == f"/dns4/miner-{i}-p2p.{NS}.lb.pending.invalid/tcp/7513"
        assert value.split("/")[1::2] == spec["usageExample"].split("/")[1::2]
        # The API NodePorts stay as they were.
        assert obj(plan, "Service", f"miner-{i}-api", NS).inputs["spec"]["type"] == "NodePort"
    changed = diff(example("spacemesh"), plan)
    assert changed.deleted == ()
    assert {u.rsplit("::", 1)[1] for u in changed.created} == {f"spacemesh-miner-{i}-public-p2p" for i in range(8, 21)}
    assert {u.rsplit("::", 1)[1] for u in changed.updated} == {f"spacemesh-miner-{i}-workload" for i in range(8, 21)}


def test_off_by_default_and_only_two_values():
    plan = example("spacemesh")
    assert not [r for r in plan.resources if r.name.endswith("-public-p2p")]
    assert error(raw(minerP2p="nodePort")) == "pegasus:spacemesh.minerP2p: must be one of none, loadBalancer; got 'nodePort'"
