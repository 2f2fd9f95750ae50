"""Run a scenario headless and write its results (used by ``defection run``, sweeps and tests)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from defection import __version__
from defection.calibration.navco import participation_bin
from defection.model import version
from defection.model.outputs import (
    BRANCHES,
    ELITE_STATES,
    FINAL_FIGURES,
    GROUP_COUNT_AXES,
    RANKS,
    SHARE_SERIES,
    SOLDIER_STATES,
    WINDOW_DAYS,
    branch_shares,
    defect_occurred,
    group_count_array,
    has_left,
    navco_defect,
    navco_success,
)
from defection.model.policy import Package
from defection.model.policy import summary as policy_summary
from defection.model.regime import RegimeModel
from defection.model.rules import DEFECTED
from defection.model.scenario import Scenario

#: Columns of timeseries.parquet that are shares (each also has a ``<name>_people`` column).
SHARE_COLUMNS = SHARE_SERIES


def simulate(
    scenario: Scenario,
    seed: int,
    until_horizon: bool = False,
    on_day: Callable[[RegimeModel], None] | None = None,
    policy: Package | None = None,
) -> RegimeModel:
    """Build and run a model to its outcome (or horizon); ``on_day`` is called after each day.

    ``policy``: a package of measures applied during the run (:mod:`defection.model.policy`).
    """
    model = RegimeModel(scenario, rng=seed, until_horizon=until_horizon, policy=policy)
    model.run(on_day=on_day)
    return model


def git_commit() -> str | None:
    """Commit of the source checkout the package runs from, if it is a git checkout."""
    src = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(
            ["git", "-C", str(src), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def defection_rates(model: RegimeModel) -> list[dict[str, Any]]:
    """Share of soldiers who left (deserted or defected), by identity group and rank."""
    s = model.soldiers
    left = has_left(s.state)
    rows = []
    for g, gname in enumerate(model.group_names):
        for r, rname in enumerate(RANKS):
            sel = (s.group == g) & (s.rank == r)
            n = int(sel.sum())
            if n:
                rows.append(
                    {
                        "group": gname,
                        "rank": rname,
                        "agents": n,
                        "left_share": float(left[sel].mean()),
                        "defected_share": float((s.state[sel] == DEFECTED).mean()),
                    }
                )
    return rows


def branch_members(model: RegimeModel) -> dict[str, np.ndarray]:
    """Per branch of the force (:data:`~defection.model.outputs.BRANCHES`), who belongs to it."""
    police = model.soldiers.police
    members = {"army": ~police, "police": police}
    assert tuple(members) == BRANCHES
    return members


def forces(model: RegimeModel) -> dict[str, Any]:
    """The summary's ``forces``: army, police and conscripts, and the foreign troops."""
    s, ppa = model.soldiers, model.measure.soldier_people
    out: dict[str, Any] = {}
    for name, member in {**branch_members(model), "conscripts": s.conscript}.items():
        left, defected = branch_shares(s.state, member)
        n = int(member.sum())
        out[name] = {
            "agents": n,
            "people": n * ppa,
            "left_share": left,
            "defected_share": defected,
            "left_people": left * n * ppa,
            "defected_people": defected * n * ppa,
        }
    troops = model.p["support.regime_troops"] * model.initial_force * ppa
    out["foreign_troops_people"] = float(troops)
    return out


def navco_readings(model: RegimeModel, ts: pd.DataFrame | None = None) -> dict[str, int | None]:
    """The first day each DEFECT rule of docs/MEASUREMENT.md held (``outputs.navco_defect``)."""
    if ts is None:
        ts = model.datacollector.get_model_vars_dataframe()
    defected, shirking = ts["soldiers_defected"].to_numpy(), ts["soldiers_shirking"].to_numpy()
    return navco_defect(defected, shirking, model.first_unit_over)


def rank_left_shares(model: RegimeModel) -> dict[str, float]:
    """Per rank (:data:`~defection.model.rules.RANKS`): share of its soldiers who left.

    NaN for a rank with no soldier.
    """
    s = model.soldiers
    left = has_left(s.state)
    out = {}
    for r, name in enumerate(RANKS):
        sel = s.rank == r
        out[name] = float(left[sel].mean()) if sel.any() else float("nan")
    return out


