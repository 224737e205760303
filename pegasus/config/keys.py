"""The key reference: every config key, its type, default and description.

The config table in docs/config.md and the Pulumi.yaml declarations are checked against `KEYS` by the tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

NAMESPACE = "pegasus"

@dataclass(frozen=True)
class Key:
    path: str
    type: str  # string | integer | boolean | array | object
    default: Any
    description: str
    secret: bool = False
    # What the offline plan uses for a `secure:` value it cannot decrypt: shaped like the
    # real thing so validation still runs, and reported as a placeholder.
    placeholder: Optional[str] = None


def _k(path, type_, default, description, secret=False, placeholder=None):
    return Key(path, type_, default, description, secret, placeholder)


# Backends per load balancer. p2p is TCP only (components/p2p/p2p_builder.py), so each backend is
# one port of its shard Service. On eks that is one NLB listener (at most 50 per NLB,
# "adjustable: no") and one inbound rule in the security group the AWS Load Balancer
# Controller manages, which writes one rule per Service port and source CIDR
# (pkg/service/model_build_managed_sg.go, v3.5.0): 50 of the default 60 "inbound rules per
# security group" for a full shard. GKE forwards a contiguous port range once a Service has
# more than 5 ports, so there is no hard cap there; we keep a shard within 50 backends so its
# ports stay one short contiguous range and one LB's blast radius stays small.
SHARD_LIMITS = {"eks": 50, "gke": 50, "existing": 1000}

INGRESS_PROVIDERS = ("ingress-nginx", "envoy-gateway")
# A Gateway holds at most 64 listeners (Gateway API v1.6.1 CRD, spec.listeners maxItems), and
# each chainlet of a shard is one listener.
GATEWAY_MAX_LISTENERS = 64

# Ports the ingress-nginx controller binds itself; a tcp-services key on one of them is
# either refused by the controller or breaks its reload.
INGRESS_RESERVED_PORTS = frozenset({80, 442, 443, 8181, 8443, 10245, 10246, 10247, 10254})

DEFAULT_CHAINLET_RESOURCES = {
    "requests": {"cpu": "500m", "memory": "1Gi"},
    "limits": {"cpu": "2", "memory": "4Gi"},
}
DEFAULT_DAEMON_RESOURCES = {"requests": {"cpu": "2", "memory": "8Gi"}, "limits": {"cpu": "4", "memory": "16Gi"}}
DEFAULT_WORKER_RESOURCES = {"requests": {"cpu": "2", "memory": "4Gi"}, "limits": {"cpu": "4", "memory": "8Gi"}}
DEFAULT_SPC_RESOURCES = {
    "requests": {"cpu": "1", "memory": "4Gi"},
    "limits": {"cpu": "4", "memory": "16Gi"},
}

# One composition in stacks/ each; all but validator parse their own settings.
BLUEPRINTS = ("validator", "spacemesh", "provider", "testnet", "fleet")

KEYS: tuple[Key, ...] = (
    _k("blueprint", "string", "validator", f"Which composition in stacks/ to deploy. One of: {', '.join(BLUEPRINTS)}."),
    # cluster
    _k("cluster.provider", "string", "existing", "Where the cluster comes from: existing (a kubeconfig), eks or gke."),
    _k("cluster.name", "string", "pegasus-<stack>", "Cluster name (EKS/GKE) and the prefix of cloud resources. DNS-1123, at most 40 characters."),
    _k("cluster.kubeconfig", "string", None, "existing: path to a kubeconfig file, or its contents (set it with --secret then). Default: $KUBECONFIG or ~/.kube/config.",
       secret=True, placeholder="apiVersion: v1\nkind: Config\n# placeholder for a secret kubeconfig\n"),
    _k("cluster.context", "string", None, "existing: kubeconfig context to use. Default: the current context."),
    _k("cluster.region", "string", None, "eks/gke: the AWS or GCP region. Required there."),
    _k("cluster.project", "string", None, "gke: the GCP project ID. Required there."),
    _k("cluster.kubernetesVersion", "string", "1.35", "Kubernetes minor version of EKS/GKE, and the version manifests are validated against."),
    _k("cluster.publicAccessCidrs", "array", [], "eks: CIDRs allowed to reach the public API endpoint (gke: master authorized networks). Empty: private endpoint only, which on eks needs cluster.vpcId (a network the runner is inside)."),
    _k("cluster.adminRoleArns", "array", [], "eks: IAM role ARNs that get cluster-admin through EKS access entries. The role that runs `pulumi up` is admin already (EKS bootstraps it); listing it is refused."),
    _k("cluster.vpcCidr", "string", "10.40.0.0/16", "eks/gke: CIDR of the network Pegasus creates (unused when subnets are given)."),
    _k("cluster.vpcId", "string", None, "eks: an existing VPC ID. Set it with privateSubnetIds and publicSubnetIds to skip creating a VPC."),
    _k("cluster.privateSubnetIds", "array", [], "eks: existing private subnet IDs (at least 2 AZs) for nodes."),
    _k("cluster.publicSubnetIds", "array", [], "eks: existing public subnet IDs (at least 2 AZs) for the p2p load balancers."),
    _k("cluster.availabilityZones", "array", [], "eks: AZs for the created VPC (at least 2). Default: the region's first 3 available AZs."),
    _k("cluster.systemNodeType", "string", "m7i.large (eks), e2-standard-4 (gke)", "Instance/machine type of the small system node group."),
    _k("cluster.systemNodeCount", "integer", 2, "Nodes in the system group (eks: desired and minimum; gke: per zone is 1 when this is below 3)."),
    _k("cluster.masterCidr", "string", "172.16.0.32/28", "gke: the /28 for the private control plane."),
    _k("cluster.releaseChannel", "string", "REGULAR", "gke: release channel, RAPID | REGULAR | STABLE."),
    _k("cluster.deletionProtection", "boolean", True, "eks/gke: refuse to delete the cluster itself."),
    _k("cluster.supportType", "string", "STANDARD", "eks: STANDARD | EXTENDED. EXTENDED keeps a version past standard support at an extra hourly charge; STANDARD upgrades the control plane when standard support ends."),
    _k("cluster.logRetentionDays", "integer", 90, "eks: retention of the control-plane log group /aws/eks/<name>/cluster, one of CloudWatch Logs' values."),
    _k("cluster.autoprovisioning", "object", {"enabled": True, "cpuLimit": 1000, "memoryLimitGb": 4000}, "gke: node auto-provisioning, the GKE counterpart of Karpenter."),
    # ingress
    _k("ingress.provider", "string", "ingress-nginx", "The p2p data plane behind the shards: ingress-nginx (retired upstream in March 2026, reloads on every routing change) or envoy-gateway (recommended for new installs: one Gateway per shard, a TCPRoute per chainlet, no reloads). Switching replaces the shard load balancers; see \"Choosing the p2p data plane\" in docs/operations.md."),
    _k("ingress.allowProviderSwitch", "boolean", False, "Allow one `up` that changes ingress.provider on a stack that already runs the other data plane. Every shard load balancer is replaced; only pinned addresses (gke reserved IPs, eks EIPs, a MetalLB IP, or ingress.p2pDomain) survive. Unset it again afterwards."),
    _k("ingress.shardSize", "integer", 25, "Chainlets per p2p LoadBalancer shard (one TCP listener and one security-group rule each on eks). At most 50 on eks (50 listeners per NLB) and gke. Changing it moves addresses."),
    _k("ingress.basePort", "integer", 1025, "First public port of every shard; a shard uses basePort..basePort+shardSize-1."),
    _k("ingress.internalBasePort", "integer", 20000, "First listening port inside the controller pods; slot N listens on internalBasePort+N."),
    _k("ingress.p2pDomain", "string", None, "If set, chainlets advertise p2p-<shard>.<domain> (publish it with external-dns) instead of the LB address."),
    _k("ingress.controllerReplicas", "integer", 2, "ingress-nginx controller replicas, or Envoy replicas per shard Gateway with envoy-gateway."),
    _k("ingress.shardAnnotations", "object", {}, "Extra annotations on every shard Service, e.g. a MetalLB address pool on an existing cluster."),
    _k("ingress.allocateNodePorts", "boolean", "false on eks, true elsewhere", "Whether p2p LoadBalancer Services take NodePorts. eks (IP targets) needs none; set false on existing clusters whose LB (MetalLB) does not use them."),
    # karpenter
    _k("karpenter.enabled", "boolean", True, "eks: install Karpenter. Not available elsewhere (gke uses cluster.autoprovisioning)."),
    _k("karpenter.instanceFamilies", "array", ["m7i", "m6i", "c7i", "c6i", "r7i", "r6i"], "EC2 instance families both NodePools (signers and general) may launch."),
    _k("karpenter.capacityTypes", "array", ["on-demand"], "on-demand | spot | reserved. Validators should stay on-demand."),
    _k("karpenter.architectures", "array", ["amd64"], "amd64 | arm64."),
    _k("karpenter.cpuLimit", "string", "1000", "Total CPU of the signers NodePool (chain nodes and chainlets)."),
    _k("karpenter.memoryLimit", "string", "4000Gi", "Total memory of the signers NodePool."),
    _k("karpenter.generalCpuLimit", "string", "64", "Total CPU of the general NodePool (ingress, monitoring, logging)."),
    _k("karpenter.generalMemoryLimit", "string", "256Gi", "Total memory of the general NodePool."),
    _k("karpenter.consolidationPolicy", "string", "WhenEmptyOrUnderutilized", "General NodePool: WhenEmptyOrUnderutilized | Balanced | WhenEmpty. The signers pool removes only empty nodes."),
    _k("karpenter.consolidateAfter", "string", "10m", "How long a node must be consolidatable before Karpenter acts (both pools)."),
    _k("karpenter.expireAfter", "string", "720h", "Maximum lifetime of general nodes, or Never. Signer nodes never expire: see docs/runbooks.md, rotating signer nodes."),
    _k("karpenter.disruptionBudgets", "array", [{"nodes": "10%"}], "Disruption budgets of both NodePools: objects with nodes and optional schedule, duration (hours and minutes), reasons."),
    _k("karpenter.amiAlias", "string", "al2023@latest", "EC2NodeClass AMI alias. Pin it (al2023@vYYYYMMDD) in production."),
    _k("karpenter.nodeVolumeSize", "string", "100Gi", "Root volume of Karpenter nodes (gp3, encrypted)."),
    # monitoring and alerting
    _k("monitoring.retention", "string", "15d", "Prometheus retention."),
    _k("monitoring.storageSize", "string", "50Gi", "Prometheus volume size."),
    _k("monitoring.scrapeInterval", "string", "30s", "Scrape interval of the chain PodMonitors."),
    _k("monitoring.probeInterval", "string", "60s", "Interval of the blackbox probes of public p2p endpoints."),
    _k("monitoring.admissionWebhooks", "boolean", True, "The Prometheus operator's admission webhooks, which validate PrometheusRules. false also turns off the operator's TLS, whose certificate the webhook job makes: for clusters whose API server cannot reach pods (the e2e cluster)."),
    _k("monitoring.externalProberUrl", "string", None, "URL of a blackbox exporter outside the cluster (https://prober.example.org:9115) that also probes every public p2p endpoint; see docs/operations.md, External probing."),
    _k("monitoring.externalProberAuthSecret", "string", None, "Secret in sagasrv-metrics with keys username and password for the external prober's basic auth."),
    _k("monitoring.grafanaAdminPassword", "string", None, "Grafana admin password (secret). Default: the chart generates one and keeps it.", secret=True,
       placeholder="placeholder-grafana-password"),
    _k("alerting.slackWebhookUrl", "string", None, "Slack incoming webhook for all alerts (secret).", secret=True,
       placeholder="https://hooks.slack.com/services/PLACEHOLDER/PLACEHOLDER/PLACEHOLDER"),
    _k("alerting.slackChannel", "string", "#pegasus-alerts", "Slack channel for alerts."),
    _k("alerting.pagerdutyRoutingKey", "string", None, "PagerDuty Events v2 routing key for critical alerts (secret).", secret=True,
       placeholder="placeholder-pagerduty-routing-key"),
    _k("alerting.runbookBaseUrl", "string", None, "Absolute http(s) URL of your published copy of docs/runbooks.md; alerts link to <url>#<anchor>. Unset: alerts carry no runbook link."),
    # logging
    _k("logging.enabled", "boolean", False, "Ship container logs with fluent-bit: CloudWatch on eks, Cloud Logging on gke."),
    _k("logging.retentionDays", "integer", 30, "eks: retention of the container log group, one of CloudWatch Logs' values (1, 3, 5, 7, 14, 30, 60, 90, ...)."),
    # charts
    _k("charts.localDir", "string", None, "A local chart mirror: a folder of packaged charts (<chart>-<version>.tgz, as `helm pull` writes them), relative to the project or absolute. When set, every Helm release installs from it and no chart repository or registry is contacted (air-gapped installs, the e2e suite)."),
    # storage
    _k("storage.className", "string", None, "StorageClass for chain data. Default: pegasus-chain-data on eks/gke (created, Retain), the cluster default on existing."),
    # platform chain node
    _k("spc.enabled", "boolean", True, "Run the platform chain node in sagasrv-spc."),
    _k("spc.image", "string", "sagaxyz/ssc:4.0.0", "Platform chain image (tag or digest)."),
    _k("spc.chainId", "string", "ssc-1", "Platform chain ID, passed as CHAIN_ID."),
    _k("spc.moniker", "string", "pegasus-<stack>", "Node moniker, passed as MONIKER."),
    _k("spc.dataPath", "string", "/root/.ssc", "Where the image keeps its chain data; the PVC is mounted here."),
    _k("spc.env", "object", {}, "Extra plain environment variables (no keys or mnemonics: use keySecret)."),
    _k("spc.keySecret", "string", None, "Name of an existing Secret in sagasrv-spc whose keys become env vars (node and validator keys)."),
    _k("spc.storageSize", "string", "500Gi", "Platform chain volume size."),
    _k("spc.resources", "object", DEFAULT_SPC_RESOURCES, "Requests and limits of the platform chain node."),
    # chain state
    _k("chain.source", "string", "rest", "Where chainlets are read from: rest (the chain's REST API) or snapshot (a JSON file)."),
    _k("chain.endpoint", "string", None, "rest: base URL of the chain's REST (grpc-gateway) API. Required for rest."),
    _k("chain.apiPrefix", "string", "/ssc/chainlet", "rest: path prefix of the chainlet module (older SPC nodes serve it elsewhere)."),
    _k("chain.pageLimit", "integer", 100, "rest: pagination.limit per request (1-1000)."),
    _k("chain.timeoutSeconds", "integer", 10, "rest: timeout of one request."),
    _k("chain.retries", "integer", 3, "rest: retries of a failed request (with exponential backoff)."),
    _k("chain.snapshot", "string", None, "snapshot: path of the JSON file, relative to the project. Required for snapshot."),
    _k("chain.height", "integer", None, "Read the chain at this height instead of the latest (the drift check pins it to the last applied height)."),
    # chainlets
    _k("chainlets.maxRemovals", "integer", 0, "How many chainlets may vanish from the chain in one run before the ChainState guard refuses."),
    _k("chainlets.allowSlotChanges", "boolean", False, "Override: let existing chainlets move slots (changes their public address)."),
    _k("chainlets.allowHeightRegression", "boolean", False, "Override: accept a chain read at a lower height than the last one applied."),
    _k("chainlets.stacks", "string", "single", "single: every chainlet in this stack; sharded: this is the platform stack and each p2p shard is its own stack <stack>-shard-<N>, run by python -m tools.reconcile (docs/sharding.md)."),
    _k("chainlets.resources", "object", DEFAULT_CHAINLET_RESOURCES, "Requests and limits of every chainlet."),
    _k("chainlets.storageSize", "string", "50Gi", "Volume size of every chainlet."),
    _k("chainlets.dataPath", "string", "/root/.sagaosd", "Where the chainlet image keeps its data; the PVC's sagaosd directory is mounted here."),
    _k("chainlets.logLevel", "string", "info", "LOGLEVEL of every chainlet: debug | info | warn | error."),
    _k("chainlets.keyName", "string", "chainlet-operator-key", "KEYNAME: the keyring entry the chainlet image signs its operator transactions with."),
    _k("chainlets.stakeOwnerAddress", "string", None, "STAKE_OWNER_ADDRESS: the account that owns this validator's stake on every chainlet (saga1...)."),
    _k("chainlets.snapshotInterval", "integer", 1000, "SNAPSHOT_INTERVAL: blocks between state-sync snapshots; 0 turns snapshots off."),
    _k("chainlets.snapshotKeepRecent", "integer", 2, "SNAPSHOT_KEEP_RECENT: snapshots kept."),
    _k("chainlets.keySecret", "string", None, "Name of a Secret that must exist in every chainlet namespace (KEYPASSWD and the like, via envFrom); sync it there with External Secrets, see docs/operations.md (Keys)."),
    _k("chainlets.env", "object", {}, "Extra plain environment variables for every chainlet (OPTS, VOTING_PERIOD, STAKE_AMOUNT, ...; no keys: use keySecret)."),
    _k("chainlets.chainEnv", "object", {}, "Extra plain environment variables for one chainlet: {<chainId>: {NAME: value}}; they win over chainlets.env."),
    # spacemesh (blueprint spacemesh, design document 002)
    _k("spacemesh.network", "string", None, "spacemesh: the network's name (DNS-1123, at most 40 characters); names the namespace, the DNS records and the discovery entry. Required."),
    _k("spacemesh.image", "string", None, "spacemesh: the go-spacemesh image (tag or digest). Changing it is an upgrade, rolled one node at a time. Required."),
    _k("spacemesh.poetImage", "string", None, "spacemesh: the PoET image (tag or digest). Required."),
    _k("spacemesh.genesisTime", "string", None, "spacemesh: genesis.genesis-time, RFC 3339 with a zone (2026-12-15T12:00:00Z). Explicit, never taken from the clock. Required when bootstrap is true."),
    _k("spacemesh.genesisExtraData", "string", "<network>", "spacemesh: genesis.genesis-extra-data, which with the genesis time makes the genesis ID."),
    _k("spacemesh.allowGenesisChange", "boolean", False, "spacemesh: let an `up` change the genesis (time or extra data, ours or the config file's) of a network that has one; every node must then start from empty data. Off, such a change is refused before anything changes."),
    _k("spacemesh.configFile", "string", None, "spacemesh: a go-spacemesh config.json, a file (relative to the project) or an http(s) URL read at plan time (joining: the network's published conf, like https://configs.spacemesh.network/config.mainnet.json; a failed read stops the plan and changes nothing), that the generated keys (genesis, bootnodes, poet-servers, listeners) are merged into. Changing it is an upgrade."),
    _k("spacemesh.bootstrap", "boolean", True, "spacemesh: start a new network from a bootstrap node (miner-1); false joins existingBootnodes instead."),
    _k("spacemesh.existingBootnodes", "array", [], "spacemesh: multiaddrs (/dns4/host/tcp/port/p2p/<id>) of the network to join. Required when bootstrap is false."),
    _k("spacemesh.bootnodes", "integer", 6, "spacemesh: how many bootnodes (miner-2.. with a bootstrap node, miner-1.. without). Each on its own Kubernetes node."),
    _k("spacemesh.miners", "integer", 20, "spacemesh: how many smeshing nodes in all (miner-1..miner-N, the bootstrap node and bootnodes included, as in spacecraft). Lowering it removes the highest-numbered miners; their volumes stay."),
    _k("spacemesh.deletedMiners", "array", [], "spacemesh: numbers of miners to delete ([7]), spacecraft's deleteMiner: only those nodes go, every other node keeps its name, PoET and flags, and the numbers are never reused (raising miners adds miner-<miners+1>). Not the bootstrap node or bootnodes. Their volumes are protected: unprotect them to let up finish; the PVC stays in the cluster."),
    _k("spacemesh.poets", "integer", 3, "spacemesh: how many PoET servers; nodes get them round robin."),
    _k("spacemesh.poetPubkeys", "array", [], "spacemesh: the PoETs' public keys (base64), one per PoET in order: optional, a check that each equals the one of spacemeshSecrets.poetKeys."),
    _k("spacemesh.poetArgs", "array", [], "spacemesh: extra PoET flags, after --restlisten, --jsonlog, --poetdir and the round schedule (--genesis-time, --epoch-duration, --phase-shift, --cycle-gap), which are derived from the nodes' config; a schedule flag that differs is refused."),
    _k("spacemesh.poetSettings", "object", {}, "spacemesh: per PoET ({poet-2: {image, args, resources: {cpu, memory, disk}}}): its own image (upgrade one PoET at a time), flags after poetArgs (the schedule flags are checked the same way) and requests and volume (unset fields are resources.poet's; they size the pool)."),
    _k("spacemesh.resources", "object", {"miner": {"cpu": "2", "memory": "8Gi", "disk": "100Gi"}, "poet": {"cpu": "1", "memory": "5Gi", "disk": "10Gi"}}, "spacemesh: requests (= limits) and volume size of every node and PoET; they size the node pool. A PoET's memory must hold its Merkle-tree cache (4 GiB at PoET's default --memory=26) plus 512Mi."),
    _k("spacemesh.machine", "object", {"type": "e2-standard-16", "cpu": 16, "memory": "64Gi"}, "spacemesh: the machine of the node pool and its allocatable CPU and memory, which size the pool: max(ceil(sum CPU / cpu), ceil(sum memory / memory)), at least 1."),
    _k("spacemesh.bootnodeAddressing", "string", "loadBalancer", "spacemesh: how bootnodes are reached: loadBalancer (one LoadBalancer each, advertised with --advertise-address; survives a replaced VM) or hostPort (port 5000+n on the node, as spacecraft did, advertised as /dns4/miner-N.<network>.<dns.domain>/tcp/5000+N, records you keep; the address changes with the VM; existing clusters only, since gke nodes here are private, and it needs dns)."),
    _k("spacemesh.minerP2p", "string", "none", "spacemesh: none (miners only dial out; outside peers reach the bootnodes) or loadBalancer (each miner also gets its own LoadBalancer miner-N-p2p, advertised with --advertise-address, so outside peers reach miners too; one load balancer per miner, and switching it restarts each miner once)."),
    _k("spacemesh.p2pPort", "integer", 7513, "spacemesh: the p2p port every node listens on with loadBalancer addressing (go-spacemesh's default)."),
    _k("spacemesh.identities", "object", {}, "spacemesh: libp2p peer IDs of the bootstrap node and the bootnodes ({miner-1: 12D3KooW...}); required for each, so bootnode addresses are known before the nodes start."),
    _k("spacemesh.rotateP2pKeys", "array", [], "spacemesh: bootnodes ([miner-2]) whose p2p.key on the volume may be replaced by spacemeshSecrets.p2pKeys at their next start (the old key stays beside it as p2p.key.replaced-<time>). A bootnode not listed whose volume key differs from its Secret stops with one line instead of running as a peer nobody dials."),
    _k("spacemesh.coinbase", "string", None, "spacemesh: the account (bech32) miners' rewards go to (smeshing-coinbase). Required."),
    _k("spacemesh.coinbases", "object", {}, "spacemesh: per-miner coinbase accounts ({miner-3: stest1...}) that win over coinbase."),
    _k("spacemesh.bucket", "string", None, "spacemesh: the GCS bucket that holds <network>/config.json (the public config). Unset: not published."),
    _k("spacemesh.discovery", "object", None, "spacemesh: {bucket, object (networks.json), netId (the entry's netID, default 1), endpoint (GCS JSON API base, default https://storage.googleapis.com; override for emulators and tests), explorer, dash, explorerVersion, dashVersion, smappVersion}: this network's entry in the discovery list, and only it."),
    _k("spacemesh.dns", "object", None, "spacemesh: {zoneId, domain}: Cloudflare records api-, api-json-, explorer-api- and dash-api-<network>.<domain>. The root domain is yours."),
    _k("spacemesh.webServices", "object", {"enabled": False, "replicas": 2}, "spacemesh: {enabled, replicas (at least 2), dashboardImage, explorerImage, collectorImage}: the dashboard and explorer backends, the explorer collector and the public API."),
    _k("spacemesh.watch", "object", {"enabled": False}, "spacemesh: {enabled, slackChannel, image}: spacemesh-watch over the miners' gRPC; the token is spacemeshSecrets.slackToken."),
    _k("spacemesh.pyroscope", "object", {"miners": []}, "spacemesh: {miners: [10, 20], image}: Pyroscope, profiling the listed miner numbers."),
    _k("spacemesh.upgrade", "object", {"nodes": 0}, "spacemesh: {image, nodes, waitMinutes}: a staged upgrade. The first `nodes` nodes in upgrade order (miners from the highest number down, then bootnodes, then the bootstrap node) run `image`; raise nodes a few at a time, then set spacemesh.image to it and remove upgrade. Each such up waits (a Job, up to waitMinutes, default 60, 5 to 1440) until every moved node answers SYNC_STATUS_SYNCED on its NodeService/Status, and fails if one does not."),
    _k("spacemesh.maintenance", "object", None, "spacemesh (gke): when GKE may upgrade the cluster and so restart smeshers: {window: {start, end, recurrence}} (RFC 3339 times of the first window, an RRULE like FREQ=WEEKLY;BYDAY=SA) and/or {exclusions: [{name, start, end or untilEndOfSupport: true, scope (NO_MINOR_OR_NODE_UPGRADES by default, NO_MINOR_UPGRADES, NO_UPGRADES)}]} (at most 20). The cluster's maintenance policy; unset: any time."),
    _k("spacemesh.metrics", "boolean", False, "spacemesh: run the Monitoring component with PodMonitors for every node."),
    _k("spacemeshSecrets.slackToken", "string", None, "spacemesh: Slack token of spacemesh-watch (secret).", secret=True, placeholder="xoxb-placeholder"),
    _k("spacemeshSecrets.tlsCert", "string", None, "spacemesh: TLS certificate (PEM) of the gRPC ingress (secret).", secret=True, placeholder="-----BEGIN CERTIFICATE-----\nplaceholder\n-----END CERTIFICATE-----\n"),
    _k("spacemeshSecrets.tlsKey", "string", None, "spacemesh: TLS private key (PEM) of the gRPC ingress (secret).", secret=True, placeholder="-----BEGIN PRIVATE KEY-----\nplaceholder\n-----END PRIVATE KEY-----\n"),
    _k("spacemeshSecrets.coinbaseKeys", "object", {}, "spacemesh: {miner-N: private key}: each becomes the Secret miner-N-coinbase (secret)."),
    _k("spacemeshSecrets.poetKeys", "object", {}, "spacemesh: {poet-N: base64 of a 64-byte ed25519 private key (seed then public key)}, one per PoET: its POET_PRIVATE_KEY (PoET server/state.go), from a Secret; its public key goes into the nodes' poet-servers (secret). Required.",
       placeholder="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA7aie8zrakLWKjqNAqbw1zZTIVdx3iQ6Y6wEihi1naKQ=="),
    _k("spacemeshSecrets.p2pKeys", "object", {}, "spacemesh: {miner-N: contents of go-spacemesh's p2p.key}: the identities of the bootstrap node and bootnodes (secret)."),
    # provider blueprint (design document 003): paid pods behind KEDA's HTTP scaler
    _k("provider.manifests", "string", "pods/", "provider: folder of pod manifests, one file per pod (.yaml, .yml or .json), relative to the project. The file name (DNS-1123) names the pod."),
    _k("provider.httpHostSuffix", "string", None, "provider: DNS suffix of pod hosts; a port with hostHttpHost h answers at h.<suffix>. Required."),
    _k("provider.payments.source", "string", "evm", "provider: where channel balances are read: evm (eth_call over JSON-RPC) or snapshot (a JSON file, for offline plans)."),
    _k("provider.payments.rpcUrl", "string", None, "provider, evm: the chain's JSON-RPC URL (secret: set with --secret, which encrypts pegasus:provider; https:// only unless allowInsecure). Required for evm.",
       secret=True, placeholder="https://rpc.example.org/placeholder"),
    _k("provider.payments.allowInsecure", "boolean", False, "provider, evm: accept an http:// rpcUrl (a local chain on a trusted network)."),
    _k("provider.payments.chainId", "integer", None, "provider: the chain ID the payment contract lives on; a node or snapshot reporting another is refused. Required."),
    _k("provider.payments.contract", "string", None, "provider: the payment contract's 0x address. Required."),
    _k("provider.payments.providerAddress", "string", None, "provider: this provider's 0x address, the `provider` argument of available(publisher, provider, podId). Required."),
    _k("provider.payments.blockTag", "string", "latest", "provider: latest (read once, then every call pinned to that block) or a block number."),
    _k("provider.payments.snapshot", "string", None, "provider, snapshot: path of the JSON file, relative to the project. Required for snapshot."),
    _k("provider.payments.confirmations", "integer", 3, "provider, evm: with blockTag latest, read this many blocks below the head, so that a block that may still be reorganised away decides nothing (0-1000)."),
    _k("provider.payments.timeoutSeconds", "integer", 10, "provider, evm: timeout of one JSON-RPC request."),
    _k("provider.payments.billed", "string", None, "provider: path of the settler's record (its ConfigMap settler-billed, key billed.json, saved to a file before `up`), relative to the project; a pod is then funded while available minus what it owes and has not paid yet is above 0. Unset: available alone."),
    _k("provider.maxRemovals", "integer", None, "provider: how many funded pods may become exhausted in one run before the PaymentState guard refuses it. Unset: a tenth of the pods funded at the last run, at least one (so one ordinary exhaustion needs no change, and a read that empties every channel of two or more pods is refused); 0 refuses any."),
    _k("provider.settlement.enabled", "boolean", False, "provider: run the settler, a one-replica Deployment in provider-settlement that withdraws what each tenant owes (metered usage x provider.pricing) from its payment channel every intervalSeconds, capped at what the channel holds."),
    _k("provider.settlement.keySecret", "string", "provider-settlement", "provider: name of the Secret in namespace provider-settlement, created by the operator (never by Pulumi), whose keys privateKey (the provider account's hex key) and rpcUrl the settler reads."),
    _k("provider.settlement.intervalSeconds", "integer", 300, "provider: seconds between two settlement rounds (60-86400)."),
    _k("provider.settlement.tolerance", "string", "0", "provider: smallest withdrawal in wei worth the gas; a smaller one waits, unless it empties the channel."),
    _k("provider.settlement.transferTo", "string", None, "provider: 0x address the withdrawn tokens go to; default the provider address."),
    _k("provider.allowBlockRegression", "boolean", False, "provider: override: accept a payment read at a lower block than the last one applied."),
    _k("provider.interceptorReplicas", "integer", 3, "provider: minimum replicas of the HTTP add-on's interceptor (the chart's interceptor.replicas.min)."),
    _k("provider.kedaWebhooks", "boolean", True, "provider: KEDA's admission webhooks and its metrics API server (an APIService). false turns both off, for clusters whose API server cannot reach pods (the e2e cluster); pods then still scale 0 <-> 1, but not beyond one replica."),
    _k("provider.restrictedPods", "array", [], "provider: pods (manifest file names without extension) whose namespaces enforce the restricted Pod Security level instead of baseline, and whose containers run as non-root with every capability dropped; an image whose user is root then fails to start, which is why it is opt-in."),
    _k("provider.tenantNodes.enabled", "boolean", True, "provider, eks and gke: a node pool of its own for tenant pods (label and NoSchedule taint pegasus.saga.xyz/pool=tenants), so tenants share no node with Prometheus, the ingress or the interceptor. Setting provider.tenantNodes on an existing cluster is an error."),
    _k("provider.tenantNodes.instanceType", "string", "m7i.large (eks), e2-standard-4 (gke)", "provider: instance (machine) type of the tenant nodes."),
    _k("provider.tenantNodes.count", "integer", 2, "provider: eks, the tenant nodes (no autoscaler runs in a provider stack, so this many always run); gke, the most nodes per zone GKE's autoscaler may run, from 1 (1-100)."),
    _k("provider.pricing", "object", {"currency": "wei", "cpuSecond": "0", "memoryByteSecond": "0", "cpuReservedSecond": "0", "memoryReservedByteSecond": "0"},
       "provider: prices per CPU-second and memory-byte-second, used and reserved, as decimal strings; `python -m tools.meter` bills with them."),
    _k("providerSecrets.<pod>/<volume>", "string", None, "provider: contents of a pod's secret volume (set with --secret; the manifest never holds them).", secret=True,
       placeholder="placeholder-pod-secret"),
    # testnet blueprint (components/testnet/config.py)
    _k("testnet.name", "string", None, "testnet: the testnet's name (DNS-1123, at most 30 characters). Namespace testnet-<name> in every region, its p2p data plane testnet-<name>-ingress (so the name may not end in -ingress); seeds are seed-<n>.<name>.<domain>. Required."),
    _k("testnet.image", "string", None, "testnet: the Mina daemon image (tag or digest), also used by SNARK workers. Required."),
    _k("testnet.genesisFile", "string", None, "testnet: path of the network's daemon.json, relative to the project; a ConfigMap mounted in every daemon (-config-file). This or testnet.genesis is required. A producer with a publicKey must have stake in its ledger."),
    _k("testnet.genesis", "object", None, "testnet: the stack writes daemon.json instead of genesisFile: {timestamp: ISO 8601 genesis time, proofLevel: full|check|none, accounts: [{publicKey, balance}] extra}; every block producer then gives publicKey and stake (MINA), its account in the ledger."),
    _k("testnet.ha", "boolean", True, "testnet: true needs at least 3 distinct regions; false runs in exactly 1."),
    _k("testnet.domain", "string", None, "testnet: DNS domain of the seed records seed-<n>.<name>.<domain> (Cloudflare); set with cloudflareZoneId. Unset: no DNS records, the peer list uses the shard addresses."),
    _k("testnet.cloudflareZoneId", "string", None, "testnet: the Cloudflare zone of testnet.domain. The Cloudflare provider reads its token from CLOUDFLARE_API_TOKEN or cloudflare:apiToken."),
    _k("testnet.secretStore", "string", "kubernetes", "testnet: where block producer keys live: aws (Secrets Manager) | gcp (Secret Manager), synced at run time by External Secrets, or kubernetes (keyRef names an existing Secret in the namespace, with keys key and password)."),
    _k("testnet.regions", "array", [], "testnet: the regions, objects with name, cluster (the keys of pegasus:cluster, or {provider: stack, stack, output}), seeds (a count, or [{libp2pKeyRef, peerId}]), blockProducers [{name, keyRef}], snarkPools [{name, coordinatorKeyRef, fee, workSelection seq|rand|roffset, workers, maxWorkers}], archive {enabled, image, daemon (default: the region's first seed), storageSize, backup {destination s3://|gs:// URL, schedule (six fields, seconds first; default 0 0 3 * * *), retention (default 30d), credentialsSecret}}, testServices [{name, image, args, daemon}], secretStore (the region's own, default testnet.secretStore), place (where an existing or stack cluster runs, a site label; required for those with ha, and no two regions may share a place)."),
    _k("testnet.basePort", "integer", 8302, "testnet: first public p2p port of every shard; a daemon listens on and advertises its slot's port (-external-port)."),
    _k("testnet.shardSize", "integer", 25, "testnet: daemons per p2p LoadBalancer shard in a region (at most 50)."),
    _k("testnet.peerListUrl", "string", None, "testnet: an http(s) URL serving the peer list (publish the stack output peerList there); passed as -peer-list-url to every daemon."),
    _k("testnet.udp", "boolean", False, "testnet: also publish every daemon's p2p port on UDP. Off: the Mina daemon's libp2p listens on TCP only (see docs/blueprints/testnet.md)."),
    _k("testnet.storageSize", "string", "50Gi", "testnet: volume size of every daemon."),
    _k("testnet.resources", "object", DEFAULT_DAEMON_RESOURCES, "testnet: requests and limits of every daemon."),
    _k("testnet.workerResources", "object", DEFAULT_WORKER_RESOURCES, "testnet: requests and limits of every SNARK worker."),
    _k("testnet.monitoring", "boolean", True, "testnet: a PodMonitor and alert rules (daemon down, block production stopped, a producer missing its slots, low peers, chain stalled, best tip behind the gossiped chain, no SNARK work) in every region; needs the Prometheus Operator CRDs there (a validator stack's monitoring, or your own)."),
    _k("testnet.monitoringStack", "boolean", None, "testnet: with monitoring on, install kube-prometheus-stack (Prometheus Operator, Prometheus, Alertmanager, Grafana: the validator's Monitoring component) in each region before the PodMonitor and rules. Unset: in the regions whose cluster this stack builds (eks, gke). Set false where the cluster already runs the Prometheus Operator; true on an existing cluster without one."),
    _k("testnet.karpenter", "object", {}, "testnet: Karpenter in every eks region, with the keys of pegasus:karpenter (enabled false: none; then size each region's systemNodeType and systemNodeCount for the daemons). Daemons run on its signers pool."),
    _k("testnet.logging", "boolean", False, "testnet: ship container logs of eks and gke regions with fluent-bit (CloudWatch Logs, Cloud Logging), as logging.enabled does for a validator."),
    _k("testnet.logRetentionDays", "integer", 30, "testnet: eks: retention of the container log group, one of CloudWatch Logs' values."),
    _k("testnet.registry", "object", None, "testnet: optional image repositories for per-commit builds: {provider: ecr|gar, repositories: [...], keepLast: N, region, project (gar)}; keeps the newest keepLast images."),
)

# The fleet blueprint (stacks/fleet.py, components/fleet/config.py): autoscaled VM groups on four
# clouds. It reads only pegasus:fleet, and no other section.
_REGIONS = "Fields of each entry: {where}, minSize (default 0), maxSize (required, at least minSize), {size}{extra}."
KEYS = KEYS + (
    _k("fleet.name", "string", "p2p-agent", "Prefix of every group, role and function. DNS-1123, at most 20 characters."),
    _k("fleet.schedule.start", "string", "now", "When the fleet starts: an RFC 3339 time (a scheduled action per group), now (groups start at their desired capacity), or watcher (the watcher schedules it from cc-w-a-start; needs capacityOwner watcher)."),
    _k("fleet.schedule.stop", "string", None, "RFC 3339 time at which every group is scheduled down to 0. Unset: no stop. A time already past is not scheduled."),
    _k("fleet.schedule.startOffset", "string", "0m", "Added to an RFC 3339 start: 90s, 15m, 1h30m or `3 minutes`."),
    _k("fleet.desiredCapacity", "object", 1, "Desired instances per group: an integer, or {\"all\": 3, \"aws\": {\"all\": 2, \"eu-central-1\": 1}} (cloud.region beats cloud.all beats all). The group's initial capacity and the default of cc-a-desired-capacity."),
    _k("fleet.capacityOwner", "string", "schedule", "The one writer of desired capacity: schedule (only the scheduled actions), watcher (the cloud function) or agent (each VM, for its own group). Two are refused."),
    _k("fleet.watcher.expression", "string", "rate(15 minutes)", "capacityOwner watcher: how often the watcher runs, rate(N minutes|hours) or a 5-field cron expression (UTC)."),
    _k("fleet.agent.repository", "string", None, "Git repository the agent pulls (cc-a-repository default). Required."),
    _k("fleet.agent.type", "string", "ansible", "ansible (ansible-pull runs mainRun as a playbook) or bash (mainRun is a script in the repository)."),
    _k("fleet.agent.mainRun", "string", "ansible/playbook.yml", "Path in the repository of the playbook or script."),
    _k("fleet.agent.preRun", "string", "", "Shell command run before mainRun."),
    _k("fleet.agent.postRun", "string", "", "Shell command run after mainRun."),
    _k("fleet.agent.cron", "string", "*/15 * * * *", "5-field cron expression of the agent's runs on each VM."),
    _k("fleet.agent.delay", "integer", 60, "Maximum random delay, in seconds, before each run (0-3600), so a fleet does not pull at once."),
    _k("fleet.agent.forceRun", "boolean", False, "Run mainRun even when the repository did not change."),
    _k("fleet.controlCenter.provider", "string", "none", "cloudflare (a response-header transform ruleset on hostname), cloudfront (a distribution whose viewer-request function answers with the headers) or none (static config: the agent uses its defaults, or hosts you run yourself)."),
    _k("fleet.controlCenter.zoneId", "string", None, "cloudflare: the zone ID of hostname. Required there."),
    _k("fleet.controlCenter.hostname", "string", None, "cloudflare: the proxied hostname whose responses carry the variables; cloudfront: the distribution's alternate domain name (point a CNAME at it). Required for both."),
    _k("fleet.controlCenter.certificateArn", "string", None, "cloudfront: the ACM certificate of hostname, in us-east-1. Required there."),
    _k("fleet.controlCenter.hosts", "array", [], "Control-center hosts (or http(s) URLs) the agent and watcher HEAD in order; the first that answers wins. Default: [hostname]."),
    _k("fleet.controlCenter.variables", "object", {}, "The cc-w-* and cc-a-* variables served as response headers (document 004's table); times RFC 3339, cc-w-scheduler a cron, desired capacities an integer or the JSON form."),
    _k("fleet.clouds.aws.regions", "array", [], _REGIONS.format(where="region", size="instanceType (default t3.small)", extra=", image (default: Ubuntu 24.04 through its SSM parameter), availabilityZones (default: the first two of the region's available zones; one subnet each in the group's own VPC)")),
    _k("fleet.clouds.gcp.project", "string", None, "gcp: the project ID. Required when gcp has regions."),
    _k("fleet.clouds.gcp.regions", "array", [], _REGIONS.format(where="region", size="machineType (default e2-small)", extra=", image (default ubuntu-os-cloud/ubuntu-2404-lts-amd64)")),
    _k("fleet.clouds.azure.regions", "array", [], _REGIONS.format(where="location", size="vmSize (default Standard_B1s)", extra="")),
    _k("fleet.clouds.azure.adminSshPublicKey", "string", None, "azure: the OpenSSH public key Azure requires for a Linux scale set. Required when azure has regions; keep no private key to allow no logins."),
    _k("fleet.clouds.alibaba.regions", "array", [], _REGIONS.format(where="region", size="instanceType (default ecs.t6-c1m1.large)", extra=", zoneId (default <region>a), imageNameRegex (default ^ubuntu_24_04_x64)")),
    _k("fleet.openPorts", "array", [], "P2P ports open to the internet, TCP and UDP: \"30303\" or \"1024-65535\". 22 is refused: SSH goes through allowSsh."),
    _k("fleet.diskSizeGb", "integer", 30, "Root disk of every VM, in GiB, 30 to 1023 (valid on all four clouds: Azure's Ubuntu image is 30 GiB and its API documents 1023 as the largest)."),
    _k("fleet.allowSsh", "boolean", False, "Open port 22 to sshCidrs."),
    _k("fleet.sshCidrs", "array", [], "allowSsh: the operator CIDRs SSH is open to; 0.0.0.0/0 and ::/0 are refused."),
)

# Sharded mode's Pulumi Kubernetes Operator option declares its keys beside its parser.
from components.operator.keys import KEYS as _OPERATOR_KEYS  # noqa: E402

KEYS = KEYS + _OPERATOR_KEYS

KEYS_BY_PATH = {k.path: k for k in KEYS}
SECTIONS = ("cluster", "ingress", "karpenter", "monitoring", "alerting", "logging", "charts", "storage", "spc", "chain", "chainlets",
            "operator", "spacemesh", "spacemeshSecrets", "provider", "providerSecrets", "testnet", "fleet")
# Sections that belong to one blueprint, each parsed by its own module (pegasus/config/<blueprint>.py):
# set under another blueprint they are an error, not ignored.
BLUEPRINT_SECTIONS = {
    "spacemesh": ("spacemesh", "spacemeshSecrets"),
    "provider": ("provider", "providerSecrets"),
    "testnet": ("testnet",),
    "fleet": ("fleet",),
}
PROVIDER_ONLY_SECTIONS = BLUEPRINT_SECTIONS["provider"]
TOP_LEVEL_SCALARS = tuple(k.path for k in KEYS if "." not in k.path)

# Where a key has an effect: the cluster providers (or chain sources) it applies to. A key set
# where it has none is a plan warning, so a setting is never silently ignored. Keys not
# listed apply everywhere.
APPLIES_TO: dict[str, tuple[str, ...]] = {
    "cluster.context": ("existing",),
    "cluster.region": ("eks", "gke"),
    "cluster.project": ("gke",),
    "cluster.publicAccessCidrs": ("eks", "gke"),
    "cluster.adminRoleArns": ("eks",),
    "cluster.vpcCidr": ("eks", "gke"),
    "cluster.vpcId": ("eks",),
    "cluster.privateSubnetIds": ("eks",),
    "cluster.publicSubnetIds": ("eks",),
    "cluster.availabilityZones": ("eks",),
    "cluster.systemNodeType": ("eks", "gke"),
    "cluster.systemNodeCount": ("eks", "gke"),
    "cluster.masterCidr": ("gke",),
    "cluster.releaseChannel": ("gke",),
    "cluster.deletionProtection": ("eks", "gke"),
    "cluster.autoprovisioning": ("gke",),
    **{k.path: ("eks",) for k in KEYS if k.path.startswith("karpenter.") and k.path != "karpenter.enabled"},
    "logging.retentionDays": ("eks",),
    **{f"chain.{f}": ("rest",) for f in ("endpoint", "apiPrefix", "pageLimit", "timeoutSeconds", "retries")},
    "chain.snapshot": ("snapshot",),
}
# Sections switched off by one key: their other keys have no effect while it is false.
SWITCHES = {"karpenter": "karpenter.enabled", "logging": "logging.enabled", "spc": "spc.enabled"}
