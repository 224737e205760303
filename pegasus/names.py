"""Every Kubernetes name, namespace and label Pegasus uses comes from here.

Other systems rely on these names: chainlets advertise the shard Service's address,
dashboards and alerts select on the labels, and operators type the namespaces.
Changing one here renames a live object, so each is a deliberate constant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pegasus.errors import InvalidName

PART_OF = "pegasus"
MANAGED_BY = "pulumi"

# Namespaces fixed by the design document (000: "sagasrv-metrics", "sagasrv-spc"). The
# ingress namespace, release and class are Pegasus's own: an existing cluster often runs an
# ingress-nginx of its own in `ingress-nginx`, and sharing its namespace, release name or
# cluster-scoped objects (ClusterRole, IngressClass, webhook) would collide with it.
INGRESS_NAMESPACE = "sagasrv-ingress"
METRICS_NAMESPACE = "sagasrv-metrics"
SPC_NAMESPACE = "sagasrv-spc"
SYSTEM_NAMESPACE = "kube-system"
# Karpenter's chart relies on the kube-system FlowSchemas (docs: "By default, Karpenter is
# installed into the kube-system namespace, which leverages the system-leader-election ...").
KARPENTER_NAMESPACE = SYSTEM_NAMESPACE
KARPENTER_SERVICE_ACCOUNT = "karpenter"
LOGGING_NAMESPACE = "sagasrv-logging"

# Helm release names are set explicitly: helm.v3.Release would otherwise add a random
# suffix, and the chart's fullname (hence Service and ServiceAccount names) derives from it.
INGRESS_RELEASE = "pegasus-ingress-nginx"
MONITORING_RELEASE = "kube-prometheus-stack"
BLACKBOX_RELEASE = "blackbox-exporter"
KARPENTER_RELEASE = "karpenter"
KARPENTER_CRD_RELEASE = "karpenter-crd"
LOGGING_RELEASE = "fluent-bit"

# ingress-nginx with fullnameOverride=<release> labels its controller pods like this.
INGRESS_CONTROLLER_SELECTOR = {
    "app.kubernetes.io/name": "ingress-nginx",
    "app.kubernetes.io/instance": INGRESS_RELEASE,
    "app.kubernetes.io/component": "controller",
}
TCP_SERVICES_CONFIGMAP = "pegasus-tcp-services"
UDP_SERVICES_CONFIGMAP = "pegasus-udp-services"
INGRESS_CLASS = "pegasus-p2p"
INGRESS_CONTROLLER_CLASS = "pegasus.saga.xyz/ingress-nginx"

SPC_SERVICE = "spc"
SPC_INTERNAL_SERVICE = "spc-internal"

CHAINLET_NAMESPACE_PREFIX = "saga-"
CHAINLET_COMPONENT = "chainlet"
PLATFORM_CHAIN_COMPONENT = "platform-chain"

# Annotations and labels with meaning to other controllers.
DO_NOT_DISRUPT = "karpenter.sh/do-not-disrupt"
# The cluster autoscaler (GKE node auto-provisioning too) ignores Karpenter's annotation.
SAFE_TO_EVICT = "cluster-autoscaler.kubernetes.io/safe-to-evict"
# A namespace label the AWS Load Balancer Controller reads: it injects readiness gates into the
# pods there, so a rollout waits until the NLB has registered the new pod.
READINESS_GATE_LABEL = "elbv2.k8s.aws/pod-readiness-gate-inject"
# Node pools: the label Pegasus puts on every node it asks for, and the taint that keeps
# everything but signers off signer nodes.
POOL_LABEL = "pegasus.saga.xyz/pool"
SIGNER_POOL = "signers"
GRAFANA_DASHBOARD_LABEL = "grafana_dashboard"
GRAFANA_FOLDER_ANNOTATION = "grafana_folder"
SKIP_AWAIT = "pulumi.com/skipAwait"
WAIT_FOR = "pulumi.com/waitFor"
# The policy pack finds signing workloads and chain-data volumes by these labels.
SIGNER_LABEL = "pegasus.saga.xyz/signer"
CHAIN_DATA_LABEL = "pegasus.saga.xyz/chain-data"
# Alerts tell chains that stand still without transactions by this pod label.
CREATE_EMPTY_BLOCKS_LABEL = "pegasus.saga.xyz/create-empty-blocks"

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def is_dns1123_label(value: str) -> bool:
    return len(value) <= 63 and bool(_DNS1123_LABEL.match(value))


def dns1123_label(value: str, what: str) -> str:
    """Return `value` unchanged if it is a valid DNS-1123 label, else raise naming `what`."""
    if not is_dns1123_label(value):
        raise InvalidName(
            f"{what} {value!r} is not a valid DNS-1123 label: use at most 63 characters of "
            "lowercase letters, digits and '-', starting and ending with a letter or digit"
        )
    return value


def chainlet_namespace(chain_id: str) -> str:
    """`saga-<chainId lowercased, '_' replaced by '-'>`, checked to be a DNS-1123 label."""
    candidate = CHAINLET_NAMESPACE_PREFIX + chain_id.lower().replace("_", "-")
    return dns1123_label(candidate, f"namespace for chainlet {chain_id!r}")


def chainlet_resource_name(chain_id: str) -> str:
    """The Pulumi logical name of a chainlet's component: stable for the chainlet's life."""
    return f"chainlet-{chain_id}"


def chainlet_workload_name() -> str:
    # Each chainlet has its own namespace, so the objects inside it can share short names;
    # a fixed name keeps kubectl muscle memory identical across hundreds of chainlets.
    return "chainlet"


def chainlet_data_claim_name() -> str:
    return "chainlet-data"


def shard_service_name(shard: int) -> str:
    """Named in the design document: the Nth LoadBalancer is `ingress-nginx-controller-p2p-N`."""
    return f"ingress-nginx-controller-p2p-{shard}"


# Helm refuses a release name longer than this (its release Secret's name must fit).
HELM_RELEASE_MAX = 53


@dataclass(frozen=True)
class IngressNames:
    """Every name one ingress-nginx p2p data plane takes in its cluster. The defaults are the
    validator's (the constants above); a cluster that hosts several data planes (testnets
    sharing a regional cluster, beside a validator) gives each its own, from `ingress_names`.

    What must differ between two data planes in one cluster, read in the ingress-nginx 4.15.1
    chart: the namespace; the release, since with `fullnameOverride` = release the chart names
    its ClusterRole and ClusterRoleBinding (clusterrole.yaml, clusterrolebinding.yaml) after it
    and Helm refuses to adopt another release's object; the IngressClass
    (controller-ingressclass.yaml: `ingressClassResource.name`, cluster-scoped); and the
    controller class it claims. The controller's selector (`app.kubernetes.io/instance:
    .Release.Name`, _helpers.tpl) and election ID (`<fullname>-leader`) follow from the release.
    The admission webhook's cluster-scoped objects are not rendered (webhooks are off). The
    routing ConfigMaps and shard Services are namespaced, so they keep their names, and the
    shard Services the name the design document and the policy pack know."""

    namespace: str = INGRESS_NAMESPACE
    release: str = INGRESS_RELEASE
    tcp_services: str = TCP_SERVICES_CONFIGMAP
    udp_services: str = UDP_SERVICES_CONFIGMAP
    ingress_class: str = INGRESS_CLASS
    controller_class: str = INGRESS_CONTROLLER_CLASS

    @property
    def controller_selector(self) -> dict[str, str]:
        """ingress-nginx with fullnameOverride = release labels its controller pods like this."""
        return {
            "app.kubernetes.io/name": "ingress-nginx",
            "app.kubernetes.io/instance": self.release,
            "app.kubernetes.io/component": "controller",
        }

    def shard_service(self, shard: int) -> str:
        return shard_service_name(shard)

    def cluster_scoped(self) -> tuple[tuple[str, str], ...]:
        """(kind, name) of every cluster-scoped object the release renders with our values."""
        return (("ClusterRole", self.release), ("ClusterRoleBinding", self.release), ("IngressClass", self.ingress_class))


INGRESS = IngressNames()
# The provider blueprint's HTTP entry to the KEDA interceptor: an ingress-nginx of its own, so a
# provider cluster can also run a validator's (or a testnet's) p2p data plane.
PROVIDER_INGRESS = IngressNames(
    namespace="provider-ingress", release="provider-http", ingress_class="provider-http",
    controller_class="pegasus.saga.xyz/provider-http",
)


def ingress_names(prefix: str) -> IngressNames:
    """A data plane of its own: namespace `<prefix>-ingress`, release, IngressClass and
    controller class `<prefix>-p2p`. `prefix` is what owns the data plane, e.g. a testnet's
    namespace `testnet-<name>`."""
    release = dns1123_label(f"{prefix}-p2p", "ingress-nginx release")
    if len(release) > HELM_RELEASE_MAX:
        raise InvalidName(f"ingress-nginx release {release!r} is longer than Helm's {HELM_RELEASE_MAX} characters; use a shorter name")
    return IngressNames(
        namespace=dns1123_label(f"{prefix}-ingress", "ingress namespace"),
        release=release,
        ingress_class=release,
        controller_class=f"pegasus.saga.xyz/{release}",
    )


def data_claim_name(node: str) -> str:
    return f"{node}-data"


def gcp_account_id(cluster_name: str, role: str) -> str:
    """A GCP service account ID (6-30 characters, a letter first, no trailing '-')."""
    return f"{cluster_name}-{role}"[:30].rstrip("-")


def labels(component: str, instance: str, *, name: str | None = None, version: str | None = None) -> dict[str, str]:
    """The `app.kubernetes.io/*` labels on every object Pegasus creates."""
    out = {
        "app.kubernetes.io/name": name or component,
        "app.kubernetes.io/instance": instance,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }
    if version:
        out["app.kubernetes.io/version"] = label_value(version)
    return out


def selector(component: str, instance: str, *, name: str | None = None) -> dict[str, str]:
    """The immutable subset of `labels` used in selectors (a selector can never change)."""
    return {
        "app.kubernetes.io/name": name or component,
        "app.kubernetes.io/instance": instance,
    }


_LABEL_VALUE_BAD = re.compile(r"[^A-Za-z0-9_.-]")


def label_value(value: str) -> str:
    """Coerce free text (an image version, say) into a valid label value."""
    cleaned = _LABEL_VALUE_BAD.sub("-", value)[:63].strip("-_.")
    return cleaned


# The fleet blueprint: one autoscaled group per cloud and region. The name is the group's
# physical name too (ASG, MIG and autoscaler, VMSS, ESS group), so the agent and the watcher
# find their group by it, and the tag that scopes every capacity writer carries it.
FLEET_GROUP_TAG = "pegasus-fleet-group"


def fleet_group(fleet: str, cloud: str, region: str) -> str:
    short = {"aws": "aws", "gcp": "gcp", "azure": "az", "alibaba": "ali"}[cloud]
    return f"{fleet}-{short}-{region}"
