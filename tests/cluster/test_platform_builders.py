"""Karpenter, monitoring, logging and cluster builders, without mocks."""

from __future__ import annotations

import json

import pytest

from components.cluster import cluster_builder as cb
from components.cluster import karpenter_builder as kb
from components.monitoring import logging_builder as lb
from components.monitoring import monitoring_builder as mb
from pegasus.config import AlertingSettings, KarpenterSettings, MonitoringSettings, Secret

KARPENTER = KarpenterSettings(
    enabled=True, instance_families=("m7i", "c7i"), capacity_types=("on-demand",), architectures=("amd64",),
    cpu_limit="1000", memory_limit="4000Gi", consolidation_policy="WhenEmptyOrUnderutilized",
    consolidate_after="10m", expire_after="720h", disruption_budgets=({"nodes": "10%"},),
    ami_alias="al2023@v20251110", node_volume_size="100Gi",
)


def test_general_node_pool_whole_object():
    assert kb.node_pool(KARPENTER) == {
        "apiVersion": "karpenter.sh/v1",
        "kind": "NodePool",
        "metadata": {"name": "default", "labels": {
            "app.kubernetes.io/name": "karpenter", "app.kubernetes.io/instance": "default",
            "app.kubernetes.io/component": "autoscaling", "app.kubernetes.io/part-of": "pegasus",
            "app.kubernetes.io/managed-by": "pulumi"}},
        "spec": {
            "template": {
                "metadata": {"labels": {"pegasus.saga.xyz/pool": "general"}},
                "spec": {
                    "requirements": [
                        {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]},
                        {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]},
                        {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["on-demand"]},
                        {"key": "karpenter.k8s.aws/instance-family", "operator": "In", "values": ["m7i", "c7i"]},
                    ],
                    "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "default"},
                    "expireAfter": "720h",
                },
            },
            "limits": {"cpu": "64", "memory": "256Gi"},
            "disruption": {"consolidationPolicy": "WhenEmptyOrUnderutilized", "consolidateAfter": "10m", "budgets": [{"nodes": "10%"}]},
        },
    }


def test_ec2_node_class_whole_object():
    assert kb.ec2_node_class(KARPENTER, "pegasus-eks", "KarpenterNodeRole-pegasus-eks")["spec"] == {
        "role": "KarpenterNodeRole-pegasus-eks",
        "amiSelectorTerms": [{"alias": "al2023@v20251110"}],
        "subnetSelectorTerms": [{"tags": {"karpenter.sh/discovery": "pegasus-eks"}}],
        "securityGroupSelectorTerms": [{"tags": {"aws:eks:cluster-name": "pegasus-eks"}}],
        "metadataOptions": {"httpEndpoint": "enabled", "httpProtocolIPv6": "disabled", "httpPutResponseHopLimit": 1, "httpTokens": "required"},
        "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"volumeSize": "100Gi", "volumeType": "gp3", "encrypted": True, "deleteOnTermination": True}}],
        "tags": {"pegasus:cluster": "pegasus-eks", "managed-by": "karpenter"},
    }


def test_ec2_node_class_selects_given_subnets_by_id():
    spec = kb.ec2_node_class(KARPENTER, "c1", "role", ("subnet-a", "subnet-b"))["spec"]
    assert spec["subnetSelectorTerms"] == [{"id": "subnet-a"}, {"id": "subnet-b"}]


def test_gcp_account_ids_fit_and_never_end_in_a_dash():
    from pegasus import names

    assert names.gcp_account_id("pegasus-gke", "nodes") == "pegasus-gke-nodes"
    assert names.gcp_account_id("pegasus-production-europe-wes", "logs") == "pegasus-production-europe-wes"  # no "-" left at 30
    assert names.gcp_account_id("pegasus-production-europe-we", "nodes") == "pegasus-production-europe-we-n"


