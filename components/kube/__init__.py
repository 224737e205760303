"""Kubernetes plumbing every package uses: a pinned Helm chart and where a release finds it
(`chart.py`: its repository or the local mirror, `charts.localDir`), and helpers that turn a
builder's plain manifest into typed resource arguments (`k8s_util.py`).
"""
