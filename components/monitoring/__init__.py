"""Monitoring, alerts and logs: kube-prometheus-stack and the probes (`monitoring.py`,
`monitoring_builder.py`), chain alert rules (`alerts_builder.py`), Envoy dashboards
(`gateway_monitoring_builder.py`), and fluent-bit (`logging.py`, `logging_builder.py`).
"""
