"""The real-engine harness: a toolchain built from Go modules, a local kwok cluster, and the
environment for `pulumi preview` and `pulumi up` against it. See docs/e2e.md, "The real engine here"."""
