"""Public p2p reachability: the LoadBalancer shards and their slot arithmetic (`p2p_builder.py`),
the two data planes, ingress-nginx (`ingress.py`, `ingress_builder.py`) and Envoy Gateway
(`gateway.py`, `gateway_builder.py`), and reserved NLB addresses (`shard_addresses.py`).
"""
