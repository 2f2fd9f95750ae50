"""Refine a wave's non-implausible sample by runs: ABC rejection on each vector's own runs.

History matching keeps every vector the emulators cannot rule out; the emulators of 0/1 targets are
optimistic where most runs give 0 (docs/CALIBRATION.md, "A wave: history matching"), and the second
calibration's sample kept vectors whose runs rarely show the cases' events. Issue #10 (section 4)
allows a refinement of the final wave. This module is that refinement: a check (``kind = "check"``,
``calibration/specs/refine5.toml``) runs **every** vector of the wave's sample (or a random subset
of it) on the five cases (a few seeds each) and on a fixed stratified set of NAVCO fitting
campaigns, and :func:`select` keeps the vectors whose own runs come closest to the targets. That is
ABC rejection (Pritchard et al. 1999; Beaumont 2019, *Annu. Rev. Stat. Appl.* 6) over the wave's
sample as the proposal, with the summary statistics and tolerance below. The rule was fixed, and
committed, before the check's runs were read.

Per vector ``v`` (a ``draw`` of the check):

* **Case deficit** ``D_v = sum_c (1 - f_vc)`` over the five cases' measured done-when clauses
  ``c`` (:data:`defection.calibration.validation.CASE_CHECKS`, 17 of them), where ``f_vc`` is the
  share of ``v``'s finished runs of that case that meet the clause (a case with no finished run:
  ``f_vc = 0``). ``D_v = 0`` when every seed meets every clause.
* **NAVCO z** ``z_v = (p_v - q_v) / sqrt(q_v (1 - q_v) / n_v)``: ``p_v`` the share of ``v``'s
  ``n_v`` finished campaign runs with a DEFECT, ``q_v`` the data's DEFECT rate over the same
  campaigns (a paired comparison; the denominator is the binomial sd of ``p_v`` if the model's
  rate were the data's).

**Rules** (:func:`select`, ``cut``):

* ``overall`` (refine5's): keep the vectors with ``|z_v| <= Z_MAX`` (1.645: the model's DEFECT
  rate not rejected at the 90 % level on these campaigns), and of those the :data:`KEEP` with
  the smallest ``D_v`` (ties: smaller ``|z_v|``, then the lower sample row). If fewer than
  :data:`KEEP` pass the NAVCO cut, all that pass are kept.
* ``by_method`` (the default since refine6, fixed before refine6's runs were read): three NAVCO
  cuts instead of one. The same paired ``z`` computed on each method's campaigns alone
  (``|z_nonviolent| <= Z_MAX`` and ``|z_violent| <= Z_MAX``: the done-when judges the method
  cells, and the second calibration's sample got their order wrong), and a positive
  **discrimination gap** ``g_v = P(run DEFECT | data DEFECT = 1) - P(run DEFECT | data DEFECT =
  0)`` over the vector's campaign runs (``g_v > 0``: the vector's runs defect more often on the
  campaigns that had a defection; the second calibration's vectors did not, see
  ``python -m defection.calibration.bydraw``). A missing statistic fails its cut. The vectors
  that pass all three are ranked as above and at most :data:`KEEP` kept; if fewer than
  :data:`MIN_KEEP` pass, the kept set is filled up to :data:`MIN_KEEP` with the vectors that
  fail exactly one cut, by the same order (the report marks them).
* ``by_method_success`` (fixed, and committed, before refine16's runs were read; the thirteenth
  calibration is the first with the success gap among its targets): the three ``by_method`` cuts
  and two more, the paired ``z`` of each method's SUCCESS rate on its finished campaigns
  (``zs_m = (s_vm - r_m) / sqrt(r_m (1 - r_m) / n_vm)``, ``s_vm`` the share of ``v``'s finished
  runs of finished campaigns of method ``m`` that succeed, ``r_m`` the data's rate on the same
  campaigns): ``|zs_nonviolent| <= Z_MAX`` and ``|zs_violent| <= Z_MAX``. With DEFECT's and
  SUCCESS's rates near the data's, the success gap is left to the joint rate, which the waves
  fitted; each method's gap over the vector's runs (``navcases.model_rates``' ``success_gap``) is
  reported (``sgap_m``), not cut on (on 36
  campaigns and one seed it rests on a handful of runs). If fewer than :data:`MIN_KEEP` pass
  all five cuts, the kept set is filled up with the vectors that fail the fewest (then by the
  same order).

A check may run a random subset of the sample (``[check] draws`` smaller than the sample; the
rows are drawn without replacement by the check's seed): ABC rejection over a random subsample
of the proposal is still ABC rejection over the proposal, with fewer proposals.

Selecting on a few seeds flatters the kept vectors (they were kept partly for their luck), so
the kept sample's fit is judged afterwards by ``defection validation``, with its own draws and
seeds, not by these runs.

Usage::

    python -m defection.calibration.refine calibration/refine5
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from defection.calibration import navcases, navco, validation

__all__ = [
    "CUTS",
    "KEEP",
    "MIN_KEEP",
    "Z_MAX",
    "RefineError",
    "case_checks",
    "refine",
    "select",
    "vector_scores",
    "main",
]

#: How many vectors the refinement keeps at most: enough for the done-when's 20 draws without
#: replacement, about a quarter of wave5_3's 115.
KEEP = 30
#: The NAVCO cut: |z| at most this (two-sided 90 %).
Z_MAX = 1.645
#: Under the ``by_method`` rule, fewer than this many passing vectors are filled up with vectors
#: that fail one NAVCO cut (the done-when's 20 draws may then repeat vectors).
MIN_KEEP = 10
#: The rules :func:`select` knows (module docstring); the first is the default.
CUTS = ("by_method", "overall", "by_method_success")
#: Methods of the per-method cut, as ``validation.unit_facts`` codes them.
METHODS = ("nonviolent", "violent")
#: The refined sample's file, in the check's results folder.
SAMPLE_FILE = "refined.parquet"
#: Per-vector scores and the rule's verdict.
SCORES_FILE = "scores.parquet"
#: What was refined, by which rule (read by ``promote --refined``).
MANIFEST_FILE = "refined.json"
#: A readable account.
REPORT_FILE = "refine.md"


class RefineError(ValueError):
    """The folder cannot be refined (names the file and the rule)."""


def case_checks() -> list[validation.CaseCheck]:
    """The five cases' measured done-when clauses (the NAVCO campaigns' clause is left out)."""
    return [c for c in validation.CASE_CHECKS if c.case in validation._CASES and c.target]


def _clause_share(mine: pd.DataFrame, check: validation.CaseCheck) -> float:
    """Share of ``mine``'s finished runs of the clause's case that meet it (0 without any)."""
    col = f"target:{check.target}"
    runs = mine[(mine["case"] == check.case) & (mine["status"] == "ok")]
    if runs.empty or col not in runs.columns:
        return 0.0
    return float(check.meets(runs[col].to_numpy(dtype=float)).mean())


def vector_scores(runs: pd.DataFrame, facts: pd.DataFrame) -> pd.DataFrame:
    """Per drawn vector: its case deficit, its NAVCO DEFECT rate against the data's, and z.

    Args:
        runs: A committed check's runs (:func:`defection.calibration.validation.load_committed`).
        facts: Per NAVCO ID, at least ``DEFECT`` (:func:`validation.unit_facts`).

    Returns:
        One row per draw: ``draw``, ``sample_row``, ``case_runs`` (finished), ``deficit``,
        ``clauses_met`` (clauses every one of whose runs met it), ``campaigns`` (finished
        campaign runs), ``p_model``, ``p_data``, ``z``, then the vector's parameter values.
    """
    checks = case_checks()
    params = [c for c in runs.columns if "." in c and not c.startswith("target:")]
    camp = validation.campaign_runs(runs)
    camp = camp[camp["status"] == "ok"]
    rows = []
    for d, mine in runs.groupby("draw", sort=True):
        shares = [_clause_share(mine, c) for c in checks]
        cases = mine[mine["navco_id"].isna() & (mine["status"] == "ok")]
        c = camp[camp["draw"] == d]
        p, q, z = _paired_z(c, facts)
        rec: dict[str, Any] = {
            "draw": int(d),
            "sample_row": int(mine["sample_row"].iloc[0]) if "sample_row" in mine else -1,
            "case_runs": len(cases),
            "deficit": float(sum(1.0 - s for s in shares)),
            "clauses_met": int(sum(s >= 1.0 for s in shares)),
            "campaigns": len(c),
            "p_model": p,
            "p_data": q,
            "z": z,
        }
        ids = c["navco_id"].astype(int).to_numpy() if len(c) else np.array([], dtype=int)
        method = facts.loc[ids, "method"].astype(str).to_numpy() if len(c) else ids
        for m in METHODS:
            rec[f"p_{m}"], rec[f"p_data_{m}"], rec[f"z_{m}"] = _paired_z(c[method == m], facts)
        done = facts.loc[ids, "finished"].astype(bool).to_numpy() if len(c) else ids.astype(bool)
        gaps = navcases.model_rates(c, facts)["success_gap"].set_index("method")["gap"]
        for m in METHODS:
            mine = c[(method == m) & done]
            rec[f"s_{m}"], rec[f"s_data_{m}"], rec[f"zs_{m}"] = _paired_z(
                mine, facts, validation.SUCCESS, "success"
            )
            rec[f"sgap_{m}"] = float(gaps.get(m, math.nan))
        data = facts.loc[ids, "DEFECT"].astype(float).to_numpy() if len(c) else ids
        hits = c[validation.DEFECT].to_numpy(dtype=float) if len(c) else ids
        hit = float(hits[data == 1].mean()) if (data == 1).any() else math.nan
        alarm = float(hits[data == 0].mean()) if (data == 0).any() else math.nan
        rec.update({"hit": hit, "false_alarm": alarm, "gap": hit - alarm})
        rec.update({k: float(mine[k].iloc[0]) for k in params})
        rows.append(rec)
    return pd.DataFrame(rows)


def _paired_z(
    c: pd.DataFrame, facts: pd.DataFrame, run: str = validation.DEFECT, fact: str = "DEFECT"
) -> tuple[float, float, float]:
    """``(p, q, z)`` of some campaign runs: model rate of ``run``, data's of ``fact``, paired z."""
    n = len(c)
    if not n:
        return math.nan, math.nan, math.nan
    p = float(c[run].mean())
    q = float(facts.loc[c["navco_id"].astype(int), fact].astype(float).mean())
    sd = math.sqrt(q * (1 - q) / n) if 0 < q < 1 else math.nan
    return p, q, (p - q) / sd if sd and sd > 0 else math.nan


