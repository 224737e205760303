"""What would fail at apply, refused or removed at plan time: the root disk's size, the AWS
group's own network (no default VPC needed) and the GCP APIs the fleet enables.

Checked against upstream, not against our constants: every argument name against the Args
class of the Pulumi SDK that the program calls (its __init__ refuses no unknown keyword, so a
misspelt one would vanish silently), the disk range against each provider's own documentation of
the input, and the AWS fields against botocore's EC2 model.
"""

from __future__ import annotations

import gzip
import inspect
import json
import os
import re

import botocore
import pytest

from components.fleet import alibaba_builder as alib, aws_builder as awsb, azure_builder as azb, gcp_builder as gcpb
from components.fleet.config import DISK_SIZE_RANGE
from pegasus.errors import ConfigError
from tests.fleet.test_builders import BEFORE, fleet, region


def _params(args_class) -> set[str]:
    return set(inspect.signature(args_class.__init__).parameters) - {"self", "__self__", "resource_name", "opts"}


def _doc(args_class, name: str) -> str:
    doc = inspect.getdoc(args_class.__init__) or ""
    m = re.search(rf":param [^\n]* {name}: (.*?)(?=\n\s*:param|\Z)", doc, re.S)
    assert m, f"{args_class.__name__} documents no {name}"
    return " ".join(m.group(1).split())


def test_the_disk_size_key_is_checked_in_one_line():
    assert fleet(diskSizeGb=100).disk_size_gb == 100
    assert fleet().disk_size_gb == 30
    with pytest.raises(ConfigError) as e:
        fleet(diskSizeGb=8)
    assert str(e.value) == ("pegasus:fleet.diskSizeGb: must be between 30 and 1023 GiB (every cloud takes that range: "
                            "Azure's Ubuntu image is 30 GiB, its OS disk at most 1023); got 8")


def test_every_cloud_gets_the_disk_size_under_its_providers_input_name():
    import pulumi_alicloud as ali
    import pulumi_aws as aws
    import pulumi_azure_native as azn
    import pulumi_gcp as gcp

    s = fleet(diskSizeGb=100)
    lt = awsb.launch_template_args(s, region(s, "aws"), "", "sg", "profile")
    assert set(lt) <= _params(aws.ec2.LaunchTemplateArgs)
    (bdm,) = lt["block_device_mappings"]
    assert set(bdm) <= _params(aws.ec2.LaunchTemplateBlockDeviceMappingArgs)
    assert set(bdm["ebs"]) <= _params(aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs) and bdm["ebs"]["volume_size"] == 100

    it = gcpb.instance_template_args(s, region(s, "gcp"), "", "sa@x", "subnet")
    (disk,) = it["disks"]
    assert set(disk) <= _params(gcp.compute.InstanceTemplateDiskArgs) and disk["disk_size_gb"] == 100

    vmss = azb.scale_set_args(s, region(s, "azure"), "rg", "subnet", "identity", "", BEFORE)
    os_disk = vmss["virtual_machine_profile"]["storage_profile"]["os_disk"]
    assert set(os_disk) <= _params(azn.compute.VirtualMachineScaleSetOSDiskArgs) and os_disk["disk_size_gb"] == 100

    sc = alib.scaling_configuration_args(s, region(s, "alibaba"), "sg-id", "img", "sec", "", None)
    assert set(sc) <= _params(ali.ess.ScalingConfigurationArgs) and sc["system_disk_size"] == 100


