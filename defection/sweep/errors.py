"""The sweep's error, in a module that imports nothing, so light commands can catch it."""


class SweepError(Exception):
    """A sweep cannot start or continue (bad backend, database in use); the message says why."""
