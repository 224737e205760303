"""spacemesh.maintenance: the GKE cluster's maintenance window and exclusions, so node pool
upgrades (each restarts the smeshers on a node) happen when the operator says.

Checked against upstream: every argument name against the Args classes of the pulumi-gcp
package installed in venv/ (their __init__ would drop nothing, the provider would drop an
unknown key silently), and the scope and end-time values against GKE's own API definition
(google-api-python-client's container.v1.json). GKE's rule that a window leaves at least 48
hours in 32 days is from its documentation only: no artifact here checks it, so it is not
enforced (the example's window leaves 16 hours a week)."""

from __future__ import annotations

import inspect
import json
import os
import re

import pytest

from components.spacemesh.maintenance import MAX_EXCLUSIONS, maintenance_policy
from tests.conftest import example, run
from tests.spacemesh.test_builders import error, raw

GKE = {"provider": "gke", "name": "sm-t", "region": "us-central1", "project": "p"}


def gke(**spacemesh):
    r = raw(**spacemesh)
    r["cluster"] = dict(GKE)
    return r


def parsed(**spacemesh):
    from pegasus.config import parse

    return parse(gke(**spacemesh), project="pegasus", stack="t", secret_keys={"spacemeshSecrets"}).spacemesh


def _params(args_class) -> set[str]:
    return set(inspect.signature(args_class.__init__).parameters) - {"self", "__self__", "resource_name", "opts"}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def container_v1() -> dict:
    import googleapiclient

    return json.load(open(os.path.join(os.path.dirname(googleapiclient.__file__), "discovery_cache", "documents", "container.v1.json")))


def check_against_pulumi_gcp(policy: dict) -> None:
    import pulumi_gcp as gcp

    c = gcp.container
    assert "maintenance_policy" in _params(c.ClusterArgs)
    assert {_snake(k) for k in policy} <= _params(c.ClusterMaintenancePolicyArgs)
    if "recurringWindow" in policy:
        assert {_snake(k) for k in policy["recurringWindow"]} == _params(c.ClusterMaintenancePolicyRecurringWindowArgs)
    for e in policy.get("maintenanceExclusions", []):
        assert {_snake(k) for k in e} <= _params(c.ClusterMaintenancePolicyMaintenanceExclusionArgs)
        assert {_snake(k) for k in e["exclusionOptions"]} <= _params(c.ClusterMaintenancePolicyMaintenanceExclusionExclusionOptionsArgs)
        # pulumi-gcp: "Exactly one of end_time and exclusion_options.end_time_behavior should be specified."
        assert ("endTime" in e) != ("endTimeBehavior" in e["exclusionOptions"])
        options = container_v1()["schemas"]["MaintenanceExclusionOptions"]["properties"]
        assert e["exclusionOptions"]["scope"] in options["scope"]["enum"]
        assert e["exclusionOptions"].get("endTimeBehavior", "UNTIL_END_OF_SUPPORT") in options["endTimeBehavior"]["enum"]


def test_the_example_cluster_gets_its_weekend_window_in_pulumi_gcps_names():
    plan = example("spacemesh")
    cluster = next(r for r in plan.resources if r.type == "gcp:container/cluster:Cluster")
    policy = cluster.inputs["maintenancePolicy"]
    assert policy == {"recurringWindow": {"startTime": "2026-12-19T02:00:00Z", "endTime": "2026-12-19T10:00:00Z",
                                          "recurrence": "FREQ=WEEKLY;BYDAY=SA,SU"}}
    check_against_pulumi_gcp(policy)
    assert not any("spacemesh.maintenance" in w for w in plan.warnings)


def test_exclusions_with_an_end_or_until_end_of_support():
    m = parsed(maintenance={"exclusions": [
        {"name": "genesis week", "start": "2026-12-14T00:00:00Z", "end": "2026-12-21T00:00:00Z", "scope": "NO_UPGRADES"},
        {"name": "hold", "start": "2026-12-21T00:00:00Z", "untilEndOfSupport": True}]}).maintenance
    policy = maintenance_policy(m)
    assert policy == {"maintenanceExclusions": [
        {"exclusionName": "genesis week", "startTime": "2026-12-14T00:00:00Z", "endTime": "2026-12-21T00:00:00Z",
         "exclusionOptions": {"scope": "NO_UPGRADES"}},
        {"exclusionName": "hold", "startTime": "2026-12-21T00:00:00Z",
         "exclusionOptions": {"scope": "NO_MINOR_OR_NODE_UPGRADES", "endTimeBehavior": "UNTIL_END_OF_SUPPORT"}}]}
    check_against_pulumi_gcp(policy)
    # The default scope is the one that stops node pool upgrades, by GKE's own description.
    description = dict(zip(*(container_v1()["schemas"]["MaintenanceExclusionOptions"]["properties"]["scope"][k]
                             for k in ("enum", "enumDescriptions"))))
    assert "exclude all node pool upgrades" in description["NO_MINOR_OR_NODE_UPGRADES"]


