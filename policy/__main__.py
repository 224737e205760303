"""Entry point of the Pegasus policy pack: `pulumi preview --policy-pack policy`.

Only assembly lives here. `PolicyPack(...)` starts the analyzer's gRPC server and never
returns, so nothing may import this module; tests and tools use `policy.policies`.
"""

from pulumi_policy import PolicyPack

# Pulumi runs this file with the pack directory on sys.path, so the package is `policies`;
# `python -m policy` from the project root imports it through `policy`.
if __package__:
    from .policies import ALL_POLICIES, PACK_ENFORCEMENT_LEVEL, PACK_NAME
else:
    from policies import ALL_POLICIES, PACK_ENFORCEMENT_LEVEL, PACK_NAME

PolicyPack(
    name=PACK_NAME,
    enforcement_level=PACK_ENFORCEMENT_LEVEL,
    policies=ALL_POLICIES,
)
