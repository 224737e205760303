"""The cluster a blueprint runs on, and its cloud pieces: EKS, GKE or an existing cluster
(`cluster.py` wires, `cluster_builder.py` builds), the EKS VPC (`eks_network.py`), AWS IAM helpers
(`aws_util.py`), and Karpenter (`karpenter.py`, `karpenter_builder.py`).
"""
