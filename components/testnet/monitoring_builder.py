"""Pure builders for a testnet's metrics: one PodMonitor over its daemons and the alert rules.

The metric names are the daemon's own (src/lib/mina_metrics/prometheus_metrics/mina_metrics.ml,
namespace "Mina" from mina_metrics/namespace.ml, names `<namespace>_<subsystem>_<name>`):

- `Mina_Block_producer_blocks_produced` (counter, "blocks produced and submitted by the daemon")
- `Mina_Network_peers` (gauge, "# of peers seen through gossip net")
- `Mina_Snark_work_completed_snark_work_received_rpc` (counter, "# of completed snark work
  bundles received via rpc": what a coordinator's workers hand in)
- `Mina_Transition_frontier_max_blocklength_observed` (gauge, "max blocklength observed by the
  system": the longest chain a daemon has seen)
- `Mina_Transition_frontier_max_unvalidated_blocklength_observed` (gauge, "max unvalidated
  blocklength observed by the system": the longest chain any peer has gossiped to it)
- `Mina_Transition_frontier_best_tip_block_height` (gauge, "Height of most recent best tip")
- `Mina_Block_producer_slots_won` (counter, "slots which the loaded block production keys have won")
- `Mina_Snark_work_pending_snark_work` (gauge, "total # of snark work bundles that are yet to be
  generated") and `Mina_Snark_work_snark_pool_size` (gauge, "# of completed snark work bundles in
  the snark pool")

The daemon serves them on -metrics-port (components/testnet_builder.METRICS).
"""

from __future__ import annotations

from pegasus import names
from components.testnet.config import Region, TestnetSettings
from components.testnet import builder as tb

BLOCKS_PRODUCED = "Mina_Block_producer_blocks_produced"
PEERS = "Mina_Network_peers"
SNARK_WORK_RECEIVED = "Mina_Snark_work_completed_snark_work_received_rpc"
CHAIN_LENGTH = "Mina_Transition_frontier_max_blocklength_observed"
GOSSIPED_LENGTH = "Mina_Transition_frontier_max_unvalidated_blocklength_observed"
BEST_TIP = "Mina_Transition_frontier_best_tip_block_height"
SLOTS_WON = "Mina_Block_producer_slots_won"
PENDING_SNARK_WORK = "Mina_Snark_work_pending_snark_work"
SNARK_POOL_SIZE = "Mina_Snark_work_snark_pool_size"
# Blocks a best tip may trail the longest chain gossiped to the region before it counts as a
# fork rather than catch-up (Mina's k is 290 on mainnet; a testnet's own k is in its genesis).
MAX_TIP_LAG = 10
ROLE_LABEL = "pegasus.saga.xyz/role"
MIN_PEERS = 3


def _meta_label(label: str) -> str:
    return "__meta_kubernetes_pod_label_" + "".join(c if c.isalnum() else "_" for c in label)


def pod_monitor(testnet: TestnetSettings, interval: str = "30s") -> dict:
    name = f"{testnet.name}-daemons"
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": {"name": name, "namespace": testnet.namespace, "labels": names.labels("monitoring", name)},
        "spec": {
            "selector": {"matchLabels": {"app.kubernetes.io/component": tb.COMPONENT}},
            "podMetricsEndpoints": [{
                "port": tb.METRICS.name, "interval": interval, "path": "/metrics",
                # The alerts tell producers and coordinators from seeds, and name the daemon.
                "relabelings": [
                    {"sourceLabels": [_meta_label(ROLE_LABEL)], "targetLabel": "role"},
                    {"sourceLabels": [_meta_label("app.kubernetes.io/name")], "targetLabel": "daemon"},
                ],
            }],
        },
    }


