"""Alias kept for stacks created before the layout move (issue 25).

A dynamic provider is pickled by reference into the state (`__provider`), so a PaymentState
created before the move names `pegasus.provider.paymentstate.PaymentStateProvider`, and
`pulumi refresh` or a delete unpickles it from there. The code lives in
components/provider/paymentstate.py.
"""

from components.provider.paymentstate import PaymentStateProvider  # noqa: F401
