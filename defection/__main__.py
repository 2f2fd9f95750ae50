"""Allow ``python -m defection``."""

from defection.cli import app

app(prog_name="defection")
