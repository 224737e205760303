"""pegasus-imdsv2-required, pegasus-ssh-not-open-to-the-internet, pegasus-capacity-writer-scoped:
a golden fixture per resource type (engine camelCase, as the fleet plans them) and violating variants."""

from __future__ import annotations

import copy
import json

import pytest

from policy.policies import capacity_writer_scope, imdsv2_required, ssh_exposure
from tests.policy.harness import check

IMDS = imdsv2_required.POLICY
SSH = ssh_exposure.POLICY
WRITER = capacity_writer_scope.POLICY

LAUNCH_TEMPLATE = {"name": "p2p-agent-aws-eu-central-1", "instanceType": "t3.small",
                   "metadataOptions": {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1}}
AWS_SG = {"ingress": [
    {"protocol": "tcp", "fromPort": 1024, "toPort": 65535, "cidrBlocks": ["0.0.0.0/0"]},
    {"protocol": "udp", "fromPort": 1024, "toPort": 65535, "cidrBlocks": ["0.0.0.0/0"]},
    {"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["203.0.113.0/24"]},
]}
GCP_FIREWALL = {"direction": "INGRESS", "sourceRanges": ["0.0.0.0/0"],
                "allows": [{"protocol": "tcp", "ports": ["1024-65535"]}, {"protocol": "udp", "ports": ["1024-65535"]}]}
AZURE_NSG = {"securityRules": [
    {"name": "p2p", "direction": "Inbound", "access": "Allow", "protocol": "*", "sourceAddressPrefix": "Internet",
     "destinationPortRange": "1024-65535"},
    {"name": "ssh", "direction": "Inbound", "access": "Allow", "protocol": "Tcp", "sourceAddressPrefixes": ["203.0.113.0/24"],
     "destinationPortRange": "22"},
]}
ALI_RULE = {"type": "ingress", "ipProtocol": "tcp", "portRange": "1024/65535", "cidrIp": "0.0.0.0/0", "policy": "accept"}

AWS_POLICY = {"policy": json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["autoscaling:SetDesiredCapacity"], "Resource": "*",
     "Condition": {"StringEquals": {"autoscaling:ResourceTag/pegasus-fleet-group": "p2p-agent-aws-eu-central-1"}}},
    {"Effect": "Allow", "Action": ["autoscaling:DescribeAutoScalingGroups"], "Resource": "*"},
]})}
GCP_MEMBER = {"role": "projects/my-proj/roles/p2p_agent_fleet_capacity", "member": "serviceAccount:x@my-proj.iam.gserviceaccount.com",
              "condition": {"title": "own", "expression": 'resource.name == "projects/my-proj/regions/r/autoscalers/g"'}}
AZURE_ASSIGNMENT = {"scope": "/subscriptions/s/resourceGroups/g/providers/Microsoft.Insights/autoscaleSettings/g",
                    "roleDefinitionId": "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/749f88d5-cbae-40b8-bcfc-e573ddc772fa",
                    "principalId": "p"}
ALI_POLICY = {"policyDocument": json.dumps({"Version": "1", "Statement": [
    {"Effect": "Allow", "Action": ["ess:ModifyScalingGroup"], "Resource": ["acs:ess:eu-central-1:*:scalinggroup/asg-1"]},
    {"Effect": "Allow", "Action": ["ess:DescribeScalingGroups"], "Resource": ["*"]}]})}

SSH_FIX = "open SSH only to the operators' CIDRs (fleet.allowSsh with fleet.sshCidrs)"


def test_golden_fixtures_pass():
    assert check(IMDS, imdsv2_required.LAUNCH_TEMPLATE, LAUNCH_TEMPLATE) == []
    assert check(SSH, ssh_exposure.AWS_SG, AWS_SG) == []
    assert check(SSH, ssh_exposure.GCP_FIREWALL, GCP_FIREWALL) == []
    assert check(SSH, ssh_exposure.AZURE_NSG, AZURE_NSG) == []
    assert check(SSH, ssh_exposure.ALI_RULE, ALI_RULE) == []
    assert check(WRITER, "aws:iam/rolePolicy:RolePolicy", AWS_POLICY) == []
    assert check(WRITER, capacity_writer_scope.GCP_MEMBER, GCP_MEMBER) == []
    assert check(WRITER, capacity_writer_scope.AZURE_ASSIGNMENT, AZURE_ASSIGNMENT) == []
    assert check(WRITER, capacity_writer_scope.ALI_POLICY, ALI_POLICY) == []


