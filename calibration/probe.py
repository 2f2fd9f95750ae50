"""Probe scenario cases at one parameter point: what each seed's run did, one line per run.

A modeller's look at a structure before calibrating it (docs/CALIBRATION.md, "Model
structure"): each case run to its outcome (or horizon) at the registry's defaults plus the given
overrides, over seeds ``1..N`` (or the seeds given, such as a calibration run's from its
``runs.parquet``), and one line per run: the outcome and its day, the shares of the
initial force that defected, deserted and were detained, the share of elites who defected, and
the first day a NAVCO DEFECT rule held (docs/MEASUREMENT.md). Nothing is stored and nothing is
fitted; it draws on fitting-set cases only, never on the NAVCO test set.

A case is a scenario name or file, or ``navco:ID``: NAVCO fitting campaign ``ID`` coded as a
calibration's ``navco`` table codes it (coding 0: :func:`defection.calibration.navcases.
campaign_scenario`); ``navco:fit`` stands for every runnable fitting campaign. When campaigns
are among the cases, closing lines sum their runs up: the share with a NAVCO DEFECT in the first
365 days by method, next to the data's rate over the same campaigns; by method, the share that
succeeded with and without a DEFECT and the gap, next to the data's over the same (finished)
campaigns; the runs with a DEFECT by participation bin; the resolution (one soldier agent's
share of the initial force, against DEFECT's armed-defection share); the falls (how many came
within two weeks, their median and latest day) and the survivals with no soldier gone; and the
outcomes. The
column ``force_agents`` is a run's soldier agents at the start (its initial force).

``--set case.NAME=VALUE`` sets a mapping coefficient of the coded campaigns
(:data:`defection.calibration.casecode.MAPPING`, such as ``case.patronage_weight``); every other
``--set`` is a model parameter. The calibrated sample (model version 9) was fitted on campaigns
coded with ``--set case.patronage_weight=1 --set soldiers.min_agents=1000`` (the validation
spec's campaign table sets the same); without them a campaign is coded at the defaults (the
map's soldiers only and one client-follow share), as every calibration before the thirteenth.

Usage::

    python -m defection.calibration.probe syria_2011,myanmar_2021 --seeds 3
        --set soldiers.choice_noise=1 --set elites.steady_start=true [--workers 2]
    python -m defection.calibration.probe navco:8,navco:13 --seeds 2
        --set belief.w_armed=9
    python -m defection.calibration.probe navco:fit --seeds 2 --workers 2
        [--set case.patronage_weight=1 --set soldiers.min_agents=1000]

(each one command line).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

#: The most seeds ``--seeds`` takes (a probe is a look, not a sweep: ``defection sweep`` is).
MAX_SEEDS = 1000

#: The columns printed, in order.
COLUMNS = (
    "case",
    "seed",
    "outcome",
    "day",
    "defected",
    "deserted",
    "detained",
    "elites",
    "first_defect",
    "force_agents",
)


#: Prefix of a NAVCO fitting campaign among the cases (``navco:ID``).
NAVCO_PREFIX = "navco:"
#: The outcome of a run whose model could not be built (:func:`probe_run`).
NOT_BUILT = "not built"
#: The summary counts the falls that came within this many days (two weeks).
FIRST_WEEKS = 14
#: The token that stands for every runnable fitting-set campaign (``navco:fit``).
NAVCO_FIT = NAVCO_PREFIX + "fit"


def expand_cases(cases: Sequence[str]) -> list[str]:
    """The case tokens, with ``navco:fit`` expanded to every runnable fitting campaign.

    ``navco:fit`` becomes ``navco:ID`` for each runnable fitting-set campaign, ascending (never a
    test-set one); every other token is kept as it is.
    """
    out: list[str] = []
    for case in cases:
        if case == NAVCO_FIT:
            from defection.calibration import navcases

            out += [f"{NAVCO_PREFIX}{i}" for i in navcases.runnable_fit_ids()]
        else:
            out.append(case)
    return out


def case_scenario(case: str, coeffs: dict[str, Any] | None = None) -> Any:
    """The scenario of one case token: a scenario name or file, or ``navco:ID``.

    ``coeffs``: mapping coefficients by ``case.<name>`` for a coded campaign.

    Raises:
        ScenarioError: An unknown scenario, a campaign that is not a runnable fitting one, or a
            coefficient that is not one, out of its range or set for a case that is not coded.
    """
    from defection.model.scenario import ScenarioError, load

    if not case.startswith(NAVCO_PREFIX):
        if coeffs:
            raise ScenarioError(
                [f"{case}: {', '.join(coeffs)}: mapping coefficients act on navco:ID cases only"]
            )
        return load(case)
    from defection.calibration import casecode, navcases

    text = case.removeprefix(NAVCO_PREFIX)
    if not text.isdigit():
        raise ScenarioError([f"{case}: write a NAVCO campaign as navco:ID (an integer id)"])
    try:
        return navcases.campaign_scenario(int(text), coeffs=coeffs)
    except casecode.CaseError as exc:
        raise ScenarioError([f"{case}: {exc}"]) from None


def probe_run(case: str, seed: int, overrides: dict[str, Any]) -> dict[str, Any]:
    """Run ``case`` at ``seed`` with ``overrides`` and return one row of :data:`COLUMNS`.

    A run whose model cannot be built (a coded campaign whose stated peak its pilot cannot reach,
    say) is a row with the outcome :data:`NOT_BUILT`, its figures empty and the problem under
    ``error``; the summaries leave it out.
    """
    from defection.calibration.cases import split_overrides
    from defection.model.address import ScenarioError
    from defection.model.regime import RegimeModel
    from defection.runner import final_figures, navco_readings

    coeffs, overrides = split_overrides(overrides)
    try:
        m = RegimeModel(case_scenario(case, coeffs), rng=seed, overrides=overrides)
    except ScenarioError as exc:
        empty = dict.fromkeys(COLUMNS)
        return {**empty, "case": case, "seed": seed, "outcome": NOT_BUILT, "error": str(exc)}
    m.run()
    fig = final_figures(m)
    days = [d for d in navco_readings(m).values() if d is not None]
    return {
        "case": case,
        "seed": seed,
        "outcome": m.outcome,
        "day": m.outcome_day,
        "defected": fig["soldiers"]["defected"],
        "deserted": fig["soldiers"]["deserted"],
        "detained": fig["soldiers"]["detained"],
        "elites": fig["elites_defected"],
        "first_defect": min(days) if days else None,
        "force_agents": int(m.initial_force),
    }


def _row_text(row: dict[str, Any]) -> str:
    if row["outcome"] == NOT_BUILT:
        cells = [str(row["case"]), str(row["seed"]), NOT_BUILT] + ["-"] * (len(COLUMNS) - 3)
        return "| " + " | ".join(cells) + " |"

    def pct(x: float) -> str:
        return f"{100 * x:.1f}%"

    first = "-" if row["first_defect"] is None else str(row["first_defect"])
    return (
        f"| {row['case']} | {row['seed']} | {row['outcome']} | {row['day']} | "
        f"{pct(row['defected'])} | {pct(row['deserted'])} | {pct(row['detained'])} | "
        f"{pct(row['elites'])} | {first} | {row['force_agents']} |"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Print a Markdown table of the runs; exit 2 with a message on bad input."""
    from defection.cli import parse_sets
    from defection.model.scenario import ScenarioError

    ap = argparse.ArgumentParser(prog="python -m defection.calibration.probe")
    ap.add_argument("cases", help="comma-separated scenario names or files")
    ap.add_argument("--seeds", type=int, default=3, help="seeds 1..N (default 3, at most 1000)")
    ap.add_argument(
        "--seed",
        type=int,
        action="append",
        default=[],
        help="an explicit seed (repeatable; replaces --seeds), e.g. a calibration run's",
    )
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument("--workers", type=int, default=1, help="local processes (default 1)")
    args = ap.parse_args(argv)
    overrides = parse_sets(args.set)
    cases = expand_cases([c.strip() for c in args.cases.split(",") if c.strip()])
    problems = []
    from defection.calibration.cases import split_overrides

    coeffs, model_sets = split_overrides(overrides)
    for case in cases:  # every problem before anything runs
        try:
            case_scenario(case, coeffs).with_overrides(model_sets)
        except ScenarioError as exc:
            problems += exc.problems
    if not 1 <= args.seeds <= MAX_SEEDS:
        problems.append(f"--seeds {args.seeds}: must be between 1 and {MAX_SEEDS}")
    problems += [f"--seed {s}: must be a non-negative integer" for s in args.seed if s < 0]
    if problems:
        print("\n".join(problems))
        return 2
    seeds = args.seed or list(range(1, args.seeds + 1))
    jobs = list(itertools.product(cases, seeds))
    print("| " + " | ".join(COLUMNS) + " |")
    print("|" + "---|" * len(COLUMNS))
    rows = []
    if args.workers > 1:
        with ProcessPoolExecutor(args.workers) as pool:
            futures = [pool.submit(probe_run, c, s, overrides) for c, s in jobs]
            for fut in futures:
                rows.append(fut.result())
                print(_row_text(rows[-1]), flush=True)
    else:
        for c, s in jobs:
            rows.append(probe_run(c, s, overrides))
            print(_row_text(rows[-1]), flush=True)
    for row in rows:
        if row["outcome"] == NOT_BUILT:
            print(f"{row['case']} seed {row['seed']}: not built: {row['error']}")
    summary = navco_summary(rows)
    if summary:
        print()
        print(summary)
    return 0


