"""pegasus-chain-data-volumes-protected and pegasus-chain-data-no-claim-templates."""

from policy.policies import chain_data_claim_templates, chain_data_volumes
from tests.policy import fixtures as f
from tests.policy.harness import check, check_stack

VOLUMES = chain_data_volumes.POLICY
TEMPLATES = chain_data_claim_templates.POLICY

PVC_URN = f.urn(f.PVC, "data")
CLASS_URN = f.urn(f.STORAGE_CLASS, "class")
UNPROTECTED = (
    "PersistentVolumeClaim 'saga-slingshot/chainlet-data' holds chain data but is not protected; "
    "set the resource option protect=True (with retain_on_delete=True) on it"
)


def stack(claim=None, storage_class=None, protect=True, extra=()):
    return [
        f.resource(f.PVC, claim or f.pvc(), "data", protect=protect),
        f.resource(f.STORAGE_CLASS, storage_class or f.storage_class(), "class"),
        *extra,
    ]


def delete_message(shown="'Delete'", name="pegasus-chain-data"):
    return (
        f"StorageClass '{name}' backs chain-data claims but its reclaimPolicy is {shown}; "
        "set reclaimPolicy to 'Retain' so that a deleted claim keeps its volume"
    )


# --- volumes: protect -------------------------------------------------------------------


def test_protected_claim_on_retained_class_passes():
    assert check_stack(VOLUMES, stack()) == []


def test_unprotected_chain_data_claim_is_reported_against_the_claim():
    assert check_stack(VOLUMES, stack(protect=False)) == [(PVC_URN, UNPROTECTED)]


def test_unprotected_claim_without_the_label_is_not_chain_data():
    claim = f.pvc()
    del claim["metadata"]["labels"][f.CHAIN_DATA]
    assert check_stack(VOLUMES, stack(claim, protect=False)) == []


def test_label_value_other_than_true_does_not_mark_chain_data():
    claim = f.pvc()
    claim["metadata"]["labels"][f.CHAIN_DATA] = "false"
    assert check_stack(VOLUMES, stack(claim, protect=False)) == []


def test_chain_data_label_is_configurable():
    claim = f.pvc()
    claim["metadata"]["labels"] = {"example.com/data": "true"}
    config = {"chainDataLabel": "example.com/data"}
    assert check_stack(VOLUMES, stack(claim, protect=False), config) == [(PVC_URN, UNPROTECTED)]
    assert check_stack(VOLUMES, stack(claim, protect=False)) == []


# --- volumes: reclaim policy ------------------------------------------------------------


def test_class_with_delete_is_reported_against_the_class():
    storage_class = f.storage_class()
    storage_class["reclaimPolicy"] = "Delete"
    assert check_stack(VOLUMES, stack(storage_class=storage_class)) == [(CLASS_URN, delete_message())]


def test_class_without_reclaim_policy_defaults_to_delete():
    storage_class = f.storage_class()
    del storage_class["reclaimPolicy"]
    shown = "unset (Kubernetes defaults to 'Delete')"
    assert check_stack(VOLUMES, stack(storage_class=storage_class)) == [(CLASS_URN, delete_message(shown))]


def test_class_is_reported_once_however_many_claims_use_it():
    storage_class = f.storage_class()
    storage_class["reclaimPolicy"] = "Delete"
    second = f.pvc()
    second["metadata"]["name"] = "other-data"
    extra = [f.resource(f.PVC, second, "data2", protect=True)]
    assert check_stack(VOLUMES, stack(storage_class=storage_class, extra=extra)) == [(CLASS_URN, delete_message())]


def test_class_of_a_non_chain_data_claim_is_not_judged():
    claim = f.pvc()
    del claim["metadata"]["labels"][f.CHAIN_DATA]
    storage_class = f.storage_class()
    storage_class["reclaimPolicy"] = "Delete"
    assert check_stack(VOLUMES, stack(claim, storage_class)) == []


def test_class_not_declared_in_the_stack_cannot_be_judged():
    claim = f.pvc()
    claim["spec"]["storageClassName"] = "gp3"
    storage_class = f.storage_class()
    storage_class["reclaimPolicy"] = "Delete"
    assert check_stack(VOLUMES, stack(claim, storage_class)) == []


