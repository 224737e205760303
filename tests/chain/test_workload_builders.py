"""Chain workloads, chainlets and the platform chain node, without mocks."""

from __future__ import annotations

from dataclasses import replace

import pytest

from components.chain import chain_node_builder as cnb
from components.chain import chainlet_builder as clb
from components.chain import workload_builder as wb
from pegasus import ledger, slots
from pegasus.chain.model import build_view
from pegasus.config import ChainletSettings, Resources, SpcSettings
from tools.fakechain import chainlet_record, stack_record

RES = Resources("500m", "1Gi", "2", "4Gi")
LABELS = {
    "app.kubernetes.io/name": "chainlet",
    "app.kubernetes.io/instance": "chainlet00003_2700000000000003-1",
    "app.kubernetes.io/component": "chainlet",
    "app.kubernetes.io/part-of": "pegasus",
    "app.kubernetes.io/managed-by": "pulumi",
    "app.kubernetes.io/version": "0.13.1",
    "pegasus.saga.xyz/signer": "true",
    "saga.xyz/chain-id": "chainlet00003_2700000000000003-1",
    "pegasus.saga.xyz/create-empty-blocks": "false",
}
SELECTOR = {"app.kubernetes.io/name": "chainlet", "app.kubernetes.io/instance": "chainlet00003_2700000000000003-1"}
CHAINLET_SETTINGS = ChainletSettings(0, False, False, RES, "50Gi", "/root/.sagaosd")


def in_order(v):
    """A fresh ledger: slots in the chain's (spawnTime, chainId) order."""
    return ledger.assign(None, [c.chain_id for c in v.chainlets])


def view(n=5, offline=()):
    return build_view(100, "test", [chainlet_record(i, online=i not in offline) for i in range(n)], [stack_record()])


def plan(i=3, offline=()):
    return clb.plan_chainlets(view(offline=offline), in_order(view(offline=offline)), 2, 1025)[i]


def test_plan_places_each_chainlet_by_slot():
    plans = clb.plan_chainlets(view(), in_order(view()), 2, 1025)
    assert [(p.chain_id, p.address) for p in plans] == [
        ("chainlet00000_2700000000000000-1", slots.Address(0, 0, 1025)),
        ("chainlet00001_2700000000000001-1", slots.Address(1, 0, 1026)),
        ("chainlet00002_2700000000000002-1", slots.Address(2, 1, 1025)),
        ("chainlet00003_2700000000000003-1", slots.Address(3, 1, 1026)),
        ("chainlet00004_2700000000000004-1", slots.Address(4, 2, 1025)),
    ]


def test_chainlet_env_is_the_documented_contract():
    assert clb.chainlet_env(plan().chainlet, "lb.example:1026", CHAINLET_SETTINGS) == (
        ("CHAINID", "chainlet00003_2700000000000003-1"),
        ("LOGLEVEL", "info"),
        ("KEYNAME", "chainlet-operator-key"),
        ("EXTERNAL_ADDRESS", "lb.example:1026"),
        ("MAINTAINERS", "saga1maintainer3"),
        ("VALIDATOR_ADDRESSES", "saga1validator0,saga1validator1"),
        ("VALIDATOR_ADDRESSES_COSMOS", "saga1validator0,saga1validator1"),
        ("SNAPSHOT_INTERVAL", "1000"),
        ("SNAPSHOT_KEEP_RECENT", "2"),
        ("SPCPARAM_DENOM", "gas"),
        ("SPCPARAM_GASLIMIT", "10000000"),
        ("SPCPARAM_CREATEEMPTYBLOCKS", "false"),
        ("SPCPARAM_DACENABLE", "false"),
        ("SPCPARAM_GENACCTBALANCES", "saga1maintainer3=1000"),
        ("SPCPARAM_FIXEDBASEFEE", ""),
        ("SPCPARAM_FEEACCOUNT", ""),
        ("SPCPARAM_EVMDISABLE", "false"),
    )


def test_chainlet_env_takes_the_stake_owner_extra_env_and_per_chain_env_before_the_params():
    settings = replace(CHAINLET_SETTINGS, stake_owner_address="saga1k70m2ms8kyta5749nz2t77ts0xt6229qcle9jg",
                       snapshot_interval=0, env={"OPTS": "--a", "VOTING_PERIOD": "60s"},
                       chain_env={"chainlet00003_2700000000000003-1": {"OPTS": "--b"}, "other_1-1": {"OPTS": "--c"}})
    env = clb.chainlet_env(plan().chainlet, "h:1", settings)
    names = [k for k, _ in env]
    assert names[:10] == ["CHAINID", "LOGLEVEL", "KEYNAME", "EXTERNAL_ADDRESS", "MAINTAINERS", "VALIDATOR_ADDRESSES",
                          "VALIDATOR_ADDRESSES_COSMOS", "STAKE_OWNER_ADDRESS", "OPTS", "VOTING_PERIOD"]
    assert dict(env)["OPTS"] == "--b" and "SNAPSHOT_INTERVAL" not in names
    assert names[10].startswith("SPCPARAM_")


