"""Pure builders of what a Spacemesh network publishes: the config.json object, the discovery
entry (spacecraft's k8s/ws.go Network struct and AddToDiscovery) and the DNS names.

Spacecraft hard-coded spacemesh.io and its buckets; here the root domain is `dns.domain` and
the buckets are config."""

from __future__ import annotations

from dataclasses import dataclass

from components.spacemesh.config import SpacemeshSettings


@dataclass(frozen=True)
class DnsRecord:
    prefix: str
    name: str
    kind: str  # grpc (DNS only, TLS at our ingress) | http (proxied: Cloudflare terminates TLS)
    proxied: bool


def config_object(network: str) -> str:
    return f"{network}/config.json"


def config_url(s: SpacemeshSettings) -> str:
    return f"https://storage.googleapis.com/{s.bucket}/{config_object(s.network)}"


def api_host(s: SpacemeshSettings, prefix: str) -> str:
    assert s.dns is not None
    return f"{prefix}-{s.network}.{s.dns.domain}"


def dns_records(s: SpacemeshSettings) -> tuple[DnsRecord, ...]:
    """Cloudflare cannot proxy gRPC, so the gRPC name is DNS only and TLS ends at our ingress;
    the HTTP APIs are proxied (the seed's "Web Services")."""
    return (
        DnsRecord("api", api_host(s, "api"), "grpc", False),
        DnsRecord("api-json", api_host(s, "api-json"), "http", True),
        DnsRecord("explorer-api", api_host(s, "explorer-api"), "http", True),
        DnsRecord("dash-api", api_host(s, "dash-api"), "http", True),
    )


def image_repository_and_tag(image: str) -> tuple[str, str]:
    """spacecraft splits go-sm-image on ':' into repository and node version (tag, or latest)."""
    if "@" in image:
        repo, digest = image.split("@", 1)
        return repo, digest
    last = image.rsplit("/", 1)[-1]
    if ":" in last:
        repo, tag = image.rsplit(":", 1)
        return repo, tag
    return image, "latest"


def discovery_entry(s: SpacemeshSettings) -> dict:
    """This network's entry, with spacecraft's field names and order (k8s/ws.go Network)."""
    d = s.discovery
    assert d is not None
    repo, tag = image_repository_and_tag(s.image)
    conf = config_url(s)
    # config.py requires dns and webServices with discovery: the shared list never gets a
    # placeholder host.
    host = (lambda p: api_host(s, p))
    return {
        "netName": s.network,
        "netID": d.net_id,
        "conf": conf,
        "grpcAPI": f"https://{host('api')}/",
        "jsonAPI": f"https://{host('api-json')}/",
        "explorer": d.explorer,
        "explorerAPI": f"https://{host('explorer-api')}/",
        "explorerVersion": d.explorer_version,
        "explorerConf": conf,
        "dash": d.dash,
        "dashAPI": f"wss://{host('dash-api')}/ws",
        "dashVersion": d.dash_version,
        "repository": repo,
        "minNodeVersion": tag,
        "maxNodeVersion": tag,
        "minSmappRelease": d.smapp_version,
        "latestSmappRelease": d.smapp_version,
        "smappBaseDownloadUrl": "https://downloads.spacemesh.io",
        "nodeBaseDownloadUrl": "https://downloads.spacemesh.io",
    }


def discovery_args(s: SpacemeshSettings) -> dict:
    d = s.discovery
    assert d is not None
    return {"endpoint": d.endpoint, "bucket": d.bucket, "object": d.object, "netName": s.network, "entry": discovery_entry(s)}