def test_controller_policies_are_karpenters_own_with_the_placeholders_filled():
    docs = kb.controller_policies(partition="aws", region="us-east-1", account_id="111122223333", cluster_name="c1",
                                  node_role_arn="arn:aws:iam::111122223333:role/node", queue_arn="arn:aws:sqs:us-east-1:111122223333:q")
    assert set(docs) == set(kb.CONTROLLER_POLICIES)
    interruption = json.loads(docs["InterruptionPolicy"])
    assert interruption == {"Version": "2012-10-17", "Statement": [{
        "Sid": "AllowInterruptionQueueActions", "Effect": "Allow", "Resource": "arn:aws:sqs:us-east-1:111122223333:q",
        "Action": ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"]}]}
    lifecycle = json.loads(docs["NodeLifecyclePolicy"])
    assert lifecycle["Statement"][1]["Condition"]["StringEquals"] == {"aws:ResourceTag/kubernetes.io/cluster/c1": "owned"}
    passrole = json.loads(docs["IAMIntegrationPolicy"])["Statement"][0]
    assert (passrole["Action"], passrole["Resource"]) == ("iam:PassRole", "arn:aws:iam::111122223333:role/node")


def test_queue_policy_and_rules():
    policy = json.loads(kb.queue_policy("arn:q"))
    assert [s["Effect"] for s in policy["Statement"]] == ["Allow", "Deny"]
    assert policy["Statement"][0]["Principal"] == {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]}
    assert set(kb.INTERRUPTION_RULES) == {"scheduled-change", "spot-interruption", "rebalance", "instance-state-change",
                                          "capacity-reservation-interruption"}


def test_chart_values_pin_the_service_account_for_pod_identity():
    assert kb.chart_values("c1", "c1-karpenter", "eu-west-1") == {
        "serviceAccount": {"create": True, "name": "karpenter"},
        "settings": {"clusterName": "c1", "interruptionQueue": "c1-karpenter"},
        "controller": {
            "env": [{"name": "AWS_REGION", "value": "eu-west-1"}],  # IMDS is one hop away from pods: not reachable
            "resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
        },
        "serviceMonitor": {"enabled": False},
    }


MONITORING = MonitoringSettings("15d", "50Gi", "30s", "60s", None)


def test_kps_values_select_our_objects_and_use_our_alertmanager_config():
    values = mb.kps_values(MONITORING, "pegasus-chain-data", grafana_admin_secret=True)
    spec = values["prometheus"]["prometheusSpec"]
    assert all(spec[k] is False for k in (
        "ruleSelectorNilUsesHelmValues", "serviceMonitorSelectorNilUsesHelmValues", "podMonitorSelectorNilUsesHelmValues",
        "probeSelectorNilUsesHelmValues", "scrapeConfigSelectorNilUsesHelmValues"))
    assert spec["storageSpec"] == {"volumeClaimTemplate": {"spec": {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "50Gi"}}, "storageClassName": "pegasus-chain-data"}}}
    assert values["alertmanager"] == {"alertmanagerSpec": {"alertmanagerConfiguration": {"name": "pegasus"}}}
    assert values["grafana"]["admin"] == {"existingSecret": "pegasus-grafana-admin", "userKey": "admin-user", "passwordKey": "admin-password"}
    assert values["grafana"]["sidecar"]["dashboards"]["provider"] == {"foldersFromFilesStructure": True}
    assert "prometheusOperator" not in values  # the chart's webhooks and TLS stay on by default


def test_kps_values_without_admission_webhooks_also_drop_the_operator_tls_they_provide():
    import dataclasses

    values = mb.kps_values(dataclasses.replace(MONITORING, admission_webhooks=False), None, grafana_admin_secret=False)
    assert values["prometheusOperator"] == {"admissionWebhooks": {"enabled": False}, "tls": {"enabled": False}}


def _rules(base="https://runbooks.example/pegasus.md"):
    rules = mb.prometheus_rules(AlertingSettings(None, "#x", None, base))
    return [{r["alert"]: r for r in rule["spec"]["groups"][0]["rules"]} for rule in rules]


def test_not_producing_blocks_ignores_syncing_nodes_and_idle_chains_without_empty_blocks():
    chainlets, _, _ = _rules()
    assert chainlets["PegasusChainletNotProducingBlocks"] == {
        "alert": "PegasusChainletNotProducingBlocks",
        "expr": (
            '(max by (namespace, chain_id) (delta(cometbft_consensus_height{namespace=~"saga-.+", create_empty_blocks!="false"}[5m])) < 1'
            ' or (max by (namespace, chain_id) (delta(cometbft_consensus_height{namespace=~"saga-.+", create_empty_blocks="false"}[5m])) < 1'
            ' and on (namespace, chain_id) max by (namespace, chain_id) (cometbft_mempool_size{namespace=~"saga-.+"}) > 0))'
            ' unless on (namespace, chain_id) max by (namespace, chain_id) (cometbft_blocksync_syncing{namespace=~"saga-.+"}) == 1'
            ' unless on (namespace, chain_id) max by (namespace, chain_id) (cometbft_statesync_syncing{namespace=~"saga-.+"}) == 1'
        ),
        "for": "5m",
        "labels": {"severity": "critical"},
        "annotations": {
            "summary": "Chainlet {{ $labels.chain_id }} is not producing blocks",
            "description": "The consensus height has not advanced for 10 minutes (with transactions waiting, on chains that do not create empty blocks) while the node is not block- or state-syncing. Check the node's logs and peers, and whether enough validators are online.",
            "runbook_url": "https://runbooks.example/pegasus.md#not-producing-blocks",
        },
    }


