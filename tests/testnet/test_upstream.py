"""Contract tests against upstream, not against our own output: every flag, subcommand and
environment variable the testnet examples hand to the Mina images exists in the daemon's own
sources at the pinned version (tests/testnet/upstream/mina-daemon-3.1.0.json, names read from
MinaProtocol/mina; its header says which files and commits), and the trustlist, lock clearing,
readiness and proof level follow upstream's entrypoint and charts. The ingress-nginx keys are
checked against the controller's config.go (tests/testnet/upstream/ingress-nginx-controller.json).

Both example stacks are planned whole (tools.plan), so a flag added anywhere in the program is
checked, not only the ones a builder test happens to call.
"""

from __future__ import annotations

import ipaddress
import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import example, k8s

UPSTREAM = Path(__file__).parent / "upstream"
MINA = json.loads((UPSTREAM / "mina-daemon-3.1.0.json").read_text())
NGINX = json.loads((UPSTREAM / "ingress-nginx-controller.json").read_text())
EXAMPLES = ("testnet", "testnet-cloud")
PINNED_TAG = "3.1.0-ae112d3"  # the release and commit of the fixture, whatever the registry


def pods(plan):
    """(kind, name, pod spec) of every workload in a testnet namespace."""
    out = []
    for kind in ("StatefulSet", "Deployment", "Job"):
        for r in k8s(plan, kind):
            meta = r.inputs["metadata"]
            if meta.get("namespace", "").startswith("testnet-") and not meta["namespace"].endswith("-ingress"):
                out.append((kind, meta["name"], r.inputs["spec"]["template"]["spec"]))
    return out


def mina_containers(plan):
    """Every container that runs a Mina program: (role, container). Roles by the subcommand the
    container starts: `daemon`, `internal snark-worker`, `mina-archive run`."""
    out = []
    for _, _, pod in pods(plan):
        for c in pod["containers"]:
            args = c.get("args") or []
            if args[:1] == ["daemon"]:
                out.append(("daemon", c))
            elif args[:2] == ["internal", "snark-worker"]:
                out.append(("worker", c))
            elif args[:1] == ["run"] and "mina-archive" in c["image"]:
                out.append(("archive", c))
    return out


def flags(args) -> list[str]:
    return [a for a in args if isinstance(a, str) and a.startswith("-")]


def test_the_fixture_is_the_pinned_version():
    # The fixture must be of the version both examples run: a new image tag needs a new fixture.
    assert f'{MINA["tag"]}-{MINA["commit"]}' == PINNED_TAG
    for stack in EXAMPLES:
        tags = {c["image"].rsplit(":", 1)[1] for role, c in mina_containers(example(stack))}
        assert tags and all(t.startswith(PINNED_TAG) for t in tags), (stack, tags)


@pytest.mark.parametrize("stack", EXAMPLES)
def test_every_flag_exists_upstream(stack):
    allowed = {"daemon": set(MINA["daemon_flags"]), "worker": set(MINA["snark_worker_flags"]),
               "archive": set(MINA["archive_flags"])}
    seen = {"daemon": 0, "worker": 0, "archive": 0}
    for role, c in mina_containers(example(stack)):
        seen[role] += 1
        unknown = sorted(set(flags(c["args"])) - allowed[role])
        assert not unknown, f"{stack}: {role} {c['name']} passes {unknown}, which the daemon at 3.1.0 does not define"
    assert seen["daemon"] and seen["worker"], seen
    if stack == "testnet-cloud":
        assert seen["archive"] == 1


@pytest.mark.parametrize("stack", EXAMPLES)
def test_every_env_variable_exists_upstream(stack):
    """A variable Mina or its entrypoint reads, or one only Kubernetes reads: expanded as
    $(NAME) in the container's args (the coordinator's key, the archive's database URI)."""
    known = set(MINA["daemon_env"]) | set(MINA["prover_env"])
    checked = 0
    for _, _, pod in pods(example(stack)):
        for c in [*pod.get("initContainers", []), *pod["containers"]]:
            text = " ".join(str(a) for a in [*(c.get("command") or []), *(c.get("args") or [])])
            if not (text.startswith("daemon") or text.startswith("internal") or "mina" in text
                    or "mina-archive" in c["image"]):
                continue  # not a Mina program (a test service's own image)
            for e in c.get("env", []):
                checked += 1
                if f"$({e['name']})" in text or f"${e['name']}" in text or f"\"${e['name']}\"" in text:
                    continue
                assert e["name"] in known, f"{stack}: {c['name']} sets {e['name']}, which Mina 3.1.0 does not read"
    assert checked


