"""The shared parts (kube, cluster, p2p, monitoring, chain) and one package per blueprint
(testnet, spacemesh, provider, fleet); docs/architecture.md maps them."""
