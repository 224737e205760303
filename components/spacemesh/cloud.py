"""The cloud side of a Spacemesh network: its GKE node pool, its public config.json in GCS, its
entry in the discovery list and its Cloudflare records."""

from __future__ import annotations

import json
from typing import Any, Optional

import pulumi

from components.spacemesh import builder as sb
from components.spacemesh import publish_builder as pb
from pegasus import names
from components.spacemesh.config import SpacemeshSettings


class SpacemeshNodePool(pulumi.ComponentResource):
    def __init__(self, name: str, s: SpacemeshSettings, gke: Any, labels: dict, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("pegasus:spacemesh:SpacemeshNodePool", name, None, opts)
        import pulumi_gcp as gcp

        scaling = sb.pool_autoscaling(s)
        self.pool = gcp.container.NodePool(
            f"{name}-pool",
            name=f"sm-{s.network}"[:40],
            cluster=gke.cluster.name,
            location=gke.region,
            initial_node_count=sb.pool_initial_per_zone(s),
            autoscaling=scaling,
            # GKE keeps auto-upgrade on in a release channel (cluster.releaseChannel is RAPID,
            # REGULAR or STABLE); upgrades surge one node at a time and honour the miners' and
            # bootnodes' disruption budgets, so one smesher restarts at a time.
            management={"autoRepair": True, "autoUpgrade": True},
            upgrade_settings={"strategy": "SURGE", "maxSurge": 1, "maxUnavailable": 0},
            node_config={
                "machineType": s.machine.type,
                # The cluster's node account, not the project's default compute account.
                "serviceAccount": gke.node_service_account,
                "oauthScopes": ["https://www.googleapis.com/auth/cloud-platform"],
                "workloadMetadataConfig": {"mode": "GKE_METADATA"},
                "shieldedInstanceConfig": {"enableSecureBoot": True, "enableIntegrityMonitoring": True},
                "labels": {names.POOL_LABEL: sb.POOL},
                "resourceLabels": labels,
            },
            # The autoscaler owns the count once the pool exists.
            opts=pulumi.ResourceOptions(parent=self, provider=gke.gcp_provider, ignore_changes=["initialNodeCount"]),
        )
        self.register_outputs({})


class SpacemeshPublishing(pulumi.ComponentResource):
    """What home smeshers, the explorer and the dashboard read: config.json, the discovery entry, DNS."""

    def __init__(self, name: str, s: SpacemeshSettings, public_config: pulumi.Output, *, gcp_provider: Any = None,
                 web_address: Any = None, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("pegasus:spacemesh:SpacemeshPublishing", name, None, opts)
        gcp_opts = pulumi.ResourceOptions(parent=self, provider=gcp_provider)
        published: list[pulumi.Resource] = []
        if s.bucket:
            import pulumi_gcp as gcp

            published.append(gcp.storage.BucketObject(
                f"{name}-config", bucket=s.bucket, name=pb.config_object(s.network),
                content=public_config.apply(lambda c: json.dumps(c, indent=2, sort_keys=True)),
                content_type="application/json", cache_control="no-cache, max-age=0", opts=gcp_opts,
            ))
        if s.dns is not None and web_address is not None:
            import pulumi_cloudflare as cloudflare

            # Every name points at the web ingress: it routes gRPC (TLS from our Secret) and
            # the proxied HTTP APIs by host.
            for record in pb.dns_records(s):
                published.append(cloudflare.DnsRecord(
                    f"{name}-dns-{record.prefix}", zone_id=s.dns.zone_id, name=record.name,
                    type="A", content=web_address, proxied=record.proxied, ttl=1,
                    comment=f"pegasus spacemesh {s.network}", opts=pulumi.ResourceOptions(parent=self),
                ))
        if s.discovery is not None:
            from components.spacemesh.discovery import NetworkEntry

            # Listed in the shared networks.json only once what it points at exists: the
            # config.json object and the API names (which point at the web ingress).
            NetworkEntry(f"{name}-discovery", pb.discovery_args(s),
                         opts=pulumi.ResourceOptions(parent=self, depends_on=published))
        self.register_outputs({})
