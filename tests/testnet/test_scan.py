"""checkov over the testnet example stacks' manifests: every failure fixed or explained in
security/checkov-skips-testnet.yaml, and every explanation still needed."""

from __future__ import annotations

import os
import tempfile

from tools import scan

SKIPS = os.path.join(scan.PROJECT, "security", "checkov-skips-testnet.yaml")
STACKS = ("testnet", "testnet-cloud")


def test_checkov_on_the_testnet_examples_passes_with_only_reasoned_skips():
    skips = scan.load_skips(SKIPS)
    assert all(len(s["reason"].split()) >= 8 for s in skips)
    with tempfile.TemporaryDirectory(prefix="pegasus-scan-testnet-") as tmp:
        scan.write_manifests(tmp, STACKS)
        result = scan.classify(scan.run_checkov(tmp), skips)
    assert [(f.check, f.resource) for f in result.unexplained] == []
    assert result.unused_skips == []
    assert result.parsing_errors == 0
    # The network policy covers every testnet pod (CKV2_K8S_6 is not among the failures).
    assert "CKV2_K8S_6" not in {f.check for f in result.failed}
    assert result.passed > 500
