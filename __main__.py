"""Pegasus: read the config once, then run the composition it names."""

import pulumi

from pegasus import config
from pegasus.errors import PegasusError
import stacks

try:
    stacks.compose(config.load())
except PegasusError as error:
    # Bad input is the user's to fix: one clear sentence, no traceback.
    raise pulumi.RunError(str(error)) from None
