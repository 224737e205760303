"""Alias package kept for stacks created before the layout move (see paymentstate.py)."""
