"""The sweep's errors, in a module that imports nothing, so light commands can catch them."""


class SweepError(Exception):
    """A sweep cannot start or continue (bad backend, database in use); the message says why."""


class BadDatabase(SweepError):
    """The results database is not a sweep database, or is damaged (bad input: exit 2)."""

    def __init__(self, path: object, detail: str = ""):
        first = detail.strip().splitlines()[0] if detail.strip() else ""
        super().__init__(
            f"not a sweep database or damaged: {path}" + (f" ({first})" if first else "")
        )
