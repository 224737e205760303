"""Settings of the testnet blueprint (design document 001): the `pegasus:testnet` section.

A testnet is seed nodes, block producers and SNARK pools of the Mina daemon spread over
regions, each region its own cluster. Everything is checked here, before a resource is
declared: a name that is not DNS-1123, an HA testnet in fewer than three regions, or two
block producers with one key (document 001's double-production bug) never reach a cluster.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Optional

from pegasus.config.fields import _Section, _describe, _quantity, _resources, _DNS1123, log_retention_days
from pegasus.config.keys import DEFAULT_DAEMON_RESOURCES, DEFAULT_WORKER_RESOURCES, KEYS
from pegasus.config.platform import ClusterSettings, KarpenterSettings, _cluster, _karpenter
from pegasus.config import fields
from pegasus.config.validator import _alerting, _monitoring
from pegasus.errors import ConfigError
from components.testnet.objects import _Object
from components.testnet.archive_config import parse_archive
from components.testnet.places import check_alert_receivers, check_places, parse_place, place
from components.testnet.settings import (  # noqa: F401  (re-exported: the settings types)
    Archive, Genesis, Producer, Region, Registry, Seed, SnarkPool, StackCluster, TestnetBlueprint, TestnetSettings, TestService,
    daemon_names, installs_monitoring,
)

SECRET_STORES = ("aws", "gcp", "kubernetes")
# Mina's -work-selection values: seq and rand, and roffset for the Random_offset method of
# newer daemons' work selector (work_selector.ml, Selection_methods); older daemons refuse it.
WORK_SELECTIONS = ("seq", "rand", "roffset")
REGISTRY_PROVIDERS = ("ecr", "gar")
_FEE = re.compile(r"^[0-9]+(\.[0-9]{1,9})?$")
# A libp2p peer ID as Mina prints it (`mina libp2p generate-keypair`): base58 of an identity
# multihash, 12D3KooW... for ed25519 keys.
_PEER_ID = re.compile(r"^(12D3KooW|Qm)[1-9A-HJ-NP-Za-km-z]{40,52}$")
# A compressed public key as Mina prints it: base58check, 55 characters, B62q...
_PUBLIC_KEY = re.compile(r"^B62q[1-9A-HJ-NP-Za-km-z]{51}$")
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_KEY_REF = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
_STACK_REF = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+){0,2}$")
MAX_NAME = 30  # namespace testnet-<name> and seed-<n>.<name>.<domain> stay short
INGRESS_SUFFIX = "-ingress"  # a testnet's p2p namespace is testnet-<name>-ingress


# A testnet is its own chain, so its daemons must not carry another network's config. The
# network images install the deb mina-<network> (MinaProtocol/mina dockerfiles/Dockerfile-mina-daemon:
# `ARG network`, `apt-get install mina-$network`), which ships config_<commit>.json; at 3.1.0
# mina_cli_entrypoint.ml reads that file first (`config_file_installed`, Must_exist), then
# <config-dir>/daemon.json, MINA_CONFIG_FILE and each -config-file, and folds them with
# Runtime_config.combine, where every field a later file leaves out keeps the earlier value
# (opt_fallthrough). So under -config-file the chain would keep devnet's epoch ledgers, constants
# and peer list URL wherever the testnet's file is silent.
_NETWORK_IMAGE = re.compile(r"-(devnet|mainnet)$")


def _refuse_network_image(key: str, image: str) -> None:
    tag = image.rsplit("/", 1)[-1].partition("@")[0].partition(":")[2]
    m = _NETWORK_IMAGE.search(tag)
    if m:
        raise ConfigError(key, f"{image!r} is a {m.group(1)} image: its packaged config_<commit>.json is read before "
                          "-config-file and fills every field the testnet's genesis leaves out; use a network-less build "
                          "of the same release (no mina-devnet or mina-mainnet package)")


def _genesis(path: str, raw: Any) -> Optional[Genesis]:
    if raw is None:
        return None
    g = _Object(path, raw, ("timestamp", "proofLevel", "accounts"))
    ts = g.required("timestamp")
    if not _TIMESTAMP.match(ts):
        raise ConfigError(g.key("timestamp"), f"{ts!r} is not an ISO 8601 time with its zone like 2026-12-01T00:00:00Z")
    level = g.choice("proofLevel", ("full", "check", "none"), "full")
    accounts = []
    for k, item in enumerate(g.get("accounts", list, [])):
        a = _Object(f"{g.key('accounts')}[{k}]", item, ("publicKey", "balance"))
        pk, balance = a.required("publicKey"), a.required("balance")
        if not _PUBLIC_KEY.match(pk):
            raise ConfigError(a.key("publicKey"), f"{pk!r} is not a Mina public key like B62q... (55 characters)")
        if not _FEE.match(balance):
            raise ConfigError(a.key("balance"), f"{balance!r} is not an amount of MINA like 1000 (at most 9 decimals)")
        a.check_unknown()
        accounts.append((pk, balance))
    g.check_unknown()
    return Genesis(ts, level, tuple(accounts))


def _generated_ledger_producers(key: str, regions: tuple[Region, ...], generated: bool) -> None:
    """With a generated ledger every producer brings its key and stake; with a file, stake is
    the file's to give."""
    for i, r in enumerate(regions):
        for j, p in enumerate(r.block_producers):
            where = f"testnet.regions[{i}].blockProducers[{j}]"
            if generated and (p.public_key is None or p.stake is None):
                raise ConfigError(f"{where}.{'publicKey' if p.public_key is None else 'stake'}",
                                  "is required with testnet.genesis: the generated ledger gives each producer's public key its stake")
            if not generated and p.stake is not None:
                raise ConfigError(f"{where}.stake", "is read only with testnet.genesis; with testnet.genesisFile give the balance in its ledger")