def core_left_share(model: RegimeModel) -> float | None:
    """Share of the regime's core identity group among soldiers who left (deserted or defected).

    ``left / members`` over soldiers whose identity group is the scenario's core group (``core =
    true``), on the model's current day; None when the scenario has no core group or the force
    has no member of it. Issue #10's Syrian clause: at most 5 % of the (Alawite) core leaves.
    """
    core = int(getattr(model, "core_group", -1))
    if core < 0:
        return None
    s = model.soldiers
    members = s.group == core
    if not members.any():
        return None
    return float(has_left(s.state)[members].mean())


def final_figures(model: RegimeModel, ts: pd.DataFrame | None = None) -> dict[str, Any]:
    """A finished run's headline numbers, shared by ``summary.json`` and the sweep store.

    Args:
        model: The model after its last day.
        ts: Its DataCollector frame, if the caller has it already.

    Returns:
        ``soldiers`` (final share of the initial force by state), and the figures named in
        :data:`defection.model.outputs.FINAL_FIGURES`: ``soldiers_left`` (deserted or defected),
        ``elites_defected``, ``active_protesters`` (last day), ``peak_active_protesters``,
        ``peak_participation`` (highest daily share of the population), ``belief_survival``
        (last day), ``regions_with_defection``, ``navco_defect`` and ``navco_success``, and
        per branch (army, police) the shares of its initial members who left and defected.
    """
    if ts is None:
        ts = model.datacollector.get_model_vars_dataframe()
    state = model.soldiers.state
    S0 = max(model.initial_force, 1)
    counts = np.bincount(state, minlength=len(SOLDIER_STATES))
    figures = {
        "soldiers_left": has_left(state).sum() / S0,
        "elites_defected": model.stats["elites_defected"],
        "active_protesters": model.stats["active_protesters"],
        "peak_active_protesters": ts["active_protesters"].max(),
        "peak_participation": ts["participation"].max(),
        "belief_survival": model.stats["belief_survival"],
        "regions_with_defection": model.region_had_defection().sum(),
        "navco_defect": defect_occurred(navco_readings(model, ts)),
        "navco_success": navco_success(model.outcome, model.outcome_day),
    }
    for branch, member in branch_members(model).items():
        figures[f"{branch}_left"], figures[f"{branch}_defected"] = branch_shares(state, member)
    assert figures.keys() == FINAL_FIGURES.keys(), "outputs.FINAL_FIGURES and this list differ"
    return {
        "soldiers": {name: float(counts[i] / S0) for i, name in enumerate(SOLDIER_STATES)},
        **{name: FINAL_FIGURES[name](value) for name, value in figures.items()},
    }