def test_every_chain_pod_is_covered_by_an_up_or_absent_alert_and_signers_by_a_signing_one():
    chainlets, platform, _ = _rules()
    assert chainlets["PegasusChainletChainPodDown"]["expr"] == (
        'max by (namespace, statefulset) (kube_statefulset_replicas{namespace=~"saga-.+", statefulset="chainlet"}) > 0'
        ' unless on (namespace) max by (namespace) (up{job="sagasrv-metrics/pegasus-chains"} == 1)'
    )
    assert platform["PegasusPlatformChainPodDown"]["expr"].startswith(
        'max by (namespace, statefulset) (kube_statefulset_replicas{namespace="sagasrv-spc", statefulset="spc"}) > 0')
    assert chainlets["PegasusChainletValidatorNotSigning"]["expr"].startswith(
        'max by (namespace, chain_id) (cometbft_consensus_height{namespace=~"saga-.+", signer="true"})'
        ' unless on (namespace, chain_id) max by (namespace, chain_id) (cometbft_consensus_validator_last_signed_height{namespace=~"saga-.+"})')
    assert chainlets["PegasusChainletMissedBlocks"]["expr"].endswith("[5m])) > 10")
    assert chainlets["PegasusChainletSlowBlocks"]["expr"].endswith(") > 20")
    assert chainlets["PegasusChainletMempoolFull"]["expr"].endswith(") > 300")
    # No alert on the one-block byzantine_validators gauge (see _chain_alerts).
    assert not [a for a in chainlets if "Byzantine" in a]
    assert set(platform) == {a.replace("Chainlet", "Platform") for a in chainlets}


def test_the_pod_monitor_labels_signers_and_chains_without_empty_blocks():
    [endpoint] = mb.chain_pod_monitor("30s")["spec"]["podMetricsEndpoints"]
    assert endpoint["relabelings"] == [
        {"sourceLabels": ["__meta_kubernetes_pod_label_pegasus_saga_xyz_signer"], "targetLabel": "signer"},
        {"sourceLabels": ["__meta_kubernetes_pod_label_pegasus_saga_xyz_create_empty_blocks"], "targetLabel": "create_empty_blocks"},
    ]


def test_ingress_alerts_watch_reloads_and_probes_not_http_requests():
    _, _, ingress = _rules()
    assert set(ingress) == {"PegasusIngressReloadFailed", "PegasusP2PEndpointDown", "PegasusPlatformP2PEndpointDown"}
    assert ingress["PegasusIngressReloadFailed"]["expr"] == (
        'max by (controller_pod) (nginx_ingress_controller_config_last_reload_successful{controller_namespace="sagasrv-ingress"}) == 0')
    assert 'shard!=""' in ingress["PegasusP2PEndpointDown"]["expr"]
    assert 'node="spc"' in ingress["PegasusPlatformP2PEndpointDown"]["expr"]
    assert "nginx_ingress_controller_requests" not in json.dumps(mb.prometheus_rules(AlertingSettings(None, "#x", None, None)))


def test_without_a_runbook_base_alerts_carry_no_relative_link():
    rules = mb.prometheus_rules(AlertingSettings(None, "#x", None, None))
    assert all("runbook_url" not in r["annotations"] for rule in rules for g in rule["spec"]["groups"] for r in g["rules"])


def test_runbook_anchors_exist_in_docs():
    from tests.conftest import PROJECT

    runbooks = (PROJECT / "docs" / "runbooks.md").read_text()
    rules = mb.prometheus_rules(AlertingSettings(None, "#x", None, "https://example.org/runbooks.md"))
    anchors = {r["annotations"]["runbook_url"].split("#")[1] for rule in rules for g in rule["spec"]["groups"] for r in g["rules"]}
    for anchor in anchors:
        assert f'<a id="{anchor}"></a>' in runbooks, anchor


def test_alertmanager_routes_critical_to_pagerduty_and_everything_to_slack():
    config = mb.alertmanager_config(AlertingSettings(Secret("https://hooks.slack.com/x"), "#ops", Secret("key"), "r"))
    assert config["spec"]["route"]["receiver"] == "slack"
    assert config["spec"]["route"]["routes"] == [
        {"receiver": "null", "matchers": [{"name": "alertname", "value": "InfoInhibitor|Watchdog", "matchType": "=~"}]},
        {"receiver": "pagerduty", "matchers": [{"name": "severity", "value": "critical", "matchType": "="}], "continue": True},
    ]
    receivers = {r["name"]: r for r in config["spec"]["receivers"]}
    assert receivers["slack"]["slackConfigs"][0]["apiURL"] == {"name": "pegasus-alerting", "key": "slack-webhook-url"}
    assert receivers["pagerduty"]["pagerdutyConfigs"][0]["routingKey"] == {"name": "pegasus-alerting", "key": "pagerduty-routing-key"}
    assert "hooks.slack.com" not in json.dumps(config)  # only a reference to the Secret