def _list(s: _Section, field_: str) -> list:
    return s.get(field_, list, [])


def _name(key: str, value: str, what: str = "a name") -> str:
    if not _DNS1123.match(value) or len(value) > MAX_NAME:
        raise ConfigError(key, f"{value!r} must be {what} of lowercase letters, digits and '-' (DNS-1123), at most {MAX_NAME} characters")
    return value


def _key_ref(key: str, value: str, store: str) -> str:
    if store == "kubernetes" and not _DNS1123.match(value):
        raise ConfigError(key, f"{value!r} must name an existing Secret in the testnet namespace (DNS-1123) when testnet.secretStore is kubernetes")
    if not _KEY_REF.match(value):
        raise ConfigError(key, f"{value!r} is not a secret-manager name (letters, digits and /_+=.@-)")
    return value


def _region_cluster(path: str, raw: Any, stack: str, region: str,
                    secret_keys: set[str]) -> tuple[Optional[ClusterSettings], Optional[StackCluster]]:
    if raw is not None and not isinstance(raw, dict):
        raise ConfigError(path, f"must be an object with the keys of pegasus:cluster, got {_describe(raw)}")
    raw = dict(raw or {})
    if raw.get("provider") == "stack":
        s = _Object(path, raw, ("provider", "stack", "output"))
        s.raw("provider")
        ref = s.required("stack")
        if not _STACK_REF.match(ref):
            raise ConfigError(s.key("stack"), f"{ref!r} is not a stack name like org/pegasus/platform-use1")
        out = StackCluster(ref, s.get("output", str, "kubeconfig"))
        s.check_unknown()
        return None, out
    raw.setdefault("name", f"pegasus-{stack}-{region}".lower()[:40].rstrip("-"))
    s = _ClusterSection(path, raw)
    # The kubeconfig contents are secret when the testnet section was set with --secret.
    cluster = _cluster(s, stack, {"cluster"} if "testnet" in secret_keys else set())
    s.check_unknown()
    return cluster, None


class _ClusterSection(_Section):
    """pegasus:cluster's fields, read from a region's cluster object."""

    def __init__(self, path: str, value: dict):
        super().__init__("cluster", value)
        self.name = path

    def check_unknown(self) -> None:
        unknown = sorted(set(self.value) - self.used)
        if unknown:
            raise ConfigError(self.key(unknown[0]), f"unknown key; use provider stack, or the keys of pegasus:cluster ({self._known('cluster')})")