def summarize(model: RegimeModel, seed: int) -> dict[str, Any]:
    """The run's summary (the content of summary.json; fields documented in docs/OUTPUTS.md)."""
    ppa = model.measure.soldier_people
    pool = float(model.protester_people.sum())
    fig = final_figures(model)
    counts = np.bincount(model.soldiers.state, minlength=len(SOLDIER_STATES))
    E = model.elites.state.size
    ecounts = np.bincount(model.elites.state, minlength=len(ELITE_STATES))
    had = model.region_had_defection()
    share = model.region_defected_share()
    return {
        "scenario": model.scenario_def.name,
        "title": model.scenario_def.title,
        "scenario_hash": model.scenario_def.hash,
        "seed": seed,
        "version": __version__,
        "model_version": version.MODEL_VERSION,
        "commit": git_commit(),
        "parameters": model.scenario_def.params,
        "outcome": model.outcome,
        "outcome_day": model.outcome_day,
        "outcome_rule": model.outcome_rule,
        "days": model.day,
        "people_per_agent": ppa,
        "agents": {
            "protesters": model.n_protesters,
            "soldiers": model.n_soldiers,
            "elites": E,
        },
        "soldiers": fig["soldiers"],
        "soldiers_people": {name: float(counts[i] * ppa) for i, name in enumerate(SOLDIER_STATES)},
        "elites": {
            name: float(ecounts[i] / E) if E else 0.0 for i, name in enumerate(ELITE_STATES)
        },
        "peak_active_protesters": fig["peak_active_protesters"],
        "peak_active_protesters_people": fig["peak_active_protesters"] * pool,
        "participation": {
            "peak_share": fig["peak_participation"],
            "peak_people": fig["peak_participation"] * model.measure.denominator,
            "denominator": model.measure.denominator,
            "bin": participation_bin(fig["peak_participation"]),
            "stated_peak_share": model.p["protest.peak_share"] or None,
            "mobilisable_share": model.measure.mobilisable_share,
            "mobilisable_people": pool,
        },
        "final_belief_survival": fig["belief_survival"],
        "regions": [
            {
                "name": name,
                "population": float(model.scenario_def.regions[i]["population"]),
                "people_per_protester_agent": float(model.measure.protester_people[i]),
                "garrison_people": float(model.garrison[i] * ppa),
                "defected_share": float(share[i]),
                "had_defection": bool(had[i]),
            }
            for i, name in enumerate(model.region_names)
        ],
        "regions_with_defection": fig["regions_with_defection"],
        "forces": forces(model),
        "navco": {
            "window_days": WINDOW_DAYS,
            "defect": bool(fig["navco_defect"]),
            "defect_rules_first_day": navco_readings(model),
            "success": bool(fig["navco_success"]),
        },
        "defection_rates": defection_rates(model),
        "events": [{"day": d, "text": t} for d, t in model.log],
        "policy": policy_summary(model.policy.package) if model.policy is not None else None,
    }


def timeseries(model: RegimeModel) -> pd.DataFrame:
    """One row per day: shares, and the same counts in people."""
    df = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    pool = float(model.protester_people.sum())
    force = model.initial_force * model.measure.soldier_people
    for col in SHARE_COLUMNS:
        df[f"{col}_people"] = df[col] * (pool if col.endswith("protesters") else force)
    df["day"] = df["day"].astype(int)
    return df


def group_table(model: RegimeModel) -> pd.DataFrame:
    """Per day, region, identity group and rank: soldiers in each state, in people."""
    R, G = len(model.region_names), model.n_groups
    arr = group_count_array(np.stack(model.group_counts), R, G)  # (days, *GROUP_COUNT_AXES)
    assert GROUP_COUNT_AXES == ("region", "group", "rank", "state")
    days, rr, gg, kk = np.meshgrid(
        np.arange(arr.shape[0]), np.arange(R), np.arange(G), np.arange(len(RANKS)), indexing="ij"
    )
    flat = arr.reshape(-1, len(SOLDIER_STATES)) * model.measure.soldier_people
    df = pd.DataFrame(
        {
            "day": days.ravel(),
            "region": pd.Categorical.from_codes(rr.ravel(), model.region_names),
            "group": pd.Categorical.from_codes(gg.ravel(), model.group_names),
            "rank": pd.Categorical.from_codes(kk.ravel(), RANKS),
            **{name: flat[:, i] for i, name in enumerate(SOLDIER_STATES)},
        }
    )
    return df[df[list(SOLDIER_STATES)].sum(axis=1) > 0].reset_index(drop=True)


def write_outputs(model: RegimeModel, seed: int, out: Path) -> dict[str, Any]:
    """Write summary.json, timeseries.parquet, groups.parquet and cascade.png into ``out``.

    ``cascade.png`` is the run's summary figure (:func:`defection.plots.summary_figure`).
    """
    out.mkdir(parents=True, exist_ok=True)
    summary = summarize(model, seed)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    ts = timeseries(model)
    ts.to_parquet(out / "timeseries.parquet", index=False)
    groups = group_table(model)
    groups.to_parquet(out / "groups.parquet", index=False)
    from defection.plots import summary_figure  # matplotlib only when writing files

    summary_figure(model, ts).savefig(out / "cascade.png", dpi=110)
    return summary
