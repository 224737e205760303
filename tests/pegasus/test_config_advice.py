"""Warnings for valid config that is probably not what the operator wants: settings with no
effect where they are set, and operational gaps. Each is checked through the command a user
runs, `python -m tools.plan`, and must name the key to change."""

from __future__ import annotations

import pytest

from pegasus.config import parse
from tools.plan.__main__ import main

SLACK = "alerting.slackWebhookUrl=https://hooks.slack.com/services/T0/B0/X"
RUNBOOK = "alerting.runbookBaseUrl=https://github.com/example/pegasus/blob/main/docs/runbooks.md"
GENESIS = "spc.env.GENESIS=https://example.org/genesis.json"
CLEAN = (SLACK, RUNBOOK, GENESIS)


def warnings(capsys, *sets, stack="dev"):
    argv = ["--stack", stack, "--quiet"]
    for s in sets:
        argv += ["--set", s]
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 0, err
    return [line.removeprefix("  warning: ") for line in out.splitlines() if line.startswith("  warning: ")]


def test_a_dev_stack_with_its_gaps_closed_has_no_warnings(capsys):
    assert warnings(capsys, *CLEAN) == []


def test_chain_endpoint_with_a_snapshot_source_is_reported(capsys):
    assert warnings(capsys, *CLEAN, "chain.endpoint=http://127.0.0.1:1317") == [
        "chain.endpoint is set but ignored: it applies to chain.source rest and chain.source is snapshot; remove it from the stack"
    ]


def test_settings_of_another_provider_are_reported_together(capsys):
    found = warnings(capsys, *CLEAN, "cluster.region=us-east-1", "cluster.masterCidr=172.16.0.32/28",
                     'cluster.adminRoleArns=["arn:aws:iam::123456789012:role/admins"]', "karpenter.cpuLimit=10")
    assert found == [
        "cluster.region is set but ignored: it applies to cluster.provider eks/gke and cluster.provider is existing; remove it from the stack",
        "cluster.masterCidr is set but ignored: it applies to cluster.provider gke and cluster.provider is existing; remove it from the stack",
        "cluster.adminRoleArns, karpenter.cpuLimit are set but ignored: they apply to cluster.provider eks and cluster.provider is existing; "
        "remove them from the stack",
    ]


def test_settings_of_a_switched_off_section_are_reported(capsys):
    found = warnings(capsys, SLACK, RUNBOOK, "karpenter.enabled=false", "logging.enabled=false", stack="eks")
    assert "karpenter.instanceFamilies, karpenter.capacityTypes, karpenter.cpuLimit, karpenter.memoryLimit, karpenter.disruptionBudgets " \
           "are set but ignored: karpenter.enabled is false; remove them from the stack" in found
    assert "logging.retentionDays is set but ignored: logging.enabled is false; remove it from the stack" in found


def test_alerting_with_no_receiver(capsys):
    assert warnings(capsys, RUNBOOK, GENESIS) == [
        "alerting has no receiver: every alert, critical ones included, goes to the null receiver and nobody is told; "
        "set alerting.slackWebhookUrl or alerting.pagerdutyRoutingKey (with --secret)"
    ]


def test_a_switched_off_platform_chain_reports_its_settings_as_ignored(capsys):
    # Relative runbook URLs and a platform chain without GENESIS are config errors now
    # (tests/pegasus/test_config.py), so neither is left to warn about.
    assert warnings(capsys, SLACK, RUNBOOK, "spc.enabled=false") == [
        "spc.image, spc.chainId, spc.storageSize, spc.resources, spc.env are set but ignored: spc.enabled is false; remove them from the stack"
    ]


def test_aws_region_different_from_cluster_region(capsys):
    found = warnings(capsys, SLACK, RUNBOOK, "aws:region=eu-west-1", stack="eks")
    assert ("aws:region is eu-west-1 but cluster.region is us-east-1: Pegasus builds in cluster.region, while anything using the "
            "default AWS provider (and your `aws` CLI defaults) points at aws:region; make them the same") in found
    assert not any(w.startswith("aws:region") for w in warnings(capsys, SLACK, RUNBOOK, "aws:region=us-east-1", stack="eks"))


@pytest.mark.parametrize("raw", [
    {"chain": {"source": "rest", "endpoint": "https://api.example.org", "snapshot": "chain/x.json"}, "spc": {"enabled": False}},
])
def test_chain_snapshot_with_a_rest_source(raw):
    s = parse(raw, project="pegasus", stack="dev")
    assert ("chain.snapshot is set but ignored: it applies to chain.source snapshot and chain.source is rest; "
            "remove it from the stack") in s.warnings