def test_the_exclusion_limit_is_pulumi_gcps():
    import pulumi_gcp as gcp

    source = inspect.getsource(gcp.container._inputs)
    assert int(re.search(r"A cluster can have up to (\d+) maintenance exclusions", source).group(1)) == MAX_EXCLUSIONS


def test_unset_on_gke_is_a_warning_and_nothing_is_sent():
    from pegasus.config import parse

    settings = parse(gke(), project="pegasus", stack="t", secret_keys={"spacemeshSecrets"})
    assert settings.spacemesh.maintenance is None and maintenance_policy(None) is None
    assert ("spacemesh.maintenance is unset on gke: GKE upgrades the node pool (restarting its smeshers) whenever it "
            "chooses; set a window or an exclusion") in settings.warnings


@pytest.mark.parametrize("maintenance, message", [
    ({"window": {"start": "2026-12-19T02:00:00Z", "end": "2026-12-19T10:00:00Z", "recurrence": "FREQ=HOURLY"}},
     "pegasus:spacemesh.maintenance.window.recurrence: 'FREQ=HOURLY' is not an RRULE GKE takes; write it like FREQ=WEEKLY;BYDAY=SA "
     "(FREQ DAILY, WEEKLY, MONTHLY or YEARLY)"),
    ({"window": {"start": "2026-12-19T10:00:00Z", "end": "2026-12-19T02:00:00Z", "recurrence": "FREQ=DAILY"}},
     "pegasus:spacemesh.maintenance.window.end: 2026-12-19T02:00:00Z is not after spacemesh.maintenance.window.start "
     "2026-12-19T10:00:00Z; a window ends after it starts"),
    ({"window": {"start": "2026-12-19T02:00:00", "end": "2026-12-19T10:00:00Z", "recurrence": "FREQ=DAILY"}},
     "pegasus:spacemesh.maintenance.window.start: '2026-12-19T02:00:00' has no zone; write it like 2026-12-15T12:00:00Z"),
    ({"exclusions": [{"name": "x", "start": "2026-12-19T02:00:00Z", "end": "2026-12-20T02:00:00Z", "untilEndOfSupport": True}]},
     "pegasus:spacemesh.maintenance.exclusions[0]: needs exactly one of end and untilEndOfSupport: true (GKE takes one end per exclusion)"),
    ({"exclusions": [{"name": "x", "start": "2026-12-19T02:00:00Z", "end": "2026-12-20T02:00:00Z", "scope": "NO_NODE_UPGRADES"}]},
     "pegasus:spacemesh.maintenance.exclusions[0].scope: 'NO_NODE_UPGRADES' is not a GKE exclusion scope; use one of "
     "NO_UPGRADES, NO_MINOR_UPGRADES, NO_MINOR_OR_NODE_UPGRADES"),
    ({}, "pegasus:spacemesh.maintenance: sets neither window nor exclusions; set one, or remove it"),
])
def test_a_bad_policy_is_refused_in_one_line(maintenance, message):
    assert error(gke(maintenance=maintenance)) == message


def test_the_scopes_we_accept_are_gkes():
    from components.spacemesh.maintenance import SCOPES

    assert set(SCOPES) == set(container_v1()["schemas"]["MaintenanceExclusionOptions"]["properties"]["scope"]["enum"])


def test_an_existing_cluster_refuses_it():
    assert error(raw(maintenance={"exclusions": []})) == (
        "pegasus:spacemesh.maintenance: is a GKE cluster setting; on an existing cluster its upgrades are yours to schedule, remove it")


def test_changing_the_window_updates_only_the_cluster():
    from tools.plan.diff import diff

    changed = diff(example("spacemesh"), run("spacemesh", ["spacemesh.maintenance.window.recurrence=FREQ=WEEKLY;BYDAY=SU"]))
    assert changed.created == () and changed.deleted == ()
    assert [u.rsplit("::", 1)[1] for u in changed.updated] == ["cluster-gke"]
