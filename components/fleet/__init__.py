"""The fleet blueprint (design document 004): autoscaled P2P helper fleets. `config.py` parses
`pegasus:fleet`; each cloud is `<cloud>.py` (wires) and `<cloud>_builder.py` (builds), for aws,
gcp, azure and alibaba; `cc.py` is the control center and `agent_builder.py` the VM agent.
`capacity.py`, `timing.py` and `watcher.py` are the runtime code and the pure rules the program
shares with the VMs and the watcher functions. The composition is stacks/fleet.py.

`capacity.py` and `watcher.py` use the standard library only: they are shipped verbatim into
cloud-init (the agent calls `python3 capacity.py`) and into the watcher functions' archives,
so the program, the agent and the watcher resolve desired capacity with the same code.
"""
