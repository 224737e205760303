"""The real-engine harness: a toolchain built from Go modules, a local kwok cluster, and the
environment for `pulumi preview` and `pulumi up` against it. See the README, "The real engine here"."""