def _fails(scores: pd.DataFrame, z_max: float, success: bool = False) -> pd.Series:
    """How many NAVCO cuts each vector fails: ``by_method``'s three, or five with ``success``."""
    fails = pd.Series(0, index=scores.index)
    for m in METHODS:
        fails += ~scores[f"z_{m}"].abs().le(z_max)  # NaN fails
        if success:
            fails += ~scores[f"zs_{m}"].abs().le(z_max)
    fails += ~scores["gap"].gt(0)
    return fails.astype(int)


def select(
    scores: pd.DataFrame,
    keep: int = KEEP,
    z_max: float = Z_MAX,
    cut: str = CUTS[0],
    min_keep: int = MIN_KEEP,
) -> pd.DataFrame:
    """Apply a rule: the NAVCO cut(s), then the ``keep`` smallest case deficits.

    Args:
        scores: From :func:`vector_scores`.
        keep: At most this many vectors are kept.
        z_max: The NAVCO cut on ``|z|`` (a vector without campaign runs fails it).
        cut: ``by_method`` or ``overall`` (module docstring).
        min_keep: Under ``by_method``, fill the kept set up to this many with vectors that
            fail one cut.

    Returns:
        ``scores`` with ``fails`` (NAVCO cuts failed), ``navco_ok`` (passes them), ``rank``
        (among those that pass, then the filled ones, by deficit, then ``|z|``, then sample
        row; NaN for the others) and ``kept``, sorted by rank then deficit.

    Raises:
        ValueError: An unknown ``cut``.
    """
    if cut not in CUTS:
        raise ValueError(f"cut {cut!r} is not one of {', '.join(CUTS)}")
    out = scores.copy()
    out["abs_z"] = out["z"].abs()
    if cut == "overall":
        out["fails"] = (~out["abs_z"].le(z_max)).astype(int)  # NaN fails
    else:
        out["fails"] = _fails(out, z_max, success=cut == "by_method_success")
    out["navco_ok"] = out["fails"].eq(0)
    order = ["deficit", "abs_z", "sample_row"]
    ok = out[out["navco_ok"]].sort_values(order, kind="mergesort")
    ranked = list(ok.index)
    if cut == "by_method" and len(ok) < min_keep:
        near = out[out["fails"].eq(1)].sort_values(order, kind="mergesort")
        ranked += list(near.index[: min_keep - len(ok)])
    elif cut == "by_method_success" and len(ok) < min_keep:
        near = out[out["fails"].gt(0)].sort_values(["fails", *order], kind="mergesort")
        ranked += list(near.index[: min_keep - len(ok)])
    out["rank"] = np.nan
    out.loc[ranked, "rank"] = np.arange(1, len(ranked) + 1, dtype=float)
    out["kept"] = out["rank"].le(keep) & out["rank"].notna()
    return out.sort_values(["rank", "deficit", "sample_row"], kind="mergesort", na_position="last")


