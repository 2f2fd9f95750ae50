r"""A case's daily series at a few vectors of a sample: what the runs behind a clause look like.

A refinement says how often a clause is met; this shows one run per vector day by day (the
protest's participation, the force's shirkers and leavers, the public belief, the regime's
legitimacy), so that a reader can see why:

    python scripts/case_series.py calibration/refine13/refined.parquet syria_2011 --rows 0,1,2 \
        --set protest.buildup_days=123 --set elites.plots=true --set soldiers.choice_noise=0.8

It runs the scenario to its horizon with each chosen row's parameters (and the ``--set`` values
on top), seed ``--seed`` (or stops it at its outcome with ``--stop-at-outcome``, as the
calibration's checks do), and prints the series on the days given by ``--days`` and the run's
outcome with the largest shares of the force detained and gone (deserted plus defected) on any
day, then the number of soldier agents (one agent is ``1/S`` of every force share).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from defection.model.outputs import SERIES

#: Series left out of the table (the printed ones are the rest of ``SERIES``).
LEFT_OUT = ("day", "active_protesters", "jailed_protesters", "soldiers_loyal")
COLUMNS = tuple(name for name in SERIES if name not in (*LEFT_OUT, "arrests"))


def main(argv: list[str] | None = None) -> int:
    """Print the chosen rows' series."""
    import typer

    from defection.cli import parse_sets
    from defection.model.address import ScenarioError
    from defection.model.regime import RegimeModel

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sample", type=Path, help="a sample's Parquet file (one vector a row)")
    ap.add_argument("scenario", help="a bundled scenario name or a TOML file")
    ap.add_argument("--rows", default="0", help="comma-separated row positions (default 0)")
    ap.add_argument("--seed", type=int, default=1, help="the run's seed (default 1)")
    ap.add_argument(
        "--stop-at-outcome",
        action="store_true",
        help="stop a run at its outcome, as the calibration's checks do (default: to the horizon)",
    )
    ap.add_argument("--days", default="1,30,60,90,123,150,200,250,300,365")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    args = ap.parse_args(argv)
    if not args.sample.is_file():
        print(f"error: {args.sample}: no such file", file=sys.stderr)
        return 2
    sample = pd.read_parquet(args.sample)
    params = [c for c in sample.columns if "." in c]
    try:
        sets = parse_sets(args.set)  # the CLI's reading of --set (TOML literals)
    except typer.Exit as exc:  # it has printed the problems
        return exc.exit_code
    days = [int(d) for d in args.days.split(",")]
    n = 0
    for pos in (int(r) for r in args.rows.split(",")):
        if not 0 <= pos < len(sample):
            print(f"error: --rows {pos}: the sample has {len(sample)} rows", file=sys.stderr)
            return 2
        overrides = {k: float(sample.iloc[pos][k]) for k in params} | sets
        try:
            m = RegimeModel(
                args.scenario,
                rng=args.seed,
                overrides=overrides,
                until_horizon=not args.stop_at_outcome,
            )
        except ScenarioError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        m.run()
        df = m.datacollector.get_model_vars_dataframe()
        shown = [d for d in days if d < len(df)]
        print(f"row {pos} (seed {args.seed})")
        print(df.loc[shown, list(COLUMNS)].round(4).to_string())
        gone = df["soldiers_deserted"] + df["soldiers_defected"]
        print(
            f"outcome: {m.outcome} ({m.outcome_rule}) on day {m.outcome_day}; largest share of "
            f"the force detained {df['soldiers_detained'].max():.4f}, gone {gone.max():.4f}"
        )
        n = m.n_soldiers
    print(f"soldier agents: {n} (one agent = {1 / n:.4%} of the force)" if n else "no soldiers")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