def test_chainlets_read_their_key_secret_through_env_from():
    m = clb.chainlet_manifests(plan(), replace(CHAINLET_SETTINGS, key_secret="chainlet-keys"), None, "h:1")
    container = m["workload"]["spec"]["template"]["spec"]["containers"][0]
    assert container["envFrom"] == [{"secretRef": {"name": "chainlet-keys"}}]


def test_chainlet_statefulset_whole_object():
    m = clb.chainlet_manifests(plan(), CHAINLET_SETTINGS, "pegasus-chain-data", "lb.example:1026")
    env = [{"name": k, "value": v} for k, v in clb.chainlet_env(plan().chainlet, "lb.example:1026", CHAINLET_SETTINGS)]
    assert m["workload"] == {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {
            "name": "chainlet",
            "namespace": "saga-chainlet00003-2700000000000003-1",
            "labels": LABELS,
            "annotations": {"pulumi.com/skipAwait": "true"},
        },
        "spec": {
            "replicas": 1,
            "serviceName": "chainlet",
            "podManagementPolicy": "OrderedReady",
            "updateStrategy": {"type": "RollingUpdate"},
            "selector": {"matchLabels": SELECTOR},
            "template": {
                "metadata": {
                    "labels": LABELS,
                    "annotations": {
                        "karpenter.sh/do-not-disrupt": "true",
                        "cluster-autoscaler.kubernetes.io/safe-to-evict": "false",
                        "saga.xyz/stack-name": "SagaOS",
                        "saga.xyz/stack-version": "0.13.1",
                        "pegasus.saga.xyz/slot": "3",
                    },
                },
                "spec": {
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "terminationGracePeriodSeconds": 60,
                    "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [{
                        "name": "chainlet",
                        "image": "sagaxyz/sagaos:0.13.1@sha256:ced72e81e44926157e56d1c9dd3c0de5a5af50c2a87380f4be80d9d5196d86d3",
                        "imagePullPolicy": "IfNotPresent",
                        "ports": [
                            {"name": "p2p", "containerPort": 26656, "protocol": "TCP"},
                            {"name": "rpc", "containerPort": 26657, "protocol": "TCP"},
                            {"name": "grpc", "containerPort": 9090, "protocol": "TCP"},
                            {"name": "rest", "containerPort": 1317, "protocol": "TCP"},
                            {"name": "evm-rpc", "containerPort": 8545, "protocol": "TCP"},
                            {"name": "evm-ws", "containerPort": 8546, "protocol": "TCP"},
                            {"name": "metrics", "containerPort": 26660, "protocol": "TCP"},
                        ],
                        "env": env,
                        "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "4Gi"}},
                        "volumeMounts": [{"name": "data", "mountPath": "/root/.sagaosd", "subPath": "sagaosd"}],
                        "securityContext": {"allowPrivilegeEscalation": False, "privileged": False, "capabilities": {"drop": ["ALL"]}},
                        "livenessProbe": {"tcpSocket": {"port": "p2p"}, "initialDelaySeconds": 60, "periodSeconds": 30, "failureThreshold": 10},
                        "readinessProbe": {"tcpSocket": {"port": "rpc"}, "periodSeconds": 10, "failureThreshold": 3},
                        "startupProbe": {"tcpSocket": {"port": "rpc"}, "periodSeconds": 10, "failureThreshold": 360},
                    }],
                    "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "chainlet-data"}}],
                },
            },
        },
    }


def test_a_placement_adds_only_the_node_selector_and_tolerations():
    from components.cluster import karpenter_builder as kb

    plain = clb.chainlet_manifests(plan(), CHAINLET_SETTINGS, None, "h:1")
    placed = clb.chainlet_manifests(plan(), CHAINLET_SETTINGS, None, "h:1", kb.signer_placement())
    pod = placed["workload"]["spec"]["template"]["spec"]
    assert pod.pop("nodeSelector") == {"pegasus.saga.xyz/pool": "signers"}
    assert pod.pop("tolerations") == [
        {"key": "pegasus.saga.xyz/signer", "operator": "Equal", "value": "true", "effect": "NoSchedule"}]
    assert placed == plain


def test_offline_chainlet_differs_only_in_replicas():
    online = clb.chainlet_manifests(plan(), CHAINLET_SETTINGS, None, "h:1")
    offline = clb.chainlet_manifests(plan(offline={3}), CHAINLET_SETTINGS, None, "h:1")
    assert offline["workload"]["spec"]["replicas"] == 0
    offline["workload"]["spec"]["replicas"] = 1
    assert offline == online  # same claim, same Service, same namespace