def _seeds(path: str, raw: Any, store: str, first: int) -> tuple[Seed, ...]:
    """Seeds are numbered across the whole testnet (`first` is this region's first number):
    seed-<n>.<name>.<domain> must be one name per seed, whatever its region."""
    if raw is None:
        return ()
    if isinstance(raw, int) and not isinstance(raw, bool):
        if not 0 <= raw <= 10:
            raise ConfigError(path, f"must be between 0 and 10; got {raw}")
        return tuple(Seed(first + i) for i in range(raw))
    if not isinstance(raw, list):
        raise ConfigError(path, f"must be a count, or a list of {{libp2pKeyRef, peerId}} objects; got {_describe(raw)}")
    out = []
    for i, item in enumerate(raw):
        s = _Object(f"{path}[{i}]", item, ("libp2pKeyRef", "peerId"))
        ref = _key_ref(s.key("libp2pKeyRef"), s.required("libp2pKeyRef"), store)
        peer = s.required("peerId")
        if not _PEER_ID.match(peer):
            raise ConfigError(s.key("peerId"), f"{peer!r} is not a libp2p peer ID like 12D3KooW... (`mina libp2p generate-keypair` prints it)")
        s.check_unknown()
        out.append(Seed(first + i, ref, peer))
    return tuple(out)


def _region(i: int, raw: Any, stack: str, store: str, secret_keys: set[str], first_seed: int = 0) -> Region:
    path = f"testnet.regions[{i}]"
    s = _Object(path, raw, ("name", "cluster", "seeds", "blockProducers", "snarkPools", "archive", "testServices", "secretStore", "place"))
    name = _name(s.key("name"), s.required("name"))
    # A region may keep its keys in its own cloud's secret manager (an eks and a gke region).
    store = s.choice("secretStore", SECRET_STORES, store)
    cluster, stack_cluster = _region_cluster(s.key("cluster"), s.raw("cluster"), stack, name, secret_keys)
    seeds = _seeds(s.key("seeds"), s.raw("seeds"), store, first_seed)
    producers = []
    for j, item in enumerate(_list(s, "blockProducers")):
        p = _Object(f"{s.key('blockProducers')}[{j}]", item, ("name", "keyRef", "publicKey", "stake"))
        pk = p.get("publicKey", str)
        if pk is not None and not _PUBLIC_KEY.match(pk):
            raise ConfigError(p.key("publicKey"), f"{pk!r} is not a Mina public key like B62q... (55 characters)")
        amount = p.get("stake", str)
        if amount is not None and (not _FEE.match(amount) or float(amount) <= 0):
            raise ConfigError(p.key("stake"), f"{amount!r} is not a positive amount of MINA like 1000000 (at most 9 decimals)")
        producers.append(Producer(_name(p.key("name"), p.required("name")), _key_ref(p.key("keyRef"), p.required("keyRef"), store),
                                  pk, amount))
        p.check_unknown()
    pools = []
    for j, item in enumerate(_list(s, "snarkPools")):
        p = _Object(f"{s.key('snarkPools')}[{j}]", item, ("name", "coordinatorKeyRef", "fee", "workSelection", "workers", "maxWorkers"))
        fee = p.get("fee", str, "0.025")
        if not _FEE.match(fee):
            raise ConfigError(p.key("fee"), f"{fee!r} is not a fee in MINA like 0.025 (at most 9 decimals)")
        workers = p.int_range("workers", 1, 0, 500)
        pools.append(SnarkPool(
            name=_name(p.key("name"), p.required("name")),
            coordinator_key_ref=_key_ref(p.key("coordinatorKeyRef"), p.required("coordinatorKeyRef"), store),
            fee=fee,
            work_selection=p.choice("workSelection", WORK_SELECTIONS, "seq"),
            workers=workers,
            max_workers=p.int_range("maxWorkers", workers, workers, 500, " and at least workers"),
        ))
        p.check_unknown()
    archive = parse_archive(s.key("archive"), s.raw("archive"))
    services = []
    for j, item in enumerate(_list(s, "testServices")):
        t = _Object(f"{s.key('testServices')}[{j}]", item, ("name", "image", "args", "daemon", "keyRef"))
        from pegasus.config.validator import image_reference

        services.append(TestService(
            name=_name(t.key("name"), t.required("name")),
            image=image_reference(t.key("image"), t.required("image")),
            args=t.str_list("args", []),
            daemon=t.required("daemon"),
            key_ref=_key_ref(t.key("keyRef"), t.get("keyRef", str), store) if t.get("keyRef", str) else None,
        ))
        t.check_unknown()
    site = parse_place(s.key("place"), s.raw("place"))
    s.check_unknown()
    region = Region(name, cluster, stack_cluster, seeds, tuple(producers), tuple(pools), archive, tuple(services), store, site)
    daemons = daemon_names(region)
    if archive is not None:
        if not archive.daemon:
            if not region.seeds:
                raise ConfigError(f"{s.key('archive')}.daemon", f"is required: region {name} has no seed to attach the archive to; name one of {', '.join(daemons) or 'its daemons'}")
            region = dataclasses.replace(region, archive=dataclasses.replace(archive, daemon=daemons[0]))
        elif archive.daemon not in daemons:
            raise ConfigError(f"{s.key('archive')}.daemon", f"{archive.daemon!r} is not a daemon of region {name}; one of {', '.join(daemons)}")
    for j, t in enumerate(region.test_services):
        if t.daemon not in daemons:
            raise ConfigError(f"{s.key('testServices')}[{j}].daemon", f"{t.daemon!r} is not a daemon of region {name}; one of {', '.join(daemons)}")
    clash = sorted({d for d in daemons if daemons.count(d) > 1} | ({t.name for t in region.test_services} & set(daemons)))
    if clash:
        raise ConfigError(s.key("blockProducers"), f"the name {clash[0]!r} is used twice in region {name}; daemons, pools and test services need distinct names")
    return region


