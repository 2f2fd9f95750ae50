"""The validation report (issue #10 section 6): committed check runs against the data and history.

``defection validation`` runs two check specs (:mod:`defection.calibration.check`) and writes
``docs/VALIDATION.md`` and its plots in ``docs/validation/`` from their committed results alone:

* ``calibration/specs/validation.toml`` (results ``calibration/validation/``): the calibrated
  sample's vectors crossed with the five historical cases and the NAVCO fitting campaigns;
* ``calibration/specs/validation_test.toml`` (results ``calibration/validation_test/``, with
  ``--test-set`` only): the same with the NAVCO test campaigns. The test set is touched once:
  every touch is recorded in ``touches.json`` in that folder (:func:`record_touch`), and a second
  touch with another sample or design is refused unless asked for (:func:`touch_problem`).

What the report holds, each part a pure function of a runs frame (testable on synthetic frames):

* :func:`navco_rows`: per NAVCO cell of the fitting set (P(DEFECT) by participation bin and by
  method, P(SUCCESS | DEFECT) - P(SUCCESS | no DEFECT) by method), the data's rate with its 90 %
  Wilson interval, the model's rate over all runs with its 90 % interval over the parameter
  draws, and whether it lies inside the data's interval. Cells of at least
  :data:`MIN_CELL` campaigns are the done-when cells; the others are shown and marked.
* :func:`case_rows`: each done-when clause of the five cases (:data:`CASE_CHECKS`) as the share of
  runs that meet it against the required share; clauses no measure reads are "not measured".
* :func:`reliability_rows`: per campaign, the model's probability (the mean of its runs) against
  what happened, binned (:func:`defection.calibration.skill.reliability`).
* :func:`skill_rows`: on the test set, AUC and Brier score for DEFECT and SUCCESS with 90 %
  bootstrap intervals, for the model and for a logistic regression on the same coded features
  fitted on the fitting set (:func:`logistic_baseline`), and the paired 90 % bootstrap interval
  of the difference (:func:`defection.calibration.skill.paired_bootstrap`).

Nothing here runs the model; no number in the report is written by hand.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from defection.calibration import navco, skill

__all__ = [
    "BASELINE_FEATURES",
    "CASE_CHECKS",
    "CaseCheck",
    "Committed",
    "ReportError",
    "SPEC_PATH",
    "TEST_SPEC_PATH",
    "analyse",
    "baseline_features",
    "campaign_predictions",
    "campaign_runs",
    "case_rows",
    "finish_touch",
    "load_committed",
    "logistic_baseline",
    "navco_rows",
    "plot_defect_by_bin",
    "plot_reliability",
    "read_touches",
    "record_touch",
    "reliability_rows",
    "render",
    "skill_rows",
    "touch_problem",
    "unit_facts",
    "write_report",
]

SPECS = Path(__file__).resolve().parent / "specs"
#: The validation spec: five cases and the NAVCO fitting campaigns.
SPEC_PATH = SPECS / "validation.toml"
#: The test-set spec (``defection validation --test-set``).
TEST_SPEC_PATH = SPECS / "validation_test.toml"
#: The record of the test set's touches, in the test-set check's results folder.
TOUCHES = "touches.json"
#: Interval level of every interval in the report.
LEVEL = 0.90
#: A NAVCO cell with at least this many fitting campaigns is a done-when cell (issue #10).
MIN_CELL = 20
#: Required share of runs for a done-when clause for which issue #10 states none: the median run
#: must meet it.
DEFAULT_SHARE = 0.5
#: The done-when bound of the Brier-score difference (model - logistic) for SUCCESS.
BRIER_BOUND = 0.01
#: Bootstrap resamples and their seed (the skill table's intervals).
BOOTSTRAP = 2000
BOOTSTRAP_SEED = 20261213
#: Target names the report reads from a NAVCO campaign's runs.
DEFECT, SUCCESS = "navco_defect", "navco_success"


class ReportError(ValueError):
    """Committed runs the report cannot read (no folder, no manifest, not a check's results)."""


# ------------------------------------------------------------------------------------------------
# the committed runs
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Committed:
    """A check's committed results folder, read back.

    Attributes:
        folder: The folder.
        manifest: Its ``manifest.json``.
        runs: ``runs.parquet`` with the design's ``draw`` and, per run, its case's ``group`` (the
            ``[[cases]]`` table) and ``navco_id`` (None for a case that stands for no campaign).
    """

    folder: Path
    manifest: dict[str, Any]
    runs: pd.DataFrame

    @property
    def check(self) -> dict[str, Any]:
        """The manifest's ``check`` entry (the sample, draws and seeds, the test set)."""
        return self.manifest.get("check") or {}


def load_committed(folder: Path) -> Committed:
    """Read a check's results folder (``manifest.json``, ``runs.parquet``, ``design.parquet``).

    Raises:
        ReportError: The folder or a file is missing or unreadable, or holds another kind.
    """
    folder = Path(folder)
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        runs = pd.read_parquet(folder / "runs.parquet")
        design = pd.read_parquet(folder / "design.parquet")
    except FileNotFoundError as exc:
        raise ReportError(
            f"{folder}: no committed check results ({Path(exc.filename).name} missing)"
        ) from None
    except (OSError, ValueError) as exc:
        raise ReportError(f"{folder}: unreadable results ({type(exc).__name__}: {exc})") from None
    if manifest.get("kind") != "check":
        raise ReportError(f"{folder}: holds a {manifest.get('kind')!r}, not a check's results")
    cases = manifest.get("cases") or {}
    keep = [c for c in ("point", "draw", "sample_row") if c in design.columns]
    runs = runs.merge(design[keep], on="point", how="left")
    runs["group"] = [str((cases.get(c) or {}).get("table") or c) for c in runs["case"]]
    runs["navco_id"] = [(cases.get(c) or {}).get("navco_id") for c in runs["case"]]
    return Committed(folder, manifest, runs)


def campaign_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs of NAVCO campaigns, with ``navco_defect`` and ``navco_success`` as 0/1 columns.

    Args:
        runs: A committed runs frame (:func:`load_committed`), or a frame with ``navco_id``,
            ``draw``, ``status`` and the target columns ``target:navco_defect`` and
            ``target:navco_success``.
    """
    out = runs[runs["navco_id"].notna()].copy()
    out["navco_id"] = out["navco_id"].astype(int)
    for name in (DEFECT, SUCCESS):
        col = f"target:{name}"
        out[name] = out[col].astype(float) if col in out.columns else math.nan
    return out


# ------------------------------------------------------------------------------------------------
# NAVCO fitting set: the model's cells against the data's
# ------------------------------------------------------------------------------------------------


def unit_facts(units: pd.DataFrame) -> pd.DataFrame:
    """Per NAVCO ID: ``bin``, ``method``, ``finished``, ``DEFECT``, ``success`` (from units)."""
    return units.set_index(navco.ID)[["bin", "method", "finished", "DEFECT", "success"]]


def finished_ids(facts: pd.DataFrame, method: str) -> pd.Index:
    """NAVCO IDs of the finished campaigns of a method (those the success rates count)."""
    mine = (facts["method"].astype(str) == method) & facts["finished"].astype(bool)
    return facts.index[mine]


def _quantiles(values: Sequence[float], level: float = LEVEL) -> tuple[float, float]:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return math.nan, math.nan
    lo, hi = np.quantile(v, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def navco_rows(
    runs: pd.DataFrame,
    facts: pd.DataFrame,
    data: dict[str, pd.DataFrame],
    level: float = LEVEL,
    min_cell: int = MIN_CELL,
) -> pd.DataFrame:
    """The NAVCO cells: the data's rate and Wilson interval, the model's and its draw interval.

    The model's rate of a cell is :func:`defection.calibration.navcases.model_rates` over all
    runs (each campaign's runs averaged first, then the cell's campaigns); its interval is the
    central ``level`` of the same rate computed draw by draw (one parameter vector's runs each).

    Args:
        runs: Campaign runs (:func:`campaign_runs`): ``navco_id``, ``draw``, ``status``,
            ``navco_defect``, ``navco_success``.
        facts: Per NAVCO ID its ``bin``, ``method`` and ``finished`` (:func:`unit_facts`).
        data: The data's tables (:func:`defection.calibration.navco.targets` of the fitting set).
        level: Interval level.
        min_cell: Campaigns a cell needs to be a done-when cell.

    Returns:
        One row per cell: ``table``, ``cell``, ``data_k``, ``data_n``, ``data_p``, ``data_lo``,
        ``data_hi``, ``model_p``, ``model_lo``, ``model_hi``, ``campaigns`` (run), ``runs``,
        ``done_when`` and ``inside`` (None when the model has no value).
    """
    from defection.calibration.navcases import Z90, data_cell, model_rates

    overall = model_rates(runs, facts)
    per_draw = [model_rates(g, facts) for _, g in runs.groupby("draw", sort=True)]
    rows = []
    for table, col in (("defect_by_bin", "bin"), ("defect_by_method", "method")):
        d = data[table]
        m = overall[table].set_index(col)
        for _, r in d.iterrows():
            cell = str(r[col])
            if int(r["n"]) == 0:
                continue
            has = cell in m.index and m.loc[cell, "campaigns"] > 0
            draws = [t[table].set_index(col)["p"].get(cell, math.nan) for t in per_draw]
            lo, hi = _quantiles(draws, level) if has else (math.nan, math.nan)
            rows.append(
                {
                    "table": table,
                    "cell": cell,
                    "data_k": int(r["k"]),
                    "data_n": int(r["n"]),
                    "data_p": float(r["p"]),
                    "data_lo": float(r["lo"]),
                    "data_hi": float(r["hi"]),
                    "model_p": float(m.loc[cell, "p"]) if has else math.nan,
                    "model_lo": lo,
                    "model_hi": hi,
                    "campaigns": int(m.loc[cell, "campaigns"]) if cell in m.index else 0,
                    "runs": int(m.loc[cell, "runs"]) if cell in m.index else 0,
                    "done_when": int(r["n"]) >= min_cell,
                }
            )
    gap = overall["success_gap"].set_index("method")
    for method in navco.METHODS:
        try:
            cell = data_cell("success_gap", method, data)
        except KeyError:
            continue
        half = Z90 * cell["obs_sd"]
        s = data["success_by_defect"]
        s = s[s["method"].astype(str) == method]
        draws = [
            t["success_gap"].set_index("method")["gap"].get(method, math.nan) for t in per_draw
        ]
        model = float(gap.loc[method, "gap"]) if method in gap.index else math.nan
        lo, hi = _quantiles(draws, level)
        rows.append(
            {
                "table": "success_gap",
                "cell": method,
                "data_k": int(s["k"].sum()),
                "data_n": int(cell["n"]),
                "data_p": float(cell["observed"]),
                "data_lo": float(cell["observed"] - half),
                "data_hi": float(cell["observed"] + half),
                "model_p": model,
                "model_lo": lo,
                "model_hi": hi,
                "campaigns": int(gap.loc[method, "campaigns"]) if method in gap.index else 0,
                "runs": int(runs["navco_id"].isin(finished_ids(facts, method)).sum()),
                "done_when": True,
            }
        )
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    out["inside"] = [
        None if not math.isfinite(p) else bool(lo <= p <= hi)
        for p, lo, hi in zip(out["model_p"], out["data_lo"], out["data_hi"], strict=True)
    ]
    return out


# ------------------------------------------------------------------------------------------------
# the five cases: each done-when clause as a share of runs
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseCheck:
    """One done-when clause of a case (issue #10), read from one target of the validation spec.

    A run meets it when ``lo <= value <= hi`` (``value < hi`` with ``strict_hi``); a NaN value
    (no such interval in that run) does not meet it. The clause passes when the share of runs
    that meet it is at least ``share``.

    Attributes:
        case: A case name, or a case table's name (every case of it: the NAVCO campaigns).
        clause: The clause as history (issue #10) states it.
        target: The target of the validation spec that reads it; None: no measure exists.
        lo: Lower end of a run's value that meets it.
        hi: Upper end.
        strict_hi: The upper end is excluded.
        share: The share of runs that must meet it.
        stated: Whether issue #10 states that share (else :data:`DEFAULT_SHARE`, the median run).
        unit: ``share``, ``0/1`` or ``days`` (how values are shown).
    """

    case: str
    clause: str
    target: str | None
    lo: float = -math.inf
    hi: float = math.inf
    strict_hi: bool = False
    share: float = DEFAULT_SHARE
    stated: bool = False
    unit: str = "share"

    def meets(self, values: np.ndarray) -> np.ndarray:
        """Which runs meet it (NaN: no)."""
        v = np.asarray(values, dtype=float)
        upper = v < self.hi if self.strict_hi else v <= self.hi
        return np.isfinite(v) & (v >= self.lo) & upper

    @property
    def condition(self) -> str:
        """The per-run condition, in words."""
        if self.unit == "0/1":
            return "yes" if self.lo >= 1 else "no"
        f = (lambda x: f"{x:.0%}") if self.unit == "share" else (lambda x: f"{x:g}")
        lt = "<" if self.strict_hi else "<="
        if math.isinf(self.lo):
            return f"{lt} {f(self.hi)}"
        if math.isinf(self.hi):
            return f">= {f(self.lo)}"
        return f"{f(self.lo)} to {f(self.hi)}"


_CASES = ("soviet", "syria", "gdr", "philippines", "myanmar")

#: The five cases' done-when clauses (issue #10, "Done when"), with the validation spec's targets.
CASE_CHECKS: tuple[CaseCheck, ...] = (
    CaseCheck("soviet", "falls after the August coup (day 231 to 365)", "soviet_fell_after_231",
              1, 1, share=0.70, stated=True, unit="0/1"),
    CaseCheck("soviet", "force that deserted or defected before day 231", "soviet_left_230",
              0, 0.10, strict_hi=True),
    CaseCheck("syria", "does not fall in the first year", "syria_fell_365", 0, 0,
              share=0.80, stated=True, unit="0/1"),
    CaseCheck("syria", "defected share of the force on day 365", "syria_defected_365", 0.01, 0.04),
    CaseCheck("syria", "desertion at least defection on day 365 (deserted - defected)",
              "syria_desertion_excess", 0.0, math.inf),
    CaseCheck("syria", "elites who defected by day 365", "syria_elites", 0.0, 0.20),
    CaseCheck("syria", "core (Alawite) group that left by the end", "syria_core_left", 0.0,
              0.05),
    CaseCheck("gdr", "the leadership falls by day 60", "gdr_fell_60", 1, 1, unit="0/1"),
    CaseCheck("gdr", "no lethal order carried out", None, unit="0/1"),
    CaseCheck("philippines", "first major defection (first NAVCO DEFECT day)",
              "philippines_first_defect", 9, 23, unit="days"),
    CaseCheck("philippines", "falls within 7 days of the first major defection",
              "philippines_fall_after_defect", 0, 7, unit="days"),
    CaseCheck("myanmar", "survives two years (no fall by day 730)", "myanmar_fell_730", 0, 0,
              unit="0/1"),
    CaseCheck("myanmar", "army and police defected on day 730", "myanmar_defected_730",
              0.01, 0.06),
    *(
        CaseCheck(c, "largest share of the force detained on any day", "cases_detained", 0.0,
                  0.05, strict_hi=True)
        for c in _CASES
    ),
    CaseCheck("navco", "largest share of the force detained on any day (NAVCO campaigns)",
              "navco_detained", 0.0, 0.05, strict_hi=True),
)  # fmt: skip


def case_rows(
    runs: pd.DataFrame, checks: Sequence[CaseCheck] = CASE_CHECKS, level: float = LEVEL
) -> pd.DataFrame:
    """Each clause: the share of runs that meet it against the required share.

    Args:
        runs: Runs with ``case``, ``group``, ``draw``, ``status`` and ``target:<name>`` columns.
        checks: The clauses.
        level: Level of the model's interval over draws.

    Returns:
        One row per clause: ``case``, ``clause``, ``target``, ``condition``, ``runs``, ``met``,
        ``share`` (of runs that meet it), ``required``, ``stated``, ``median`` (of the runs'
        values), ``lo`` and ``hi`` (the central ``level`` of the per-draw mean value), ``unit``,
        ``status`` (``pass``, ``fail``, ``not measured`` or ``not run``) and ``note``.
    """
    rows = []
    for c in checks:
        mine = runs[((runs["case"] == c.case) | (runs["group"] == c.case))]
        mine = mine[mine["status"] == "ok"]
        col = f"target:{c.target}" if c.target else None
        row: dict[str, Any] = {
            "case": c.case,
            "clause": c.clause,
            "target": c.target,
            "condition": c.condition if c.target else "",
            "runs": len(mine),
            "met": 0,
            "share": math.nan,
            "required": c.share,
            "stated": c.stated,
            "median": math.nan,
            "lo": math.nan,
            "hi": math.nan,
            "unit": c.unit,
            "note": "",
        }
        if c.target is None:
            row["status"] = "not measured"
            row["note"] = "no measure of the model reads it yet"
        elif mine.empty:
            row["status"] = "not run"
            row["note"] = f"no finished run of `{c.case}`"
        elif col not in runs.columns:
            row["status"] = "not run"
            row["note"] = f"the validation spec has no target `{c.target}`"
        else:
            values = mine[col].to_numpy(dtype=float)
            met = c.meets(values)
            share = float(met.mean())
            per_draw = mine.groupby("draw")[col].mean()
            lo, hi = _quantiles(per_draw.to_numpy(), level)
            finite = values[np.isfinite(values)]
            row.update(
                met=int(met.sum()),
                share=share,
                median=float(np.median(finite)) if finite.size else math.nan,
                lo=lo,
                hi=hi,
                status="pass" if share >= c.share else "fail",
            )
            if finite.size < values.size:
                row["note"] = f"{values.size - finite.size} runs without a value (do not meet it)"
        rows.append(row)
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------------
# by parameter vector: which draws fit what
# ------------------------------------------------------------------------------------------------


def draw_rows(runs: pd.DataFrame, checks: Sequence[CaseCheck] | None = None) -> pd.DataFrame:
    """Per drawn parameter vector: NAVCO's rates over its campaign runs and the clauses it passes.

    A vector's clauses are read as :func:`case_rows` reads them all, over that vector's runs
    only (a case's few seeds: a coarse share).

    Args:
        runs: A committed runs frame (:func:`load_committed`).
        checks: The clauses (default: the five cases' clauses of :data:`CASE_CHECKS`; the NAVCO
            campaigns' clause is left out, since only some draws run campaigns).

    Returns:
        One row per draw: ``draw``, ``sample_row`` (or -1), ``campaigns`` (its NAVCO runs that
        finished), ``defect`` and ``success`` (their means; NaN without any), ``passed`` and
        ``measured`` (case clauses), then the vector's parameter values (the runs' parameter
        columns).
    """
    if checks is None:
        checks = [c for c in CASE_CHECKS if c.case in _CASES]
    ok = runs[runs["status"] == "ok"]
    params = [c for c in runs.columns if "." in c and not c.startswith("target:")]
    camp = campaign_runs(ok)
    rows = []
    for d, mine in ok.groupby("draw", sort=True):
        c = camp[camp["draw"] == d]
        cr = case_rows(mine, checks)
        rec = {
            "draw": int(d),
            "sample_row": int(mine["sample_row"].iloc[0]) if "sample_row" in mine else -1,
            "campaigns": len(c),
            "defect": float(c[DEFECT].mean()) if len(c) else math.nan,
            "success": float(c[SUCCESS].mean()) if len(c) else math.nan,
            "passed": int((cr["status"] == "pass").sum()),
            "measured": int(cr["status"].isin(["pass", "fail"]).sum()),
        }
        rec.update({p: float(mine[p].iloc[0]) for p in params})
        rows.append(rec)
    return pd.DataFrame(rows)


def parameter_rows(draws: pd.DataFrame) -> pd.DataFrame:
    """Per parameter: its range over the draws and its rank correlations with their fit.

    The correlations (Spearman) are with the draws' NAVCO P(DEFECT) and with the number of case
    clauses they pass.

    Returns:
        One row per parameter: ``parameter``, ``lo``, ``hi``, ``rho_defect`` (over the draws with
        campaign runs, ``n_defect`` of them), ``rho_passed`` (over every draw, ``n_passed``).
    """
    fixed = {"draw", "sample_row", "campaigns", "defect", "success", "passed", "measured"}
    rows = []
    with_campaigns = draws[draws["campaigns"] > 0] if len(draws) else draws
    for p in [c for c in draws.columns if c not in fixed]:
        rows.append(
            {
                "parameter": p,
                "lo": float(draws[p].min()),
                "hi": float(draws[p].max()),
                "rho_defect": _spearman(with_campaigns[p], with_campaigns["defect"]),
                "n_defect": len(with_campaigns),
                "rho_passed": _spearman(draws[p], draws["passed"]),
                "n_passed": len(draws),
            }
        )
    return pd.DataFrame(rows)


def _spearman(x: pd.Series, y: pd.Series) -> float:
    """Spearman's rank correlation (NaN with fewer than 3 pairs or a constant side)."""
    both = pd.DataFrame({"x": x.to_numpy(dtype=float), "y": y.to_numpy(dtype=float)}).dropna()
    if len(both) < 3 or both["x"].nunique() < 2 or both["y"].nunique() < 2:
        return math.nan
    return float(both["x"].rank().corr(both["y"].rank()))


# ------------------------------------------------------------------------------------------------
# per-campaign predictions, reliability, the logistic baseline and the skill table
# ------------------------------------------------------------------------------------------------


def campaign_predictions(runs: pd.DataFrame) -> pd.DataFrame:
    """Per NAVCO campaign: the model's P(DEFECT) and P(SUCCESS), the mean of its finished runs.

    Args:
        runs: Campaign runs (:func:`campaign_runs`).

    Returns:
        Indexed by NAVCO ID: ``p_defect``, ``p_success``, ``runs``.
    """
    ok = runs[runs["status"] == "ok"]
    return ok.groupby("navco_id").agg(
        p_defect=(DEFECT, "mean"), p_success=(SUCCESS, "mean"), runs=(DEFECT, "size")
    )


def reliability_rows(pred: pd.DataFrame, facts: pd.DataFrame, bins: int = 5) -> pd.DataFrame:
    """Reliability tables of P(DEFECT) and P(SUCCESS) (finished campaigns for SUCCESS).

    Args:
        pred: :func:`campaign_predictions`.
        facts: Per NAVCO ID ``DEFECT``, ``success`` (NaN when ongoing).
        bins: Equal-width bins of the prediction.

    Returns:
        One row per non-empty bin: ``outcome`` and :func:`defection.calibration.skill.reliability`'s
        columns.
    """
    joined = pred.join(facts, how="inner")
    rows = []
    for outcome, p_col, y_col in (
        ("DEFECT", "p_defect", "DEFECT"),
        ("SUCCESS", "p_success", "success"),
    ):
        d = joined[joined[y_col].notna() & joined[p_col].notna()]
        if d.empty:
            continue
        for r in skill.reliability(d[y_col].to_numpy(float), d[p_col].to_numpy(float), bins, LEVEL):
            rows.append({"outcome": outcome, **r})
    return pd.DataFrame(rows)


#: The logistic baseline's inputs: NAVCO's coded features of a campaign (navcases.FEATURES'
#: NAVCO part), in order.
BASELINE_FEATURES = (
    "log10_participation",
    "violent",
    "regime_violence",
    "regime_aid",
    "state_support",
    "violent_flank",
)
_COLUMNS = {
    "regime_violence": "REGVIOL",
    "regime_aid": "REGAID",
    "state_support": "STATESUP",
    "violent_flank": "VIOLENT FLANK",
}


def baseline_features(units: pd.DataFrame) -> np.ndarray:
    """The logistic baseline's inputs of campaign units (one row each, :data:`BASELINE_FEATURES`).

    log10 of the participation share, the method (1 violent) and NAVCO's REGVIOL, REGAID,
    STATESUP and VIOLENT FLANK. A missing flag takes its prior's mean
    (:data:`defection.calibration.casecode.PRIORS`, the probability the model's coding draws it
    with), so both predictors see the same information.

    Raises:
        ValueError: A unit has no participation figure (it cannot be run either).
    """
    from defection.calibration.casecode import PRIORS

    share = units["share"].to_numpy(dtype=float)
    if not (np.isfinite(share) & (share > 0)).all():
        raise ValueError("every campaign needs a participation figure")
    cols = [np.log10(share), (units["method"] == "violent").to_numpy(dtype=float)]
    for name in BASELINE_FEATURES[2:]:
        v = pd.to_numeric(units[_COLUMNS[name]], errors="coerce").to_numpy(dtype=float)
        cols.append(np.where(np.isfinite(v), v, PRIORS[name].hi))
    return np.column_stack(cols)


def logistic_baseline(units: pd.DataFrame, outcome: str) -> Any:
    """A logistic regression of ``outcome`` on :func:`baseline_features`, fitted on ``units``.

    scikit-learn's ``LogisticRegression`` (L2, C = 1, lbfgs) after standardising the inputs:
    the regularisation keeps it finite on a few dozen campaigns and a flag that separates them.

    Args:
        units: The fitting campaigns (with a participation figure; for SUCCESS, finished ones).
        outcome: ``DEFECT`` or ``success`` (a 0/1 column).

    Returns:
        The fitted pipeline (``predict_proba``).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    y = units[outcome].to_numpy(dtype=float)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))
    model.fit(baseline_features(units), y.astype(int))
    return model


def skill_rows(
    pred: pd.DataFrame,
    test_units: pd.DataFrame,
    fit_units: pd.DataFrame,
    n: int = BOOTSTRAP,
    seed: int = BOOTSTRAP_SEED,
    level: float = LEVEL,
) -> pd.DataFrame:
    """AUC and Brier score of the model and of the logistic baseline on the test campaigns.

    The model's probability of a campaign is the mean of its runs' 0/1 outcome
    (:func:`campaign_predictions`); the baseline is fitted on the fitting campaigns with a
    participation figure (finished ones for SUCCESS) and predicts the same test campaigns (those
    with runs; finished ones for SUCCESS). Intervals: the paired bootstrap over campaigns.

    Args:
        pred: Per test campaign the model's ``p_defect`` and ``p_success`` (by NAVCO ID).
        test_units: The test campaigns' units (``DEFECT``, ``success``, features).
        fit_units: The fitting campaigns' units.
        n: Bootstrap resamples.
        seed: Their seed.
        level: Interval level.

    Returns:
        One row per (outcome, metric): ``outcome``, ``metric``, ``campaigns``, ``positives``,
        ``model``, ``model_lo``, ``model_hi``, ``baseline``, ``baseline_lo``, ``baseline_hi``,
        ``diff``, ``diff_lo``, ``diff_hi`` (NaN where the metric is undefined: one class only).
    """
    rows = []
    runnable = fit_units[fit_units["share"].notna() & (fit_units["share"] > 0)]
    tests = test_units.set_index(navco.ID).join(pred, how="inner")
    for outcome, y_col, p_col in (
        ("DEFECT", "DEFECT", "p_defect"),
        ("SUCCESS", "success", "p_success"),
    ):
        train = runnable[runnable[y_col].notna()]
        t = tests[tests[y_col].notna() & tests[p_col].notna()]
        y = t[y_col].to_numpy(dtype=float)
        p_model = t[p_col].to_numpy(dtype=float)
        ok = len(t) > 0 and train[y_col].nunique() == 2
        if ok:
            base = logistic_baseline(train, y_col)
            p_base = base.predict_proba(baseline_features(t.reset_index()))[:, 1]
        for name, metric in (("AUC", skill.auc), ("Brier", skill.brier)):
            row: dict[str, Any] = {
                "outcome": outcome,
                "metric": name,
                "campaigns": len(t),
                "positives": int(y.sum()),
            }
            defined = ok and (name == "Brier" or 0 < y.sum() < len(y))
            if defined:
                b = skill.paired_bootstrap(y, p_model, p_base, metric, n=n, level=level, seed=seed)
                row.update(
                    model=b["a"],
                    model_lo=b["a_lo"],
                    model_hi=b["a_hi"],
                    baseline=b["b"],
                    baseline_lo=b["b_lo"],
                    baseline_hi=b["b_hi"],
                    diff=b["diff"],
                    diff_lo=b["lo"],
                    diff_hi=b["hi"],
                )
            rows.append(row)
    cols = ["model", "model_lo", "model_hi", "baseline", "baseline_lo", "baseline_hi", "diff",
            "diff_lo", "diff_hi"]  # fmt: skip
    out = pd.DataFrame(rows)
    for c in cols:
        if c not in out.columns:
            out[c] = math.nan
    return out


# ------------------------------------------------------------------------------------------------
# the test set's touches
# ------------------------------------------------------------------------------------------------


def read_touches(folder: Path) -> list[dict[str, Any]]:
    """The recorded touches of the test set (``touches.json`` in the test-set check's folder)."""
    path = Path(folder) / TOUCHES
    if not path.is_file():
        return []
    return list(json.loads(path.read_text(encoding="utf-8")).get("touches", []))


def touch_problem(folder: Path, calib: Any, again: bool) -> str | None:
    """Why this test-set check may not run: the test set was touched with another design.

    The test set is touched once. Resuming the same check (the same calibration id: the same
    sample, draws and cases) is the same touch; anything else is a new touch, refused unless
    ``again`` (``--again``), and then recorded as such.

    Returns:
        The problem as one line, or None.
    """
    other = [t for t in read_touches(folder) if t.get("calibration_id") != calib.calib_id]
    if not other or again:
        return None
    last = other[-1]
    sha = (last.get("sample") or {}).get("sha256", "?")
    now = (calib.sample_info or {}).get("sha256", "?")
    what = (
        f"another sample (sha256 {sha[:12]}, this one {now[:12]})"
        if sha != now
        else "another design (same sample)"
    )
    return (
        f"{Path(folder) / TOUCHES}: the test set was touched on {last.get('started', '?')} with "
        f"{what}, calibration id {last.get('calibration_id')}; it is touched once: pass --again "
        "to touch it again (the report then says so)"
    )


def record_touch(folder: Path, calib: Any, again: bool, commit: dict[str, Any]) -> dict[str, Any]:
    """Record a touch of the test set before its runs start (written at once, atomically).

    A resumed check (the same calibration id) adds this invocation's time to its touch; a new one
    is appended.

    Args:
        folder: The test-set check's results folder (created if need be).
        calib: The test-set check (:class:`defection.calibration.spec.Calibration`).
        again: Whether ``--again`` was given.
        commit: ``{"commit", "dirty"}`` of the source checkout.

    Returns:
        The touch's record.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    touches = read_touches(folder)
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    mine = next((t for t in touches if t.get("calibration_id") == calib.calib_id), None)
    if mine is None:
        from defection.model.version import MODEL_VERSION

        info = calib.sample_info or {}
        mine = {
            "calibration_id": calib.calib_id,
            "started": now,
            "invocations": [],
            "finished": None,
            "again": bool(again and touches),
            "sample": {
                "path": info.get("path"),
                "sha256": info.get("sha256"),
                "rows": info.get("rows"),
                "commit": (info.get("manifest") or {}).get("commit"),
            },
            "model_version": MODEL_VERSION,
            **commit,
        }
        touches.append(mine)
    mine["invocations"].append(now)
    _write_touches(folder, touches)
    return mine


def finish_touch(folder: Path, calib: Any) -> None:
    """Mark this check's touch finished (every run in) in ``touches.json``."""
    touches = read_touches(folder)
    for t in touches:
        if t.get("calibration_id") == calib.calib_id and t.get("finished") is None:
            t["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    _write_touches(Path(folder), touches)


def _write_touches(folder: Path, touches: list[dict[str, Any]]) -> None:
    doc = {
        "about": (
            "Every touch of the NAVCO test set by `defection validation --test-set`: the first "
            "time model runs started on test campaigns with this calibration id (sample and "
            "design); invocations that resumed it; when its last run was in. Issue #10: the test "
            "set is touched once, to report."
        ),
        "touches": touches,
    }
    _atomic_write(folder / TOUCHES, json.dumps(doc, indent=2) + "\n")


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ------------------------------------------------------------------------------------------------
# the report
# ------------------------------------------------------------------------------------------------


def _num(x: float, digits: int = 3) -> str:
    return "–" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def _value(x: float, unit: str) -> str:
    if x is None or not math.isfinite(x):
        return "–"
    if unit == "share":
        return f"{x:.1%}"
    if unit == "days":
        return f"{x:.0f}"
    return f"{x:.2f}"


def _mark(inside: Any, campaigns: int) -> str:
    if inside is None:
        return "not run" if campaigns == 0 else "no model value (no campaign of one kind)"
    return "**pass**" if inside else "**fail**"


def _source(c: Committed, root: Path) -> list[str]:
    m = c.manifest
    s = c.check.get("sample") or {}
    sm = _sample_manifest(s, root)
    folder = _rel(c.folder, root)
    runs = m.get("runs") or {}
    dirty = " (with uncommitted changes)" if m.get("dirty") else ""
    return [
        f"- `{folder}/`: calibration id `{m.get('calibration_id')}`, {runs.get('ok', 0)} runs ok, "
        f"{runs.get('failed', 0)} failed; model version {m.get('model_version')}, package "
        f"{m.get('package_version')}, code commit `{m.get('commit')}`{dirty}, written "
        f"{m.get('created')}.",
        f"  Sample `{s.get('path')}` (sha256 `{str(s.get('sha256'))[:16]}...`, "
        f"{s.get('vectors')} vectors, {len(s.get('rows') or [])} drawn): "
        + (_sample_origin(sm) if sm else "its manifest names no wave or commit."),
        *_failed_lines(c.runs),
    ]


def _failed_lines(runs: pd.DataFrame) -> list[str]:
    """The runs that failed, by case, with the first error of each (they count in no table)."""
    if "status" not in runs or "error" not in runs:
        return []
    failed = runs[runs["status"] != "ok"]
    if failed.empty:
        return []
    parts = []
    for case, d in failed.groupby("case", sort=True):
        error = str(d["error"].iloc[0]).replace("`", "'").replace("|", "/")
        parts.append(f"`{case}` {len(d)} (first: {error})")
    return ["  Failed runs (they count in no table below): " + "; ".join(parts) + "."]


def stale_test(fit: Committed, test: Committed | None) -> str | None:
    """Why the test-set runs do not describe the model the fitting set's runs describe, if so.

    The test set is touched once per sample (``touches.json``): after a new sample is promoted,
    the committed test-set runs are the old sample's until the test set is touched again. They
    are then reported as that touch's record, never as the current model's skill.
    """
    if test is None:
        return None
    fs, ts = fit.check.get("sample") or {}, test.check.get("sample") or {}
    fv, tv = fit.manifest.get("model_version"), test.manifest.get("model_version")
    if fs.get("sha256") == ts.get("sha256") and fv == tv:
        return None
    return (
        f"the test-set runs are of sample sha256 `{str(ts.get('sha256'))[:12]}...`, model "
        f"version {tv}; the fitting set's and the cases' of sample sha256 "
        f"`{str(fs.get('sha256'))[:12]}...`, model version {fv}"
    )


def _sample_manifest(s: dict[str, Any], root: Path) -> dict[str, Any]:
    """The sample's manifest, as fully as it can be had.

    The committed one beside the sample file when that file is still the one the check drew from
    (same sha256), else what the check's manifest kept of it.
    """
    import hashlib

    kept = s.get("manifest") or {}
    path = root / str(s.get("path", ""))
    try:
        same = hashlib.sha256(path.read_bytes()).hexdigest() == s.get("sha256")
        full = json.loads((path.parent / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return kept
    return full if same and isinstance(full, dict) else kept


def _sample_origin(sm: dict[str, Any]) -> str:
    """Where a sample came from, in words.

    A promoted sample's manifest (calibration/promote.py) names its wave under ``wave``; a
    wave's own manifest at the top level.
    """
    wave = sm.get("wave") if isinstance(sm.get("wave"), dict) else {}
    name = wave.get("name", sm.get("name"))
    commit = wave.get("commit", sm.get("commit"))
    status = sm.get("status")
    where = f" (`{wave['folder']}`)" if wave.get("folder") else ""
    text = (
        f"from wave `{name}`{where} at commit `{commit}`, model version {sm.get('model_version')}"
    )
    if status:
        text += f"; status **{status}**"
        if sm.get("note"):
            text += f" ({sm['note']})"
    return text + "."


def _rel(path: Path, root: Path) -> str:
    try:
        return Path(path).resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return str(path)


def render(
    fit: Committed,
    navco_table: pd.DataFrame,
    cases: pd.DataFrame,
    reliability: pd.DataFrame,
    test: Committed | None,
    skills: pd.DataFrame | None,
    touches: list[dict[str, Any]],
    plots: dict[str, str],
    root: Path,
    stale: str | None = None,
    draws: pd.DataFrame | None = None,
) -> str:
    """The report's Markdown (every number from the arguments, which come from committed runs).

    Args:
        fit: The validation check's committed results.
        navco_table: :func:`navco_rows`.
        cases: :func:`case_rows`.
        reliability: :func:`reliability_rows` (the fitting set's; the test set's rows have
            ``set = "test"``).
        test: The test-set check's committed results, or None.
        skills: :func:`skill_rows` (None without test runs).
        touches: :func:`read_touches`.
        plots: Plot files by name, relative to the report.
        root: The folder paths are shown relative to.
        stale: :func:`stale_test`: why the test-set runs are another sample's (their skill is
            then shown as that touch's record, and the done-when line says the current sample
            has not been tested).
        draws: :func:`draw_rows` (the section "By parameter vector"; left out when None).
    """
    per_case = fit.check.get("per_case") or {}
    navco_cases = [k for k in per_case if k not in _CASES]
    parts = [
        f"`{k}` {v['draws']} draws x {v['seeds']} seeds" for k, v in per_case.items() if k in _CASES
    ]
    if navco_cases:
        v = per_case[navco_cases[0]]
        parts.append(
            f"{len(navco_cases)} NAVCO campaign codings, {v['draws']} draws x {v['seeds']} "
            "seed(s) each"
        )
    plan = "; ".join(parts) or "no cases"
    out = [
        "# Validation report",
        "",
        "Written by `defection validation` from committed runs alone (issue #10, section 6); "
        "nothing in it is typed by hand. Rerun `defection validation --report-only` to rewrite "
        "it from the same folders.",
        "",
        "## Where the numbers come from",
        "",
        *_source(fit, root),
    ]
    if test is not None:
        out += _source(test, root)
    out += [
        "",
        f"Design: {plan}. The parameter vectors are drawn without replacement from the sample; "
        "every case runs with every vector it is given (calibration/check.py).",
        "",
        "How to read it: the data's intervals are 90 % Wilson intervals; the model's are the "
        "central 90 % of the same quantity computed draw by draw (one parameter vector's runs "
        "each), so they hold the parameter uncertainty and, with one seed per campaign, the "
        "runs' own chance. A NAVCO cell passes when the model's value over all runs lies inside "
        f"the data's interval; cells of at least {MIN_CELL} fitting campaigns are the done-when "
        "cells, the others are shown and marked. A case's clause passes when the share of runs "
        "that meet it reaches the required share: the one issue #10 states, else "
        f"{DEFAULT_SHARE:.0%} (the median run meets it).",
        "",
        "## NAVCO fitting set",
        "",
    ]
    titles = {
        "defect_by_bin": "P(DEFECT) by participation bin",
        "defect_by_method": "P(DEFECT) by method",
        "success_gap": (
            "P(SUCCESS | DEFECT) - P(SUCCESS | no DEFECT) by method (finished campaigns)"
        ),
    }
    for table, title in titles.items():
        d = navco_table[navco_table["table"] == table] if len(navco_table) else navco_table
        out += [f"### {title}", ""]
        if d.empty:
            out += ["No campaign runs.", ""]
            continue
        out += [
            "| cell | data | data 90 % | model | model 90 % (draws) | campaigns run | runs | "
            "done-when cell | result |",
            "|---|---:|---|---:|---|---:|---:|---|---|",
        ]
        for r in d.itertuples():
            digits = 2
            data = f"{r.data_p:.{digits}f}" + (
                f" ({r.data_k}/{r.data_n})" if table != "success_gap" else f" (n {r.data_n})"
            )
            dw = "yes" if r.done_when else f"no (n {r.data_n} < {MIN_CELL})"
            out.append(
                f"| {r.cell} | {data} | {_num(r.data_lo, 2)} to {_num(r.data_hi, 2)} | "
                f"{_num(r.model_p, 2)} | {_num(r.model_lo, 2)} to {_num(r.model_hi, 2)} | "
                f"{r.campaigns} | {r.runs} | {dw} | {_mark(r.inside, r.campaigns)} |"
            )
        out.append("")
    if "defect_by_bin" in plots:
        out += [
            f"![P(DEFECT) by participation bin, model against data]({plots['defect_by_bin']})",
            "",
        ]
    out += [
        "The data's method cells count every fitting campaign; the model runs only those with a "
        "participation figure (the `missing` bin is never run).",
        "",
        "## The five cases",
        "",
        "| case | clause | condition per run | runs | share that meet it | required | "
        "median (90 % over draws) | result |",
        "|---|---|---|---:|---:|---:|---|---|",
    ]
    for r in cases.itertuples():
        req = f"{r.required:.0%}" + ("" if r.stated else " (median run)")
        if r.status in ("not measured", "not run"):
            out.append(
                f"| {r.case} | {r.clause} | {r.condition or '–'} | {r.runs} | – | {req} | – | "
                f"{r.status}: {r.note} |"
            )
            continue
        spread = f"{_value(r.median, r.unit)} ({_value(r.lo, r.unit)} to {_value(r.hi, r.unit)})"
        note = f" ({r.note})" if r.note else ""
        out.append(
            f"| {r.case} | {r.clause} | {r.condition} | {r.runs} | {r.share:.0%} ({r.met}) | "
            f"{req} | {spread} | **{r.status}**{note} |"
        )
    if draws is not None and len(draws):
        out += ["", *_draw_lines(draws)]
    out += [
        "",
        "## Reliability",
        "",
        "Per campaign, the model's probability (the mean of its runs' DEFECT or SUCCESS) against "
        "what happened, in five equal bins of the prediction; the observed rate with its 90 % "
        "Wilson interval.",
        "",
    ]
    if "reliability" in plots:
        out += [f"![Reliability diagram]({plots['reliability']})", ""]
    if reliability.empty:
        out += ["No campaign runs.", ""]
    else:
        out += [
            "| set | outcome | prediction bin | campaigns | mean prediction | observed | "
            "observed 90 % |",
            "|---|---|---|---:|---:|---:|---|",
        ]
        for r in reliability.itertuples():
            out.append(
                f"| {r.set} | {r.outcome} | {r.lo:.1f} to {r.hi:.1f} | {r.n} | "
                f"{r.mean_p:.2f} | {r.rate:.2f} | {r.rate_lo:.2f} to {r.rate_hi:.2f} |"
            )
        out.append("")
    out += ["## Test set (out of sample)", ""]
    out += _touch_lines(touches)
    if test is None or skills is None:
        out += [
            "",
            "**No test-set runs.** The skill scores (AUC and Brier score against a logistic "
            "regression on the same features, issue #10 section 6) need `defection validation "
            "--test-set`, which touches the test set once and records it.",
        ]
    else:
        if stale:
            out += [
                "",
                f"**The current sample has not been run on the test set**: {stale}. The table "
                "below is the last touch's, kept as its record; it does not describe the model "
                "of the sections above, and the test set's reliability is left out of them.",
            ]
        out += [
            "",
            "Model: per campaign, the mean of its runs' outcome. Baseline: a logistic regression "
            "(scikit-learn, L2, C = 1, standardised inputs) of the outcome on log10 participation, "
            "method, REGVIOL, REGAID, STATESUP and the violent flank (a missing flag at its "
            "prior's mean), fitted on the fitting campaigns with a participation figure. "
            f"Intervals: {BOOTSTRAP} paired bootstrap resamples of the test campaigns; lower "
            "Brier and higher AUC are better.",
            "",
            "| outcome | metric | campaigns (positive) | model (90 %) | logistic (90 %) | "
            "model - logistic (paired 90 %) |",
            "|---|---|---:|---|---|---|",
        ]
        for r in skills.itertuples():
            out.append(
                f"| {r.outcome} | {r.metric} | {r.campaigns} ({r.positives}) | "
                f"{_num(r.model)} ({_num(r.model_lo)} to {_num(r.model_hi)}) | "
                f"{_num(r.baseline)} ({_num(r.baseline_lo)} to {_num(r.baseline_hi)}) | "
                f"{_num(r.diff)} ({_num(r.diff_lo)} to {_num(r.diff_hi)}) |"
            )
        out += ["", *_brier_lines(skills)]
    out += ["", "## Done when (issue #10)", "", *_summary(navco_table, cases, skills, stale)]
    return "\n".join(out) + "\n"


def _draw_lines(draws: pd.DataFrame) -> list[str]:
    """The section "By parameter vector": each draw's fit, and what its parameters go with."""
    out = [
        "## By parameter vector",
        "",
        "Each drawn vector's own runs: NAVCO's P(DEFECT) and P(SUCCESS) over its campaign runs "
        "(one seed each), and how many of the measured case clauses its runs pass by the rule "
        "above (the five cases' clauses; with a case's few seeds a share moves in steps of a "
        "third: coarse). Then, per "
        "parameter, its range over the draws and its rank correlation (Spearman) with the two: "
        "what, inside the sample, the NAVCO rate and the cases answer to. Few draws: read the "
        "signs of large correlations, not their digits.",
        "",
        "| draw | sample row | campaigns run | P(DEFECT) | P(SUCCESS) | case clauses passed |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in draws.itertuples():
        out.append(
            f"| {r.draw} | {r.sample_row} | {r.campaigns} | {_num(r.defect, 2)} | "
            f"{_num(r.success, 2)} | {r.passed} of {r.measured} |"
        )
    params = parameter_rows(draws)
    if len(params):
        params = params.assign(order=params["rho_defect"].abs().fillna(-1.0))
        params = params.sort_values("order", ascending=False, kind="stable")
        out += [
            "",
            "| parameter | range over the draws | rank correlation with P(DEFECT) | with case "
            "clauses passed |",
            "|---|---|---:|---:|",
        ]
        for r in params.itertuples():
            out.append(
                f"| `{r.parameter}` | {r.lo:.3g} to {r.hi:.3g} | {_num(_r2(r.rho_defect), 2)} "
                f"(n {r.n_defect}) | {_num(_r2(r.rho_passed), 2)} (n {r.n_passed}) |"
            )
    return out


def _r2(x: float) -> float:
    """``x`` rounded to 2 digits without a negative zero."""
    return round(x, 2) + 0.0 if math.isfinite(x) else x


def _touch_lines(touches: list[dict[str, Any]]) -> list[str]:
    if not touches:
        return ["The test set has not been touched (no `touches.json`)."]
    n = len(touches)
    lines = [f"The test set has been touched {n} time{'s' if n != 1 else ''}:", ""]
    for t in touches:
        s = t.get("sample") or {}
        state = f"all runs in {t['finished']}" if t.get("finished") else "runs not finished"
        lines.append(
            f"- {t.get('started')}: calibration id `{t.get('calibration_id')}`, sample sha256 "
            f"`{str(s.get('sha256'))[:16]}...`, code commit `{t.get('commit')}`, "
            f"{len(t.get('invocations') or [])} invocation(s), {state}"
            + (" (a touch again, with --again)" if t.get("again") else "")
        )
    return lines


def _brier_lines(skills: pd.DataFrame) -> list[str]:
    out = []
    for outcome in ("SUCCESS", "DEFECT"):
        r = skills[(skills["outcome"] == outcome) & (skills["metric"] == "Brier")]
        if r.empty or not math.isfinite(r["diff_hi"].iloc[0]):
            out.append(f"- Brier difference for {outcome}: not computed.")
            continue
        hi = float(r["diff_hi"].iloc[0])
        verdict = "below" if hi < BRIER_BOUND else "not below"
        out.append(
            f"- Brier difference (model - logistic) for {outcome}: the paired 90 % interval "
            f"ends at {hi:+.3f}, {verdict} +{BRIER_BOUND:g}"
            + (" (the done-when line)." if outcome == "SUCCESS" else " (reported).")
        )
    return out


def _summary(
    navco_table: pd.DataFrame,
    cases: pd.DataFrame,
    skills: pd.DataFrame | None,
    stale: str | None = None,
) -> list[str]:
    out = []
    if len(navco_table):
        for table, what in (
            ("defect_by_bin", "P(DEFECT) by participation bin"),
            ("defect_by_method", "P(DEFECT) by method"),
            ("success_gap", "the success gap by method"),
        ):
            d = navco_table[(navco_table["table"] == table) & navco_table["done_when"]]
            inside = int(sum(bool(x) for x in d["inside"]))
            out.append(
                f"- Fitting set, {what}: {inside} of {len(d)} done-when cells inside the "
                "data's interval."
            )
    else:
        out.append("- Fitting set: no campaign runs.")
    measured = cases[cases["status"].isin(["pass", "fail"])]
    passed = int((measured["status"] == "pass").sum())
    unmeasured = cases[cases["status"] == "not measured"]
    not_run = cases[cases["status"] == "not run"]
    line = f"- Five cases: {passed} of {len(measured)} measured clauses pass"
    if len(unmeasured):
        line += (
            f"; {len(unmeasured)} not measured (no measure exists: "
            + "; ".join(f"{r.case}: {r.clause}" for r in unmeasured.itertuples())
            + ")"
        )
    if len(not_run):
        line += f"; {len(not_run)} not run"
    out.append(line + ".")
    if skills is None:
        out.append("- Test split: not run (no test-set runs).")
    else:
        r = skills[(skills["outcome"] == "SUCCESS") & (skills["metric"] == "Brier")]
        hi = float(r["diff_hi"].iloc[0]) if len(r) else math.nan
        ok = math.isfinite(hi) and hi < BRIER_BOUND
        if stale:
            out.append(
                "- Test split: **not run with the current sample** (the last touch's Brier "
                "difference interval for SUCCESS, another sample's, "
                + (f"ended at {hi:+.3f})." if math.isfinite(hi) else "was not computed).")
            )
            return out
        out.append(
            "- Test split: the Brier difference interval for SUCCESS "
            + (f"ends at {hi:+.3f}: " if math.isfinite(hi) else "is not computed: ")
            + ("**pass**." if ok else "**fail**.")
        )
    return out


# ------------------------------------------------------------------------------------------------
# plots
# ------------------------------------------------------------------------------------------------


def plot_defect_by_bin(navco_table: pd.DataFrame, path: Path) -> None:
    """P(DEFECT) by participation bin: the data (Wilson 90 %) and the model (90 % over draws)."""
    from matplotlib.figure import Figure

    d = navco_table[navco_table["table"] == "defect_by_bin"].reset_index(drop=True)
    fig = Figure(figsize=(7.5, 4.2), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(d))
    ax.errorbar(
        x - 0.1,
        d["data_p"],
        yerr=[d["data_p"] - d["data_lo"], d["data_hi"] - d["data_p"]],
        fmt="o",
        color="#333333",
        capsize=3,
        label="NAVCO fitting set (90 % Wilson)",
    )
    m = d[np.isfinite(d["model_p"])]
    xm = x[np.isfinite(d["model_p"]).to_numpy()]
    ax.errorbar(
        xm + 0.1,
        m["model_p"],
        yerr=[
            np.clip(m["model_p"] - m["model_lo"], 0, None),
            np.clip(m["model_hi"] - m["model_p"], 0, None),
        ],
        fmt="s",
        color="#3b6fb6",
        capsize=3,
        label="model (90 % over parameter draws)",
    )
    labels = [
        f"{c}\nn={n}" + ("" if dw else "\n(shown only)")
        for c, n, dw in zip(d["cell"], d["data_n"], d["done_when"], strict=True)
    ]
    ax.set_xticks(x, labels, fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_ylabel("P(DEFECT)")
    ax.set_xlabel("peak participation (share of the population)")
    ax.set_title("P(DEFECT) by participation bin, model against data", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    fig.savefig(path, dpi=110)


def plot_reliability(reliability: pd.DataFrame, path: Path) -> None:
    """Reliability diagram: mean prediction against the observed rate, per outcome and set."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 4), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    styles = {"fitting": ("o", "#3b6fb6"), "test": ("s", "#d1495b")}
    for ax, outcome in zip(axes, ("DEFECT", "SUCCESS"), strict=True):
        ax.plot([0, 1], [0, 1], ":", color="#888888", lw=1)
        for name, (marker, colour) in styles.items():
            d = reliability[(reliability["outcome"] == outcome) & (reliability["set"] == name)]
            if d.empty:
                continue
            ax.errorbar(
                d["mean_p"],
                d["rate"],
                yerr=[d["rate"] - d["rate_lo"], d["rate_hi"] - d["rate"]],
                fmt=marker,
                color=colour,
                capsize=3,
                label=f"{name} set",
            )
            for r in d.itertuples():
                ax.annotate(
                    str(r.n),
                    (r.mean_p, r.rate),
                    fontsize=7,
                    xytext=(4, 2),
                    textcoords="offset points",
                )
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel(f"model P({outcome}) (campaign mean)")
        ax.set_title(outcome, fontsize=10)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8, loc="upper left")
    axes[0].set_ylabel("observed rate (90 % Wilson)")
    fig.savefig(path, dpi=110)


# ------------------------------------------------------------------------------------------------
# writing it
# ------------------------------------------------------------------------------------------------


def _test_units(ids: Sequence[int]) -> pd.DataFrame:
    """The test campaigns' units (read only to report on committed test-set runs)."""
    split = navco.read_split()
    test_ids = set(split.loc[split["set"] == "test", navco.ID]) & {int(i) for i in ids}
    units = navco.regime_change(navco.campaigns(navco.load_rows()))
    return units[units[navco.ID].isin(test_ids)]


def analyse(
    fit: Committed, test: Committed | None
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    """The report's tables from the committed runs: NAVCO cells, cases, reliability, skill."""
    fit_units = navco.fitting_units()
    facts = unit_facts(fit_units)
    runs = campaign_runs(fit.runs)
    navco_table = navco_rows(runs, facts, navco.targets(fit_units))
    cases = case_rows(fit.runs)
    rel = reliability_rows(campaign_predictions(runs), facts).assign(set="fitting")
    skills = None
    if test is not None:
        truns = campaign_runs(test.runs)
        pred = campaign_predictions(truns)
        tunits = _test_units(pred.index)
        skills = skill_rows(pred, tunits, fit_units)
        trel = reliability_rows(pred, unit_facts(tunits)).assign(set="test")
        rel = pd.concat([rel, trel], ignore_index=True)
    return navco_table, cases, rel, skills


def write_report(
    results: Path, docs: Path, fit_name: str = "validation", test_name: str = "validation_test"
) -> list[Path]:
    """Write ``docs/VALIDATION.md`` and ``docs/validation/*.png`` from the committed folders.

    Args:
        results: The folder holding the checks' results folders (``calibration``).
        docs: The documentation folder (``docs``).
        fit_name: The validation check's folder name.
        test_name: The test-set check's folder name (used when it holds results).

    Returns:
        The files written.

    Raises:
        ReportError: No committed validation runs.
    """
    results, docs = Path(results), Path(docs)
    fit = load_committed(results / fit_name)
    test_folder = results / test_name
    test = load_committed(test_folder) if (test_folder / "manifest.json").is_file() else None
    navco_table, cases, rel, skills = analyse(fit, test)
    stale = stale_test(fit, test)
    if stale:  # another sample's test runs: not the current model's reliability
        rel = rel[rel["set"] != "test"].reset_index(drop=True)
    plots_dir = docs / "validation"
    plots_dir.mkdir(parents=True, exist_ok=True)
    written = []
    plots = {}
    if len(navco_table) and (navco_table["table"] == "defect_by_bin").any():
        plot_defect_by_bin(navco_table, plots_dir / "defect_by_bin.png")
        plots["defect_by_bin"] = "validation/defect_by_bin.png"
        written.append(plots_dir / "defect_by_bin.png")
    if len(rel):
        plot_reliability(rel, plots_dir / "reliability.png")
        plots["reliability"] = "validation/reliability.png"
        written.append(plots_dir / "reliability.png")
    root = results.resolve().parent
    text = render(
        fit,
        navco_table,
        cases,
        rel,
        test,
        skills,
        read_touches(test_folder),
        plots,
        root,
        stale,
        draw_rows(fit.runs),
    )
    _atomic_write(docs / "VALIDATION.md", text)
    written.insert(0, docs / "VALIDATION.md")
    readme = root / "README.md"
    if readme.is_file() and README_BEGIN in readme.read_text(encoding="utf-8"):
        section = render_readme(fit, navco_table, cases, skills, plots, docs, root, stale)
        _atomic_write(readme, replace_readme_section(readme.read_text(encoding="utf-8"), section))
        written.append(readme)
    return written


#: The README's generated validation section lies between these lines (issue #10: "the README
#: shows the participation curve and the validation table").
README_BEGIN = "<!-- validation:begin -->"
README_END = "<!-- validation:end -->"


def replace_readme_section(text: str, section: str) -> str:
    """``text`` with what lies between :data:`README_BEGIN` and :data:`README_END` replaced.

    Raises:
        ReportError: The markers are missing, repeated or out of order.
    """
    a, b = text.count(README_BEGIN), text.count(README_END)
    i, j = text.find(README_BEGIN), text.find(README_END)
    if a != 1 or b != 1 or j < i:
        raise ReportError(
            f"README.md: needs one `{README_BEGIN}` line before one `{README_END}` line "
            f"(found {a} and {b})"
        )
    return text[: i + len(README_BEGIN)] + "\n" + section + text[j:]


def render_readme(
    fit: Committed,
    navco_table: pd.DataFrame,
    cases: pd.DataFrame,
    skills: pd.DataFrame | None,
    plots: dict[str, str],
    docs: Path,
    root: Path,
    stale: str | None = None,
) -> str:
    """The README's validation section: the participation curve and one table of the done-when.

    Every number comes from the same tables as docs/VALIDATION.md (which has them all);
    ``stale`` (:func:`stale_test`) marks test-set runs of another sample as not the model's.
    """
    sample = fit.check.get("sample") or {}
    sm = _sample_manifest(sample, root)
    wave = sm.get("wave") if isinstance(sm.get("wave"), dict) else {}
    status = sm.get("status")
    head = (
        "_Written by `defection validation` from committed runs; every table is in "
        f"[docs/VALIDATION.md]({_rel(docs / 'VALIDATION.md', root)}). Sample: wave "
        f"`{wave.get('name', sm.get('name'))}`"
        + (f", status **{status}**" if status else "")
        + f", {len(sample.get('rows') or [])} of {sample.get('vectors')} vectors drawn; model "
        f"version {fit.manifest.get('model_version')}._"
    )
    out = [head, ""]
    if "defect_by_bin" in plots:
        img = _rel(docs / plots["defect_by_bin"], root)
        out += [f"![P(DEFECT) by participation bin, model against data]({img})", ""]
    out += [
        "| done-when target | data or requirement | model (90 % over draws) | result |",
        "|---|---|---|---|",
    ]
    names = {
        "defect_by_bin": "NAVCO P(DEFECT), participation {}",
        "defect_by_method": "NAVCO P(DEFECT), {}",
        "success_gap": "NAVCO success gap (DEFECT - no DEFECT), {}",
    }
    if len(navco_table):
        for r in navco_table[navco_table["done_when"]].itertuples():
            out.append(
                f"| {names[r.table].format(r.cell)} | {r.data_p:.2f} "
                f"({_num(r.data_lo, 2)} to {_num(r.data_hi, 2)}) | {_num(r.model_p, 2)} "
                f"({_num(r.model_lo, 2)} to {_num(r.model_hi, 2)}) | "
                f"{_mark(r.inside, r.campaigns)} |"
            )
    for r in cases.itertuples():
        req = f"{r.required:.0%} of runs" + ("" if r.stated else " (median run)")
        cond = f": {r.condition}" if r.condition and r.condition not in ("yes", "no") else ""
        if r.status in ("not measured", "not run"):
            out.append(f"| {r.case}: {r.clause}{cond} | {req} | – | {r.status} |")
            continue
        out.append(
            f"| {r.case}: {r.clause}{cond} | {req} | {r.share:.0%} of {r.runs} runs | "
            f"**{r.status}** |"
        )
    if skills is None:
        out.append("| Test set: Brier score, SUCCESS, model - logistic | < +0.01 | not run | – |")
    elif stale:
        out.append(
            "| Test set: Brier score, SUCCESS, model - logistic | < +0.01 | not run with this "
            "sample (docs/VALIDATION.md has the last touch, another sample's) | – |"
        )
    else:
        for outcome in ("SUCCESS", "DEFECT"):
            r = skills[(skills["outcome"] == outcome) & (skills["metric"] == "Brier")]
            if r.empty:
                continue
            r0 = r.iloc[0]
            hi = float(r0["diff_hi"])
            bound = f"upper end < +{BRIER_BOUND}" if outcome == "SUCCESS" else "reported"
            verdict = (
                ("**pass**" if math.isfinite(hi) and hi < BRIER_BOUND else "**fail**")
                if outcome == "SUCCESS"
                else "–"
            )
            out.append(
                f"| Test set: Brier score, {outcome}, model - logistic (paired) | {bound} | "
                f"{_num(float(r0['diff']))} ({_num(float(r0['diff_lo']))} to {_num(hi)}) | "
                f"{verdict} |"
            )
    out += ["", *_summary(navco_table, cases, skills, stale), ""]
    return "\n".join(out) + "\n"