def test_the_global_config_keeps_the_charts_inhibit_rules():
    def matcher(text):
        name, op, value = text.replace(" ", "").partition("=~") if "=~" in text else text.replace(" ", "").partition("=")
        return {"name": name, "value": value, "matchType": op}

    # kube-prometheus-stack 88.5.3 values.yaml, alertmanager.config.inhibit_rules, verbatim.
    chart = [
        {"source_matchers": ["severity = critical"], "target_matchers": ["severity =~ warning|info"], "equal": ["namespace", "alertname"]},
        {"source_matchers": ["severity = warning"], "target_matchers": ["severity = info"], "equal": ["namespace", "alertname"]},
        {"source_matchers": ["alertname = InfoInhibitor"], "target_matchers": ["severity = info"], "equal": ["namespace"]},
        {"target_matchers": ["alertname = InfoInhibitor"]},
    ]
    expected = []
    for rule in chart:
        out = {}
        if "source_matchers" in rule:
            out["sourceMatch"] = [matcher(m) for m in rule["source_matchers"]]
        out["targetMatch"] = [matcher(m) for m in rule["target_matchers"]]
        if "equal" in rule:
            out["equal"] = rule["equal"]
        expected.append(out)
    assert mb.alertmanager_config(AlertingSettings(None, "#ops", None, None))["spec"]["inhibitRules"] == expected


def test_without_receivers_alerts_go_nowhere_but_the_config_is_valid():
    config = mb.alertmanager_config(AlertingSettings(None, "#ops", None, "r"))
    assert config["spec"]["route"]["receiver"] == "null"
    assert [r["name"] for r in config["spec"]["receivers"]] == ["null"]


def test_probe_scrape_config_lists_every_assigned_slot():
    targets = (mb.ProbeTarget("a_1-1", "saga-a-1-1", 1025), mb.ProbeTarget("b_1-1", "saga-b-1-1", 1026))
    sc = mb.p2p_scrape_config("pegasus-p2p-0", "lb.example", targets, "60s", {"shard": "0"})
    assert sc["metadata"]["name"] == "pegasus-p2p-0"
    assert sc["spec"]["staticConfigs"] == [
        {"targets": ["lb.example:1025"], "labels": {"chain_id": "a_1-1", "chainlet_namespace": "saga-a-1-1", "shard": "0", "prober": "in-cluster"}},
        {"targets": ["lb.example:1026"], "labels": {"chain_id": "b_1-1", "chainlet_namespace": "saga-b-1-1", "shard": "0", "prober": "in-cluster"}},
    ]
    assert sc["spec"]["relabelings"][-1] == {"targetLabel": "__address__", "replacement": "blackbox-exporter.sagasrv-metrics.svc:9115"}
    assert "scheme" not in sc["spec"] and "basicAuth" not in sc["spec"]


def test_an_external_prober_probes_the_same_endpoints_from_outside():
    settings = MonitoringSettings("15d", "50Gi", "30s", "60s", None, "https://prober.example.org/blackbox", "prober-auth")
    prober = mb.external_prober(settings)
    assert prober == mb.Prober("external", "https", "prober.example.org:443", "/blackbox", "prober-auth")
    sc = mb.p2p_scrape_config("pegasus-p2p-0", "lb.example", (mb.ProbeTarget("a_1-1", "saga-a-1-1", 1025),), "60s",
                              {"shard": "0"}, prober)
    assert sc["metadata"]["name"] == "pegasus-p2p-0-external"
    assert sc["spec"]["metricsPath"] == "/blackbox/probe"
    assert sc["spec"]["scheme"] == "HTTPS"
    assert sc["spec"]["basicAuth"] == {"username": {"name": "prober-auth", "key": "username"},
                                       "password": {"name": "prober-auth", "key": "password"}}
    assert sc["spec"]["relabelings"][-1] == {"targetLabel": "__address__", "replacement": "prober.example.org:443"}
    assert sc["spec"]["staticConfigs"][0]["labels"]["prober"] == "external"
    assert mb.external_prober(MONITORING) is None


