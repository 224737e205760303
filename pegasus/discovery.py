"""Alias kept for stacks created before the layout move (issue 25).

A dynamic provider is pickled by reference into the state (`__provider`), so a NetworkEntry
created before the move names `pegasus.discovery.NetworkEntryProvider`, and `pulumi refresh`
or a delete unpickles it from there. The code lives in components/spacemesh/discovery.py.
"""

from components.spacemesh.discovery import NetworkEntryProvider  # noqa: F401