def test_the_disk_range_is_valid_on_every_cloud_by_its_own_documentation():
    import pulumi_alicloud as ali
    import pulumi_azure_native as azn

    lo, hi = DISK_SIZE_RANGE
    # Azure: "the value cannot be larger than 1023".
    azure = _doc(azn.compute.VirtualMachineScaleSetOSDiskArgs, "disk_size_gb")
    assert hi <= int(re.search(r"cannot be larger than (\d+)", azure).group(1))
    # Alibaba, the category we use (cloud_essd at its default PL1): "PL1 ESSD: 20 to 2048".
    assert alib.scaling_configuration_args(fleet(), region(fleet(), "alibaba"), "g", "i", "s", "", None)[
        "system_disk_category"] == "cloud_essd"
    ali_lo, ali_hi = map(int, re.search(r"PL1 ESSD: (\d+) to (\d+)", _doc(ali.ess.ScalingConfigurationArgs, "system_disk_size")).groups())
    assert ali_lo <= lo and hi <= ali_hi
    # AWS: the launch template's EBS VolumeSize is an Integer in EC2's model (gp3: 1-16384 GiB).
    path = os.path.join(os.path.dirname(botocore.__file__), "data", "ec2", "2016-11-15", "service-2.json.gz")
    with gzip.open(path) as f:
        shapes = json.load(f)["shapes"]
    ebs = shapes["LaunchTemplateEbsBlockDeviceRequest"]["members"]
    assert shapes[ebs["VolumeSize"]["shape"]]["type"] == "integer"
    assert {"VolumeType", "Encrypted", "DeleteOnTermination"} <= set(ebs)


def test_the_aws_group_runs_in_a_network_of_its_own():
    """No default VPC is needed: the group's VPC, gateway, route table and one public subnet per
    zone, every argument a name the pulumi_aws Args classes take."""
    import pulumi_aws as aws

    s = fleet()
    r = region(s, "aws")
    for args, cls in ((awsb.vpc_args(s, r), aws.ec2.VpcArgs),
                      (awsb.internet_gateway_args(s, r, "vpc-1"), aws.ec2.InternetGatewayArgs),
                      (awsb.route_table_args(s, r, "vpc-1", "igw-1"), aws.ec2.RouteTableArgs),
                      (awsb.subnet_args(s, r, "vpc-1", 1, "eu-central-1b"), aws.ec2.SubnetArgs),
                      (awsb.security_group_args(s, r, "vpc-1"), aws.ec2.SecurityGroupArgs),
                      (awsb.group_args(s, r, "lt-1", ["subnet-1"], BEFORE), aws.autoscaling.GroupArgs)):
        assert set(args) <= _params(cls), (cls.__name__, set(args) - _params(cls))
    assert awsb.subnet_args(s, r, "vpc-1", 1, "eu-central-1b")["cidr_block"] == "10.42.16.0/20"
    assert awsb.security_group_args(s, r, "vpc-1")["vpc_id"] == "vpc-1"
    g = awsb.group_args(s, r, "lt-1", ["subnet-1", "subnet-2"], BEFORE)
    assert g["vpc_zone_identifiers"] == ["subnet-1", "subnet-2"] and "availability_zones" not in g
    with pytest.raises(ConfigError) as e:
        fleet(clouds__aws__regions=[{"region": "eu-central-1", "maxSize": 3, "availabilityZones": [f"z{i}" for i in range(17)]}])
    assert str(e.value) == "pegasus:fleet.clouds.aws.regions[0].availabilityZones: lists 17 zones; the group's VPC has room for 16 subnets"


DISCOVERY = {  # the API each enablement is for, and the discovery document of the version we call
    "compute.googleapis.com": "compute.v1", "iam.googleapis.com": "iam.v1",
    "cloudresourcemanager.googleapis.com": "cloudresourcemanager.v1", "storage.googleapis.com": "storage.v1",
    "cloudfunctions.googleapis.com": "cloudfunctions.v2", "cloudbuild.googleapis.com": "cloudbuild.v1",
    "artifactregistry.googleapis.com": "artifactregistry.v1", "run.googleapis.com": "run.v2",
    "cloudscheduler.googleapis.com": "cloudscheduler.v1",
}


