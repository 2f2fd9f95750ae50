"""Winning without the force: the ruler's concession rates fitted on the NAVCO fitting set.

The model has a route by which a campaign wins without the security force breaking: the
ruler concedes with a daily chance that grows with participation
(:func:`defection.model.rules.concession_hazard`, ``regime.concession_*``). Its three parameters
are fitted here, with the calibrated sample's behavioural parameters held, in two steps:

**record** re-runs every NAVCO fitting-campaign run of a check folder (``calibration/validation``:
its vectors, campaigns, coding and seeds, read from its ``runs.parquet``) with both concession
rates 0, optionally with ``--set NAME=VALUE`` (``elites.armed_threat``, which changes the runs
themselves), and stores per run the daily participation share and armed share of the active,
the first day of a NAVCO DEFECT and the run's own outcome. With no ``--set`` the runs are the
folder's own, and the command checks that every run's DEFECT and SUCCESS equal the folder's.

**fit** computes, for every setting of a grid of ``(r_n, r_v, beta)``, each run's expected
DEFECT and SUCCESS exactly rather than by drawing. The concession draw comes from its own stream
and is checked after the other rules, so a run that has not conceded by day ``c`` is, to that
day, the run with the concession off. With ``lam_t`` the day's rate and ``S_t = exp(-sum lam_u,
u <= t)``, the ruler concedes on day ``c`` with chance ``q_c = S_{c-1} - S_c``, on the days the
run was still undecided (before its own outcome's day, or to the horizon); then SUCCESS = 1 and
DEFECT = 1 iff the first DEFECT came on or before ``c``. Otherwise (chance ``S_last``) the run
ends as it did. So ``E[SUCCESS] = 1 - S_last + S_last s``, ``E[DEFECT] = sum_{c >= d} q_c +
S_last d0`` and ``E[SUCCESS and DEFECT] = sum_{c >= d} q_c + S_last s d0``. The cells are then
computed by :func:`defection.calibration.validation.navco_rows`, as the validation does, and the
score is the sum over the done-when cells and the two methods' success rates of the squared
distance from the data in units of the data's observation sd (:func:`navcases.data_cell`). Only
the fitting set is read; the NAVCO test set is never run.

Usage::

    python -m defection.calibration.concession record calibration/validation
        calibration/concession/threat0.parquet [--set elites.armed_threat=0.5] [--workers 2]
    python -m defection.calibration.concession fit calibration/concession/threat0.parquet ...
        [--out calibration/concession/fit.json]

(each one command line).
"""

from __future__ import annotations

import argparse
import itertools
import json
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
    sc = sc.with_overrides(CAMPAIGN_SET).with_overrides({**job["vector"], **job["extra"]})
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


# ------------------------------------------------------------------------------------------------
# fit
# ------------------------------------------------------------------------------------------------


def expected_outcomes(
    rec: pd.DataFrame, rate_nonviolent: float, rate_violent: float, elasticity: float
) -> pd.DataFrame:
    """Each recorded run's expected DEFECT, SUCCESS and both with the concession on (exact).

    Returns ``rec``'s ``navco_id``, ``draw`` and ``status`` with ``navco_defect``,
    ``navco_success`` and ``navco_success_defect`` as expectations (the module's docstring).
    """
    from defection.model.outputs import WINDOW_DAYS
    from defection.model.rules import CONCESSION_REFERENCE

    ed, es, esd = [], [], []
    for r in rec.itertuples(index=False):
        p = np.asarray(r.participation, dtype=float)
        v = np.clip(np.asarray(r.armed_share, dtype=float), 0.0, 1.0)
        # the days on which the ruler could concede: every recorded day but one a rule decided
        # before the concession is checked (the horizon's survival and split are read after it)
        n = min(p.size - (0 if r.outcome_rule in READ_AFTER else 1), WINDOW_DAYS)
        rate = (1 - v[:n]) * rate_nonviolent + v[:n] * rate_violent
        with np.errstate(divide="ignore"):
            size = np.where(p[:n] > 0, (p[:n] / CONCESSION_REFERENCE) ** elasticity, 0.0)
        surv = np.exp(-np.cumsum(rate * size))
        prev = np.concatenate(([1.0], surv[:-1]))
        q = prev - surv  # chance of conceding on day 1..n
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
        total += ((r.model_p - r.data_p) / data_sd[("success_by_method", r.method)]) ** 2
    return float(total)


