"""The fleet blueprint's runtime code: what runs on the VMs and in the watcher functions,
and the pure time and capacity rules the program shares with them.

`capacity.py` and `watcher.py` use the standard library only: they are shipped verbatim into
cloud-init (the agent calls `python3 capacity.py`) and into the watcher functions' archives,
so the program, the agent and the watcher resolve desired capacity with the same code.
"""