def _discovery(name: str) -> dict:
    import googleapiclient

    path = os.path.join(os.path.dirname(googleapiclient.__file__), "discovery_cache", "documents", f"{name}.json")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def test_the_gcp_apis_are_the_service_names_of_the_apis_the_fleet_calls():
    """A service's name is its API's host: the rootUrl of the discovery document, which
    serviceusage's services.enable takes as `services/<name>`."""
    import pulumi_gcp as gcp

    watcher = fleet()
    assert watcher.capacity_owner == "watcher"
    assert set(gcpb.project_apis(watcher)) == set(DISCOVERY)
    assert gcpb.project_apis(fleet(capacityOwner="agent")) == gcpb.BASE_APIS
    for api, doc in DISCOVERY.items():
        assert _discovery(doc)["rootUrl"] == f"https://{api}/", api
    enable = _discovery("serviceusage.v1")["resources"]["services"]["methods"]["enable"]
    assert enable["path"] == "v1/{+name}:enable"
    args = gcpb.service_args(watcher, "compute.googleapis.com")
    assert set(args) <= _params(gcp.projects.ServiceArgs)
    assert args == {"project": "my-proj", "service": "compute.googleapis.com", "disable_on_destroy": False,
                    "disable_dependent_services": False}


def test_every_gcp_resource_waits_for_the_apis(monkeypatch):
    import stacks.fleet
    from tests.conftest import run

    monkeypatch.setattr(stacks.fleet, "_now", lambda: BEFORE)
    plan = run("fleet")
    services = {r.urn for r in plan.by_type("gcp:projects/service:Service")}
    assert {r.inputs["service"] for r in plan.by_type("gcp:projects/service:Service")} == set(DISCOVERY)
    assert all(r.inputs["disableOnDestroy"] is False for r in plan.by_type("gcp:projects/service:Service"))
    gcp_resources = [r for r in plan.resources if r.type.startswith("gcp:") and r.type != "gcp:projects/service:Service"]
    assert gcp_resources
    for r in gcp_resources:
        assert services <= set(r.options["dependsOn"]), r.urn


def test_a_gcp_scaling_schedule_cannot_lower_the_maximum():
    """Why nothing lowers maxNumReplicas at the stop (docs/blueprints/fleet.md, Limits): in the
    Compute API's schedule model a scaling schedule raises a minimum and nothing else; the
    maximum is the policy's, with no time attached. Should a later discovery document add one,
    this fails and the stop can use it."""
    from tests.fleet import compute_discovery

    schemas = compute_discovery.document()["schemas"]
    assert set(schemas["AutoscalingPolicyScalingSchedule"]["properties"]) == {
        "description", "disabled", "durationSec", "minRequiredReplicas", "schedule", "timeZone"}
    assert "maxNumReplicas" in schemas["AutoscalingPolicy"]["properties"]


def test_the_gcp_group_runs_in_a_network_of_its_own():
    """No `default` network is needed (a project under compute.skipDefaultNetworkCreation has
    none): the network, its subnetwork in the group's region, the template's interface and the
    firewall rules on it, every argument a name the pulumi_gcp Args classes take, and the
    template's interface fields ones the Compute API's NetworkInterface declares."""
    import pulumi_gcp as gcp
    from tests.fleet import compute_discovery

    s = fleet(allowSsh=True, sshCidrs=["203.0.113.0/24"], openPorts=["30303"])
    r = region(s, "gcp")
    assert set(gcpb.network_args(s, r)) <= _params(gcp.compute.NetworkArgs)
    assert gcpb.network_args(s, r)["auto_create_subnetworks"] is False
    sub = gcpb.subnetwork_args(s, r, "net-id")
    assert set(sub) <= _params(gcp.compute.SubnetworkArgs) and (sub["region"], sub["network"]) == ("europe-west3", "net-id")
    rules = gcpb.firewall_args(s, r, "net-id")
    assert [short for short, _ in rules] == ["p2p", "ssh"]
    for _, args in rules:
        assert set(args) <= _params(gcp.compute.FirewallArgs) and args["network"] == "net-id"
    (nic,) = gcpb.instance_template_args(s, r, "", "sa@x", "sub-id")["network_interfaces"]
    assert nic == {"subnetwork": "sub-id", "access_configs": [{}]}
    assert set(nic) <= _params(gcp.compute.InstanceTemplateNetworkInterfaceArgs)
    declared = compute_discovery.document()["schemas"]["NetworkInterface"]["properties"]
    assert {"subnetwork", "accessConfigs"} <= set(declared)