def fit(recs: Sequence[Path]) -> dict[str, Any]:
    """Score every grid setting on every recording; the best per recording and overall."""
    from defection.calibration import navco, validation
    from defection.calibration.navcases import data_cell, model_rates

    units = navco.fitting_units(split=navco.read_split())
    facts = validation.unit_facts(units)
    data = navco.targets(units)
    sd = {}
    for table in ("defect_by_bin", "defect_by_method", "success_gap", "success_by_method"):
        for cell in navco.BIN_LABELS if table == "defect_by_bin" else navco.METHODS:
            try:
                sd[(table, cell)] = data_cell(table, cell, data)["obs_sd"]
            except KeyError:
                continue
    succ_data = {m: data_cell("success_by_method", m, data)["observed"] for m in navco.METHODS}
    results = []
    for path in recs:
        rec = pd.read_parquet(path)
        meta = json.loads(path.with_suffix(".json").read_text())
        grid = itertools.product(RATES_NONVIOLENT, RATES_VIOLENT, ELASTICITIES)
        for rn, rv, beta in grid:
            if rn == 0 and rv == 0 and beta != ELASTICITIES[0]:
                continue  # the elasticity cannot act with both rates 0
            exp = expected_outcomes(rec, rn, rv, beta)
            cells = validation.navco_rows(exp, facts, data)
            sr = model_rates(exp, facts)["success_by_method"]
            sr = sr.assign(data_p=[succ_data[m] for m in sr["method"]])
            dw = cells[cells["done_when"]]
            results.append(
                {
                    "recording": str(path),
                    "set": meta["set"],
                    "regime.concession_nonviolent": rn,
                    "regime.concession_violent": rv,
                    "regime.concession_elasticity": beta,
                    "score": score(cells, sr, sd),
                    "done_when_inside": int(dw["inside"].fillna(False).sum()),
                    "done_when_cells": len(dw),
                    "cells": {
                        f"{r.table}:{r.cell}": round(float(r.model_p), 4)
                        for r in cells.itertuples(index=False)
                    },
                    "success": {
                        r.method: round(float(r.model_p), 4) for r in sr.itertuples(index=False)
                    },
                }
            )
    results.sort(key=lambda r: r["score"])
    return {"best": results[0], "top": results[:10], "settings": len(results)}


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``record`` or ``fit`` (the module's docstring)."""
    ap = argparse.ArgumentParser(prog="python -m defection.calibration.concession")
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("record", help="re-run a check folder's campaign runs, recording")
    r.add_argument("folder", type=Path)
    r.add_argument("out", type=Path)
    r.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    r.add_argument("--workers", type=int, default=2)
    f = sub.add_parser("fit", help="score the grid on recordings")
    f.add_argument("recordings", type=Path, nargs="+")
    f.add_argument("--out", type=Path)
    a = ap.parse_args(argv)
    if a.cmd == "record":
        from defection.cli import parse_sets

        extra = parse_sets(a.set)
        df = record(a.folder, a.out, extra, a.workers)
        if not extra:
            bad = (df["navco_defect"] != df["folder_defect"]) | (
                df["navco_success"] != df["folder_success"]
            )
            print(f"{int(bad.sum())} of {len(df)} runs differ from {a.folder}'s own")
        print(f"wrote {a.out}")
        return 0
    res = fit(a.recordings)
    text = json.dumps(res, indent=1)
    if a.out:
        a.out.write_text(text + "\n")
        print(f"wrote {a.out}")
    b = res["best"]
    print(
        f"best of {res['settings']} settings: {b['set']} r_n {b['regime.concession_nonviolent']} "
        f"r_v {b['regime.concession_violent']} beta {b['regime.concession_elasticity']}: score "
        f"{b['score']:.2f}, {b['done_when_inside']} of {b['done_when_cells']} done-when cells"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