def test_dashboards_are_sidecar_configmaps_with_valid_json():
    cms = mb.dashboard_configmaps()
    assert [c["metadata"]["name"] for c in cms] == ["pegasus-cluster-dashboard", "pegasus-ingress-dashboard", "pegasus-chains-dashboard"]
    for cm in cms:
        assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert cm["metadata"]["annotations"] == {"grafana_folder": "Pegasus"}
        [(key, text)] = cm["data"].items()
        dashboard = json.loads(text)
        assert key == f"{dashboard['uid']}.json"
        assert len(dashboard["panels"]) >= 6
        assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])


def test_subnet_plan():
    assert cb.subnet_plan("10.40.0.0/16", ["a", "b", "c", "d"]) == (
        cb.SubnetPlan("a", "10.40.0.0/18", "10.40.192.0/21"),
        cb.SubnetPlan("b", "10.40.64.0/18", "10.40.200.0/21"),
        cb.SubnetPlan("c", "10.40.128.0/18", "10.40.208.0/21"),
    )
    with pytest.raises(ValueError, match="at least 2 availability zones"):
        cb.subnet_plan("10.40.0.0/16", ["a"])
    with pytest.raises(ValueError, match="too small; use a /20 or larger"):
        cb.subnet_plan("10.40.0.0/24", ["a", "b"])


def test_storage_classes_retain_chain_data():
    eks = cb.storage_class("eks", "arn:aws:kms:us-east-1:1:key/k")
    assert (eks["provisioner"], eks["reclaimPolicy"], eks["volumeBindingMode"]) == ("ebs.csi.aws.com", "Retain", "WaitForFirstConsumer")
    assert eks["parameters"] == {"type": "gp3", "encrypted": "true", "csi.storage.k8s.io/fstype": "ext4", "kmsKeyId": "arn:aws:kms:us-east-1:1:key/k"}
    assert cb.storage_class("gke")["provisioner"] == "pd.csi.storage.gke.io"
    assert cb.storage_class("existing") is None


def test_gke_kubeconfig_uses_the_auth_plugin_not_a_token():
    config = json.loads(cb.gke_kubeconfig("c1", "198.51.100.1", "Q0E="))
    assert config["clusters"][0]["cluster"] == {"server": "https://198.51.100.1", "certificate-authority-data": "Q0E="}
    assert config["users"][0]["user"]["exec"]["command"] == "gke-gcloud-auth-plugin"


def test_pod_identity_trust_policy_names_one_service_account_of_one_cluster():
    arn = cb.cluster_arn("aws", "us-east-1", "111122223333", "c1")
    assert arn == "arn:aws:eks:us-east-1:111122223333:cluster/c1"
    assert json.loads(cb.pod_identity_trust_policy(arn, "c1", "kube-system", "karpenter")) == {
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Condition": {"StringEquals": {
                "aws:RequestTag/eks-cluster-arn": "arn:aws:eks:us-east-1:111122223333:cluster/c1",
                "aws:RequestTag/eks-cluster-name": "c1",
                "aws:RequestTag/kubernetes-namespace": "kube-system",
                "aws:RequestTag/kubernetes-service-account": "karpenter",
            }},
        }]}


def test_lbc_policy_is_the_upstream_document_in_the_accounts_partition():
    doc = json.loads(cb.lbc_policy_document("aws"))
    assert len(doc["Statement"]) == 16
    assert any("elasticloadbalancing:CreateListener" in (s.get("Action") or []) for s in doc["Statement"])
    with open(cb.LBC_POLICY_FILE, encoding="utf-8") as f:
        assert doc == json.load(f)
    gov = cb.lbc_policy_document("aws-us-gov")
    assert '"arn:aws:' not in gov and gov.count('"arn:aws-us-gov:') == cb.lbc_policy_document("aws").count('"arn:aws:') > 0


def test_log_shipping_outputs():
    assert "Name                cloudwatch_logs" in lb.outputs("eks", "c1", "us-east-1", 30)
    assert "log_group_name      /pegasus/c1/containers" in lb.outputs("eks", "c1", "us-east-1", 30)
    assert "Tag_Prefix            kube.var.log.containers." in lb.outputs("gke", "c1", "us-central1", 30)
    with pytest.raises(ValueError, match="no destination on existing"):
        lb.outputs("existing", "c1", "", 30)
    policy = json.loads(lb.cloudwatch_policy("us-east-1", "111122223333", "c1"))
    assert policy["Statement"][0]["Resource"] == [
        "arn:aws:logs:us-east-1:111122223333:log-group:/pegasus/c1/containers",
        "arn:aws:logs:us-east-1:111122223333:log-group:/pegasus/c1/containers:*",
    ]