@pytest.mark.parametrize("stack", EXAMPLES)
def test_the_libp2p_keypair_command_exists_upstream(stack):
    scripts = [c["command"][-1] for _, _, pod in pods(example(stack)) for c in pod.get("initContainers", [])
               if "generate-keypair" in " ".join(c.get("command", []))]
    assert scripts
    for script in scripts:
        used = re.findall(r"mina libp2p generate-keypair (-[a-z-]+)", script)
        assert used and set(used) <= set(MINA["libp2p_generate_keypair_flags"])


def coordinators(plan):
    return [c for role, c in mina_containers(plan) if role == "daemon" and "-run-snark-coordinator" in c["args"]]


@pytest.mark.parametrize("stack", EXAMPLES)
def test_coordinators_trust_the_workers_pod_network(stack):
    """mina_cli_entrypoint.ml splits MINA_CLIENT_TRUSTLIST on ',' into CIDRs; the client server
    refuses every other address. O(1) Labs' coordinator chart trusts 10.0.0.0/8; ours covers it."""
    chart_value = ipaddress.ip_network(MINA["client_trustlist_chart_value"])
    found = coordinators(example(stack))
    assert found
    for c in found:
        env = {e["name"]: e.get("value") for e in c["env"]}
        nets = [ipaddress.ip_network(part) for part in env["MINA_CLIENT_TRUSTLIST"].split(",")]
        assert any(chart_value.subnet_of(n) for n in nets)
        # Workers dial the coordinator's client port: the one the trustlist guards.
        port = c["args"][c["args"].index("-client-port") + 1]
        workers = [w for role, w in mina_containers(example(stack)) if role == "worker"]
        assert any(w["args"][w["args"].index("-daemon-address") + 1].endswith(f":{port}") for w in workers)


@pytest.mark.parametrize("stack", EXAMPLES)
def test_the_stale_lock_is_cleared_where_the_daemon_keeps_it(stack):
    """The image's entrypoint removes .mina-config/.mina-lock under its WORKDIR /root only;
    our config directory is on the volume, so the init container removes it there."""
    lock = MINA["entrypoint"]["lock_file"].rsplit("/", 1)[-1]
    for _, name, pod in pods(example(stack)):
        daemon = [c for c in pod["containers"] if (c.get("args") or [])[:1] == ["daemon"]]
        if not daemon:
            continue
        args = daemon[0]["args"]
        conf = args[args.index("-config-directory") + 1]
        assert conf != "/root/.mina-config"  # else the entrypoint's own rm would do
        scripts = [c["command"][-1] for c in pod["initContainers"]]
        assert any(f"rm -f {conf}/{lock}" in s.splitlines() for s in scripts), name


@pytest.mark.parametrize("stack", EXAMPLES)
def test_ready_means_synced_as_upstream_asks(stack):
    """helm/common/templates/_healthchecks.tpl asks daemonStatus { syncStatus } over GraphQL;
    the enum value is SYNCED (mina_graphql, SyncStatus)."""
    daemons = [(name, pod) for _, name, pod in pods(example(stack))
               if any((c.get("args") or [])[:1] == ["daemon"] for c in pod["containers"])]
    assert daemons
    for name, pod in daemons:
        c = pod["containers"][0]
        script = c["readinessProbe"]["exec"]["command"][-1]
        port = c["args"][c["args"].index("-rest-port") + 1]
        assert f":{port}/graphql" in script, name
        body = re.search(r"-d '([^']+)'", script).group(1)
        assert json.loads(body)["query"].split() == MINA["readiness"]["graphql_query"].split()
        # The filter, run by a real grep, passes the daemon's answer when synced and no other.
        pipe = script.split("| ", 1)[1]
        for status in MINA["readiness"]["sync_status_values"]:
            answer = json.dumps({"data": {"daemonStatus": {"syncStatus": status}}}, separators=(",", ":"))
            ok = subprocess.run(["/bin/sh", "-c", pipe], input=answer, text=True).returncode == 0
            assert ok == (status == MINA["readiness"]["synced"]), status


@pytest.mark.parametrize("stack", EXAMPLES)
def test_workers_prove_at_the_genesis_proof_level(stack):
    plan = example(stack)
    # The ledger the stack uses, as the daemons get it (the genesis ConfigMap).
    cm = [r for r in k8s(plan, "ConfigMap") if r.inputs["metadata"]["name"].endswith("-genesis")][0]
    level = json.loads(cm.inputs["data"]["daemon.json"]).get("proof", {}).get("level", "full")
    assert level in MINA["proof_levels"]
    for role, c in mina_containers(plan):
        if role == "worker":
            assert c["args"][c["args"].index("-proof-level") + 1] == level
            assert {e["name"] for e in c["env"]} == {"RAYON_NUM_THREADS"}


