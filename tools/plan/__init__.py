"""The offline plan: what `pulumi up` would create, without the Pulumi CLI or a cloud account."""
