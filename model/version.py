"""The model's version: which numbers a run produces, as opposed to which package ran it.

``MODEL_VERSION`` changes whenever the model's numbers are meant to change: the golden baseline
(``tests/baseline/``) is then regenerated with ``scripts/update_baseline.py``, and the version is
bumped in the same commit. (A regeneration that only adds a field or a parameter whose default
keeps every number, as when a constant becomes a registry parameter, needs no bump: the sweep id
changes anyway, because it hashes the resolved scenario.) It goes into every ``summary.json``
(field ``model_version``) and into the hash of every sweep id, so a changed model starts a new
sweep instead of resuming an old one and mixing rows of two models. The package version
(``defection.__version__``) says which release ran; it does not change with the model.
"""

#: Bump when a run's numbers change, with the golden baseline (see this module's docstring).
MODEL_VERSION = "3"
