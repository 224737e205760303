"""Pure builders for alerting: the chain and ingress alert rules (PrometheusRule) and the
Alertmanager routing (AlertmanagerConfig). Metric names are CometBFT's (namespace `cometbft`,
label `chain_id` on every series), kube-state-metrics' and ingress-nginx's. Chainlets live in
`saga-*` namespaces and the platform chain in `sagasrv-spc`, so one rule set serves both
through a namespace matcher."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from pegasus import names
from pegasus.config import AlertingSettings

CHAINLET_SELECTOR = 'namespace=~"saga-.+"'
PLATFORM_SELECTOR = f'namespace="{names.SPC_NAMESPACE}"'
# The PodMonitor that scrapes every chain pod (its job label is <namespace>/<name>).
CHAIN_POD_MONITOR = "pegasus-chains"
P2P_PROBE_JOBS = 'job=~"scrapeConfig/sagasrv-metrics/pegasus-p2p-.*"'
ALERTMANAGER_CONFIG = "pegasus"
ALERTING_SECRET = "pegasus-alerting"


@dataclass(frozen=True)
class Alert:
    name: str
    expr: str
    for_: str
    severity: str
    summary: str
    description: str
    anchor: str


# CometBFT exports these (consensus/metrics.go, blocksync/metrics.go, statesync/metrics.go at
# v0.38). `*_syncing` is 1 while the node catches up and 0 once it runs consensus; the series
# appear only once a sync phase ran, so the gates below say "unless syncing == 1" rather than
# "and syncing == 0", which would silence a node that never synced.
def _not_syncing(s: str) -> str:
    return (f" unless on (namespace, chain_id) max by (namespace, chain_id) (cometbft_blocksync_syncing{{{s}}}) == 1"
            f" unless on (namespace, chain_id) max by (namespace, chain_id) (cometbft_statesync_syncing{{{s}}}) == 1")


def _chain_alerts(scope: str, selector: str, prefix: str, workload: str) -> list[Alert]:
    """`selector` matches the chain's metric series, `workload` its StatefulSets' series in
    kube-state-metrics. Left out on purpose: a ByzantineValidator alert. CometBFT's
    `cometbft_consensus_byzantine_validators` is a gauge set from each block's evidence
    (consensus/state.go recordMetrics), so it is non-zero for one block only and a scrape
    every 30s on 5s blocks misses it most of the time; v0.38 has no evidence counter to
    rebuild it on. A double signer shows up as ValidatorJailed (tombstoned validators stop
    signing), and Pegasus prevents one structurally (one-replica StatefulSets, the policy
    pack's single-signer rules)."""
    s = selector
    return [
        Alert(
            f"{prefix}ValidatorJailed",
            # Jailing removes the validator from the set, so its last signed height stops
            # while the chain goes on. CometBFT exports no jailed flag; this is the signal
            # every chain node has.
            f"max by (namespace, chain_id) (cometbft_consensus_height{{{s}}})"
            f" - on (namespace, chain_id) group_right"
            f" max by (namespace, chain_id, validator_address) (cometbft_consensus_validator_last_signed_height{{{s}}}) > 1000",
            "5m", "critical",
            f"{scope} validator has not signed for over 1000 blocks: jailed",
            "The chain keeps producing blocks but this validator's last signed height is more than 1000 blocks behind. It is jailed (or its key is not loaded). Check the validator's status on chain and unjail once the cause is fixed.",
            "validator-jailed",
        ),
        Alert(
            f"{prefix}ValidatorNotSigning",
            # After a restart CometBFT sets validator_last_signed_height only once this
            # validator signs a block (consensus/state.go), so a validator that is jailed, or
            # whose key is not loaded, has no such series at all and ValidatorJailed cannot
            # see it. Every signer pod that runs consensus must have one.
            f"max by (namespace, chain_id) (cometbft_consensus_height{{{s}, signer=\"true\"}})"
            f" unless on (namespace, chain_id) max by (namespace, chain_id) (cometbft_consensus_validator_last_signed_height{{{s}}})"
            + _not_syncing(s),
            "30m", "critical",
            f"{scope} validator has signed no block since its node started",
            "The node runs consensus but has not signed a single block since it started: the validator is jailed, not in the active set, or runs without its key. Check the validator's status on chain and the key the node loaded.",
            "validator-not-signing",
        ),
        Alert(
            f"{prefix}MissedBlocks",
            f"max by (namespace, chain_id, validator_address) (delta(cometbft_consensus_validator_missed_blocks{{{s}}}[5m])) > 10",
            "0m", "warning",
            f"{scope} validator missed more than 10 blocks in 5 minutes",
            "The validator is online but missing blocks: check CPU throttling, disk latency and peer count.",
            "missed-blocks",
        ),
        Alert(
            f"{prefix}NotProducingBlocks",
            # A chain that does not create empty blocks (the chainlet param createEmptyBlocks,
            # and the SSC image, whose start.sh sets create_empty_blocks = false) legitimately
            # stands still while its mempool is empty: for those only a stall with pending
            # transactions counts. The pods carry create_empty_blocks as a label (PodMonitor).
            f"(max by (namespace, chain_id) (delta(cometbft_consensus_height{{{s}, create_empty_blocks!=\"false\"}}[5m])) < 1"
            f" or (max by (namespace, chain_id) (delta(cometbft_consensus_height{{{s}, create_empty_blocks=\"false\"}}[5m])) < 1"
            f" and on (namespace, chain_id) max by (namespace, chain_id) (cometbft_mempool_size{{{s}}}) > 0))"
            + _not_syncing(s),
            "5m", "critical",
            f"{scope} is not producing blocks",
            "The consensus height has not advanced for 10 minutes (with transactions waiting, on chains that do not create empty blocks) while the node is not block- or state-syncing. Check the node's logs and peers, and whether enough validators are online.",
            "not-producing-blocks",
        ),
        Alert(
            f"{prefix}ChainPodDown",
            # up == 0 catches a pod whose metrics endpoint fails; the `unless` form also covers
            # a pod that does not exist or is never scraped (absent), for every chain workload
            # that should run.
            f"max by (namespace, statefulset) (kube_statefulset_replicas{{{workload}}}) > 0"
            f" unless on (namespace) max by (namespace) (up{{job=\"{names.METRICS_NAMESPACE}/{CHAIN_POD_MONITOR}\"}} == 1)",
            "15m", "critical",
            f"{scope} node is down or not scraped",
            "The workload should run but its pod serves no metrics: it is missing, crash-looping, unschedulable, or still waiting for its genesis. Check the pod's events and logs.",
            "chain-pod-down",
        ),
        Alert(
            f"{prefix}SlowBlocks",
            f"max by (namespace, chain_id) (rate(cometbft_consensus_block_interval_seconds_sum{{{s}}}[5m])"
            f" / rate(cometbft_consensus_block_interval_seconds_count{{{s}}}[5m])) > 20",
            "10m", "warning",
            f"{scope} average block time is above 20s",
            "Blocks take longer than 20 seconds on average over 5 minutes. Consensus rounds are failing or validators are slow.",
            "slow-blocks",
        ),
        Alert(
            f"{prefix}MempoolFull",
            f"max by (namespace, chain_id) (cometbft_mempool_size{{{s}}}) > 300",
            "10m", "warning",
            f"{scope} mempool holds more than 300 transactions",
            "Transactions are arriving faster than blocks include them, or blocks are stalled.",
            "mempool-full",
        ),
    ]


def _ingress_alerts() -> list[Alert]:
    # No request-rate alert: p2p runs through nginx's `stream {}` block, which exports no
    # request metrics (nginx.tmpl: no monitoring hook in stream servers), so a success rate
    # of nginx_ingress_controller_requests would never have data. What can fail is a reload
    # (a bad routing entry leaves the old config running) and the endpoints themselves (probes).
    ingress = f'controller_namespace="{names.INGRESS_NAMESPACE}"'
    return [
        Alert(
            "PegasusIngressReloadFailed",
            f"max by (controller_pod) (nginx_ingress_controller_config_last_reload_successful{{{ingress}}}) == 0",
            "5m", "critical",
            "ingress-nginx failed to load its configuration",
            "The last nginx reload failed, so the controller still runs its previous configuration: new or changed p2p routes are not served. Read the controller's log for the rejected configuration.",
            "ingress-reload-failed",
        ),
        Alert(
            "PegasusP2PEndpointDown",
            # Probe only the endpoints of chainlets that should run: an offline chainlet's
            # port is reserved, not served, and scales its StatefulSet to zero.
            'max by (chain_id, chainlet_namespace, instance, prober) (probe_success{' + P2P_PROBE_JOBS + ', shard!=""}) == 0'
            ' and on (chainlet_namespace) label_replace(max by (namespace) (kube_statefulset_replicas{statefulset="chainlet"}) > 0,'
            ' "chainlet_namespace", "$1", "namespace", "(.*)")',
            "10m", "critical",
            "a public p2p endpoint does not accept connections",
            "A TCP connect from the prober ({{ $labels.prober }}) to the chainlet's public LB address and port fails, so peers cannot reach it. Check the shard Service, the tcp-services ConfigMap and the chainlet pod.",
            "p2p-endpoint-down",
        ),
        Alert(
            "PegasusPlatformP2PEndpointDown",
            'max by (instance, prober) (probe_success{' + P2P_PROBE_JOBS + ', node="spc"}) == 0',
            "10m", "critical",
            "the platform chain's public p2p endpoint does not accept connections",
            "A TCP connect from the prober ({{ $labels.prober }}) to the spc LoadBalancer fails, so peers cannot reach the platform chain node.",
            "p2p-endpoint-down",
        ),
    ]


def _rule(a: Alert, runbook_base: Optional[str]) -> dict:
    annotations = {"summary": a.summary, "description": a.description}
    if runbook_base:
        # Absolute (config checks it): Alertmanager, Slack and PagerDuty resolve nothing relative.
        annotations["runbook_url"] = f"{runbook_base}#{a.anchor}"
    return {"alert": a.name, "expr": a.expr, "for": a.for_, "labels": {"severity": a.severity}, "annotations": annotations}


def prometheus_rules(alerting: AlertingSettings) -> list[dict]:
    groups = {
        "pegasus-chainlets": ("chainlets", _chain_alerts("Chainlet {{ $labels.chain_id }}", CHAINLET_SELECTOR, "PegasusChainlet",
                                                         f'{CHAINLET_SELECTOR}, statefulset="{names.chainlet_workload_name()}"')),
        "pegasus-platform-chain": ("platform-chain", _chain_alerts("Platform chain {{ $labels.chain_id }}", PLATFORM_SELECTOR, "PegasusPlatform",
                                                                   f'{PLATFORM_SELECTOR}, statefulset="{names.SPC_SERVICE}"')),
        "pegasus-ingress": ("ingress", _ingress_alerts()),
    }
    out = []
    for name, (group, alerts) in groups.items():
        out.append({
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "PrometheusRule",
            "metadata": {"name": name, "namespace": names.METRICS_NAMESPACE, "labels": names.labels("alerts", name)},
            "spec": {"groups": [{"name": group, "rules": [_rule(a, alerting.runbook_base_url) for a in alerts]}]},
        })
    return out



def _m(name: str, value: str, match: str = "=") -> dict:
    return {"name": name, "value": value, "matchType": match}


# Our AlertmanagerConfig replaces the chart's `alertmanager.config` entirely (it becomes the
# global config through alertmanagerConfiguration), so the chart's inhibit rules are repeated
# here as kube-prometheus-stack 88.5.3 values.yaml writes them: critical mutes warning and info
# of the same alert and namespace, warning mutes info, and the always-firing InfoInhibitor mutes
# info alerts of its namespace. The operator adds no namespace matcher to a global config's
# inhibit rules (prometheus-operator v0.93 amcfg.go initializeFromAlertmanagerConfig).
INHIBIT_RULES = [
    {"sourceMatch": [_m("severity", "critical")], "targetMatch": [_m("severity", "warning|info", "=~")], "equal": ["namespace", "alertname"]},
    {"sourceMatch": [_m("severity", "warning")], "targetMatch": [_m("severity", "info")], "equal": ["namespace", "alertname"]},
    {"sourceMatch": [_m("alertname", "InfoInhibitor")], "targetMatch": [_m("severity", "info")], "equal": ["namespace"]},
    {"targetMatch": [_m("alertname", "InfoInhibitor")]},
]


def alertmanager_config(alerting: AlertingSettings) -> dict:
    receivers: list[dict] = [{"name": "null"}]
    routes: list[dict] = [
        # kube-prometheus-stack's always-firing Watchdog proves the pipeline works, and its
        # InfoInhibitor exists only to inhibit: neither is news.
        {"receiver": "null", "matchers": [_m("alertname", "InfoInhibitor|Watchdog", "=~")]},
    ]
    default = "null"
    if alerting.pagerduty_routing_key:
        receivers.append({
            "name": "pagerduty",
            "pagerdutyConfigs": [{"routingKey": {"name": ALERTING_SECRET, "key": "pagerduty-routing-key"}, "sendResolved": True}],
        })
        routes.append({
            "receiver": "pagerduty",
            "matchers": [{"name": "severity", "value": "critical", "matchType": "="}],
            "continue": True,
        })
    if alerting.slack_webhook_url:
        receivers.append({
            "name": "slack",
            "slackConfigs": [{
                "apiURL": {"name": ALERTING_SECRET, "key": "slack-webhook-url"},
                "channel": alerting.slack_channel,
                "sendResolved": True,
                "title": "[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}",
                "text": "{{ range .Alerts }}{{ .Annotations.summary }}\n{{ .Annotations.description }}\nRunbook: {{ .Annotations.runbook_url }}\n{{ end }}",
            }],
        })
        default = "slack"
    return {
        "apiVersion": "monitoring.coreos.com/v1alpha1",
        "kind": "AlertmanagerConfig",
        "metadata": {"name": ALERTMANAGER_CONFIG, "namespace": names.METRICS_NAMESPACE, "labels": names.labels("alerting", ALERTMANAGER_CONFIG)},
        "spec": {
            "route": {
                "receiver": default,
                "groupBy": ["alertname", "namespace", "chain_id"],
                "groupWait": "30s",
                "groupInterval": "5m",
                "repeatInterval": "4h",
                "routes": routes,
            },
            "receivers": receivers,
            "inhibitRules": [dict(r) for r in INHIBIT_RULES],
        },
    }