def test_claim_without_class_uses_the_stack_default_class():
    claim = f.pvc()
    del claim["spec"]["storageClassName"]
    storage_class = f.storage_class()
    storage_class["reclaimPolicy"] = "Delete"
    storage_class["metadata"]["annotations"] = {"storageclass.kubernetes.io/is-default-class": "true"}
    assert check_stack(VOLUMES, stack(claim, storage_class)) == [(CLASS_URN, delete_message())]


def test_claim_with_empty_class_asks_for_no_class():
    claim = f.pvc()
    claim["spec"]["storageClassName"] = ""
    storage_class = f.storage_class()
    storage_class["reclaimPolicy"] = "Delete"
    storage_class["metadata"]["annotations"] = {"storageclass.kubernetes.io/is-default-class": "true"}
    assert check_stack(VOLUMES, stack(claim, storage_class)) == []


# --- StatefulSets: no volumeClaimTemplates ----------------------------------------------


def claim_template(name="data", labels=None):
    return {"metadata": {"name": name, "labels": labels or {}},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "50Gi"}}}}


TEMPLATE_MESSAGE = (
    "spec.volumeClaimTemplates declares 'data' on a StatefulSet that signs blocks or holds chain data; "
    "mount a separately managed, protected PersistentVolumeClaim instead"
)


def test_signer_statefulset_without_claim_templates_passes():
    assert check(TEMPLATES, f.STATEFUL_SET, f.stateful_set()) == []


def test_signer_statefulset_with_a_claim_template_is_reported():
    props = f.stateful_set()
    props["spec"]["volumeClaimTemplates"] = [claim_template()]
    assert check(TEMPLATES, f.STATEFUL_SET, props) == [TEMPLATE_MESSAGE]


def test_every_template_is_named():
    props = f.stateful_set()
    props["spec"]["volumeClaimTemplates"] = [claim_template(), claim_template("wal")]
    assert check(TEMPLATES, f.STATEFUL_SET, props) == [TEMPLATE_MESSAGE.replace("'data'", "'data', 'wal'")]


def test_signer_label_on_the_pod_template_alone_is_enough():
    props = f.stateful_set()
    props["metadata"]["labels"] = {}
    props["spec"]["volumeClaimTemplates"] = [claim_template()]
    assert check(TEMPLATES, f.STATEFUL_SET, props) == [TEMPLATE_MESSAGE]


def test_non_signer_with_a_chain_data_template_is_reported():
    props = f.stateful_set()
    props["metadata"]["labels"] = {}
    props["spec"]["template"]["metadata"]["labels"] = {}
    props["spec"]["volumeClaimTemplates"] = [claim_template(labels={f.CHAIN_DATA: "true"})]
    assert check(TEMPLATES, f.STATEFUL_SET, props) == [TEMPLATE_MESSAGE]


def test_non_signer_with_chain_data_label_on_the_set_is_reported():
    props = f.stateful_set()
    props["metadata"]["labels"] = {f.CHAIN_DATA: "true"}
    props["spec"]["template"]["metadata"]["labels"] = {}
    props["spec"]["volumeClaimTemplates"] = [claim_template()]
    assert check(TEMPLATES, f.STATEFUL_SET, props) == [TEMPLATE_MESSAGE]


def test_unrelated_statefulset_may_use_claim_templates():
    props = f.stateful_set()
    props["metadata"]["labels"] = {"app.kubernetes.io/name": "prometheus"}
    props["spec"]["template"]["metadata"]["labels"] = {"app.kubernetes.io/name": "prometheus"}
    props["spec"]["volumeClaimTemplates"] = [claim_template()]
    assert check(TEMPLATES, f.STATEFUL_SET, props) == []


def test_signer_label_is_configurable_for_claim_templates():
    props = f.stateful_set()
    props["metadata"]["labels"] = {"example.com/signer": "true"}
    props["spec"]["template"]["metadata"]["labels"] = {}
    props["spec"]["volumeClaimTemplates"] = [claim_template()]
    assert check(TEMPLATES, f.STATEFUL_SET, props) == []
    assert check(TEMPLATES, f.STATEFUL_SET, props, {"signerLabel": "example.com/signer"}) == [TEMPLATE_MESSAGE]
