"""Image repositories for per-commit builds (components/testnet/registry_builder.py)."""

from __future__ import annotations

from typing import Optional

import pulumi

from components.testnet import registry_builder as rb
from components.testnet.config import Registry


class ImageRegistry(pulumi.ComponentResource):
    urls: dict[str, pulumi.Output[str]]
    """Repository name -> the URL images are pushed to."""

    def __init__(self, name: str, registry: Registry, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("pegasus:registry:ImageRegistry", name, None, opts)
        self.urls = {}
        if registry.provider == "ecr":
            import pulumi_aws as aws

            provider = aws.Provider(f"{name}-aws", region=registry.region, opts=pulumi.ResourceOptions(parent=self))
            child = pulumi.ResourceOptions(parent=self, provider=provider)
            for repo in registry.repositories:
                key = repo.replace("/", "-")
                r = aws.ecr.Repository(f"{name}-{key}", **rb.ecr_repository_args(repo), opts=child)
                aws.ecr.LifecyclePolicy(f"{name}-{key}-lifecycle", repository=r.name,
                                        policy=rb.ecr_lifecycle_policy(registry.keep_last), opts=child)
                self.urls[repo] = r.repository_url
        else:
            import pulumi_gcp as gcp

            provider = gcp.Provider(f"{name}-gcp", project=registry.project, region=registry.region,
                                    opts=pulumi.ResourceOptions(parent=self))
            child = pulumi.ResourceOptions(parent=self, provider=provider)
            for repo in registry.repositories:
                key = repo.replace("/", "-")
                r = gcp.artifactregistry.Repository(f"{name}-{key}", **rb.gar_repository_args(key, registry), opts=child)
                self.urls[repo] = pulumi.Output.concat(registry.region, "-docker.pkg.dev/", registry.project, "/", r.repository_id)
        self.register_outputs({"urls": self.urls})
