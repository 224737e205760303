"""The shared core: config framework (`config/`), names and labels, errors, slot arithmetic, the
chain reader (`chain/`), the slot ledger and the ChainState provider. No blueprint code lives here."""