@pytest.mark.parametrize("tokens, shown", [("optional", "'optional'"), (None, "unset")])
def test_imdsv1_is_refused(tokens, shown):
    props = copy.deepcopy(LAUNCH_TEMPLATE)
    if tokens is None:
        del props["metadataOptions"]
    else:
        props["metadataOptions"]["httpTokens"] = tokens
    assert check(IMDS, imdsv2_required.LAUNCH_TEMPLATE, props) == [
        f"metadataOptions.httpTokens is {shown}, so the instance metadata service also answers IMDSv1 and a forged "
        "request reads the instance role's credentials; set metadataOptions.httpTokens to 'required'"]


def test_aws_ssh_to_the_world_and_all_ports():
    props = copy.deepcopy(AWS_SG)
    props["ingress"][2]["cidrBlocks"] = ["0.0.0.0/0"]
    props["ingress"].append({"protocol": "-1", "fromPort": 0, "toPort": 0, "ipv6CidrBlocks": ["::/0"]})
    assert check(SSH, ssh_exposure.AWS_SG, props) == [
        f"ingress[2] opens port 22 to 0.0.0.0/0; {SSH_FIX}", f"ingress[3] opens port 22 to ::/0; {SSH_FIX}"]
    rule = {"type": "ingress", "protocol": "tcp", "fromPort": 20, "toPort": 25, "cidrBlocks": ["0.0.0.0/0"]}
    assert check(SSH, ssh_exposure.AWS_SG_RULE, rule) == [f"the rule opens port 22 to 0.0.0.0/0; {SSH_FIX}"]


def test_gcp_azure_and_alibaba_ssh_to_the_world():
    fw = copy.deepcopy(GCP_FIREWALL)
    fw["allows"][0]["ports"] = ["1-1024"]
    assert check(SSH, ssh_exposure.GCP_FIREWALL, fw) == [f"allows[0] opens port 22 to 0.0.0.0/0; {SSH_FIX}"]
    nsg = copy.deepcopy(AZURE_NSG)
    nsg["securityRules"][1]["sourceAddressPrefixes"] = ["*"]
    assert check(SSH, ssh_exposure.AZURE_NSG, nsg) == [f"securityRules[1] opens port 22 to *; {SSH_FIX}"]
    rule = dict(ALI_RULE, portRange="22/22")
    assert check(SSH, ssh_exposure.ALI_RULE, rule) == [f"the rule opens port 22 to 0.0.0.0/0; {SSH_FIX}"]


def test_aws_capacity_writer_without_the_tag_condition():
    doc = json.loads(AWS_POLICY["policy"])
    del doc["Statement"][0]["Condition"]
    assert check(WRITER, "aws:iam/rolePolicy:RolePolicy", {"policy": json.dumps(doc)}) == [
        "Statement[0] allows autoscaling:SetDesiredCapacity on every Auto Scaling group (Resource '*' without an "
        "autoscaling:ResourceTag condition); scope it to the writer's own group with a StringEquals condition on the "
        "group's pegasus-fleet-group tag"]
    doc["Statement"][0]["Action"] = "autoscaling:*"
    assert len(check(WRITER, "aws:iam/policy:Policy", {"policy": json.dumps(doc)})) == 1


def test_gcp_azure_and_alibaba_writers_on_everything():
    member = dict(GCP_MEMBER)
    del member["condition"]
    assert check(WRITER, capacity_writer_scope.GCP_MEMBER, member) == [
        "projects/my-proj/roles/p2p_agent_fleet_capacity is granted on the whole project without an IAM condition on "
        "resource.name; bind the capacity writer with a condition naming its own autoscaler"]
    assert len(check(WRITER, capacity_writer_scope.GCP_MEMBER, dict(member, role="roles/compute.admin"))) == 1
    assignment = dict(AZURE_ASSIGNMENT, scope="/subscriptions/s/resourceGroups/g")
    assert check(WRITER, capacity_writer_scope.AZURE_ASSIGNMENT, assignment) == [
        "Monitoring Contributor is assigned at /subscriptions/s/resourceGroups/g, which covers every scale set there; "
        "scope the assignment to the group's own autoscale setting or scale set"]
    doc = json.loads(ALI_POLICY["policyDocument"])
    doc["Statement"][0]["Resource"] = ["*"]
    assert check(WRITER, capacity_writer_scope.ALI_POLICY, {"policyDocument": json.dumps(doc)}) == [
        "Statement[0] allows ess:ModifyScalingGroup on every scaling group; name the writer's own group, "
        "acs:ess:<region>:*:scalinggroup/<id>"]


def test_unknown_values_are_undecided():
    assert check(WRITER, capacity_writer_scope.GCP_MEMBER, dict(GCP_MEMBER, role="04da6b54-80e4-46f7-96ec-b56ff0331ba9"), wrap=False) == []
    assert check(IMDS, imdsv2_required.LAUNCH_TEMPLATE, {"metadataOptions": "04da6b54-80e4-46f7-96ec-b56ff0331ba9"}, wrap=False) == []
