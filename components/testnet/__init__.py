"""The testnet blueprint (design document 001): self-service multi-region Mina testnets.
`config.py` parses `pegasus:testnet` into `settings.py`'s types; `builder.py` (daemons),
`stateless_builder.py` (SNARK workers, test services), `secrets_builder.py`, `archive_builder.py`,
`monitoring_builder.py` and `registry_builder.py` build; the modules without the suffix wire.
The composition is stacks/testnet.py.
"""
