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
campaign_scenario`). When campaigns are among the cases, closing lines sum their runs up: the
share with a NAVCO DEFECT in the first 365 days by method, next to the data's rate over the same
campaigns, the runs with a DEFECT by participation bin, and the outcomes.

Usage::

    python -m defection.calibration.probe syria_2011,myanmar_2021 --seeds 3
        --set soldiers.choice_noise=1 --set elites.steady_start=true [--workers 2]
    python -m defection.calibration.probe navco:8,navco:13 --seeds 2
        --set belief.w_armed=9

(each one command line).
"""

from __future__ import annotations

import argparse
import itertools
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
)


#: Prefix of a NAVCO fitting campaign among the cases (``navco:ID``).
NAVCO_PREFIX = "navco:"


def case_scenario(case: str) -> Any:
    """The scenario of one case token: a scenario name or file, or ``navco:ID``.

    Raises:
        ScenarioError: An unknown scenario, or a campaign that is not a runnable fitting one.
    """
    from defection.model.scenario import ScenarioError, load

    if not case.startswith(NAVCO_PREFIX):
        return load(case)
    from defection.calibration import casecode, navcases

    text = case.removeprefix(NAVCO_PREFIX)
    if not text.isdigit():
        raise ScenarioError([f"{case}: write a NAVCO campaign as navco:ID (an integer id)"])
    try:
        return navcases.campaign_scenario(int(text))
    except casecode.CaseError as exc:
        raise ScenarioError([f"{case}: {exc}"]) from None


def probe_run(case: str, seed: int, overrides: dict[str, Any]) -> dict[str, Any]:
    """Run ``case`` at ``seed`` with ``overrides`` and return one row of :data:`COLUMNS`."""
    from defection.model.regime import RegimeModel
    from defection.runner import final_figures, navco_readings

    m = RegimeModel(case_scenario(case), rng=seed, overrides=overrides)
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
    }


def _row_text(row: dict[str, Any]) -> str:
    def pct(x: float) -> str:
        return f"{100 * x:.1f}%"

    first = "-" if row["first_defect"] is None else str(row["first_defect"])
    return (
        f"| {row['case']} | {row['seed']} | {row['outcome']} | {row['day']} | "
        f"{pct(row['defected'])} | {pct(row['deserted'])} | {pct(row['detained'])} | "
        f"{pct(row['elites'])} | {first} |"
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
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    problems = []
    for case in cases:  # every problem before anything runs
        try:
            case_scenario(case).with_overrides(overrides)
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
    from defection.model.outputs import WINDOW_DAYS

    camp = [r for r in rows if str(r["case"]).startswith(NAVCO_PREFIX)]
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
    bins = units.loc[[int(r["case"].removeprefix(NAVCO_PREFIX)) for r in camp], "bin"].tolist()
    parts = []
    for b in navco.BINS:
        hits = [hit_of(r) for r, rb in zip(camp, bins, strict=True) if rb == b]
        parts.append(f"{b} {sum(hits)}/{len(hits)}" if hits else f"{b} -")
    lines.append("by participation bin: " + ", ".join(parts))
    outcomes = Counter(str(r["outcome"]) for r in camp)
    lines.append("outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())))
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
