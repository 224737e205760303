"""The SDK's floor: register N bare resources and nothing else (config bench:count).

bench:kind "deployment" registers minimal typed Deployments, the "bare resource" our
measurements in ../shared/PULUMI-OFFLINE.md are quoted in (4.3 ms each on 2 vCPU);
"empty" registers custom resources with no inputs at all.
"""

import pulumi

config = pulumi.Config("bench")
count = int(config.require("count"))

if config.get("kind") == "empty":
    for i in range(count):
        pulumi.CustomResource("pegasus:bench:Bare", f"bare-{i}", {})
else:
    import pulumi_kubernetes as k8s

    for i in range(count):
        labels = {"app": f"bare-{i}"}
        k8s.apps.v1.Deployment(
            f"bare-{i}",
            metadata={"name": f"bare-{i}", "namespace": "bench"},
            spec={
                "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}},
            },
        )
