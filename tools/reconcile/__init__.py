"""python -m tools.reconcile: run a sharded validator fleet (pegasus/sharding.py) on Pulumi's
Automation API. See docs/sharding.md."""
