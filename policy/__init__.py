"""The Pegasus CrossGuard policy pack. Import `policy.policies`; never `policy.__main__`."""