def _registry(raw: Any) -> Optional[Registry]:
    if raw is None:
        return None
    s = _Object("testnet.registry", raw, ("provider", "repositories", "keepLast", "region", "project"))
    provider = s.choice("provider", REGISTRY_PROVIDERS, "ecr")
    repos = s.str_list("repositories", [])
    if not repos:
        raise ConfigError(s.key("repositories"), "must list at least one repository, like [mina-daemon]")
    for i, r in enumerate(repos):
        if not re.fullmatch(r"[a-z0-9]+([._/-][a-z0-9]+)*", r):
            raise ConfigError(f"{s.key('repositories')}[{i}]", f"{r!r} is not a repository name (lowercase letters, digits, . _ - /)")
    keep = s.int_range("keepLast", 30, 1, 10000)
    region = s.get("region", str)
    project = s.get("project", str)
    if not region:
        raise ConfigError(s.key("region"), f"is required: the {'AWS' if provider == 'ecr' else 'GCP'} region of the repositories")
    if provider == "gar" and not project:
        raise ConfigError(s.key("project"), "is required with provider gar: the GCP project ID")
    if provider == "ecr" and project:
        raise ConfigError(s.key("project"), "only applies to provider gar")
    s.check_unknown()
    return Registry(provider, repos, keep, region, project)


