"""The spacemesh blueprint (design document 002): Spacemesh networks from bootstrap to web
services. `config.py` parses `pegasus:spacemesh`; `network.py` wires the nodes and PoETs
(`builder.py`, `workload_builder.py`), `cloud.py` the node pool and networks.json publishing
(`publish_builder.py`, `discovery.py`), `ops.py` the tools and web (`ops_builder.py`).
The composition is stacks/spacemesh.py.
"""