def rules(testnet: TestnetSettings, region: Region) -> dict:
    ns = testnet.namespace
    daemons = len(tb.plan_region(region, testnet))
    sel = f'namespace="{ns}"'
    group = [
        {
            "alert": "MinaDaemonDown",
            # `up == 0` misses a pod that is gone altogether, so the count of live targets is
            # compared with the number of daemons the region runs.
            "expr": f'(count(up{{{sel}, job="{ns}/{testnet.name}-daemons"}} == 1) or vector(0)) < {daemons}',
            "for": "5m",
            "labels": {"severity": "critical", "testnet": testnet.name, "region": region.name},
            "annotations": {"summary": f"fewer than {daemons} daemons of testnet {testnet.name} in {region.name} serve metrics"},
        },
        {
            "alert": "MinaLowPeerCount",
            "expr": f"{PEERS}{{{sel}}} < {MIN_PEERS}",
            "for": "10m",
            "labels": {"severity": "warning", "testnet": testnet.name, "region": region.name},
            "annotations": {"summary": "daemon {{ $labels.daemon }} sees {{ $value }} peers"},
        },
        {
            "alert": "MinaChainStalled",
            # The whole network's symptom, seen from every region: no daemon here saw a longer
            # chain in an hour, whoever was meant to produce (a region without producers too).
            "expr": f"max(changes({CHAIN_LENGTH}{{{sel}}}[1h])) == 0",
            "for": "10m",
            "labels": {"severity": "critical", "testnet": testnet.name, "region": region.name},
            "annotations": {"summary": f"no daemon of testnet {testnet.name} in {region.name} saw the chain grow for an hour"},
        },
        {
            "alert": "MinaBestTipDiverged",
            # Best tips diverging between regions, seen from one region's Prometheus: every
            # daemon gossips with the seeds of every region (the peer list), so the longest
            # chain another region builds reaches this region's daemons as gossip
            # (GOSSIPED_LENGTH) even where they cannot adopt it. A daemon whose best tip stays
            # far below the longest chain its region has heard of is on another fork or stuck.
            # Rules run in each region's Prometheus and no region sees another's series (no
            # federation is built), so a clean partition where each side grows its own fork
            # is not seen here: MinaLowPeerCount and the chain's length per region are what
            # show it (docs/blueprints/testnet.md).
            "expr": f"scalar(max({GOSSIPED_LENGTH}{{{sel}}})) - {BEST_TIP}{{{sel}}} > {MAX_TIP_LAG}",
            "for": "15m",
            "labels": {"severity": "critical", "testnet": testnet.name, "region": region.name},
            "annotations": {"summary": "daemon {{ $labels.daemon }}'s best tip is {{ $value }} blocks behind the longest chain gossiped to "
                                       + region.name},
        },
        {
            "alert": "MinaNetworkNoSnarkWork",
            # Network-wide: the snark pool is gossiped, so any daemon sees completed work from
            # every coordinator of every region (and any outside snarker). Work pending and an
            # empty pool for an hour means nobody proves, whatever this region runs.
            "expr": f"max({PENDING_SNARK_WORK}{{{sel}}}) > 0 and max({SNARK_POOL_SIZE}{{{sel}}}) == 0",
            "for": "1h",
            "labels": {"severity": "critical", "testnet": testnet.name, "region": region.name},
            "annotations": {"summary": f"snark work is pending but the snark pool seen from {region.name} has been empty for an hour"},
        },
    ]
    for producer in region.block_producers:
        # Per producer, and every producer has stake (config refuses one without). Winning a
        # slot and producing nothing is a fault, never luck.
        psel = f'{sel}, role="producer", daemon="{producer.name}"'
        group.append({
            "alert": "MinaProducerMissedSlots",
            "expr": f"increase({SLOTS_WON}{{{psel}}}[1h]) > 0 and increase({BLOCKS_PRODUCED}{{{psel}}}[1h]) == 0",
            "for": "10m",
            "labels": {"severity": "critical", "testnet": testnet.name, "region": region.name, "producer": producer.name},
            "annotations": {"summary": f"block producer {producer.name} won slots in the last hour and produced no block"},
        })
    if region.block_producers:
        group.append({
            "alert": "MinaBlockProductionStopped",
            # One slot is 3 minutes on Mina's mainnet constants; a region's producers together
            # winning no slot for an hour means they are not producing, not unlucky.
            "expr": f'sum(increase({BLOCKS_PRODUCED}{{{sel}, role="producer"}}[1h])) == 0',
            "for": "10m",
            "labels": {"severity": "critical", "testnet": testnet.name, "region": region.name},
            "annotations": {"summary": f"no block produced in {region.name} for an hour"},
        })
    if region.snark_pools:
        group.append({
            "alert": "MinaNoSnarkWork",
            "expr": f'sum by (daemon) (increase({SNARK_WORK_RECEIVED}{{{sel}, role="coordinator"}}[30m])) == 0',
            "for": "15m",
            "labels": {"severity": "warning", "testnet": testnet.name, "region": region.name},
            "annotations": {"summary": "coordinator {{ $labels.daemon }} received no SNARK work from its workers in 30 minutes"},
        })
    name = f"{testnet.name}-alerts"
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": name, "namespace": ns, "labels": names.labels("monitoring", name)},
        "spec": {"groups": [{"name": f"testnet-{testnet.name}", "rules": group}]},
    }