@pytest.mark.parametrize("stack", EXAMPLES)
def test_the_p2p_controller_config_keys_exist_upstream(stack):
    releases = [r for r in example(stack).resources if r.type == "kubernetes:helm.sh/v3:Release"
                and r.inputs.get("chart", "").endswith("ingress-nginx-4.15.1.tgz") or
                (r.type == "kubernetes:helm.sh/v3:Release" and r.inputs.get("chart") == "ingress-nginx")]
    assert releases
    for r in releases:
        config = r.inputs["values"]["controller"]["config"]
        assert set(config) <= set(NGINX["config_keys"])
        # Longer than the controller's default, so idle libp2p connections outlive it.
        assert int(config["proxy-stream-timeout"].rstrip("s")) > int(NGINX["defaults"]["proxy-stream-timeout"].rstrip("s"))


@pytest.mark.parametrize("stack", EXAMPLES)
def test_every_alert_reads_a_metric_the_daemon_exports(stack):
    """Every Mina_* series a rule reads is `<namespace>_<subsystem>_<name>` of a metric
    mina_metrics.ml defines: a misspelt name would make an alert that can never fire."""
    m = MINA["metrics"]
    known = {f'{m["namespace"]}_{sub}_{name}' for sub, names_ in m["names"].items() for name in names_}
    rules = [r for r in k8s(example(stack), "PrometheusRule") if r.inputs["metadata"]["namespace"].startswith("testnet-")]
    assert rules
    used = set()
    for r in rules:
        for group in r.inputs["spec"]["groups"]:
            for rule in group["rules"]:
                used |= set(re.findall(r"\bMina_[A-Za-z_]+", rule["expr"]))
    assert used and used <= known, sorted(used - known)


PK = ["B62q" + c * 51 for c in "abc"]  # well-formed public keys (never used to sign here)


def generated(tmp_path, **producer_extra):
    from tests.testnet.test_program import one_region

    config = one_region()
    t = config["pegasus:testnet"]
    del t["genesisFile"]
    t["genesis"] = {"timestamp": "2026-12-01T00:00:00Z", "accounts": [{"publicKey": PK[2], "balance": "1000"}]}
    t["regions"][0]["blockProducers"] = [{"name": "whale-1", "keyRef": "solo-whale-1", "publicKey": PK[0], "stake": "1000000",
                                          **producer_extra}]
    return config


def test_a_generated_ledger_is_the_daemons_config_shape_and_every_producer_has_stake(tmp_path):
    """The generated daemon.json uses only runtime config names (runtime_config.ml Json_layout,
    the image's own demo genesis), and the stake check it passes is the one that refuses a
    producer without stake."""
    from components.testnet import genesis_builder as gb
    from tests.conftest import run, write_stack

    plan = run(config_file=write_stack(tmp_path, generated(tmp_path)))
    cm = [r for r in k8s(plan, "ConfigMap") if r.inputs["metadata"]["name"] == "solo-genesis"][0]
    doc = json.loads(cm.inputs["data"]["daemon.json"])
    rc = MINA["runtime_config"]
    assert set(doc) <= set(rc["top_level"])
    assert set(doc["genesis"]) <= set(rc["genesis"]) and set(doc["proof"]) <= set(rc["proof"])
    assert set(doc["ledger"]) <= set(rc["ledger"])
    assert all(set(a) <= set(rc["account"]) for a in doc["ledger"]["accounts"])
    assert doc["proof"]["level"] in MINA["proof_levels"]
    assert gb.stake(cm.inputs["data"]["daemon.json"]) == {PK[0]: 1000000, PK[2]: 1000}
    # The winner account is off: stake comes from the producers' own accounts.
    assert doc["ledger"]["add_genesis_winner"] is False


def test_a_producer_without_stake_in_the_genesis_file_is_refused(tmp_path):
    from tests.conftest import run, write_stack
    from tests.testnet.test_program import one_region

    config = one_region()
    config["pegasus:testnet"]["regions"][0]["blockProducers"][0]["publicKey"] = PK[0]
    with pytest.raises(Exception) as e:
        run(config_file=write_stack(tmp_path, config))
    assert ("pegasus:testnet.regions[0].blockProducers[0].publicKey: " + PK[0] + " has no stake in the ledger of "
            "testnets/qa-7/daemon.json, so local/whale-1 can never win a slot; give it a balance (or delegate one to it) there") in str(e.value)
