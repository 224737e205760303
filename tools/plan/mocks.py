"""Pulumi's official mocks, answering like the clouds would, and a monitor that records
every registration with its options.

Outputs that exist only after a real deployment (a load balancer's hostname, an ARN, a
reserved IP) get placeholder values from documentation ranges (`.invalid` names,
203.0.113.0/24, account 123456789012), and every one is recorded so the plan can mark it.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import json
import threading
import zlib
from dataclasses import dataclass, field
from typing import Any, Optional

import dill
from google.protobuf import json_format
from pulumi.runtime import mocks as pmocks
from pulumi.runtime import rpc
from pulumi.runtime.proto import resource_pb2

ACCOUNT_ID = "123456789012"
DEPLOYER_ROLE = "pegasus-deployer"  # the role the offline plan pretends to run as
SECRET = "[secret]"
_SECRET_SIG = rpc._special_secret_sig
_SIG_KEY = rpc._special_sig_key


@dataclass
class Placeholder:
    urn: str
    property: str
    value: Any


@dataclass
class Registration:
    urn: str
    type: str
    name: str
    parent: Optional[str]
    custom: bool
    remote: bool
    provider: Optional[str]
    inputs: dict  # engine names, secrets replaced by "[secret]"
    raw_inputs: dict  # engine names, secrets unwrapped (for the policy pack, never printed)
    secret_paths: list
    options: dict
    placeholders: dict = field(default_factory=dict)


_RESOURCE_SIG = rpc._special_resource_sig
_OUTPUT_SIG = rpc._special_output_value_sig


def integral(value: Any) -> Any:
    """The engine carries every number as a double; integral ones are written as integers."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: integral(v) for k, v in value.items()}
    if isinstance(value, list):
        return [integral(v) for v in value]
    return value


def _strip_secrets(value: Any, path: str, found: list) -> tuple[Any, Any]:
    """(value with secrets replaced, value with secrets unwrapped), from the wire form
    (`MessageToDict` of the registration): resource references become their URN."""
    if isinstance(value, dict) and _SIG_KEY in value:
        sig = value[_SIG_KEY]
        if sig == _SECRET_SIG:
            found.append(path or ".")
            return SECRET, _strip_secrets(value.get("value"), path, [])[1]
        if sig == _RESOURCE_SIG:
            ref = value.get("urn")
            return ref, ref
        if sig == _OUTPUT_SIG:
            if value.get("secret"):
                found.append(path or ".")
                return SECRET, _strip_secrets(value.get("value"), path, [])[1]
            return _strip_secrets(value.get("value"), path, found)
    if isinstance(value, float):
        return integral(value), value
    if isinstance(value, dict):
        shown, raw = {}, {}
        for k, v in value.items():
            shown[k], raw[k] = _strip_secrets(v, f"{path}.{k}" if path else k, found)
        return shown, raw
    if isinstance(value, list):
        pairs = [_strip_secrets(v, f"{path}[{i}]", found) for i, v in enumerate(value)]
        return [p[0] for p in pairs], [p[1] for p in pairs]
    return value, value


def _alias(alias: Any) -> Any:
    doc = json_format.MessageToDict(alias, preserving_proto_field_name=False)
    return doc.get("urn") or doc.get("spec") or doc