def parse_testnet(s: _Section, stack: str, secret_keys: set[str]) -> TestnetSettings:
    name = s.get("name", str)
    if not name:
        raise ConfigError(s.key("name"), "is required: the testnet's name, like qa-7 (namespace testnet-<name> in every region)")
    _name(s.key("name"), name, "the testnet name")
    if name.endswith(INGRESS_SUFFIX):
        # Testnet qa-7's p2p data plane lives in namespace testnet-qa-7-ingress
        # (stacks/testnet.py, names.ingress_names), which is testnet qa-7-ingress's own namespace.
        raise ConfigError(s.key("name"), f"{name!r} ends in {INGRESS_SUFFIX!r}, which would make its namespace testnet-{name} "
                          f"the p2p namespace of testnet {name[:-len(INGRESS_SUFFIX)]!r} in a shared cluster; pick another name")
    from pegasus.config.validator import image_reference

    image = s.get("image", str)
    if not image:
        raise ConfigError(s.key("image"), "is required: the Mina daemon image, like minaprotocol/mina-daemon:<tag>")
    image = image_reference(s.key("image"), image)
    _refuse_network_image(s.key("image"), image)
    genesis = s.get("genesisFile", str)
    generated = _genesis(s.key("genesis"), s.raw("genesis"))
    if bool(genesis) == bool(generated):
        raise ConfigError(s.key("genesisFile"), "give exactly one of genesisFile (the network's daemon.json, relative to the project) "
                          "and genesis (the stack writes it from the producers' publicKey and stake)")
    ha = s.get("ha", bool, True)
    domain = s.get("domain", str)
    zone = s.get("cloudflareZoneId", str)
    if domain and not re.fullmatch(r"([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,}", domain):
        raise ConfigError(s.key("domain"), f"{domain!r} is not a DNS domain like testnets.example.org")
    if bool(domain) != bool(zone):
        raise ConfigError(s.key("cloudflareZoneId" if domain else "domain"), "domain and cloudflareZoneId are set together: the seed records seed-<n>.<name>.<domain> live in that Cloudflare zone")
    store = s.choice("secretStore", SECRET_STORES, "kubernetes")
    raw_regions = s.get("regions", list, [])
    parsed: list[Region] = []
    for i, r in enumerate(raw_regions):
        parsed.append(_region(i, r, stack, store, secret_keys, sum(len(p.seeds) for p in parsed)))
    regions = tuple(parsed)
    if not regions:
        raise ConfigError(s.key("regions"), "must list at least one region")
    names = [r.name for r in regions]
    for i, n in enumerate(names):
        if n in names[:i]:
            raise ConfigError(f"testnet.regions[{i}].name", f"region {n!r} is listed twice")
    # Distinct places, not names: two eks regions in us-east-1 are one region for fault
    # tolerance and latency. An existing or shared cluster is known only by its name.
    places = list(dict.fromkeys(place(r) for r in regions))
    if ha and len(places) < 3:
        raise ConfigError(s.key("ha"), f"an HA testnet needs at least 3 distinct regions, got {len(places)} ({', '.join(places)}); add regions or set ha false")
    if not ha and len(regions) != 1:
        raise ConfigError(s.key("ha"), f"is false, so the testnet runs in exactly 1 region, got {len(regions)}; set ha true for more")
    check_places(s.key("ha"), regions, ha)
    _unique_keys(regions)
    _known_seeds(s.key("regions"), regions, ha)
    _generated_ledger_producers(s.key("regions"), regions, generated is not None)
    base = s.int_range("basePort", 8302, 1024, 65535)
    shard_size = s.int_range("shardSize", 25, 1, 50, " (NLB listeners)")
    udp = s.get("udp", bool, False)
    if udp and shard_size > 25 and any(r.provider == "eks" for r in regions):
        raise ConfigError(s.key("shardSize"), f"must be at most 25 with testnet.udp and an eks region: each daemon takes a TCP and a UDP listener, and an NLB has at most 50; got {shard_size}")
    if base + shard_size - 1 > 65535:
        raise ConfigError(s.key("basePort"), f"basePort + shardSize - 1 = {base + shard_size - 1} exceeds 65535")
    peer_url = s.get("peerListUrl", str)
    if peer_url and not re.match(r"^https?://", peer_url):
        raise ConfigError(s.key("peerListUrl"), f"{peer_url!r} must be an http(s) URL")
    out = TestnetSettings(
        name=name,
        image=image,
        genesis_file=genesis or None,
        genesis=generated,
        ha=ha,
        domain=domain,
        cloudflare_zone_id=zone,
        secret_store=store,
        regions=regions,
        base_port=base,
        shard_size=shard_size,
        peer_list_url=peer_url,
        udp=udp,
        storage_size=_quantity(s.key("storageSize"), s.get("storageSize", str, "50Gi")),
        resources=_resources(s, "resources", DEFAULT_DAEMON_RESOURCES),
        worker_resources=_resources(s, "workerResources", DEFAULT_WORKER_RESOURCES),
        registry=_registry(s.raw("registry")),
        monitoring=s.get("monitoring", bool, True),
        monitoring_stack=s.get("monitoringStack", bool),
        monitoring_settings=_monitoring(_Section("monitoring", {}), set()),
        alerting=_alerting(_Section("alerting", {}), set()),
        karpenter=_region_karpenter(s, regions),
        logging=s.get("logging", bool, False),
        log_retention_days=log_retention_days(s, "logRetentionDays", 30),
    )
    s.check_unknown()
    return out


class _KarpenterSection(_Section):
    """pegasus:karpenter's fields, read from testnet.karpenter."""

    def __init__(self, value: Any):
        super().__init__("karpenter", value)
        self.name = "testnet.karpenter"

    def check_unknown(self) -> None:
        unknown = sorted(set(self.value) - self.used)
        if unknown:
            raise ConfigError(self.key(unknown[0]), f"unknown key; use the keys of pegasus:karpenter ({self._known('karpenter')})")


def _region_karpenter(s: _Section, regions: tuple[Region, ...]) -> Optional[KarpenterSettings]:
    """Karpenter in every eks region, as for a validator: daemons on the signers pool, the rest
    on the general one. testnet.karpenter takes pegasus:karpenter's keys."""
    raw = s.get("karpenter", dict, {})
    if not any(r.provider == "eks" for r in regions):
        if raw:
            raise ConfigError(s.key("karpenter"), "applies to eks regions, and this testnet has none; remove it")
        return None
    k = _KarpenterSection(raw)
    settings = _karpenter(k, "eks")
    k.check_unknown()
    return settings if settings.enabled else None


