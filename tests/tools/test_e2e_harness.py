"""The pure parts of the e2e harness and the local chart mirror, without a cluster."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.kube.chart import Chart, missing_archives, release_source
from pegasus import config
from pegasus.errors import ConfigError
from tools.e2e import cluster, lb
from tools.e2e.toolchain import Toolchain, versions

from tests.conftest import PROJECT, run

# The repository's own mirror (charts/README.md), so a fresh clone needs nothing beside it.
SHARED_CHARTS = PROJECT / "charts"


def svc(name, *, lb_ip=None, spec_ip=None, cls=None, typ="LoadBalancer", created="2026-01-01T00:00:00Z", ns="default"):
    spec = {"type": typ}
    if spec_ip:
        spec["loadBalancerIP"] = spec_ip
    if cls:
        spec["loadBalancerClass"] = cls
    status = {"loadBalancer": {"ingress": [{"ip": lb_ip}]}} if lb_ip else {"loadBalancer": {}}
    return {"metadata": {"name": name, "namespace": ns, "creationTimestamp": created}, "spec": spec, "status": status}


def test_lb_assigns_free_test_net_addresses_in_creation_order():
    services = [
        svc("b", created="2026-01-01T00:00:02Z"),
        svc("taken", lb_ip="192.0.2.1"),
        svc("a", created="2026-01-01T00:00:01Z"),
        svc("cluster-ip", typ="ClusterIP"),
        svc("nlb", cls="service.k8s.aws/nlb"),
    ]
    assert lb.assign(services) == [("default", "a", "192.0.2.2"), ("default", "b", "192.0.2.3")]


def test_lb_honours_a_requested_address_and_never_hands_out_one_twice():
    services = [svc("pinned", spec_ip="192.0.2.7"), svc("other", created="2026-01-02T00:00:00Z")]
    assert lb.assign(services) == [("default", "pinned", "192.0.2.7"), ("default", "other", "192.0.2.1")]
    assert lb.assign([svc("x", lb_ip="192.0.2.1"), svc("y")]) == [("default", "y", "192.0.2.2")]


def test_lb_leaves_services_pending_when_the_pool_is_exhausted():
    taken = [svc(f"t{i}", lb_ip=f"192.0.2.{i}") for i in range(1, 255)]
    assert lb.assign(taken + [svc("late")]) == []


def test_fake_nodes_are_managed_by_kwok_and_schedulable():
    assert cluster.node_manifest(1) == {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": "kwok-node-1",
            "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {
                "kubernetes.io/hostname": "kwok-node-1",
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "topology.kubernetes.io/zone": "e2e-b",
                "type": "kwok",
            },
        },
        "spec": {"podCIDR": "198.18.4.0/22", "podCIDRs": ["198.18.4.0/22"]},
        "status": {
            "allocatable": {"cpu": "128", "memory": "512Gi", "pods": "2000", "ephemeral-storage": "1Ti"},
            "capacity": {"cpu": "128", "memory": "512Gi", "pods": "2000", "ephemeral-storage": "1Ti"},
            "addresses": [{"type": "InternalIP", "address": "127.0.1.2"}, {"type": "Hostname", "address": "kwok-node-1"}],
        },
    }


def test_volumes_are_static_retained_and_in_the_default_class():
    assert cluster.storage_class_manifest() == {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": "pegasus-e2e", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": "kubernetes.io/no-provisioner",
        "reclaimPolicy": "Retain",
        "volumeBindingMode": "Immediate",
    }
    assert cluster.pv_manifest(3, "100Gi") == {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": "e2e-pv-0003", "labels": {"pegasus.e2e/pool": "static"}},
        "spec": {
            "capacity": {"storage": "100Gi"},
            "accessModes": ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Retain",
            "storageClassName": "pegasus-e2e",
            "hostPath": {"path": "/var/lib/pegasus-e2e/pv-0003", "type": "DirectoryOrCreate"},
        },
    }


def test_kwokctl_runs_every_component_from_the_cache_on_loopback():
    tc = Toolchain(Path("/cache/bin"))
    assert cluster.kwokctl_config(tc) == {
        "apiVersion": "config.kwok.x-k8s.io/v1alpha1",
        "kind": "KwokctlConfiguration",
        "options": {
            "runtime": "binary",
            "bindAddress": "127.0.0.1",
            "kubeVersion": f"v{versions()['KUBE_VERSION']}",
            "kubeApiserverBinary": "/cache/bin/kube-apiserver",
            "kubeControllerManagerBinary": "/cache/bin/kube-controller-manager",
            "kubeSchedulerBinary": "/cache/bin/kube-scheduler",
            "kubectlBinary": "/cache/bin/kubectl",
            "kwokControllerBinary": "/cache/bin/kwok",
            "etcdBinary": "/cache/bin/etcd",
            "disableQPSLimits": True,
        },
        "componentsPatches": [
            {"name": "kube-apiserver", "extraArgs": [{"key": "service-cluster-ip-range", "value": "10.96.0.0/16"}]},
        ],
    }


def test_chart_archive_names_follow_helm_pull():
    assert Chart("r", "ingress-nginx", "4.15.1", "https://example.org").archive == "ingress-nginx-4.15.1.tgz"
    assert Chart("r", "oci://public.ecr.aws/karpenter/karpenter", "1.14.1").archive == "karpenter-1.14.1.tgz"


def test_release_source_uses_the_repository_or_the_mirror():
    chart = Chart("r", "ingress-nginx", "4.15.1", "https://kubernetes.github.io/ingress-nginx")
    assert release_source(chart, None) == {
        "chart": "ingress-nginx", "version": "4.15.1",
        "repository_opts": {"repo": "https://kubernetes.github.io/ingress-nginx"},
    }
    assert release_source(chart, "/srv/charts") == {"chart": "/srv/charts/ingress-nginx-4.15.1.tgz", "version": "4.15.1"}
    oci = Chart("r", "oci://public.ecr.aws/karpenter/karpenter", "1.14.1")
    assert release_source(oci, None) == {"chart": "oci://public.ecr.aws/karpenter/karpenter", "version": "1.14.1", "repository_opts": None}


def test_missing_archives_lists_what_the_mirror_lacks(tmp_path):
    (tmp_path / "ingress-nginx-4.15.1.tgz").write_bytes(b"")
    charts = [Chart("a", "ingress-nginx", "4.15.1"), Chart("b", "kube-prometheus-stack", "88.5.3"), Chart("c", "ingress-nginx", "4.15.0")]
    assert missing_archives(charts, str(tmp_path), "/") == ["ingress-nginx-4.15.0.tgz", "kube-prometheus-stack-88.5.3.tgz"]
    assert missing_archives(charts[:1], tmp_path.name, str(tmp_path.parent)) == []


def test_every_mirrored_archive_is_listed_and_holds_its_chart_at_its_version():
    import tarfile

    import yaml

    rows = [line.split("\t") for line in (SHARED_CHARTS / "charts.tsv").read_text().splitlines() if line and not line.startswith("#")]
    table = (SHARED_CHARTS / "README.md").read_text()
    archives = sorted(p.name for p in SHARED_CHARTS.glob("*.tgz"))
    assert archives and sorted(r[0] for r in rows) == archives
    for archive, source, version, repository, path, tag in rows:
        assert f"| `{archive}` | {repository} | `{path}` |" in table, archive
        chart = source.split()[-1].rsplit("/", 1)[-1]
        assert archive == f"{chart}-{version}.tgz"
        with tarfile.open(SHARED_CHARTS / archive) as tar:
            meta = yaml.safe_load(tar.extractfile(f"{chart}/Chart.yaml"))
        assert (meta["name"], str(meta["version"])) == (chart, version)


def test_shared_mirror_holds_every_chart_the_dev_stack_installs():
    from stacks import validator

    settings = config.parse({"chain": {"source": "snapshot", "snapshot": "x.json"}, "spc": {"enabled": False},
                             "charts": {"localDir": str(SHARED_CHARTS)}},
                            project="pegasus", stack="dev")
    assert validator.charts(settings) and missing_archives(validator.charts(settings), str(SHARED_CHARTS), "/") == []


def test_charts_local_dir_is_parsed_and_an_empty_one_refused():
    base = {"chain": {"source": "snapshot", "snapshot": "x.json"}, "spc": {"enabled": False}}
    assert config.parse(base, project="p", stack="dev").charts_dir is None
    assert config.parse({**base, "charts": {"localDir": "../charts"}}, project="p", stack="dev").charts_dir == "../charts"
    with pytest.raises(ConfigError) as err:
        config.parse({**base, "charts": {"localDir": " "}}, project="p", stack="dev")
    assert str(err.value) == "pegasus:charts.localDir: is empty; set it to a folder of packaged charts, or unset it to use the chart repositories"
    with pytest.raises(ConfigError) as err:
        config.parse({**base, "charts": {"localdir": "x"}}, project="p", stack="dev")
    assert "pegasus:charts.localdir: unknown key" in str(err.value)


def test_plan_with_a_mirror_loads_every_release_from_it():
    plan = run("dev", [f"charts.localDir={SHARED_CHARTS}"])
    releases = [r for r in plan.resources if r.type == "kubernetes:helm.sh/v3:Release"]
    assert releases
    for r in releases:
        assert r.inputs["chart"].startswith(str(SHARED_CHARTS) + "/") and r.inputs["chart"].endswith(".tgz")
        assert "repositoryOpts" not in r.inputs


def test_a_mirror_without_the_charts_stops_the_plan_before_any_resource(tmp_path):
    from tools.plan.runner import ProgramError

    with pytest.raises(ProgramError) as err:
        run("dev", [f"charts.localDir={tmp_path}"])
    assert "pegasus:charts.localDir:" in str(err.value) and "lacks ingress-nginx-4.15.1.tgz" in str(err.value)
    assert err.value.registered == 0
