"""The model's version: which numbers a run produces, as opposed to which package ran it.

``MODEL_VERSION`` changes whenever the model's numbers are meant to change: the golden baseline
(``tests/baseline/``) is then regenerated with ``scripts/update_baseline.py``, and the version is
bumped in the same commit. (A regeneration that only adds a field or a parameter whose default
keeps every number, as when a constant becomes a registry parameter, needs no bump: the sweep id
changes anyway, because it hashes the resolved scenario.) It goes into every ``summary.json``
(field ``model_version``) and into the hash of every sweep id, so a changed model starts a new
sweep instead of resuming an old one and mixing rows of two models. The package version
(``defection.__version__``) says which release ran; it does not change with the model.

History: 3, the measurement model (issue #10, section 1); 4, the registry defaults of the
calibrated parameters from the calibrated sample (issue #10, section 4); 5, the second
calibration: the defaults of its 12 parameters from its sample's medoid (among them the daily
random-utility scales of soldiers and elites, which were 0, off) and ``elites.steady_start`` on
(docs/CALIBRATION.md, "Model structure"); 6, the same 12 defaults from the medoid of that sample
refined by runs (30 of its 115 vectors, calibration/refine5; docs/CALIBRATION.md, "A run-based
refinement of wave5_3"); 7, what a failed coup does: its plotters can be drawn among the
hard-liners only (the coup event's ``faction``, set in ``soviet_1991``), and purged plotters
count in the public signal as elites who broke with the ruler (``rules.public_break_share``;
docs/CALIBRATION.md, "A failed coup as a public break"). Only runs with a coup event change.
Insiders' plots (``elites.plots``, ``regime.party_removal``) came after 7 without a bump: off by
default, they change no number unless a run switches them on. So did
``soldiers.follower_detection`` (a company that follows its commander over is detected at that
share of the lone leaver's chance): its default 1 keeps every number. So did
``soldiers.nonviolence_weight`` (how much of the moral cost rests on the crowd's nonviolence):
its default 1 gives the old factor ``v`` exactly.
"""

#: Bump when a run's numbers change, with the golden baseline (see this module's docstring).
MODEL_VERSION = "7"

#: Earlier model versions whose calibrated samples this version still reads, with why: a version
#: that changed only defaults which every vector of a sample sets gives, for a run that sets them,
#: the same numbers (``tests/test_calibrated_defaults.py`` reruns committed runs of the sample's
#: last wave and compares every target). Anything else that changes numbers makes a sample stale:
#: leave it out of here and calibrate again.
SAMPLE_COMPATIBLE: dict[str, str] = {
    "4": (
        "model versions 5 and 6 changed only defaults: those of the second calibration's 12 "
        "parameters (to its sample's medoid; at 6, the medoid of the sample refined by runs) "
        "and elites.steady_start (to on, at 5). The second calibration's "
        "waves ran under version 4 with every one of them set (the 12 by each vector, the steady "
        "start by every case), so its sample gives the same numbers; a version-4 sample that "
        "does not vary both choice-noise scales (the first calibration's) is refused "
        "(SAMPLE_REQUIRES). Version 7 changed what a failed coup does, and only soviet_1991 "
        "among the cases and none of the NAVCO campaigns has a coup event: every other run of "
        "the sample gives the same numbers, soviet_1991's do not (the sample's Soviet clauses "
        "describe version 6; docs/CALIBRATION.md, 'A failed coup as a public break')"
    ),
    "6": (
        "version 7 changed only what a failed coup does (the coup event's faction field and "
        "the failed plotters in the public signal), and only soviet_1991 among the cases and "
        "none of the NAVCO campaigns has a coup event: a version-6 sample (the third to sixth "
        "calibrations' waves and refinements) gives the same numbers on every other run; its "
        "Soviet runs describe version 6 (docs/CALIBRATION.md, 'A failed coup as a public break')"
    ),
}

#: Columns a sample of a compatible earlier version must carry to be read: a sample without
#: them was fitted with a mechanism off that this version switches on.
SAMPLE_REQUIRES: dict[str, tuple[str, ...]] = {
    "4": ("soldiers.choice_noise", "elites.choice_noise"),
}