def _rule_text(rule: dict[str, Any]) -> str:
    z = rule["z_max"]
    if rule["cut"] == "overall":
        return f"|z| <= {z} on the NAVCO campaigns"
    if rule["cut"] == "by_method_success":
        return (
            f"|z| <= {z} for DEFECT on each method's NAVCO campaigns, a positive discrimination "
            f"gap and |z| <= {z} for SUCCESS on each method's finished campaigns (fill-ins "
            f"failing the fewest cuts up to {rule['min_keep']} if fewer pass)"
        )
    return (
        f"|z| <= {z} on each method's NAVCO campaigns and a positive discrimination gap "
        f"(fill-ins failing one cut up to {rule['min_keep']} if fewer pass)"
    )


#: The success columns of the ``by_method_success`` rule's report table.
SUCCESS_HEAD = (
    " | P(SUCCESS) nonviolent (data) | z | P(SUCCESS) violent (data) | z "
    "| success gap nonviolent | violent"
)


def _report(folder: Path, chosen: pd.DataFrame, info: dict[str, Any]) -> str:
    checks = case_checks()
    kept = chosen[chosen["kept"]]
    success = info["rule"]["cut"] == "by_method_success"
    lines = [
        f"# Refinement by runs: {info['check']['name']} ({info['check']['calibration_id']})",
        "",
        f"Written by `python -m defection.calibration.refine {info['folder']}"
        + ("" if info["rule"]["cut"] == CUTS[0] else f" --cut {info['rule']['cut']}")
        + "`; rule and "
        "statistics: `calibration/refine.py`. Every number below comes from the check's "
        "committed runs.",
        "",
        f"- sample refined: `{info['sample']['path']}` ({info['sample']['rows']} vectors, sha256 "
        f"{info['sample']['sha256'][:12]}); vectors run: {info['sample']['drawn']}"
        + (
            " (a random subset, drawn without replacement by the check's seed)"
            if info["sample"]["drawn"] < info["sample"]["rows"]
            else ""
        ),
        f"- runs: {info['runs']['finished']} finished of {info['runs']['total']} "
        f"({info['runs']['failed']} failed)",
        f"- rule `{info['rule']['cut']}`: {_rule_text(info['rule'])}, then the "
        f"{info['rule']['keep']} smallest case deficits over {len(checks)} clauses",
        f"- passed the NAVCO cut{'' if info['rule']['cut'] == 'overall' else 's'}: "
        f"{int(chosen['navco_ok'].sum())} of {len(chosen)}; kept: {len(kept)}"
        + (
            f" ({int((kept['fails'] > 0).sum())} of them fill-ins failing "
            f"{'one cut' if info['rule']['cut'] == 'by_method' else 'some cuts'})"
            if (kept["fails"] > 0).any()
            else ""
        ),
        "",
        "| rank | sample row | deficit | clauses met (all seeds) | NAVCO runs | P(DEFECT) model "
        "| data | z | z nonviolent | z violent | gap"
        + (SUCCESS_HEAD if success else "")
        + " | cuts failed | kept |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        + ("---:|" * 6 if success else "")
        + "---:|---|",
    ]
    for _, r in chosen.iterrows():
        rank = "" if pd.isna(r["rank"]) else str(int(r["rank"]))
        more = (
            "".join(
                f" | {r[f's_{m}']:.2f} ({r[f's_data_{m}']:.2f}) | {r[f'zs_{m}']:+.2f}"
                for m in METHODS
            )
            + "".join(f" | {r[f'sgap_{m}']:+.2f}" for m in METHODS)
            if success
            else ""
        )
        lines.append(
            f"| {rank} | {int(r['sample_row'])} | {r['deficit']:.2f} | {int(r['clauses_met'])} "
            f"| {int(r['campaigns'])} | {r['p_model']:.2f} | {r['p_data']:.2f} | {r['z']:+.2f} "
            f"| {r['z_nonviolent']:+.2f} | {r['z_violent']:+.2f} | {r['gap']:+.2f}{more} "
            f"| {int(r['fails'])} | {'yes' if r['kept'] else ''} |"
        )
    lines += [
        "",
        "Each clause's share of runs that meet it, over all vectors and over the kept ones (the "
        "kept were chosen on these runs: their shares are optimistic; `defection validation` "
        "judges them with fresh seeds):",
        "",
        "| case | clause | condition | all vectors | kept |",
        "|---|---|---|---:|---:|",
    ]
    for c, a, k in info["clauses"]:
        lines.append(f"| {c.case} | {c.clause} | {c.condition} | {a:.0%} | {k:.0%} |")
    return "\n".join(lines) + "\n"


