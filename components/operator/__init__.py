"""Sharded mode past one machine: PKO Stack objects for the platform and shard stacks, and a
watcher that requests their reconciles (docs/operator.md)."""
