"""The model's version: which numbers a run produces, as opposed to which package ran it.

``MODEL_VERSION`` changes whenever the model's numbers are meant to change, that is whenever the
golden baseline (``tests/baseline/``) is regenerated with ``scripts/update_baseline.py``: bump it
in the same commit. It goes into every ``summary.json`` (field ``model_version``) and into the
hash of every sweep id, so a changed model starts a new sweep instead of resuming an old one and
mixing rows of two models. The package version (``defection.__version__``) says which release
ran; it does not change with the model.
"""

#: Bump together with the golden baseline (see this module's docstring).
MODEL_VERSION = "2"