def refine(
    folder: str | Path,
    keep: int = KEEP,
    z_max: float = Z_MAX,
    cut: str = CUTS[0],
    min_keep: int = MIN_KEEP,
) -> dict[str, Any]:
    """Score every vector of a committed refinement check, keep the best, write the files.

    Writes, in ``folder``: :data:`SAMPLE_FILE` (the kept vectors: the refined sample's rows,
    its parameter columns and ``sample_row``), :data:`SCORES_FILE`, :data:`MANIFEST_FILE` and
    :data:`REPORT_FILE`.

    Args:
        folder: The check's committed results folder (``calibration/refine5``).
        keep: At most this many vectors are kept.
        z_max: The NAVCO cut on ``|z|``.
        cut: The rule (:data:`CUTS`).
        min_keep: The ``by_method`` and ``by_method_success`` rules' fill-up.

    Returns:
        The manifest written.

    Raises:
        RefineError: Not a check's results, a check that drew rows outside its sample, or no
            vector kept.
    """
    folder = Path(folder)
    try:
        committed = validation.load_committed(folder)
    except validation.ReportError as exc:
        raise RefineError(str(exc)) from None
    m = committed.manifest
    check = m.get("check") or {}
    root = Path(__file__).resolve().parents[1]
    spath = Path(str((check.get("sample") or {}).get("path", "")))
    if not spath.is_absolute():
        spath = root / spath
    if not spath.is_file():
        raise RefineError(f"{folder / 'manifest.json'}: its sample {spath} is not there")
    sample = pd.read_parquet(spath)
    runs = committed.runs
    drawn = set(runs["sample_row"].dropna().astype(int))
    if not drawn or max(drawn) >= len(sample) or min(drawn) < 0:
        raise RefineError(
            f"{folder}: the check's sample rows are not rows of its sample {spath} "
            f"({len(sample)} rows); was the sample file replaced?"
        )
    facts = validation.unit_facts(navco.fitting_units())
    scores = vector_scores(runs, facts)
    chosen = select(scores, keep, z_max, cut, min_keep)
    kept = chosen[chosen["kept"]]
    if kept.empty:
        raise RefineError(
            f"{folder}: no vector passes the NAVCO cut{'' if cut == 'overall' else 's'} "
            f"({_rule_text({'cut': cut, 'z_max': z_max, 'min_keep': min_keep})}); nothing to keep"
        )
    params = [c for c in sample.columns if c in runs.columns]
    out = sample.iloc[kept["sample_row"].astype(int).to_numpy()][params].copy()
    out.insert(0, "sample_row", kept["sample_row"].astype(int).to_numpy())
    out = out.reset_index(drop=True)
    out.to_parquet(folder / SAMPLE_FILE, index=False)
    chosen.to_parquet(folder / SCORES_FILE, index=False)
    ok_kept = runs[runs["sample_row"].isin(set(out["sample_row"]))]
    clauses = []
    for c in case_checks():
        col = f"target:{c.target}"
        a = runs[(runs["case"] == c.case) & (runs["status"] == "ok")]
        k = ok_kept[(ok_kept["case"] == c.case) & (ok_kept["status"] == "ok")]
        clauses.append(
            (
                c,
                float(c.meets(a[col].to_numpy(dtype=float)).mean()) if len(a) else math.nan,
                float(c.meets(k[col].to_numpy(dtype=float)).mean()) if len(k) else math.nan,
            )
        )
    try:
        shown_folder = str(folder.resolve().relative_to(root))
    except ValueError:
        shown_folder = str(folder)
    try:
        shown_sample = str(spath.resolve().relative_to(root))
    except ValueError:
        shown_sample = str(spath)
    info: dict[str, Any] = {
        "folder": shown_folder,
        "check": {
            "name": m.get("name"),
            "calibration_id": m.get("calibration_id"),
            "commit": m.get("commit"),
            "model_version": m.get("model_version"),
        },
        "sample": {
            "path": shown_sample,
            "sha256": navco.sha256(spath),
            "rows": len(sample),
            "drawn": len(drawn),
        },
        "runs": {
            "total": len(runs),
            "finished": int((runs["status"] == "ok").sum()),
            "failed": int((runs["status"] != "ok").sum()),
        },
        "rule": {
            "cut": cut,
            "keep": keep,
            "z_max": z_max,
            "min_keep": None if cut == "overall" else min_keep,
            "statistics": "deficit = sum over the five cases' 17 measured clauses of the share "
            "of the vector's runs that miss it; z = (P(DEFECT) model - data) / binomial sd on "
            "the same NAVCO campaigns, overall and by method; gap = P(run DEFECT | data "
            "DEFECT) - P(run DEFECT | no data DEFECT)"
            + (
                "; zs = the same z for SUCCESS on each method's finished campaigns"
                if cut == "by_method_success"
                else ""
            )
            + " (calibration/refine.py)",
        },
        "passed_navco_cut": int(chosen["navco_ok"].sum()),
        "kept_rows": out["sample_row"].tolist(),
        "written": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
    }
    (folder / REPORT_FILE).write_text(
        _report(folder, chosen, {**info, "clauses": clauses}), encoding="utf-8"
    )
    (folder / MANIFEST_FILE).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return info


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m defection.calibration.refine FOLDER [--keep N] [--z-max Z] [--cut RULE]``."""
    ap = argparse.ArgumentParser(prog="python -m defection.calibration.refine")
    ap.add_argument("folder", help="a refinement check's results folder, e.g. calibration/refine5")
    ap.add_argument("--keep", type=int, default=KEEP, help=f"at most this many (default {KEEP})")
    ap.add_argument("--z-max", type=float, default=Z_MAX, help=f"NAVCO cut (default {Z_MAX})")
    ap.add_argument("--cut", choices=CUTS, default=CUTS[0], help=f"the rule (default {CUTS[0]})")
    args = ap.parse_args(argv)
    if args.keep < 1 or not args.z_max > 0:
        print("error: --keep must be at least 1 and --z-max above 0")
        return 2
    try:
        info = refine(args.folder, args.keep, args.z_max, args.cut)
    except RefineError as exc:
        print(f"error: {exc}")
        return 2
    print(
        f"refined: kept {len(info['kept_rows'])} of {info['sample']['drawn']} vectors run "
        f"(sample: {info['sample']['rows']}; {info['passed_navco_cut']} passed the NAVCO "
        f"cut{'' if args.cut == 'overall' else 's'}) -> "
        f"{Path(args.folder) / SAMPLE_FILE}; report {Path(args.folder) / REPORT_FILE}"
    )
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
