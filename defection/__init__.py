"""defection: an agent-based model of regime stability and military defection, on Mesa."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("defection")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

__all__ = ["__version__"]
