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
its default 1 gave the old factor ``v`` exactly. 8, the twelfth calibration promoted
(docs/CALIBRATION.md, "The twelfth calibration's sample, model version 8"): the defaults of its
12 parameters from the medoid of its sample refined by runs (calibration/refine15), the two it
fixed in every case (``soldiers.follower_detection`` 0, ``elites.softline_gap`` 2) as
defaults, and what its cases set moved into the scenario files (the crowds' build-up days, East
Germany's exponential build-up and insiders' plots, Myanmar's documented force); with it, a
stated peak's pilot runs at least to the end of the build-up (changing only runs shorter than
their build-up, which could not size their pool before). After 8, without a bump:
``soldiers.min_agents`` (soldiers off the map), whose default 0 keeps the map's soldiers only,
and the coded campaigns' ``patronage``, which the default ``case.patronage_weight`` 0 leaves
unused (calibrations that switch them on, the thirteenth's waves, record it in their specs).
9, the thirteenth calibration promoted (docs/CALIBRATION.md, "The thirteenth calibration's
sample, model version 9"): the defaults of its 12 parameters from the medoid of its sample
refined by runs (calibration/refine16; ``elites.peer_weight`` among them,
``elites.steady_margin`` held at version 8's medoid), and the five cases' files set
``soldiers.min_agents`` 1000, as every case of that calibration did. The registry's
``soldiers.min_agents`` and the coding's ``case.patronage_weight`` keep their defaults 0: the
validation spec's campaign table sets both as the calibration did (a coded campaign's default
is still the map's soldiers and one client-follow share). 10, the ruler's concession and the
elites' armed threat promoted (docs/CALIBRATION.md, "Winning without the force"): the defaults
``regime.concession_nonviolent`` 0.0005, ``regime.concession_violent`` 0.0002,
``regime.concession_elasticity`` 0 and ``elites.armed_threat`` 0.5 from the concession fit's
winner (calibration/concession/fit_threat05.json), fitted on the recorded validation runs of
version 9's sample; the docking scenarios (``epstein_1``, ``granovetter``) switch the concession
off, as their published models have none. With both rates and the threat at version 9's
values (0; the elasticity is then unread) a run gives version 9's numbers.
"""

#: Bump when a run's numbers change, with the golden baseline (see this module's docstring).
MODEL_VERSION = "10"

#: Earlier model versions whose calibrated samples this version still reads, with why: a version
#: that changed only defaults which every vector of a sample sets gives, for a run that sets them,
#: the same numbers (``tests/test_calibrated_defaults.py`` reruns committed runs of the sample's
#: last wave and compares every target). Anything else that changes numbers makes a sample stale:
#: leave it out of here and calibrate again.
SAMPLE_COMPATIBLE: dict[str, str] = {
    "8": (
        "version 9 changed only defaults: those of the thirteenth calibration's 12 parameters (to "
        "its refined sample's medoid) and the five cases' files (soldiers.min_agents 1000, which "
        "every case of the thirteenth calibration set). A version-8 sample that varies all 12 "
        "(SAMPLE_REQUIRES), run on cases that set the rest as the thirteenth calibration did "
        "(its campaign table: soldiers.min_agents 1000 and case.patronage_weight 1), gives the "
        "same numbers; older samples (versions 4 to 7, the first to twelfth calibrations) were "
        "made with other values of these defaults (elites.peer_weight among them) and are "
        "refused: their runs and reports describe the versions they name. Version 10 added "
        "the ruler's concession and the elites' armed threat (four defaults no vector sets), "
        "fitted after the sample on its own validation runs (calibration/concession): the "
        "sample is read with them on, as they were fitted; with both rates and the threat at "
        "version 9's values (0) its runs give version 9's numbers"
    ),
}

#: Columns a sample of a compatible earlier version must carry to be read: a sample without
#: them was fitted with a default this version changed.
SAMPLE_REQUIRES: dict[str, tuple[str, ...]] = {
    "8": (
        "belief.intercept",
        "soldiers.threshold",
        "elites.loyalty_sd",
        "belief.w_armed",
        "belief.w_protest",
        "soldiers.choice_noise",
        "elites.peer_weight",
        "soldiers.w_legitimacy",
        "elites.plot_signal",
        "elites.plot_protest_gain",
        "soldiers.moral_cost",
        "soldiers.nonviolence_weight",
    ),
}
