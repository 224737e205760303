"""The provider blueprint (design document 003): paid pods with HTTP scale-to-zero, driven by
payment-channel state. `config.py` parses `pegasus:provider`; `manifests.py` reads pod manifests,
`payments.py` reads the payment channels and `paymentstate.py` guards that read; `builder.py`
builds the tenant objects that `tenant_pod.py`, `http_scaling.py`, `metering.py` and
`payment_state.py` wire. The composition is stacks/provider.py.
"""