class RecordingMonitor(pmocks.MockMonitor):
    """The SDK's mock monitor, plus a record of what the Mocks class never sees: parents,
    protect, retainOnDelete, dependsOn and the rest of the options."""

    def __init__(self, mocks: "PlanMocks"):
        super().__init__(mocks)
        self.registrations: list[Registration] = []
        # The program's event loop. The SDK calls the monitor from executor threads, and the
        # SDK's own mock deserializes a registration's inputs right there: a resource
        # reference among them (a node group's cluster and role) is rebuilt as a resource
        # whose lookup task belongs to that thread's loop, and when the program's end awaits
        # that task still pending, the plan fails with "attached to a different loop" (now and
        # then, by timing). Against the engine the SDK deserializes on the program's loop, so
        # the plan does that too (`_register`).
        self.main_loop: Optional[asyncio.AbstractEventLoop] = None

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """URNs as the engine makes them: the parent's whole qualified type chain, and no
        prefix for children of the stack (the SDK's mock keeps only the parent's last type
        and prefixes the stack's), so plan URNs can be pasted into --target and --exclude."""
        if parent:
            parent_type = parent.split("::")[2]
            if parent_type != "pulumi:pulumi:Stack":
                type_ = f"{parent_type}${type_}"
        return super().make_urn("", type_, name)

    def RegisterResource(self, request):
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type != "pulumi:pulumi:Stack":
            wire = json_format.MessageToDict(request.object, preserving_proto_field_name=True)
            secret_paths: list = []
            shown, raw = _strip_secrets(wire, "", secret_paths)
            options = {
                "protect": bool(request.protect),
                "retainOnDelete": bool(request.retainOnDelete),
                "deleteBeforeReplace": bool(request.deleteBeforeReplace),
                "ignoreChanges": list(request.ignoreChanges),
                "dependsOn": sorted(set(request.dependencies)),
                "aliases": [_alias(a) for a in request.aliases] + list(request.aliasURNs),
                "additionalSecretOutputs": list(request.additionalSecretOutputs),
            }
            reg = Registration(
                urn=urn,
                type=request.type,
                name=request.name,
                parent=request.parent or None,
                custom=bool(request.custom),
                remote=bool(request.remote),
                provider=request.provider or None,
                inputs=shown,
                raw_inputs=raw,
                secret_paths=secret_paths,
                options=options,
            )
            self.registrations.append(reg)
            self.mocks.current = reg
        try:
            if self.main_loop is None or request.type == "pulumi:pulumi:Stack":
                return super().RegisterResource(request)
            return self._register(request)
        finally:
            self.mocks.current = None

    def _register(self, request):
        """The SDK mock's RegisterResource (pulumi 3.272.0, runtime/mocks.py), with the inputs
        deserialized and the outputs serialized on the program's loop."""
        urn = self.make_urn(request.parent, request.type, request.name)
        inputs = self._on_program_loop(lambda: rpc.deserialize_properties(request.object))
        args = pmocks.MockResourceArgs(
            typ=request.type, name=request.name, inputs=inputs, provider=request.provider,
            resource_id=request.importId, custom=request.custom or False,
            transforms=pmocks._resolve_callbacks(request.transforms),
        )
        id_, state = self.mocks.new_resource(args)
        obj = asyncio.run_coroutine_threadsafe(rpc.serialize_properties(state, {}), self.main_loop).result()
        self.resources[urn] = pmocks.MockMonitor.ResourceRegistration(urn, id_, state)
        return resource_pb2.RegisterResourceResponse(urn=urn, id=id_, object=obj)

    def _on_program_loop(self, fn):
        done: concurrent.futures.Future = concurrent.futures.Future()

        def run() -> None:
            try:
                done.set_result(fn())
            except BaseException as e:  # noqa: BLE001 - handed to the calling thread
                done.set_exception(e)

        self.main_loop.call_soon_threadsafe(run)
        return done.result()