def test_chainlet_claim_and_service():
    m = clb.chainlet_manifests(plan(), CHAINLET_SETTINGS, "pegasus-chain-data", "h:1")
    meta_labels = {k: v for k, v in LABELS.items() if k not in ("app.kubernetes.io/version", "pegasus.saga.xyz/signer", "saga.xyz/chain-id",
                                                                  "pegasus.saga.xyz/create-empty-blocks")}
    assert m["claim"] == {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": "chainlet-data",
            "namespace": "saga-chainlet00003-2700000000000003-1",
            "labels": {**meta_labels, "pegasus.saga.xyz/chain-data": "true"},
            "annotations": {"pulumi.com/skipAwait": "true"},
        },
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "50Gi"}}, "storageClassName": "pegasus-chain-data"},
    }
    assert m["service"]["spec"] == {
        "type": "ClusterIP",
        "selector": SELECTOR,
        "ports": [
            {"name": n, "port": p, "targetPort": n, "protocol": "TCP"}
            for n, p in (("p2p", 26656), ("rpc", 26657), ("grpc", 9090), ("rest", 1317), ("evm-rpc", 8545), ("evm-ws", 8546))
        ],
        "publishNotReadyAddresses": True,
    }
    assert m["namespace"]["metadata"]["name"] == "saga-chainlet00003-2700000000000003-1"


def test_backend_of_an_offline_chainlet_is_reserved_not_routed():
    assert plan(offline={3}).backend() == clb.P2PBackend(
        "chainlet00003_2700000000000003-1", "saga-chainlet00003-2700000000000003-1", "chainlet", 26656, 3, routed=False
    )


SPC = SpcSettings(True, "sagaxyz/ssc:4.0.0", "ssc-1", "node-1", "/root/.ssc", {"DENOM": "usaga"}, "spc-keys", "500Gi",
                  Resources("1", "4Gi", "4", "16Gi"))


def test_platform_chain_exposes_only_p2p_publicly():
    m = cnb.chain_node_manifests(cnb.spc_spec(SPC, "existing", "pegasus-dev", None), "lb:26656")
    assert m["public"]["metadata"]["name"] == "spc"
    assert m["public"]["spec"] == {
        "type": "LoadBalancer",
        "selector": {"app.kubernetes.io/name": "spc", "app.kubernetes.io/instance": "spc"},
        "ports": [{"name": "p2p", "port": 26656, "targetPort": "p2p", "protocol": "TCP"}],
        "externalTrafficPolicy": "Local",
        "publishNotReadyAddresses": True,
    }
    assert m["internal"]["metadata"]["name"] == "spc-internal"
    assert m["internal"]["spec"]["type"] == "ClusterIP"
    assert [p["port"] for p in m["internal"]["spec"]["ports"]] == [26657, 9090, 1317, 26660]
    container = m["workload"]["spec"]["template"]["spec"]["containers"][0]
    assert container["env"] == [
        {"name": "CHAIN_ID", "value": "ssc-1"},
        {"name": "DENOM", "value": "usaga"},
        {"name": "MONIKER", "value": "node-1"},
        {"name": "EXTERNAL_ADDRESS", "value": "lb:26656"},
        # Not in spc.env, so it must be a key of spc.keySecret.
        {"name": "GENESIS", "valueFrom": {"secretKeyRef": {"name": "spc-keys", "key": "GENESIS"}}},
    ]
    assert container["envFrom"] == [{"secretRef": {"name": "spc-keys"}}]
    assert m["workload"]["metadata"]["namespace"] == "sagasrv-spc"
    assert m["claim"]["metadata"]["name"] == "spc-data"


def test_platform_chain_on_eks_keeps_the_clouds_annotations_and_adds_the_given_ones():
    from components.cluster import karpenter_builder as kb

    extra = {"service.beta.kubernetes.io/aws-load-balancer-subnets": "subnet-a,subnet-b"}
    spec = cnb.spc_spec(SPC, "eks", "c1", "pegasus-chain-data", kb.signer_placement(), extra)
    assert spec.lb_annotations == {**cnb.spc_spec(SPC, "eks", "c1", "pegasus-chain-data").lb_annotations, **extra}
    pod = cnb.chain_node_manifests(spec)["workload"]["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"pegasus.saga.xyz/pool": "signers"}


def test_a_port_cannot_be_both_public_and_internal():
    spec = replace(cnb.spc_spec(SPC, "existing", "c", None), public_ports=(wb.P2P, wb.RPC))
    with pytest.raises(ValueError, match=r"ports \['rpc'\] cannot be both public and internal"):
        cnb.chain_node_manifests(spec)
