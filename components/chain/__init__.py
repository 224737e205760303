"""Chain workloads: the shared pod and workload builder (`workload_builder.py`), the platform
chain node (`chain_node.py`, `chain_node_builder.py`), one chainlet (`chainlet.py`,
`chainlet_builder.py`), its namespace and volume (`chain_data.py`), and the ChainState resource
that guards a chain read (`chain_state.py`).
"""