def _copy(value: Any) -> Any:
    """A copy of the containers; leaves (resource references included) are shared."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _k8s_name(inputs: dict) -> str:
    return (inputs.get("metadata") or {}).get("name") or ""


READ_STATE = "pulumi:pulumi:readStackResourceOutputs"


def state_outputs(export: dict) -> dict:
    """{urn: {type, outputs}} of a `pulumi stack export` document, as the engine's
    readStackResourceOutputs returns them (deleted resources left out)."""
    resources = (export.get("deployment") or {}).get("resources") or []
    return {r["urn"]: {"type": r.get("type"), "outputs": r.get("outputs") or {}} for r in resources if not r.get("delete")}


class PlanMocks(pmocks.Mocks):
    def __init__(self, region: str = "us-east-1", project: str = "example-project", state: Optional[dict] = None,
                 other_states: Optional[dict] = None, other_outputs: Optional[dict] = None):
        self.region = region
        self.gcp_project = project
        # Other stacks' last states by stack name (a shard stack reads its platform's).
        self.other_states = other_states or {}
        # Other stacks' outputs by stack name, as a StackReference to them reads them.
        self.other_outputs = other_outputs or {}
        # The stack's last state as readStackResourceOutputs would return it: empty, as before
        # a first deployment, unless a state export is given.
        self.state = state or {}
        # The registration being answered, per thread: the SDK registers from several worker
        # threads at once, and a placeholder belongs to the one its thread is answering.
        self._local = threading.local()
        self.placeholders: list[Placeholder] = []
        self._addresses: set[int] = set()

    @property
    def current(self) -> Optional[Registration]:
        return getattr(self._local, "registration", None)

    @current.setter
    def current(self, registration: Optional[Registration]) -> None:
        self._local.registration = registration

    # -- helpers
    def _mark(self, prop: str, value: Any) -> Any:
        if self.current is not None:
            self.current.placeholders[prop] = value
            self.placeholders.append(Placeholder(self.current.urn, prop, value))
        return value

    def _arn(self, service: str, kind: str, name: str) -> str:
        return self._mark("arn", f"arn:aws:{service}:{self.region}:{ACCOUNT_ID}:{kind}/{name}")

    def _host_number(self, name: str) -> int:
        """A documentation-range host number from the resource name, not from the order the
        registrations happen to arrive in, so two plans of one config agree."""
        n = zlib.crc32(name.encode()) % 254 + 1
        while n in self._addresses:
            n = n % 254 + 1
        self._addresses.add(n)
        return n

    # -- Mocks API
    def call(self, args: pmocks.MockCallArgs):
        token = args.token
        if token == READ_STATE:
            name = str(args.args.get("stackName") or "")
            short = name.rsplit("/", 1)[-1]
            return {"name": name, "outputs": self.other_states[short] if short in self.other_states else self.state}
        if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            return {"names": [f"{self.region}a", f"{self.region}b", f"{self.region}c"],
                    "zoneIds": ["use1-az1", "use1-az2", "use1-az3"], "id": self.region}
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            # CI deploys with a role it assumes through OIDC (docs/operations.md, CI credentials).
            return {"accountId": ACCOUNT_ID, "arn": f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{DEPLOYER_ROLE}/planner",
                    "userId": "AROAPLANNER:planner", "id": ACCOUNT_ID}
        if token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}
        if token == "alicloud:ecs/getImages:getImages":
            # The fleet's image lookup: one system image named like the regex asks.
            image = {"id": "ubuntu_24_04_x64_20G_alibase_placeholder.vhd", "name": "ubuntu_24_04_x64_20G_alibase_placeholder"}
            return {"images": [image], "ids": [image["id"]], "id": "images"}
        if token == "alicloud:index/getZones:getZones":
            # The fleet's vSwitch zone: placeholder zone IDs (a real region's come from the cloud).
            ids = ["zone-id-placeholder-1", "zone-id-placeholder-2"]
            return {"ids": ids, "zones": [{"id": z} for z in ids], "id": "zones"}
        if token == "azure-native:authorization:getClientConfig":
            return {"subscriptionId": "00000000-0000-0000-0000-000000000000", "tenantId": "00000000-0000-0000-0000-000000000001",
                    "clientId": "00000000-0000-0000-0000-000000000002", "objectId": "00000000-0000-0000-0000-000000000003"}
        return {}

    def new_resource(self, args: pmocks.MockResourceArgs):
        typ, name = args.typ, args.name
        rid = f"{name}-id"
        if typ.startswith("kubernetes:"):
            # Only what the program reads: echoing a whole manifest back costs the SDK a full
            # deserialization per object and tells the plan nothing it does not already hold.
            outputs: dict = {}
            if typ == "kubernetes:core/v1:Service" and (args.inputs.get("spec") or {}).get("type") == "LoadBalancer":
                ns = (args.inputs.get("metadata") or {}).get("namespace", "default")
                host = self._mark("status.loadBalancer.ingress[0].hostname", f"{_k8s_name(args.inputs)}.{ns}.lb.pending.invalid")
                outputs["status"] = {"loadBalancer": {"ingress": [{"hostname": host}]}}
            if typ == "kubernetes:gateway.networking.k8s.io/v1:Gateway":
                # Envoy Gateway publishes its Service's load-balancer address in the Gateway's status.
                ns = (args.inputs.get("metadata") or {}).get("namespace", "default")
                host = self._mark("status.addresses[0].value", f"{_k8s_name(args.inputs)}.{ns}.gw.pending.invalid")
                outputs["status"] = {"addresses": [{"type": "Hostname", "value": host}]}
            if typ == "kubernetes:helm.sh/v3:Release":
                outputs["status"] = {"name": args.inputs.get("name", name), "namespace": args.inputs.get("namespace", "default"), "status": "deployed"}
            rid = f"{(args.inputs.get('metadata') or {}).get('namespace', '')}/{_k8s_name(args.inputs) or name}".lstrip("/")
            return rid, outputs
        outputs = _copy(args.inputs)
        if typ == "pulumi:pulumi:StackReference":
            # Another stack's outputs exist only in its state: a shaped placeholder kubeconfig.
            outputs["outputs"] = {**self.other_outputs.get(str(args.inputs.get("name", "")).rsplit("/", 1)[-1], {}),
                                  "kubeconfig": self._mark("outputs.kubeconfig", (
                f"apiVersion: v1\nkind: Config\nclusters:\n- name: {name}\n  cluster: {{server: 'https://{name}.stack.pending.invalid'}}\n"))}
            return f"{args.inputs.get('name', name)}", outputs
        if typ == "eks:index:Cluster":
            kubeconfig = {
                "apiVersion": "v1", "kind": "Config",
                "clusters": [{"name": name, "cluster": {"server": f"https://{name}.eks.pending.invalid"}}],
                "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
                "current-context": name,
                "users": [{"name": name, "user": {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": "aws",
                                                          "args": ["eks", "get-token", "--cluster-name", args.inputs.get("name", name)]}}}],
            }
            outputs["kubeconfigJson"] = self._mark("kubeconfigJson", json.dumps(kubeconfig))
            outputs["kubeconfig"] = kubeconfig
            return "", outputs
        if typ.startswith("pulumi-python:dynamic"):
            return self._dynamic(args)
        if typ.startswith("aws:"):
            return self._aws(typ, name, outputs)
        if typ.startswith("gcp:"):
            return self._gcp(typ, name, outputs)
        if typ.startswith("azure-native:"):
            return self._azure(typ, name, outputs)
        return ("" if not args.custom else rid), outputs

    def _dynamic(self, args: pmocks.MockResourceArgs):
        """Run the provider's real `create`, as the engine would on a first `pulumi up`."""
        raw = args.inputs.get("__provider")
        if rpc.is_rpc_secret(raw):
            raw = rpc.unwrap_rpc_secret(raw)
        provider = dill.loads(base64.b64decode(raw))
        props = {k: v for k, v in args.inputs.items() if k != "__provider"}
        if hasattr(provider, "offline_create"):
            # A provider whose create talks to a remote service plans from its inputs alone.
            result = provider.offline_create(props)
            return result.id, {**args.inputs, **(result.outs or {})}
        result = provider.create(props)
        return result.id, {**args.inputs, **(result.outs or {})}

    def _aws(self, typ: str, name: str, outputs: dict):
        service = typ.split(":")[1].split("/")[0]
        physical = outputs.get("name") or f"{name}-placeholder"
        outputs.setdefault("name", physical)
        if typ == "aws:ecr/repository:Repository":
            outputs["repositoryUrl"] = self._mark("repositoryUrl", f"{ACCOUNT_ID}.dkr.ecr.{self.region}.amazonaws.com/{outputs.get('name', name)}")
        if typ == "aws:sqs/queue:Queue":
            outputs["arn"] = self._arn("sqs", "queue", physical).replace(f":queue/{physical}", f":{physical}")
            url = self._mark("url", f"https://sqs.{self.region}.amazonaws.com/{ACCOUNT_ID}/{physical}")
            outputs["url"] = url
            return url, outputs
        if typ == "aws:iam/role:Role" or typ == "aws:iam/policy:Policy":
            kind = "role" if typ.endswith("Role") else "policy"
            outputs["arn"] = self._mark("arn", f"arn:aws:iam::{ACCOUNT_ID}:{kind}/{physical}")
            return physical, outputs
        if typ == "aws:ec2/launchTemplate:LaunchTemplate":
            outputs["latestVersion"] = 1
            outputs["arn"] = self._arn("ec2", "launch-template", f"lt-{name}")
            return self._mark("id", f"lt-{name}"), outputs
        if typ == "aws:kms/key:Key":
            key_id = self._mark("keyId", f"{name}-key-id")
            outputs["keyId"] = key_id
            outputs["arn"] = self._arn("kms", "key", key_id)
            return key_id, outputs
        if typ == "aws:ec2/eip:Eip":
            # TEST-NET-1: GKE's reserved addresses use 203.0.113.0/24, its endpoint 198.51.100.10.
            outputs["allocationId"] = self._mark("allocationId", f"eipalloc-{name}")
            outputs["publicIp"] = self._mark("publicIp", f"192.0.2.{self._host_number(name)}")
        if typ.startswith("aws:ec2/"):
            rid = self._mark("id", f"{name}-placeholder-id")
            outputs["arn"] = self._arn("ec2", typ.split(":")[-1].lower(), rid)
            return rid, outputs
        outputs["arn"] = self._arn(service, typ.split(":")[-1].lower(), physical)
        return f"{name}-id", outputs

    def _azure(self, typ: str, name: str, outputs: dict):
        # The input form of an identity (a list of IDs) is not its output form (a map of
        # objects), and the SDK falls back to the inputs for any output left out.
        identity = outputs.get("identity")
        if isinstance(identity, dict) and isinstance(identity.get("userAssignedIdentities"), list):
            identity["userAssignedIdentities"] = {i: {} for i in identity["userAssignedIdentities"] if isinstance(i, str)}
        kind = typ.split(":")[-1]
        physical = next((v for k, v in outputs.items() if k.endswith("Name") and isinstance(v, str)), f"{name}-placeholder")
        outputs.setdefault("name", physical)
        if kind == "UserAssignedIdentity":
            outputs["principalId"] = self._mark("principalId", f"{name}-principal-id")
            outputs["clientId"] = self._mark("clientId", f"{name}-client-id")
        rid = self._mark("id", f"/subscriptions/00000000-0000-0000-0000-000000000000/providers/{kind}/{physical}")
        return rid, outputs

    def _gcp(self, typ: str, name: str, outputs: dict):
        physical = outputs.get("name") or f"{name}-placeholder"
        outputs.setdefault("name", physical)
        if typ == "gcp:compute/address:Address":
            outputs["address"] = self._mark("address", f"203.0.113.{self._host_number(name)}")
        if typ == "gcp:container/cluster:Cluster":
            outputs["endpoint"] = self._mark("endpoint", "198.51.100.10")
            outputs["masterAuth"] = {"clusterCaCertificate": self._mark("masterAuth.clusterCaCertificate", "UExBQ0VIT0xERVI=")}
        if typ == "gcp:serviceaccount/account:Account":
            account = outputs.get("accountId", name)
            outputs["email"] = self._mark("email", f"{account}@{self.gcp_project}.iam.gserviceaccount.com")
            outputs["name"] = f"projects/{self.gcp_project}/serviceAccounts/{outputs['email']}"
        outputs.setdefault("selfLink", f"https://www.googleapis.com/placeholder/{physical}")
        return f"{name}-id", outputs
