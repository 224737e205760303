"""Pure builders for the testnet's image repositories (document 001, "Artifact Builds": every
commit of designated branches is built and stored, so deployments fetch a known image).

Per-commit builds pile up; the repository keeps the newest `keepLast` images and lets the
registry delete the rest: an ECR lifecycle policy, or Artifact Registry cleanup policies.
Tags are immutable, so a commit's tag always names the image built from it.
"""

from __future__ import annotations

import json

from components.testnet.config import Registry


def ecr_repository_args(name: str) -> dict:
    return {
        "name": name,
        "image_tag_mutability": "IMMUTABLE",
        "image_scanning_configuration": {"scan_on_push": True},
        "encryption_configurations": [{"encryption_type": "KMS"}],
        "force_delete": False,
    }


def ecr_lifecycle_policy(keep_last: int) -> str:
    """ECR evaluates rules by priority; one rule expiring every image beyond the newest N."""
    return json.dumps({"rules": [{
        "rulePriority": 1,
        "description": f"keep the newest {keep_last} images",
        "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": keep_last},
        "action": {"type": "expire"},
    }]}, sort_keys=True)


def gar_repository_args(name: str, registry: Registry) -> dict:
    """Artifact Registry applies KEEP before DELETE: everything is deletable except the newest N."""
    return {
        "repository_id": name,
        "format": "DOCKER",
        "location": registry.region,
        "project": registry.project,
        "docker_config": {"immutable_tags": True},
        "cleanup_policy_dry_run": False,
        "cleanup_policies": [
            {"id": "keep-newest", "action": "KEEP", "most_recent_versions": {"keep_count": registry.keep_last}},
            {"id": "delete-older", "action": "DELETE", "condition": {"tag_state": "ANY"}},
        ],
    }
