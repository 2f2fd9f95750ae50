"""``defection policies``: compare a policy file's packages on scenarios, paired on common seeds.

A comparison runs every package of a policy file (and ``none``, the do-nothing package) on each
scenario, over parameter draws from the calibrated sample (``--ensemble N``; without it, one
draw: the scenario's own values) x seeds. The run of draw ``d`` and seed ``k`` uses the same model
seed and the same parameter vector for every package and every scenario, and a package draws no
random numbers (docs/POLICIES.md), so the difference between a package's run and ``none``'s on one
``(d, k)`` is the package's effect in that run: effects are paired, and small ones measurable.

The runs go through the sweep engine and the DuckDB store (:mod:`defection.sweep`), so a
comparison resumes after ``kill -9`` (the same command runs only what is missing) and runs on the
pool or on Dask. :func:`analyse` reads the runs back; :func:`write_report` writes ``report.md``,
``comparison.csv``, ``effects.csv`` and ``effects.png`` (a forest plot).

Not built yet (issue #11): costs and a budget, side effects, coups decided by the model, the
robustness step (regret, PRIM). Until the model is calibrated in magnitude, the report says that
its numbers are the model's answers under its assumptions, not estimates.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from defection.model import version
from defection.model.policy import BASELINE, Package, PolicyFile
from defection.model.rules import RANKS
from defection.model.scenario import Scenario
from defection.stats import wilson

#: Two-sided level of every interval in a comparison.
LEVEL = 0.90
#: Bootstrap resamples for the paired effects' intervals.
BOOTSTRAP = 2000
#: How a run ends, as the report counts it (``fell``: collapse or transition).
OUTCOME_COLUMNS = ("survival", "collapse", "transition", "split")

__all__ = [
    "BOOTSTRAP",
    "LEVEL",
    "Comparison",
    "LeftMeasures",
    "analyse",
    "make_comparison",
    "paired_effects",
    "runs_frame",
    "tasks_for",
    "write_report",
]


class LeftMeasures:
    """Extra columns of a comparison's run: the share of the force that left, the core's, by rank.

    A picklable callable (the sweep engine's ``measures``): ``left_share`` = deserted + defected
    of the initial force on the run's last day; ``core_left_share`` the same of the regime's core
    group (NaN without one); ``left_<rank>`` the same of each rank (conscripts, i.e. the rank
    and file, NCOs, officers).
    """

    def __call__(self, row: dict[str, Any], frame: pd.DataFrame) -> dict[str, Any]:  # noqa: ARG002
        """The columns of one finished run (``row`` as the engine builds it)."""
        core = row.get("core_left_share")
        ranks = row.get("rank_left_shares") or {}
        return {
            "left_share": float(row["soldiers_deserted"]) + float(row["soldiers_defected"]),
            "core_left_share": float(core) if core is not None else math.nan,
            **{f"left_{r}": float(ranks.get(r, math.nan)) for r in RANKS},
        }


@dataclass(frozen=True)
class Comparison:
    """A planned comparison: what runs, with which seeds, under which id.

    Attributes:
        policy: The policy file.
        packages: ``(name, package)`` in order, ``("none", None)`` first.
        scenarios: The scenarios, by name.
        draws: Per draw, its parameter vector (``{}``: the scenario's own values) and sample row
            (``None`` without a sample).
        seeds: Per draw, its seeds (one list per draw, ``seeds_per_draw`` long).
        seed: The seed the draws and seeds come from.
        sample: The sample's path and manifest (None without ``--ensemble``).
        comparison_id: ``policies-<name>-<hash>``: the hash of everything that sets the runs.
    """

    policy: PolicyFile
    packages: list[tuple[str, Package | None]]
    scenarios: dict[str, Scenario]
    draws: list[tuple[dict[str, float], int | None]]
    seeds: list[list[int]]
    seed: int
    sample: dict[str, Any] | None
    comparison_id: str = ""
    canonical: dict[str, Any] = field(default_factory=dict)

    @property
    def n_runs(self) -> int:
        """Runs in the comparison."""
        return len(self.packages) * len(self.scenarios) * sum(len(s) for s in self.seeds)

    def run_id(self, scenario: str, package: str, draw: int, k: int) -> str:
        """``<comparison id>/<scenario>/<package>/d<draw>/s<k>``."""
        return f"{self.comparison_id}/{scenario}/{package}/d{draw:03d}/s{k:02d}"

    def store_view(self) -> SimpleNamespace:
        """What :meth:`defection.sweep.store.Store.register` reads of a sweep."""
        names = "+".join(self.scenarios)
        digest = hashlib.sha256("".join(s.hash for s in self.scenarios.values()).encode())
        return SimpleNamespace(
            sweep_id=self.comparison_id,
            name=self.policy.name,
            title=self.policy.title,
            scenario=SimpleNamespace(name=names, hash=digest.hexdigest()),
            meta=SimpleNamespace(design="policies", seed=self.seed),
            dims=[],
            points=range(len(self.packages) * len(self.scenarios) * len(self.draws)),
            replicates=max((len(s) for s in self.seeds), default=0),
            n_runs=self.n_runs,
            canonical=self.canonical,
            path=self.policy.path,
        )


def make_comparison(
    policy: PolicyFile,
    scenarios: list[Scenario],
    packages: list[str] | None = None,
    sample: Any = None,
    draws: int = 1,
    seeds_per_draw: int = 3,
    seed: int = 1,
) -> Comparison:
    """Plan a comparison (nothing runs).

    Args:
        policy: The checked policy file.
        scenarios: The scenarios (each checked against every package by the caller).
        packages: Names of the packages to compare (default: all, in file order); ``none`` is
            always added first.
        sample: A :class:`defection.ensemble.Sample` to draw ``draws`` vectors from, or None
            (one draw: the scenarios' own values).
        draws: Vectors drawn from ``sample`` (ignored without one).
        seeds_per_draw: Seeds per draw.
        seed: Seed of the draws and of the run seeds.
    """
    from defection.ensemble import plan

    chosen = packages or list(policy.packages)
    pkgs: list[tuple[str, Package | None]] = [(BASELINE, None)]
    pkgs += [(n, policy.package(n)) for n in chosen]
    if sample is not None:
        runs = plan(sample, draws, seeds_per_draw, seed)
        rows = [runs[i * seeds_per_draw][0] for i in range(draws)]
        seeds = [
            [s for _, s in runs[i * seeds_per_draw : (i + 1) * seeds_per_draw]]
            for i in range(draws)
        ]
        vectors = [
            ({c: float(sample.vectors.at[r, c]) for c in sample.vectors.columns}, r) for r in rows
        ]
        sample_info = {"path": _shown(Path(sample.path)), "manifest": sample.manifest}
    else:
        ss = np.random.SeedSequence([seed, 1, seeds_per_draw])
        seeds = [[int(x) for x in ss.generate_state(seeds_per_draw, dtype=np.uint32) >> 1]]
        vectors = [({}, None)]
        sample_info = None
    canonical = {
        "kind": "policies",
        "policy": policy.name,
        "packages": {n: (p.model_dump() if p is not None else None) for n, p in pkgs},
        "scenarios": {s.name: s.hash for s in scenarios},
        "draws": [{"row": r, "vector": v} for v, r in vectors],
        "seeds": seeds,
        "seed": seed,
        "sample": sample_info["path"] if sample_info else None,
        "model_version": version.MODEL_VERSION,
    }
    digest = hashlib.sha256(json.dumps(canonical, sort_keys=True, default=str).encode())
    return Comparison(
        policy=policy,
        packages=pkgs,
        scenarios={s.name: s for s in scenarios},
        draws=vectors,
        seeds=seeds,
        seed=seed,
        sample=sample_info,
        comparison_id=f"policies-{policy.name}-{digest.hexdigest()[:10]}",
        canonical=canonical,
    )


def _shown(path: Path) -> str:
    """A path as a report shows it: relative to the source checkout when inside it."""
    root = Path(__file__).resolve().parent.parent
    try:
        return str(path.resolve().relative_to(root))
    except ValueError:
        return str(path)


def tasks_for(cmp: Comparison, skip: set[str]) -> list[Any]:
    """The comparison's runs not in ``skip``, seed by seed (a partial run covers every package)."""
    from defection.sweep.engine import Task, read_faults

    faults = read_faults()
    measures = LeftMeasures()
    out = []
    n_draws = len(cmp.draws)
    n_pk = len(cmp.packages)
    for k in range(max(len(s) for s in cmp.seeds)):
        for d, (vector, row) in enumerate(cmp.draws):
            if k >= len(cmp.seeds[d]):
                continue
            for si, (sname, sc) in enumerate(cmp.scenarios.items()):
                used = {c: v for c, v in vector.items() if c in sc.params}
                for pi, (pname, pkg) in enumerate(cmp.packages):
                    run_id = cmp.run_id(sname, pname, d, k)
                    if run_id in skip:
                        continue
                    out.append(
                        Task(
                            run_id=run_id,
                            sweep_id=cmp.comparison_id,
                            point=(si * n_pk + pi) * n_draws + d,
                            replicate=k,
                            seed=cmp.seeds[d][k],
                            overrides=used,
                            until_horizon=False,
                            series=(),
                            faults=faults,
                            case=sname,
                            measures=measures,
                            policy=pkg,
                            labels={
                                "package": pname,
                                "draw": d,
                                "sample_row": -1 if row is None else row,
                            },
                        )
                    )
    return out


def runs_frame(cmp: Comparison, store: Any) -> pd.DataFrame:
    """The comparison's runs from the store, one row each (``package``, ``draw``, ``seed_k``)."""
    df = store.runs(cmp.comparison_id)
    if df.empty:
        return df
    df["seed_k"] = df["replicate"].astype(int)
    df["scenario"] = df["case"]
    return df


# ------------------------------------------------------------------------------------------------
# analysis
# ------------------------------------------------------------------------------------------------


def _interval(values: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    if values.size == 0:
        return math.nan, math.nan
    lo, hi = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def paired_effects(
    base: pd.DataFrame, treated: pd.DataFrame, column: str, seed: int = 0
) -> dict[str, float]:
    """The mean paired difference ``treated - base`` of ``column`` and its bootstrap interval.

    Runs are paired on ``(draw, seed_k)``. The interval resamples draws (clusters: the
    parameter uncertainty) with replacement, and the pairs within each resampled draw with
    replacement, :data:`BOOTSTRAP` times (a percentile interval at :data:`LEVEL`); with one draw
    it resamples the pairs.

    Returns:
        ``{"effect", "lo", "hi", "pairs"}`` (NaN when no pair).
    """
    a = base.set_index(["draw", "seed_k"])[column].astype(float)
    b = treated.set_index(["draw", "seed_k"])[column].astype(float)
    both = pd.concat({"a": a, "b": b}, axis=1, join="inner").dropna()
    if both.empty:
        return {"effect": math.nan, "lo": math.nan, "hi": math.nan, "pairs": 0}
    diff = (both["b"] - both["a"]).to_numpy()
    draws = both.index.get_level_values(0).to_numpy()
    groups = [diff[draws == d] for d in np.unique(draws)]
    rng = np.random.default_rng(np.random.SeedSequence([seed, len(diff)]))
    stats = np.empty(BOOTSTRAP)
    for i in range(BOOTSTRAP):
        pick = rng.integers(0, len(groups), size=len(groups))
        parts = [g[rng.integers(0, g.size, size=g.size)] for g in (groups[j] for j in pick)]
        stats[i] = np.concatenate(parts).mean()
    lo, hi = _interval(stats)
    return {"effect": float(diff.mean()), "lo": lo, "hi": hi, "pairs": int(diff.size)}


def analyse(df: pd.DataFrame, packages: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per (scenario, package): outcome shares and the force that left; and paired effects.

    Args:
        df: :func:`runs_frame`'s rows (failed runs are counted, not used).
        packages: Package names in report order (``none`` first).

    Returns:
        ``(table, effects)``. ``table``: per (scenario, package) ``runs``, ``failed``, for each
        outcome its share ``p_<outcome>`` with a Wilson interval at :data:`LEVEL`
        (``p_<outcome>_lo``, ``_hi``), ``p_fell`` (collapse or transition) and ``p_coup`` the
        same, the median ``left_share`` with the central :data:`LEVEL` of runs, the mean
        ``left_share``, the medians of ``core_left_share`` and of each rank's share that left
        (``left_<rank>_median``) and the median outcome day of the runs that did not survive.
        ``effects``: per (scenario, package other than ``none``), the paired effect on
        ``left_share`` and on ``fell`` (:func:`paired_effects`).
    """
    rows, effects = [], []
    for sc in dict.fromkeys(df["scenario"]):
        mine = df[df["scenario"] == sc]
        ok_all = mine[mine["status"] == "ok"].copy()
        ok_all["fell"] = ok_all["outcome"].isin(["collapse", "transition"]).astype(float)
        ok_all["coup"] = (ok_all["outcome_rule"] == "coup").astype(float)
        base = ok_all[ok_all["package"] == BASELINE]
        for name in packages:
            runs = mine[mine["package"] == name]
            ok = ok_all[ok_all["package"] == name]
            n = len(ok)
            row: dict[str, Any] = {
                "scenario": sc,
                "package": name,
                "runs": len(runs),
                "failed": int((runs["status"] == "failed").sum()),
            }
            counts = {o: int((ok["outcome"] == o).sum()) for o in OUTCOME_COLUMNS}
            counts["fell"] = int(ok["fell"].sum())
            counts["coup"] = int(ok["coup"].sum())
            for o, k in counts.items():
                lo, hi = wilson(k, n, LEVEL)
                row[f"p_{o}"] = k / n if n else math.nan
                row[f"p_{o}_lo"], row[f"p_{o}_hi"] = lo, hi
            left = ok["left_share"].to_numpy(dtype=float)
            row["left_median"] = float(np.median(left)) if n else math.nan
            row["left_lo"], row["left_hi"] = _interval(left)
            row["left_mean"] = float(left.mean()) if n else math.nan
            for col, key in [("core_left_share", "core_left_median")] + [
                (f"left_{r}", f"left_{r}_median") for r in RANKS
            ]:
                vals = ok[col].to_numpy(dtype=float) if col in ok else np.array([])
                vals = vals[~np.isnan(vals)]
                row[key] = float(np.median(vals)) if vals.size else math.nan
            fell = ok[ok["outcome"] != "survival"]["outcome_day"].to_numpy(dtype=float)
            row["outcome_day_median"] = float(np.median(fell)) if fell.size else math.nan
            rows.append(row)
            if name == BASELINE:
                continue
            for col, label in (("left_share", "left_share"), ("fell", "p_fell")):
                eff = paired_effects(base, ok, col)
                effects.append({"scenario": sc, "package": name, "measure": label, **eff})
    return pd.DataFrame(rows), pd.DataFrame(effects)


# ------------------------------------------------------------------------------------------------
# report
# ------------------------------------------------------------------------------------------------


def _pct(x: float) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.1%}"


def _band(r: Any, key: str) -> str:
    return f"{_pct(r[key])} ({_pct(r[key + '_lo'])}-{_pct(r[key + '_hi'])})"


def _day(x: float) -> str:
    return "-" if math.isnan(x) else str(int(x))


def _signed(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{x * 100:+.1f}"


def write_report(
    cmp: Comparison, table: pd.DataFrame, effects: pd.DataFrame, out: Path, command: str
) -> list[Path]:
    """Write ``report.md``, ``comparison.csv``, ``effects.csv`` and ``effects.png`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    files = [out / "comparison.csv", out / "effects.csv", out / "report.md", out / "effects.png"]
    table.to_csv(files[0], index=False)
    effects.to_csv(files[1], index=False)
    sides = {n: (p.side if p is not None else "-") for n, p in cmp.packages}
    titles = {n: (p.title if p is not None else "do nothing") for n, p in cmp.packages}
    draws = len(cmp.draws)
    seeds = max(len(s) for s in cmp.seeds)
    where = (
        f"{draws} draws from the calibrated sample `{cmp.sample['path']}` x {seeds} seeds"
        if cmp.sample
        else f"one draw (the scenarios' own values and the registry's defaults, no --ensemble) "
        f"x {seeds} seeds"
    )
    lv = f"{LEVEL:.0%}"
    lines = [
        f"# Policy comparison: {cmp.policy.title or cmp.policy.name}",
        "",
        f"Comparison `{cmp.comparison_id}`, model version {version.MODEL_VERSION}: every package "
        f"of `{cmp.policy.origin}` and `none` (do nothing) on {', '.join(cmp.scenarios)}, over "
        f"{where}; {cmp.n_runs} runs. Written by `{command}`.",
        "",
        "**These figures are model outputs under stated assumptions, not advice and not "
        "estimates of what any measure did or would do.** The model is not yet calibrated in "
        "magnitude (README, Status). The regime's and the opposition's packages are listed "
        "together and are not crossed (each runs alone against `none`). Costs, side effects and "
        "coups decided by the model are not built yet (docs/POLICIES.md).",
        "",
        f"Outcome shares carry {lv} Wilson intervals over runs; the share of the force that "
        f"left (deserted or defected, on the run's last day) is the median and the central {lv} "
        f"of runs. Effects are paired against `none` on the same draw and seed (common random "
        f"numbers), as the mean difference with a {lv} bootstrap interval that resamples draws "
        "and the seeds within them.",
        "",
    ]
    for sc in cmp.scenarios:
        t = table[table["scenario"] == sc]
        lines += [
            f"## {sc}",
            "",
            "| package | side | runs | P(survival) | P(regime falls) | P(split) | P(coup) "
            "| force that left | core group left | conscripts / NCOs / officers left "
            "| days to the outcome |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for _, r in t.iterrows():
            failed = f" ({r['failed']} failed)" if r["failed"] else ""
            lines.append(
                f"| `{r['package']}` ({titles[r['package']]}) | {sides[r['package']]} "
                f"| {r['runs']}{failed} "
                f"| {_band(r, 'p_survival')} | {_band(r, 'p_fell')} | {_band(r, 'p_split')} "
                f"| {_band(r, 'p_coup')} "
                f"| {_pct(r['left_median'])} ({_pct(r['left_lo'])}-{_pct(r['left_hi'])}) "
                f"| {_pct(r['core_left_median'])} "
                f"| {' / '.join(_pct(r[f'left_{k}_median']) for k in RANKS)} "
                f"| {_day(r['outcome_day_median'])} |"
            )
        e = effects[effects["scenario"] == sc] if not effects.empty else effects
        lines += [
            "",
            f"Paired effects against `none` (percentage points, {lv} interval):",
            "",
            "| package | side | force that left | P(regime falls) |",
            "|---|---|---|---|",
        ]
        for name, _ in cmp.packages[1:]:
            mine = e[e["package"] == name] if not e.empty else e
            cells = []
            for measure in ("left_share", "p_fell"):
                m = mine[mine["measure"] == measure] if not mine.empty else mine
                if m.empty:
                    cells.append("n/a")
                    continue
                r = m.iloc[0]
                cells.append(f"{_signed(r['effect'])} ({_signed(r['lo'])} to {_signed(r['hi'])})")
            lines.append(f"| `{name}` | {sides[name]} | {cells[0]} | {cells[1]} |")
        lines.append("")
    lines += ["![paired effects](effects.png)", ""]
    files[2].write_text("\n".join(lines))
    forest_plot(cmp, effects, files[3])
    return files


def forest_plot(cmp: Comparison, effects: pd.DataFrame, path: Path) -> None:
    """One panel per scenario and measure: each package's paired effect with its interval."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n, _ in cmp.packages[1:]]
    sides = {n: p.side for n, p in cmp.packages[1:] if p is not None}
    scen = list(cmp.scenarios)
    measures = (("left_share", "force that left"), ("p_fell", "P(regime falls)"))
    fig, axes = plt.subplots(
        len(scen), 2, figsize=(10, 0.45 * len(names) * len(scen) + 1.5), squeeze=False
    )
    colours = {"regime": "#0072B2", "opposition": "#D55E00"}  # Okabe-Ito: colour-blind safe
    for i, sc in enumerate(scen):
        for j, (measure, label) in enumerate(measures):
            ax = axes[i][j]
            sel = effects[(effects["scenario"] == sc) & (effects["measure"] == measure)]
            sel = sel.set_index("package").reindex(names)
            y = np.arange(len(names))[::-1]
            eff = sel["effect"].to_numpy(dtype=float) * 100
            lo = sel["lo"].to_numpy(dtype=float) * 100
            hi = sel["hi"].to_numpy(dtype=float) * 100
            for yy, e, a, b, n in zip(y, eff, lo, hi, names, strict=True):
                c = colours.get(sides.get(n, ""), "grey")
                ax.plot([a, b], [yy, yy], color=c, lw=2)
                ax.plot([e], [yy], "o", color=c)
            ax.axvline(0, color="black", lw=0.8)
            ax.set_yticks(y)
            ax.set_yticklabels(names if j == 0 else [])
            ax.set_title(f"{sc}: {label}", fontsize=10)
            ax.set_xlabel("effect against none (percentage points)")
    fig.suptitle("Paired effects (blue: regime packages, orange: opposition)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
