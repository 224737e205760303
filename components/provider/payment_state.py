"""The PaymentState resource: the payment read, recorded and guarded (see components/provider/paymentstate.py)."""

from __future__ import annotations

from typing import Any, Optional

import pulumi
import pulumi.dynamic

from components.provider.paymentstate import PaymentStateProvider

# The type the stack's state records it under, as readStackResourceOutputs returns it.
PAYMENT_STATE_TYPE = "pulumi-python:dynamic/pegasus:PaymentState"


class PaymentState(pulumi.dynamic.Resource, module="pegasus", name="PaymentState"):
    block: pulumi.Output[int]

    def __init__(self, name: str, props: dict[str, Any], opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(PaymentStateProvider(), name,
                         {**props, "podCount": None, "fundedCount": None, "exhaustedCount": None}, opts)