MIN_KNOWN_SEEDS = 2


def _known_seeds(key: str, regions: tuple[Region, ...], ha: bool) -> None:
    """Every daemon but a seed needs a peer to start ("No peers were given",
    mina_cli_entrypoint.ml), and only a seed whose libp2p identity is given (its keypair from the
    secret store, its peer ID in config) can be named in the peer list. One such seed is a single
    point of failure for every new or restarted daemon; with ha they must also be in two places."""
    known = [(r.name, place(r)) for r in regions for seed in r.seeds if seed.peer_id]
    places = sorted({p for _, p in known})
    if len(known) >= MIN_KNOWN_SEEDS and (not ha or len(places) >= 2):
        return
    where = f" in at least 2 distinct regions (ha is true), got {len(known)} in {len(places)}" if ha else f", got {len(known)}"
    raise ConfigError(key, f"needs at least {MIN_KNOWN_SEEDS} seeds given as {{libp2pKeyRef, peerId}}{where}; a seed given "
                      "as a count generates its identity at first start, so no daemon can be told its peer ID")


def _unique_keys(regions: tuple[Region, ...]) -> None:
    """No two block producers with one key, across every region (document 001: a daemon bug
    made two producers of one key fork the chain)."""
    seen: dict[str, str] = {}
    for i, region in enumerate(regions):
        for j, p in enumerate(region.block_producers):
            where = f"{region.name}/{p.name}"
            if p.key_ref in seen:
                raise ConfigError(
                    f"testnet.regions[{i}].blockProducers[{j}].keyRef",
                    f"{p.key_ref!r} is already the key of block producer {seen[p.key_ref]}; every block producer needs its own key",
                )
            seen[p.key_ref] = where


TESTNET_KEY_PATHS = tuple(k.path for k in KEYS if k.path.startswith("testnet."))


# The sections a testnet stack may set besides pegasus:testnet. The others configure the
# validator's single cluster and chain; a testnet's clusters are per region. monitoring and
# alerting configure the same kube-prometheus-stack install (testnet.monitoringStack) as the
# validator's, with the same keys.
TESTNET_SHARED_SECTIONS = ("charts", "monitoring", "alerting")


def parse_blueprint(raw: dict, *, project: str, stack: str, secret_keys: set[str]) -> TestnetBlueprint:
    from pegasus.config.keys import SECTIONS

    for key in sorted(raw):
        if key in SECTIONS and key != "testnet" and key not in TESTNET_SHARED_SECTIONS:
            raise ConfigError(key, "is a setting of the validator blueprint; a testnet sets its clusters per region, in testnet.regions[].cluster")
    testnet = parse_testnet(_Section("testnet", raw.get("testnet")), stack, secret_keys)
    monitoring, alerting = _Section("monitoring", raw.get("monitoring")), _Section("alerting", raw.get("alerting"))
    testnet = dataclasses.replace(testnet, monitoring_settings=_monitoring(monitoring, secret_keys),
                                  alerting=_alerting(alerting, secret_keys))
    monitoring.check_unknown()
    alerting.check_unknown()
    check_alert_receivers(testnet, testnet.alerting)
    charts = _Section("charts", raw.get("charts"))
    charts_dir = fields.charts_dir(charts)
    charts.check_unknown()
    warnings = []
    for region in testnet.regions:
        if region.seeds and testnet.domain is None:
            warnings.append(
                f"testnet.domain is unset: the seeds of region {region.name} get no DNS name, and the peer list names "
                "their shard addresses, which change if a shard load balancer is ever recreated"
            )
            break
    unknown_ids = [f"{r.name}/seed-{s.index}" for r in testnet.regions for s in r.seeds if s.peer_id is None]
    if unknown_ids:
        warnings.append(
            f"{', '.join(unknown_ids)} generate their libp2p keypair on first start, so their peer IDs are unknown and "
            "they are left out of the peer list; give seeds as [{libp2pKeyRef, peerId}] to publish them"
        )
    if testnet.logging:
        elsewhere = [r.name for r in testnet.regions if r.provider not in ("eks", "gke")]
        if elsewhere:
            warnings.append(
                f"testnet.logging ships logs from eks and gke regions only; {', '.join(elsewhere)} "
                "run on clusters whose log agent is their operator's"
            )
    return TestnetBlueprint(project, stack, "testnet", testnet, charts_dir, tuple(warnings))
