"""NAVCO campaigns as calibration cases, and the aggregate NAVCO targets (issue #10, sections 2, 4).

**The case source** ``navco`` (registered with :func:`~defection.calibration.cases.register_source`
when this module is imported, which :mod:`defection.calibration.spec` does). One ``[[cases]]``
table::

    [[cases]]
    name = "navco"
    source = "navco"
    campaigns = "fit"          # every fitting-set regime-change campaign with a participation
                               # figure (default), or a list of NAVCO IDs (each must be one)
    draws = 2                  # codings per campaign: the unknown features drawn from their priors
    set = {}                   # scenario overrides of every coded campaign (optional)
    weight = 1.0               # the share of the design's runs of the whole table

stands for ``campaigns x draws`` cases named ``<name>_<ID>_d<k>`` (group ``<name>``): the k-th
coding of campaign ID (:func:`defection.calibration.casecode.coded_campaign`, the same everywhere).
The design gives each run one of them, so a run is a (parameter vector, campaign, coding draw,
seed) tuple drawn jointly: every campaign is not run for every parameter vector (the budget of
issue #10 section 4). The table's weight is split evenly over its cases. A test-set campaign is
refused by :func:`~defection.calibration.casecode.navco_features` and this source keeps it so: a
listed test-set ID is an error naming it, and the default list is read from the fitting set only.
``campaigns = "test"`` (every runnable test-set campaign), or a listed test-set ID, is accepted in
one place only: a check spec with ``check.test_set = true`` (``defection validation --test-set``),
whose cases are built inside :func:`~defection.calibration.cases.allow_test_set`. Screens and
waves refuse it.

**Features** (the emulators' case inputs, :data:`FEATURES`): participation as log10 of the share,
the method (1 violent), REGVIOL, REGAID, STATESUP, the violent flank, and the drawn force-structure
features of that coding.

**Mapping coefficients** (``case.*``, :data:`~defection.calibration.casecode.MAPPING`) act when the
scenario is written from the features, not in the model: a coded case carries a picklable
:class:`NavcoBuilder`, and the worker rebuilds the run's scenario with the run's coefficient values
(:class:`~defection.calibration.cases.CaseRunner`). A case table's ``set`` may fix a coefficient
(its value holds over the run's).

**Aggregate targets.** A ``[[targets]]`` table with ``navco = {table = ..., cell = ...}`` is one
cell of the data's tables (``navco.targets(navco.fitting_units())``): ``defect_by_bin`` (cell a
participation bin), ``defect_by_method`` (cell a method), ``success_by_method`` (cell a method:
P(SUCCESS) of the finished campaigns), ``success_gap`` (cell a method: P(SUCCESS | DEFECT) -
P(SUCCESS | no DEFECT)) or ``success_and_defect`` (cell a method: the share of its finished
campaigns with both SUCCESS and DEFECT, the joint that with the two others fixes the gap). Its
observed value is the data's and its observation sd the Wilson interval's half-width over 1.645
(the 90 % interval as +-1.645 sd). How the model's side is computed and emulated:
:func:`cell_cases`, :func:`model_rates` and docs/CALIBRATION.md.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from defection.calibration import casecode, navco
from defection.calibration.cases import (
    Case,
    CaseBase,
    _validate,
    is_test_set_allowed,
    register_source,
    split_overrides,
)
from defection.model.scenario import Scenario, ScenarioError

__all__ = [
    "FEATURES",
    "NAVCO_TABLES",
    "NavcoBuilder",
    "NavcoCase",
    "campaign_features",
    "cell_cases",
    "data_cell",
    "model_rates",
]

#: Features drawn for a coded campaign that only some codings use, with the mapping coefficient
#: that switches each on: an emulator input only where a case table's ``set`` fixes it above 0.
OPTIONAL_FEATURES = {"patronage": "case.patronage_weight"}

#: The emulators' inputs of a coded campaign, in order (:func:`campaign_features`): the
#: participation (log10), the method, and every feature a coder may leave to a prior, but for
#: the :data:`OPTIONAL_FEATURES` (appended when used).
FEATURES: tuple[str, ...] = (
    "log10_participation",
    "violent",
    *(k for k in casecode.PRIORS if k not in OPTIONAL_FEATURES),
)

#: The data tables an aggregate target may name, and what its cell is.
NAVCO_TABLES = {
    "defect_by_bin": "a participation bin",
    "defect_by_method": "a method",
    "success_by_method": "a method",
    "success_gap": "a method",
    "success_and_defect": "a method",
}

#: The per-run measure a cell of each table averages (``success_gap`` is not a mean of one).
CELL_MEASURES = {
    "defect_by_bin": "navco_defect",
    "defect_by_method": "navco_defect",
    "success_by_method": "navco_success",
    "success_gap": "navco_success",
    "success_and_defect": "navco_success_defect",
}


class NavcoCase(CaseBase):
    """A ``[[cases]]`` table of source ``navco``."""

    source: Literal["navco"] = "navco"
    campaigns: Literal["fit", "test"] | list[Annotated[int, Field(ge=1)]] = "fit"
    draws: Annotated[int, Field(ge=1, le=100)] = 1
    set: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True)
class NavcoBuilder:
    """Writes one coded campaign's scenario with given mapping coefficients (picklable).

    Attributes:
        drawn: The campaign's features with the unknown ones drawn.
        coded: The features as NAVCO codes them (unknown ones ``None``), for the sources table.
        overrides: The case table's ``set``, applied after the coefficients: ``case.*`` names
            fix mapping coefficients (over the run's), the rest are model parameters.
        origin: Origin named in the scenario's errors.
    """

    drawn: casecode.Features
    coded: casecode.Features
    overrides: tuple[tuple[str, Any], ...]
    origin: str

    def __call__(self, coeffs: dict[str, float] | None = None) -> Scenario:
        """The scenario with the coefficients ``coeffs`` (by ``case.<name>``; else defaults)."""
        from defection.model.scenario import from_dict

        fixed, model_sets = split_overrides(dict(self.overrides))
        try:
            doc = casecode.scenario_doc(self.drawn, {**(coeffs or {}), **fixed}, self.coded)
        except casecode.CaseError as exc:
            raise ScenarioError([f"{self.origin}.set: {exc}"]) from None
        sc = from_dict(doc, self.origin)
        if model_sets:
            sc = sc.with_overrides(model_sets, origin=f"{self.origin}.set")
        return sc


def campaign_features(
    drawn: casecode.Features, fixed: dict[str, Any] | None = None
) -> dict[str, float]:
    """The emulator inputs (:data:`FEATURES`) of one coding of a campaign.

    ``fixed``: the case table's ``set`` (already checked by the case's build); an optional
    feature whose coefficient it fixes above 0 (:data:`OPTIONAL_FEATURES`) is an input too. A
    drawn feature the scenario does not use is no input: it would only add noise (and would
    change the emulators of waves made before it).
    """
    d = asdict(drawn)
    out = {
        "log10_participation": math.log10(drawn.participation),
        "violent": float(drawn.method == "violent"),
    }
    for name in FEATURES[2:]:
        out[name] = float(d[name])
    coeffs = casecode.coefficients(split_overrides(fixed or {})[0])
    for name, coeff in OPTIONAL_FEATURES.items():
        if coeffs[coeff] > 0:
            out[name] = float(d[name])
    return out


def campaign_scenario(cid: int, draw: int = 0, coeffs: dict[str, float] | None = None) -> Scenario:
    """The scenario of a NAVCO fitting campaign's coding ``draw``, as a ``navco`` case runs it.

    The same coding as case ``navco_<cid>_d<draw>`` of a spec's ``navco`` table with no ``set``
    (the unknown features drawn from :data:`casecode.DRAW_ENTROPY`, the campaign and the draw),
    written with the mapping coefficients ``coeffs`` (by ``case.<name>``; defaults otherwise).

    Raises:
        casecode.CaseError: The campaign is not in the fitting set or cannot be run.
    """
    coded = casecode.navco_features(cid, _units(), _split(), allow_test=False)
    rng = np.random.default_rng(np.random.SeedSequence([casecode.DRAW_ENTROPY, cid, draw]))
    drawn = casecode.draw_unknowns(coded, rng)
    return NavcoBuilder(drawn, coded, (), f"navco campaign {cid}, coding {draw}")(coeffs)


@cache
def _units() -> pd.DataFrame:
    return navco.regime_change(navco.campaigns(navco.load_rows()))


@cache
def _split() -> pd.DataFrame:
    return navco.read_split()


def runnable_fit_ids() -> list[int]:
    """Fitting-set regime-change campaigns with a participation figure, ascending."""
    units = navco.fitting_units(split=_split())
    ok = units["share"].notna() & (units["PARTICIPATION"] > 0)
    return sorted(int(i) for i in units.loc[ok, navco.ID])


def runnable_test_ids() -> list[int]:
    """Test-set regime-change campaigns with a participation figure, ascending.

    Only a test-set check spec calls it (``campaigns = "test"`` inside
    :func:`~defection.calibration.cases.allow_test_set`); it reads nothing but the IDs.

    Raises:
        ScenarioError: Called outside :func:`~defection.calibration.cases.allow_test_set`.
    """
    if not is_test_set_allowed():
        raise ScenarioError(["the test set is read only by a test-set check spec"])
    split = _split()
    test_ids = set(split.loc[split["set"] == "test", navco.ID])
    units = _units()
    units = units[units[navco.ID].isin(test_ids)]
    ok = units["share"].notna() & (units["PARTICIPATION"] > 0)
    return sorted(int(i) for i in units.loc[ok, navco.ID])


def _navco_source(table: dict[str, Any], origin: str, where: str, base_dir: Path | None) -> list:
    """Build the cases of one ``navco`` table (see the module docstring)."""
    spec = _validate(NavcoCase, table, where)
    problems = []
    if spec.features:
        problems.append(f"{where}.features: a navco table's features are coded from the data")
    if spec.navco_id is not None:
        problems.append(f"{where}.navco_id: a navco table names its campaigns in `campaigns`")
    allow_test = is_test_set_allowed()
    if spec.campaigns == "test" and not allow_test:
        raise ScenarioError(
            [
                f'{where}.campaigns: "test" (the NAVCO test set) is run only by a check spec that '
                "says `check.test_set = true` (defection validation --test-set); screens, waves "
                "and other checks never see it"
            ]
        )
    if spec.campaigns == "fit":
        ids = runnable_fit_ids()
    elif spec.campaigns == "test":
        ids = runnable_test_ids()
    else:
        ids = list(dict.fromkeys(spec.campaigns))
    if not ids:
        problems.append(f"{where}.campaigns: name at least one campaign")
    cases: list[Case] = []
    n = len(ids) * spec.draws
    for cid in ids:
        try:
            coded = casecode.navco_features(cid, _units(), _split(), allow_test=allow_test)
        except casecode.CaseError as exc:
            problems.append(f"{where}.campaigns: {exc}")
            continue
        for k in range(spec.draws):
            rng = np.random.default_rng(np.random.SeedSequence([casecode.DRAW_ENTROPY, cid, k]))
            drawn = casecode.draw_unknowns(coded, rng)
            name = f"{spec.name}_{cid}_d{k}"
            builder = NavcoBuilder(drawn, coded, tuple(sorted(spec.set.items())), f"{where}:{name}")
            try:
                sc = builder()
            except ScenarioError as exc:
                problems += [f"{where}.set: {line}" for line in exc.problems]
                break
            cases.append(
                Case(
                    name=name,
                    scenario=sc,
                    features=campaign_features(drawn, spec.set),
                    weight=spec.weight / n,
                    source="navco",
                    navco_id=cid,
                    describe={"table": spec.name, "navco_id": cid, "draw": k},
                    group=spec.name,
                    builder=builder,
                )
            )
    if problems:
        raise ScenarioError(list(dict.fromkeys(problems)))
    # the table as given, once, for the manifest and the hash
    cases[0].describe = cases[0].describe | {"table_spec": spec.model_dump()}
    return cases


register_source("navco", _navco_source)


# ------------------------------------------------------------------------------------------------
# aggregate targets: the data's cell and the cases it averages over
# ------------------------------------------------------------------------------------------------


@cache
def _data_tables() -> dict[str, pd.DataFrame]:
    return navco.targets(navco.fitting_units(split=_split()))


#: z of a two-sided 90 % interval: a Wilson interval's half-width over Z is the sd it stands for.
Z90 = 1.6448536269514722


def data_cell(table: str, cell: str, tables: dict[str, pd.DataFrame] | None = None) -> dict:
    """The data's value of one cell and its observation sd.

    Args:
        table: A key of :data:`NAVCO_TABLES`.
        cell: A bin label (``defect_by_bin``) or a method.
        tables: ``navco.targets(...)``'s tables (the fitting set's by default).

    Returns:
        ``observed``, ``obs_sd`` (half the 90 % Wilson width over 1.645; for ``success_gap`` the
        two rates' sds combined as independent) and ``n`` (campaigns behind it). A
        ``success_and_defect`` cell is the share of the method's finished campaigns with SUCCESS
        and DEFECT.

    Raises:
        KeyError: No such table or cell, or an empty cell.
    """
    t = _data_tables() if tables is None else tables
    if table == "success_and_defect":
        s = t["success_by_defect"]
        s = s[s["method"].astype(str) == cell]
        n = int(s["n"].sum())
        if n == 0:
            raise KeyError(f"success_and_defect: method {cell!r} has no finished campaigns")
        k = int(s.loc[s["DEFECT"] == 1, "k"].sum())
        lo, hi = navco.wilson_interval(k, n)
        return {"observed": k / n, "obs_sd": (hi - lo) / 2 / Z90, "n": n}
    if table == "success_gap":
        s = t["success_by_defect"]
        s = s[s["method"].astype(str) == cell]
        if len(s) != 2 or (s["n"] == 0).any():
            raise KeyError(f"success_gap: method {cell!r} has no campaigns with and without DEFECT")
        with_d = s[s["DEFECT"] == 1].iloc[0]
        without = s[s["DEFECT"] == 0].iloc[0]
        sd = math.hypot((with_d["hi"] - with_d["lo"]) / 2, (without["hi"] - without["lo"]) / 2)
        return {
            "observed": float(with_d["p"] - without["p"]),
            "obs_sd": sd / Z90,
            "n": int(with_d["n"] + without["n"]),
        }
    col = "bin" if table == "defect_by_bin" else "method"
    d = t[table]
    row = d[d[col].astype(str) == cell]
    if row.empty or int(row["n"].iloc[0]) == 0:
        raise KeyError(f"{table}: no cell {cell!r}")
    r = row.iloc[0]
    return {
        "observed": float(r["p"]),
        "obs_sd": float(r["hi"] - r["lo"]) / 2 / Z90,
        "n": int(r["n"]),
    }


def _unit_facts() -> pd.DataFrame:
    u = navco.fitting_units(split=_split())
    return u.set_index(navco.ID)[["bin", "method", "finished"]]


def cell_cases(table: str, cell: str, cases: list[Case], facts: pd.DataFrame | None = None) -> list:
    """The cases (codings of campaigns) an aggregate cell averages over.

    ``defect_by_bin``: the campaigns whose NAVCO bin is ``cell``; ``defect_by_method``: whose
    method is ``cell``; ``success_by_method``, ``success_gap`` and ``success_and_defect``: whose
    method is ``cell`` and that finished (ongoing campaigns are out of the data's success
    rates). Campaigns with no participation figure are not run, so the model's method cells lack
    them (the data's include them).
    """
    facts = _unit_facts() if facts is None else facts
    out = []
    for c in cases:
        if c.navco_id is None or c.navco_id not in facts.index:
            continue
        f = facts.loc[c.navco_id]
        if table == "defect_by_bin":
            ok = str(f["bin"]) == cell
        else:
            ok = str(f["method"]) == cell and (table == "defect_by_method" or bool(f["finished"]))
        if ok:
            out.append(c.name)
    return out


def model_rates(runs: pd.DataFrame, facts: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """The model's side of the NAVCO tables, from finished campaign runs (no emulator).

    Each campaign counts once: its runs (all codings and seeds) are averaged first, so a campaign
    run more often does not weigh more; the cell's rate is the mean over its campaigns, as the
    data's is a share of campaigns.

    Args:
        runs: One row per run with ``navco_id``, ``status``, ``navco_defect`` and
            ``navco_success`` (0/1), or their expectations with ``navco_success_defect``
            (the chance of both), as :mod:`defection.calibration.concession` computes them.
        facts: Per NAVCO ID its ``bin``, ``method`` and ``finished`` (the fitting set's by
            default).

    Returns:
        ``defect_by_bin``, ``defect_by_method``, ``success_by_method`` and
        ``success_and_defect`` (``p``, ``campaigns``, ``runs``; success over finished
        campaigns), and ``success_gap`` by
        method (``p_defect``, ``p_no_defect``, ``gap``), where P(SUCCESS | DEFECT) is
        sum(success and defect) / sum(defect) over the campaigns' mean rates.
    """
    facts = _unit_facts() if facts is None else facts
    ok = runs[(runs["status"] == "ok") & runs["navco_id"].isin(facts.index)].copy()
    if "navco_success_defect" in ok.columns:  # expected values (calibration/concession.py)
        ok["sd"] = ok["navco_success_defect"]
    else:
        ok["sd"] = ok["navco_success"] * ok["navco_defect"]
    per = ok.groupby("navco_id").agg(
        d=("navco_defect", "mean"),
        s=("navco_success", "mean"),
        sd=("sd", "mean"),
        runs=("navco_defect", "size"),
    )
    per = per.join(facts)
    out = {}
    for table, col, labels in (
        ("defect_by_bin", "bin", navco.BIN_LABELS),
        ("defect_by_method", "method", navco.METHODS),
    ):
        rows = []
        for label in labels:
            g = per[per[col].astype(str) == label]
            rows.append(
                {
                    col: label,
                    "p": float(g["d"].mean()) if len(g) else math.nan,
                    "campaigns": len(g),
                    "runs": int(g["runs"].sum()),
                }
            )
        out[table] = pd.DataFrame(rows)
    rows = []
    for m in navco.METHODS:
        g = per[(per["method"].astype(str) == m) & per["finished"].astype(bool)]
        d, s, sd = g["d"].sum(), g["s"].sum(), g["sd"].sum()
        p1 = sd / d if d > 0 else math.nan
        p0 = (s - sd) / (len(g) - d) if len(g) - d > 0 else math.nan
        rows.append(
            {"method": m, "p_defect": p1, "p_no_defect": p0, "gap": p1 - p0, "campaigns": len(g)}
        )
    out["success_gap"] = pd.DataFrame(rows)
    out["success_by_method"] = _finished_rates(per, "s")
    out["success_and_defect"] = _finished_rates(per, "sd")
    return out


def _finished_rates(per: pd.DataFrame, col: str) -> pd.DataFrame:
    """Per method, the mean of the campaigns' ``col`` over its finished campaigns."""
    rows = []
    for m in navco.METHODS:
        g = per[(per["method"].astype(str) == m) & per["finished"].astype(bool)]
        rows.append(
            {
                "method": m,
                "p": float(g[col].mean()) if len(g) else math.nan,
                "campaigns": len(g),
                "runs": int(g["runs"].sum()),
            }
        )
    return pd.DataFrame(rows)