def navco_summary(rows: list[dict[str, Any]]) -> str:
    """DEFECT in the first 365 days among the campaign runs, by method, next to the data.

    Then the runs with a DEFECT by participation bin and the runs' outcomes. Returns ``""`` when
    no row is a NAVCO campaign. The data's rate is over the same campaigns (each counted once),
    so the comparison is like for like, not against the fitting set's cell.
    """
    from defection.calibration import navcases, navco
    from defection.model.outputs import SUCCESS_OUTCOMES, SURVIVAL, WINDOW_DAYS

    camp = [r for r in rows if str(r["case"]).startswith(NAVCO_PREFIX)]
    camp = [r for r in camp if r.get("outcome") != NOT_BUILT]
    if not camp:
        return ""

    def hit_of(r: dict[str, Any]) -> bool:
        return r["first_defect"] is not None and r["first_defect"] <= WINDOW_DAYS

    units = navcases._units().set_index("NAVCO ID")
    lines = []
    all_ids = {int(r["case"].removeprefix(NAVCO_PREFIX)) for r in camp}
    for method in ("nonviolent", "violent"):
        ids = {i for i in all_ids if units.loc[i, "method"] == method}
        runs = [r for r in camp if int(r["case"].removeprefix(NAVCO_PREFIX)) in ids]
        if not runs:
            continue
        hit = sum(hit_of(r) for r in runs)
        data = int(units.loc[sorted(ids), "DEFECT"].sum())
        lines.append(
            f"{method}: model DEFECT {hit}/{len(runs)} runs ({hit / len(runs):.2f}); "
            f"data {data}/{len(ids)} campaigns ({data / len(ids):.2f})"
        )
    for method in ("nonviolent", "violent"):
        line = success_line(method, camp, units, hit_of)
        if line:
            lines.append(line)
    bins = units.loc[[int(r["case"].removeprefix(NAVCO_PREFIX)) for r in camp], "bin"].tolist()
    parts = []
    for b in navco.BINS:
        hits = [hit_of(r) for r, rb in zip(camp, bins, strict=True) if rb == b]
        parts.append(f"{b} {sum(hits)}/{len(hits)}" if hits else f"{b} -")
    lines.append("by participation bin: " + ", ".join(parts))
    agents = sorted(r["force_agents"] for r in camp if r.get("force_agents"))
    if agents:
        from defection.model.outputs import DEFECT_SHARE

        one = [1.0 / a for a in agents]
        lines.append(
            f"resolution: one soldier agent is {100 * statistics.median(one):.2f}% of the initial "
            f"force in the median run ({100 * min(one):.2f}% to {100 * max(one):.2f}%; "
            f"{agents[0]} to {agents[-1]} soldier agents); DEFECT's armed-defection rule is "
            f"{100 * DEFECT_SHARE:.1f}%"
        )
    fell = [r for r in camp if r["outcome"] in SUCCESS_OUTCOMES and r.get("day") is not None]
    fell = sorted(r["day"] for r in fell)
    if fell:
        early = sum(d <= FIRST_WEEKS for d in fell)
        lines.append(
            f"falls: {len(fell)} of {len(camp)} runs, {early} of them by day {FIRST_WEEKS} "
            f"(median day {statistics.median(fell):g}, latest {fell[-1]})"
        )
    calm = [r for r in camp if r["outcome"] == SURVIVAL and r.get("defected") is not None]
    if calm:
        still = sum(r["defected"] == 0 and r["deserted"] == 0 for r in calm)
        lines.append(f"survivals: {len(calm)}, {still} of them with no soldier gone")
    outcomes = Counter(str(r["outcome"]) for r in camp)
    lines.append("outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())))
    return "\n".join(lines)


def success_line(method: str, camp: list[dict[str, Any]], units: Any, hit_of: Any) -> str:
    """P(SUCCESS) with and without a DEFECT among one method's campaign runs, next to the data.

    A run succeeds when the regime fell within the window (``outputs.navco_success``); the data
    count finished campaigns only, each once (docs/DATA.md: ONGOING is left out, LIMITED is not
    success). Returns ``""`` when a run has no outcome day (a summary of hand-made rows) or no
    run is of ``method``.
    """
    from defection.model.outputs import navco_success

    ids = {int(r["case"].removeprefix(NAVCO_PREFIX)) for r in camp}
    ids = {i for i in ids if units.loc[i, "method"] == method}
    runs = [r for r in camp if int(r["case"].removeprefix(NAVCO_PREFIX)) in ids]
    if not runs or any("day" not in r for r in runs):
        return ""

    def part(k: int, n: int) -> str:
        return f"{k}/{n} ({k / n:.2f})" if n else f"{k}/{n} (-)"

    def gap(a: tuple[int, int], b: tuple[int, int]) -> str:
        return f"{a[0] / a[1] - b[0] / b[1]:+.2f}" if a[1] and b[1] else "-"

    won = [navco_success(r["outcome"], r["day"]) for r in runs]
    hit = [hit_of(r) for r in runs]
    m_with = (sum(w for w, h in zip(won, hit, strict=True) if h), sum(hit))
    m_without = (sum(w for w, h in zip(won, hit, strict=True) if not h), len(hit) - sum(hit))
    done = units.loc[sorted(ids)]
    done = done[done["finished"].astype(bool)]
    d = done["DEFECT"].astype(int) == 1
    s = done["success"].astype(bool)
    d_with, d_without = (int((s & d).sum()), int(d.sum())), (int((s & ~d).sum()), int((~d).sum()))
    return (
        f"{method} SUCCESS: model {part(*m_with)} with DEFECT, {part(*m_without)} without "
        f"(gap {gap(m_with, m_without)}); data {part(*d_with)} with, {part(*d_without)} "
        f"without (gap {gap(d_with, d_without)}; finished campaigns)"
    )


if __name__ == "__main__":
    raise SystemExit(main())
