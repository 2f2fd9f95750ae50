"""Winning without the force: the ruler's concession rates fitted on the NAVCO fitting set.

The model has a route by which a campaign wins without the security force breaking: the
ruler concedes with a daily chance that grows with participation
(:func:`defection.model.rules.concession_hazard`, ``regime.concession_*``). Its three parameters
are fitted here, with the calibrated sample's behavioural parameters held, in two steps:

**record** re-runs every NAVCO fitting-campaign run of a check folder
(``calibration/validation_v9``, model version 9's validation: its vectors, campaigns, coding and
seeds, read from its ``runs.parquet``) with both concession rates 0 and no armed threat
(:data:`RECORD_BASE`, version 9's values), optionally with ``--set NAME=VALUE``
(``elites.armed_threat``, which changes the runs themselves), and stores per run the daily
participation share and armed share of the active, the first day of a NAVCO DEFECT and the run's
own outcome. With no ``--set`` the runs are the folder's own, and the command checks that every
run's DEFECT and SUCCESS equal the folder's.

``record --cases`` does the same for the folder's scenario-case runs (the five cases), through
the sweep engine as the validation ran them, keeping every target column; with no ``--set`` it
checks each target against the folder's.

**fit** computes, for every setting of a grid of ``(r_n, r_v, beta)``, each run's expected
DEFECT and SUCCESS exactly rather than by drawing. The concession draw comes from its own stream
and is checked after the other rules, so a run that has not conceded by day ``c`` is, to that
day, the run with the concession off. With ``h_t`` the day's hazard and ``S_t = prod (1 - h_u),
u <= t``, the ruler concedes on day ``c`` with chance ``q_c = S_{c-1} - S_c``, on the days the
run was still undecided (before its own outcome's day, or to the horizon); then SUCCESS = 1 and
DEFECT = 1 iff the first DEFECT came on or before ``c``. Otherwise (chance ``S_last``) the run
ends as it did. So ``E[SUCCESS] = 1 - S_last + S_last s``, ``E[DEFECT] = sum_{c >= d} q_c +
S_last d0`` and ``E[SUCCESS and DEFECT] = sum_{c >= d} q_c + S_last s d0``. The cells are then
computed by :func:`defection.calibration.validation.navco_rows`, as the validation does, and
:func:`score` sums, over the done-when cells and the two methods' success rates, the squared
distance from the data in units of the data's observation sd (:func:`navcases.data_cell`). With
case runs, each case clause's share of runs is computed the same way (:func:`case_clause_shares`,
exact for the falls, a lower bound for shares read on a day). The rule that picks the setting
(:func:`fit`), fixed before any recording was read: the most done-when passes (NAVCO cells
inside plus case clauses passing), ties to the lowest score; since 2026-12-07 (fixed before any
recording with an armed threat was read), only among settings that keep both methods' success
rates no farther from the data than model version 9 (:func:`holds_success`, ``--reference``).
Only the fitting set is read; the NAVCO test set is never run. The concession's defection term
(``regime.concession_defection``, added after these fits) is held at 0 here: the expectations
read a run's participation and armed share day by day, not its defected share, so a fit with
that term on is a calibration's job (docs/CALIBRATION.md, "The force in the ruler's exit").

Usage::

    python -m defection.calibration.concession record calibration/validation_v9
        calibration/concession/threat0.parquet [--set elites.armed_threat=0.5] [--workers 2]
    python -m defection.calibration.concession record --cases calibration/validation_v9
        calibration/concession/threat0_cases.parquet
    python -m defection.calibration.concession fit calibration/concession/threat0.parquet
        --cases calibration/concession/threat0_cases.parquet --out calibration/concession/fit.json
    python -m defection.calibration.concession fit calibration/concession/threat05.parquet
        --cases calibration/concession/threat05_cases.parquet
        --reference calibration/concession/fit.json --out calibration/concession/fit_threat05.json
    python -m defection.calibration.concession choose calibration/concession/fit_threat05.json
        calibration/concession/fit_threat1.json

(each one command line). **choose** applies the fit's rule across fits (:func:`choose`).
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import math
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: The grid the fit searches: daily rates at 1 % participating, and the elasticity.
RATES_NONVIOLENT = (0.0, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.008, 0.012, 0.02, 0.03)
RATES_VIOLENT = (0.0, 0.0002, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.008)
ELASTICITIES = (0.0, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0)
#: The mapping settings of the thirteenth calibration and of the validation's campaign table.
CAMPAIGN_SET = {"soldiers.min_agents": 1000}
CAMPAIGN_COEFFS = {"case.patronage_weight": 1.0}
#: What every recording runs on before its ``--set``: model version 9, the concession off and
#: no armed threat (since model version 10 the registry's defaults switch both on; a recording
#: reads the runs without them, whatever the defaults).
RECORD_BASE = {
    "regime.concession_nonviolent": 0.0,
    "regime.concession_violent": 0.0,
    "elites.armed_threat": 0.0,
}
#: What the fit's ``all`` table keeps of every setting, in order.
ALL_COLUMNS = (
    "regime.concession_nonviolent",
    "regime.concession_violent",
    "regime.concession_elasticity",
    "done_when_inside",
    "case_clauses_passing",
    "score",
    "success:nonviolent",
    "success:violent",
    "holds_success",
)
#: Outcome rules read after the concession is checked on the same day (the horizon's).
READ_AFTER = frozenset({"horizon_reached", "armed_split"})


# ------------------------------------------------------------------------------------------------
# record
# ------------------------------------------------------------------------------------------------


def _campaign_jobs(folder: Path, extra: dict[str, Any]) -> list[dict[str, Any]]:
    """One job per finished NAVCO run of a check folder: campaign, draw, seed, vector."""
    from defection.model.params import BY_NAME

    runs = pd.read_parquet(folder / "runs.parquet")
    runs = runs[runs["case"].str.startswith("navco_") & (runs["status"] == "ok")]
    names = [c for c in runs.columns if c in BY_NAME]
    jobs = []
    for row in runs.to_dict("records"):
        _, cid, coding = str(row["case"]).split("_")
        jobs.append(
            {
                "run_id": row["run_id"],
                "navco_id": int(cid),
                "coding": int(coding.removeprefix("d")),
                "seed": int(row["seed"]),
                "vector": {n: float(row[n]) for n in names},
                "extra": extra,
                "defect": row.get("target:navco_defect"),
                "success": row.get("target:navco_success"),
            }
        )
    return jobs


def record_run(job: dict[str, Any]) -> dict[str, Any]:
    """Run one campaign with the concession off and record what the fit needs."""
    from defection.calibration.navcases import campaign_scenario
    from defection.model import signals
    from defection.model.outputs import SUCCESS_OUTCOMES, WINDOW_DAYS
    from defection.model.regime import RegimeModel
    from defection.runner import navco_readings

    sc = campaign_scenario(job["navco_id"], job["coding"], CAMPAIGN_COEFFS)
    sc = sc.with_overrides(CAMPAIGN_SET).with_overrides(
        {**job["vector"], **RECORD_BASE, **job["extra"]}
    )
    part: list[float] = []
    armed: list[float] = []

    def on_day(m: RegimeModel) -> None:  # every simulated day: the run stops at its outcome
        part.append(float(m.stats["participation"]))
        armed.append(float(signals.active_armed_share(m)))

    m = RegimeModel(sc, rng=job["seed"])
    m.run(on_day=on_day)
    rules_met = navco_readings(m)
    days = [d for d in rules_met.values() if d is not None]
    decided = m.outcome in SUCCESS_OUTCOMES and m.outcome_day is not None
    return {
        "run_id": job["run_id"],
        "navco_id": job["navco_id"],
        "seed": job["seed"],
        **{f"v:{k}": v for k, v in job["vector"].items()},
        "outcome": m.outcome,
        "outcome_rule": m.outcome_rule,
        "outcome_day": m.outcome_day,
        "horizon": int(m.p["run.horizon"]),
        "defect_day": min(days) if days else None,
        "navco_defect": int(bool(days)),
        "navco_success": int(decided and m.outcome_day <= WINDOW_DAYS),
        "participation": part,
        "armed_share": armed,
        "folder_defect": job["defect"],
        "folder_success": job["success"],
    }


def record(folder: Path, out: Path, extra: dict[str, Any], workers: int) -> pd.DataFrame:
    """Record every NAVCO fitting-campaign run of ``folder`` (see the module's docstring)."""
    from tqdm import tqdm

    # campaign by campaign, each campaign's runs in one chunk: a worker sizes its crowd from one
    # pilot run (kept per process) for all the vectors of a campaign
    jobs = sorted(_campaign_jobs(folder, extra), key=lambda j: (j["navco_id"], j["coding"]))
    chunk = max(1, len(jobs) // max(1, len({j["navco_id"] for j in jobs})))
    vectors = pd.DataFrame([j["vector"] for j in jobs]).drop_duplicates()
    draw_of = {tuple(v): i for i, v in enumerate(vectors.itertuples(index=False))}
    with ProcessPoolExecutor(max_workers=workers) as pool:
        rows = list(
            tqdm(
                pool.map(record_run, jobs, chunksize=chunk),
                total=len(jobs),
                desc=f"recording {len(jobs)} campaign runs",
            )
        )
    df = pd.DataFrame(rows)
    vcols = [c for c in df.columns if c.startswith("v:")]
    df["draw"] = [draw_of[tuple(v)] for v in df[vcols].itertuples(index=False)]
    df["status"] = "ok"
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"folder": str(folder), "set": extra, "runs": len(df)}
    df.to_parquet(out, index=False)
    out.with_suffix(".json").write_text(json.dumps(meta, indent=1) + "\n")
    return df


def record_case_run(job: tuple[Any, Any]) -> dict[str, Any]:
    """Run one scenario-case task of a check as the validation ran it, recording each day."""
    from defection.model import signals
    from defection.sweep.engine import execute

    task, scenarios = job
    part: list[float] = []
    armed: list[float] = []

    def on_day(m: Any) -> None:
        part.append(float(m.stats["participation"]))
        armed.append(float(signals.active_armed_share(m)))

    row = execute(task, scenarios, on_day=on_day).row
    keep = {k: v for k, v in row.items() if k.startswith("target:")}
    return {
        "run_id": task.run_id,
        "case": task.case,
        "status": row["status"],
        "outcome": row.get("outcome"),
        "outcome_rule": row.get("outcome_rule"),
        "outcome_day": row.get("outcome_day"),
        **keep,
        "participation": part,
        "armed_share": armed,
    }


def record_cases(folder: Path, out: Path, extra: dict[str, Any], workers: int) -> pd.DataFrame:
    """Record every finished scenario-case run (not a NAVCO campaign) of a check folder."""
    from dataclasses import replace

    from tqdm import tqdm

    from defection.calibration.runs import tasks_for
    from defection.calibration.spec import load_calibration
    from defection.sweep.engine import CaseScenarios

    calib = load_calibration(folder / "spec.toml")
    runs = pd.read_parquet(folder / "runs.parquet")
    mine = runs[~runs["case"].str.startswith("navco_") & (runs["status"] == "ok")]
    # matched by design point and replicate (the run ids hash the resolved scenarios, which a
    # parameter added since names too), each with the seed and case the folder ran
    want = {(int(r.point), int(r.replicate)): r for r in mine.itertuples(index=False)}
    tasks = []
    for t in tasks_for(calib, set()):
        row = want.get((t.point, t.replicate))
        if row is None:
            continue
        if (t.seed, t.case) != (int(row.seed), row.case):
            raise SystemExit(f"{folder}: run {row.run_id} is not the spec's ({t.seed}, {t.case})")
        over = {**t.overrides, **RECORD_BASE, **extra}
        tasks.append(replace(t, run_id=row.run_id, overrides=over))
    scenarios = CaseScenarios(
        {c.name: c.runner() for c in calib.cases if c.name in mine["case"].values}
    )
    with ProcessPoolExecutor(max_workers=workers) as pool:
        rows = list(
            tqdm(
                pool.map(record_case_run, [(t, scenarios) for t in tasks]),
                total=len(tasks),
                desc=f"recording {len(tasks)} case runs",
            )
        )
    df = pd.DataFrame(rows)
    out.parent.mkdir(parents=True, exist_ok=True)
    df.to_parquet(out, index=False)
    meta = {"folder": str(folder), "set": extra, "runs": len(df)}
    out.with_suffix(".json").write_text(json.dumps(meta, indent=1) + "\n")
    if not extra:  # the folder's own runs: every target as it committed them
        both = df.merge(mine, on="run_id", suffixes=("", ":folder"))
        cols = [c for c in df.columns if c.startswith("target:")]
        bad = 0
        for c in cols:
            a, b = both[c].astype(float), both[f"{c}:folder"].astype(float)
            bad += int((~((a == b) | (a.isna() & b.isna()))).sum())
        print(f"{bad} target values of {len(df)} case runs differ from {folder}'s own")
    return df


# ------------------------------------------------------------------------------------------------
# fit
# ------------------------------------------------------------------------------------------------


def _fall_in(q: np.ndarray, surv: np.ndarray, fell: float | None, a: int, b: int) -> float:
    """Chance the regime falls on a day in ``[a, b]``: by concession, or as the run fell."""
    lo, hi = max(a, 1), min(b, q.size)
    conceded = float(q[lo - 1 : hi].sum()) if hi >= lo else 0.0
    s_n = float(surv[-1]) if surv.size else 1.0
    fell_in = fell is not None and math.isfinite(fell) and a <= fell <= b
    return conceded + s_n * float(fell_in)


def _none_by(surv: np.ndarray, day: float) -> float:
    """Chance the ruler has not conceded by the end of ``day`` (1 before day 1)."""
    k = min(int(day), surv.size) if math.isfinite(day) else surv.size
    return float(surv[k - 1]) if k >= 1 else 1.0


def case_clause_shares(
    rec: pd.DataFrame, rate_nonviolent: float, rate_violent: float, elasticity: float
) -> dict[str, float]:
    """Each case clause's expected share of runs that meet it with the concession on.

    Keyed by the clause's target (:data:`defection.calibration.validation.CASE_CHECKS`). A fall
    by a day (``soviet_fell_after_231``, ``syria_fell_365``, ``gdr_fell_60``,
    ``myanmar_fell_730``) is exact: the chance of a fall on those days, by concession or as the
    run fell. The first Philippine defection meets only if the ruler has not conceded before it,
    and the fall within 7 days of it adds a concession on those days. A share read on a day
    (Syria's defected share, desertion excess and elites on day 365, Myanmar's defected share on
    day 730) counts as met only if the run met it and the ruler had not conceded by that day: a
    lower bound (a run that concedes earlier is read on its last day, which may meet it too).
    The Soviet left share before day 230 and the largest detained share can only fall when a run
    stops earlier, so they count as the run met them.
    """
    from defection.calibration.validation import CASE_CHECKS

    checks = {c.target: c for c in CASE_CHECKS if c.target is not None}
    sums: dict[str, float] = {}
    counts: dict[str, int] = {}
    for r in rec[rec["status"] == "ok"].to_dict("records"):
        q, surv = concession_curve(
            r["participation"],
            r["armed_share"],
            r["outcome_rule"],
            rate_nonviolent,
            rate_violent,
            elasticity,
            10_000,
        )
        fell = float(r["outcome_day"]) if r["outcome"] in ("collapse", "transition") else None
        for name, c in checks.items():
            if name != "cases_detained" and c.case != r["case"]:
                continue
            value = r.get(f"target:{name}")
            if value is None:
                continue
            value = float(value)
            met = float(bool(c.meets(np.array([value], dtype=float))[0]))
            if name == "soviet_fell_after_231":
                p = _fall_in(q, surv, fell, 231, 365)
            elif name in ("syria_fell_365", "myanmar_fell_730"):
                p = 1.0 - _fall_in(q, surv, fell, 1, 365 if name.startswith("syria") else 730)
            elif name == "gdr_fell_60":
                p = _fall_in(q, surv, fell, 1, 60)
            elif name == "philippines_first_defect":
                p = _none_by(surv, value - 1) * met if math.isfinite(value) else 0.0
            elif name == "philippines_fall_after_defect":
                first = r.get("target:philippines_first_defect")
                if first is None or not math.isfinite(first) or first > 365:
                    p = 0.0
                else:
                    d = int(first)
                    p = (
                        float(q[d - 1 : min(d + 7, q.size)].sum())
                        + (float(surv[-1]) if surv.size else 1.0) * met
                    )
            elif name in ("syria_defected_365", "syria_desertion_excess", "syria_elites"):
                p = _none_by(surv, 365) * met
            elif name == "myanmar_defected_730":
                p = _none_by(surv, 730) * met
            else:  # soviet_left_230, cases_detained
                p = met
            key = name if name != "cases_detained" else f"cases_detained:{r['case']}"
            sums[key] = sums.get(key, 0.0) + p
            counts[key] = counts.get(key, 0) + 1
    return {k: sums[k] / counts[k] for k in sums}


def case_clauses_passing(shares: dict[str, float]) -> int:
    """How many of the cases' measured clauses pass (their share of runs at least the clause's)."""
    from defection.calibration.validation import CASE_CHECKS

    n = 0
    for c in CASE_CHECKS:
        if c.target is None or c.case == "navco":
            continue
        key = c.target if c.target != "cases_detained" else f"cases_detained:{c.case}"
        n += int(shares.get(key, 0.0) >= c.share)
    return n


def concession_curve(
    participation: Sequence[float],
    armed_share: Sequence[float],
    outcome_rule: str | None,
    rate_nonviolent: float,
    rate_violent: float,
    elasticity: float,
    window: int,
) -> tuple[np.ndarray, np.ndarray]:
    """A recorded run's chance of conceding on each day it could, and of not having conceded yet.

    The ruler can concede on every recorded day but one a rule decided before the concession is
    checked (the horizon's survival and split are read after it), up to ``window`` days. Returns
    ``(q, S)``: ``q[c - 1]`` the chance of conceding on day ``c``, ``S[c - 1]`` of not having
    conceded by the end of day ``c`` (:func:`defection.model.rules.concession_hazard`, day by day).
    """
    from defection.model.rules import concession_hazard

    p = np.asarray(participation, dtype=float)
    v = np.asarray(armed_share, dtype=float)
    n = max(0, min(p.size - (0 if outcome_rule in READ_AFTER else 1), window))
    hazard = concession_hazard(p[:n], v[:n], rate_nonviolent, rate_violent, elasticity)
    surv = np.cumprod(1.0 - np.asarray(hazard, dtype=float))
    prev = np.concatenate(([1.0], surv[:-1]))
    return prev - surv, surv


def expected_outcomes(
    rec: pd.DataFrame, rate_nonviolent: float, rate_violent: float, elasticity: float
) -> pd.DataFrame:
    """Each recorded run's expected DEFECT, SUCCESS and both with the concession on (exact).

    Returns ``rec``'s ``navco_id``, ``draw`` and ``status`` with ``navco_defect``,
    ``navco_success`` and ``navco_success_defect`` as expectations (the module's docstring).
    """
    from defection.model.outputs import WINDOW_DAYS

    ed, es, esd = [], [], []
    for r in rec.itertuples(index=False):
        q, surv = concession_curve(
            r.participation,
            r.armed_share,
            r.outcome_rule,
            rate_nonviolent,
            rate_violent,
            elasticity,
            WINDOW_DAYS,
        )
        n = q.size
        s_last = surv[-1] if n else 1.0
        d = r.defect_day
        q_after = float(q[int(d) - 1 :].sum()) if d is not None and d <= n else 0.0
        d0, s0 = float(r.navco_defect), float(r.navco_success)
        ed.append(q_after + s_last * d0)
        es.append(1.0 - s_last + s_last * s0)
        esd.append(q_after + s_last * s0 * d0)
    out = rec[["navco_id", "draw", "status"]].copy()
    out["navco_defect"], out["navco_success"], out["navco_success_defect"] = ed, es, esd
    return out


def score(
    cells: pd.DataFrame, success: pd.DataFrame, data_sd: dict[tuple[str, str], float]
) -> float:
    """Sum of squared distances (in data sds) over the done-when cells and the success rates."""
    total = 0.0
    for r in cells[cells["done_when"]].itertuples(index=False):
        total += ((r.model_p - r.data_p) / data_sd[(r.table, r.cell)]) ** 2
    for r in success.itertuples(index=False):
        total += ((r.p - r.data_p) / data_sd[("success_by_method", r.method)]) ** 2
    return float(total)


@functools.cache
def _fit_inputs(navco_rec: str, cases_rec: str | None) -> dict[str, Any]:
    """What every setting is scored against, read once per process."""
    from defection.calibration import navco, validation
    from defection.calibration.navcases import data_cell

    units = navco.fitting_units(split=navco.read_split())
    data = navco.targets(units)
    sd = {}
    for table in ("defect_by_bin", "defect_by_method", "success_gap", "success_by_method"):
        for cell in navco.BIN_LABELS if table == "defect_by_bin" else navco.METHODS:
            try:
                sd[(table, cell)] = data_cell(table, cell, data)["obs_sd"]
            except KeyError:
                continue
    return {
        "facts": validation.unit_facts(units),
        "data": data,
        "sd": sd,
        "success": {m: data_cell("success_by_method", m, data)["observed"] for m in navco.METHODS},
        "rec": pd.read_parquet(navco_rec),
        "cases": pd.read_parquet(cases_rec) if cases_rec is not None else None,
    }


def score_setting(job: tuple[str, str | None, float, float, float]) -> dict[str, Any]:
    """One grid setting's NAVCO cells, success rates, case clauses, passes and score."""
    from defection.calibration import validation
    from defection.calibration.navcases import model_rates

    navco_rec, cases_rec, rn, rv, beta = job
    x = _fit_inputs(navco_rec, cases_rec)
    exp = expected_outcomes(x["rec"], rn, rv, beta)
    cells = validation.navco_rows(exp, x["facts"], x["data"])
    rates = model_rates(exp, x["facts"])
    sr = rates["success_by_method"]
    sr = sr.assign(data_p=[x["success"][m] for m in sr["method"]])
    dw = cells[cells["done_when"]]
    cases = x["cases"]
    shares = case_clause_shares(cases, rn, rv, beta) if cases is not None else {}
    inside = int(dw["inside"].fillna(False).sum())
    clauses = case_clauses_passing(shares) if cases is not None else 0
    return {
        "regime.concession_nonviolent": rn,
        "regime.concession_violent": rv,
        "regime.concession_elasticity": beta,
        "passes": inside + clauses,
        "score": score(cells, sr, x["sd"]),
        "done_when_inside": inside,
        "done_when_cells": len(dw),
        "case_clauses_passing": clauses,
        "cells": {
            f"{r.table}:{r.cell}": round(float(r.model_p), 4) for r in cells.itertuples(index=False)
        },
        "success": {r.method: round(float(r.p), 4) for r in sr.itertuples(index=False)},
        "success_given": {  # P(SUCCESS | DEFECT), P(SUCCESS | no DEFECT)
            r.method: [round(float(r.p_defect), 4), round(float(r.p_no_defect), 4)]
            for r in rates["success_gap"].itertuples(index=False)
        },
        "case_clauses": {k: round(v, 4) for k, v in shares.items()},
    }


def holds_success(
    success: dict[str, float],
    reference: dict[str, float],
    data: dict[str, float],
    data_sd: dict[str, float],
) -> bool:
    """Whether a setting keeps each method's success rate no farther from the data.

    A setting holds a method when ``|p - d| <= max(|p_ref - d|, sd_d)``: its success rate ``p``
    is no farther from the data's ``d`` than the reference model's ``p_ref`` is, or within one
    observation sd of the data. Fixed (2026-12-07) before the first recording with an armed
    threat was read, so that a success gap cannot come inside by inflating one method's success.
    """
    return all(
        abs(success[m] - data[m]) <= max(abs(reference[m] - data[m]), data_sd[m]) for m in data
    )


def fit(
    navco_rec: Path,
    cases_rec: Path | None = None,
    workers: int = 1,
    reference: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Score every grid setting on a recording of campaign runs (and of case runs).

    The rule, fixed before any recording was read: the setting with the most done-when passes
    (the NAVCO done-when cells inside the data's interval, plus the cases' measured clauses that
    pass, :func:`case_clauses_passing`, when case runs are given) wins; ties go to the lowest
    :func:`score`. Added on 2026-12-07, before any armed-threat recording was read: only a
    setting that holds both methods' success rates (:func:`holds_success`) against ``reference``
    can win (the reference model's rates by method: model version 9's, the ``off`` setting of
    the recording without an armed threat, ``calibration/concession/fit.json``; by default this
    recording's own ``off``). If none holds them, ``best`` is None.
    """
    from tqdm import tqdm

    meta = json.loads(navco_rec.with_suffix(".json").read_text())
    jobs = [
        (str(navco_rec), str(cases_rec) if cases_rec is not None else None, rn, rv, beta)
        for rn, rv, beta in itertools.product(RATES_NONVIOLENT, RATES_VIOLENT, ELASTICITIES)
        if not (rn == 0 and rv == 0 and beta != ELASTICITIES[0])  # beta cannot act then
    ]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        results = list(
            tqdm(pool.map(score_setting, jobs, chunksize=8), total=len(jobs), desc="settings")
        )
    off = next(
        r
        for r in results
        if r["regime.concession_nonviolent"] == 0 and r["regime.concession_violent"] == 0
    )
    ref = dict(off["success"]) if reference is None else dict(reference)
    x = _fit_inputs(str(navco_rec), str(cases_rec) if cases_rec is not None else None)
    data = {m: float(v) for m, v in x["success"].items()}
    data_sd = {m: x["sd"][("success_by_method", m)] for m in data}
    for r in results:
        r["holds_success"] = holds_success(r["success"], ref, data, data_sd)
    results.sort(key=lambda r: (not r["holds_success"], -r["passes"], r["score"]))
    best = results[0] if results[0]["holds_success"] else None
    return {
        "recording": str(navco_rec),
        "cases": str(cases_rec) if cases_rec is not None else None,
        "set": meta["set"],
        "settings": len(results),
        "rule": (
            "holds both methods' success rates against the reference, then most done-when "
            "passes (NAVCO cells inside + case clauses), then lowest score"
        ),
        "reference_success": ref,
        "data_success": data,
        "data_success_sd": data_sd,
        "best": best,
        "holding": sum(r["holds_success"] for r in results),
        "off": off,
        "top": results[:10],
        "all_columns": list(ALL_COLUMNS),
        "all": [[r[c] if c in r else r["success"][c[8:]] for c in ALL_COLUMNS] for r in results],
    }


def choose(fits: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The winner across fits of recordings that differ only in ``--set``, by :func:`fit`'s rule.

    Each fit's ``best`` already holds both success rates against the shared reference; among
    them the most done-when passes wins, ties to the lowest score (fixed with the plan in
    docs/CALIBRATION.md, "Winning without the force", before the second recording was read).

    Args:
        fits: :func:`fit`'s results (``fit_*.json``), all with the same reference and data.

    Returns:
        ``{"index": i, "set": fits[i]["set"], "best": fits[i]["best"]}`` for the winning fit,
        or None if no fit has a setting that holds.

    Raises:
        ValueError: The fits do not share their reference or data success rates.
    """
    keys = ("reference_success", "data_success", "data_success_sd")
    for k in keys:
        if any(f.get(k) != fits[0].get(k) for f in fits):
            raise ValueError(f"the fits differ in {k!r}: they cannot be compared by one rule")
    held = [(i, f["best"]) for i, f in enumerate(fits) if f["best"] is not None]
    if not held:
        return None
    i, best = min(held, key=lambda t: (-t[1]["passes"], t[1]["score"], t[0]))
    return {"index": i, "set": fits[i]["set"], "best": best}


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``record``, ``fit`` or ``choose`` (the module's docstring)."""
    ap = argparse.ArgumentParser(prog="python -m defection.calibration.concession")
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("record", help="re-run a check folder's runs, recording each day")
    r.add_argument("folder", type=Path)
    r.add_argument("out", type=Path)
    r.add_argument("--cases", action="store_true", help="the scenario cases' runs, not NAVCO's")
    r.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    r.add_argument("--workers", type=int, default=2)
    f = sub.add_parser("fit", help="score the grid on a recording")
    f.add_argument("recording", type=Path)
    f.add_argument("--cases", type=Path, help="a recording of the same folder's case runs")
    f.add_argument("--out", type=Path)
    f.add_argument("--workers", type=int, default=2)
    f.add_argument(
        "--reference",
        type=Path,
        help="a fit.json whose 'off' success rates the settings must hold (default: this one's)",
    )
    c = sub.add_parser("choose", help="the winner across fits by the same rule")
    c.add_argument("fits", type=Path, nargs="+", help="fit_*.json files of the same reference")
    a = ap.parse_args(argv)
    if a.cmd == "choose":
        fits = []
        for path in a.fits:
            try:
                fits.append(json.loads(path.read_text()))
            except (OSError, ValueError) as err:
                print(f"error: {path}: not a readable fit file ({err})", file=sys.stderr)
                return 2
            missing = [k for k in ("set", "best", "reference_success") if k not in fits[-1]]
            if missing:
                print(
                    f"error: {path}: no {', '.join(missing)}: not written by 'fit'", file=sys.stderr
                )
                return 2
        try:
            won = choose(fits)
        except ValueError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        if won is None:
            print("no fit has a setting that holds both methods' success rates")
            return 0
        b = won["best"]
        print(
            f"{a.fits[won['index']]} (set {won['set']}): r_n {b['regime.concession_nonviolent']} "
            f"r_v {b['regime.concession_violent']} beta {b['regime.concession_elasticity']}: "
            f"{b['passes']} passes ({b['done_when_inside']} of {b['done_when_cells']} NAVCO "
            f"done-when cells, {b['case_clauses_passing']} case clauses), score {b['score']:.2f}"
        )
        return 0
    if a.cmd == "record":
        from defection.cli import parse_sets

        extra = parse_sets(a.set)
        if a.cases:
            record_cases(a.folder, a.out, extra, a.workers)
        else:
            df = record(a.folder, a.out, extra, a.workers)
            if not extra:
                bad = (df["navco_defect"] != df["folder_defect"]) | (
                    df["navco_success"] != df["folder_success"]
                )
                print(f"{int(bad.sum())} of {len(df)} runs differ from {a.folder}'s own")
        print(f"wrote {a.out}")
        return 0
    ref = None
    if a.reference is not None:
        ref = json.loads(a.reference.read_text())["off"]["success"]
    res = fit(a.recording, a.cases, a.workers, ref)
    if a.out:
        a.out.write_text(json.dumps(res, indent=1) + "\n")
        print(f"wrote {a.out}")
    print(f"{res['holding']} of {res['settings']} settings hold both success rates")
    for label in ("off", "best"):
        b = res[label]
        if b is None:
            print(f"{label}: no setting holds both methods' success rates")
            continue
        print(
            f"{label}: r_n {b['regime.concession_nonviolent']} r_v "
            f"{b['regime.concession_violent']} beta {b['regime.concession_elasticity']}: "
            f"{b['done_when_inside']} of {b['done_when_cells']} NAVCO done-when cells, "
            f"{b['case_clauses_passing']} case clauses, score {b['score']:.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
