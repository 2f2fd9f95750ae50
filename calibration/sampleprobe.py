"""Probe a calibrated sample's vectors on cases, with one parameter set to each of a few values.

Where :mod:`defection.calibration.probe` looks at one parameter point, this looks at a structure
change across a sample: ``--draws`` vectors drawn at random (by ``--seed``, without replacement)
from a sample's Parquet file (a wave's ``nonimplausible.parquet`` or a refinement's
``refined.parquet``) or from the vectors a check's folder ran (``calibration/refine9``: each
distinct vector of its ``runs.parquet`` once), each run on every case over seeds ``1..N`` with
``--vary NAME`` set to each of ``--values`` (every other parameter as the vector sets it, or at the
registry's default), so every value sees the same vectors and seeds. One line per case and value:
the share of runs that fell (transition or collapse) in each window of days (``--windows``; "fell
1-30" is an early fall), the median day of the falls, the median day of the first NAVCO DEFECT (over
the runs that had one), and the mean shares of the force that defected and of the elites who
defected. ``--set NAME=VALUE`` (repeatable) fixes a parameter for every run, over the vector's
value. ``--band LO,HI`` adds the share of runs in which no soldier defected, the share whose
defected share of the force lies in ``[LO, HI]``, the share in which at least as many deserted as
defected, and the share that meets both. Nothing is stored and nothing is fitted: a look before a
structure change goes into a calibration (docs/CALIBRATION.md, "The steady start's margin"). Cases
are scenario names or files, or ``navco:ID`` fitting campaigns (``navco:fit`` for every runnable
one), as in the probe; never the NAVCO test set. Campaigns get no table each: for each value,
their runs are summed up as the probe sums them up (:func:`defection.calibration.probe.
navco_summary`: DEFECT by method, SUCCESS with and without a DEFECT and the gap, next to the
data's over the same campaigns).

Usage::

    python -m defection.calibration.sampleprobe calibration/wave7_3/nonimplausible.parquet
        soviet_1991,east_germany_1989 --vary elites.steady_margin --values 0,0.05,0.15
        --draws 12 --seeds 3 --windows 30,231 [--set NAME=VALUE ...] [--workers 2]
    python -m defection.calibration.sampleprobe calibration/wave17_3/nonimplausible.parquet
        navco:fit --vary regime.concession_defection --values 0,4 --draws 4 --seeds 1
        --set case.patronage_weight=1 --set soldiers.min_agents=1000 --workers 2

(each one command line).
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from defection.calibration.probe import (
    MAX_SEEDS,
    NAVCO_PREFIX,
    NOT_BUILT,
    case_scenario,
    expand_cases,
    navco_summary,
    probe_run,
)
from defection.model.outputs import SUCCESS_OUTCOMES as FELL  # outcomes that end the regime


def read_sample(path: Path) -> Any:
    """The sample at ``path`` as a DataFrame: a Parquet file, or a check's or wave's folder.

    A folder's sample is the distinct parameter vectors of its ``runs.parquet`` (registry
    columns only, in order of first appearance): the vectors a refinement such as
    ``calibration/refine9`` ran, each once.
    """
    import pandas as pd

    from defection.model.params import BY_NAME

    if path.is_dir():
        runs = pd.read_parquet(path / "runs.parquet")
        names = [c for c in runs.columns if c in BY_NAME]
        return runs[names].drop_duplicates().reset_index(drop=True)
    return pd.read_parquet(path)


def sample_vectors(path: Path, draws: int, seed: int) -> list[dict[str, float]]:
    """``draws`` rows of the sample at ``path`` drawn without replacement, as parameter dicts.

    ``path`` is read by :func:`read_sample`. Only registry parameters are kept (columns such as
    ``implausibility`` are not parameters), integer ones as integers.
    """
    from defection.model.params import BY_NAME

    frame = read_sample(path)
    names = [c for c in frame.columns if c in BY_NAME]
    picks = np.random.default_rng(seed).choice(len(frame), size=draws, replace=False)
    cast = {n: int if BY_NAME[n].type == "int" else float for n in names}
    return [{n: cast[n](frame[n].iloc[int(i)]) for n in names} for i in picks]


def windows_of(edges: Sequence[int], horizon: int) -> list[tuple[int, int]]:
    """Day windows ``[1, e1], [e1 + 1, e2], ..., [ek + 1, horizon]`` from the edges."""
    out, lo = [], 1
    for e in sorted(set(edges)):
        if lo <= e < horizon:
            out.append((lo, e))
            lo = e + 1
    out.append((lo, horizon))
    return out


def summarise(
    rows: list[dict[str, Any]],
    windows: list[tuple[int, int]],
    band: tuple[float, float] | None = None,
) -> dict[str, Any]:
    """Shares of runs falling in each window, the falls' median day, mean defected shares.

    With ``band`` (low, high shares of the force), also the share of runs in which no soldier
    defected and the share whose defected share lies in ``[low, high]`` (a case's range, such as
    Syria's 1-4 %): a mean can sit inside a range that no run reaches. Then also the share of
    runs in which at least as many soldiers deserted as defected (Syria's "desertion at least
    defection") and the share that meet both, the range and that order.

    Runs whose model could not be built (outcome :data:`~defection.calibration.probe.NOT_BUILT`)
    are left out: ``runs`` counts the others, and with none every share is ``None``.
    """
    rows = [r for r in rows if r["outcome"] != NOT_BUILT]
    n = len(rows)

    def share(k: int) -> float | None:
        return k / n if n else None

    fell = [r for r in rows if r["outcome"] in FELL]
    out: dict[str, Any] = {"runs": n}
    for lo, hi in windows:
        out[f"fell {lo}-{hi}"] = share(sum(lo <= r["day"] <= hi for r in fell))
    out["median fall day"] = statistics.median(r["day"] for r in fell) if fell else None
    firsts = [r["first_defect"] for r in rows if r.get("first_defect") is not None]
    out["median first DEFECT"] = statistics.median(firsts) if firsts else None
    out["force defected"] = statistics.fmean(r["defected"] for r in rows) if n else None
    out["elites defected"] = statistics.fmean(r["elites"] for r in rows) if n else None
    if band is not None:
        lo, hi = band
        out["none defected"] = share(sum(r["defected"] == 0 for r in rows))
        inside = [lo <= r["defected"] <= hi for r in rows]
        order = [r["deserted"] >= r["defected"] for r in rows]
        out[f"defected {lo:g}-{hi:g}"] = share(sum(inside))
        out["deserted >= defected"] = share(sum(order))
        out["both"] = share(sum(a and b for a, b in zip(inside, order, strict=True)))
    return out


def _value(text: str, kind: str) -> Any:
    """One of ``--values`` as the parameter's type: int, float, or a switch's true/false."""
    if kind == "bool":
        if text.lower() not in ("true", "false"):
            raise ValueError(f"{text!r} is not true or false")
        return text.lower() == "true"
    return int(text) if kind == "int" else float(text)


def _run(job: tuple[str, int, dict[str, Any]]) -> dict[str, Any]:
    case, seed, overrides = job
    return probe_run(case, seed, overrides)


def main(argv: Sequence[str] | None = None) -> int:
    """Print a Markdown table per case; exit 2 with a message on bad input."""
    from rich.progress import Progress

    from defection.model.params import BY_NAME
    from defection.model.scenario import ScenarioError

    ap = argparse.ArgumentParser(prog="python -m defection.calibration.sampleprobe")
    ap.add_argument(
        "sample", type=Path, help="a sample's Parquet file, or a check's folder (its vectors)"
    )
    ap.add_argument("cases", help="comma-separated scenario names or files, or navco:ID")
    ap.add_argument("--vary", required=True, help="the registry parameter to set")
    ap.add_argument("--values", required=True, help="comma-separated values of it")
    ap.add_argument("--draws", type=int, default=12, help="vectors drawn (default 12)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the vectors' draw (default 1)")
    ap.add_argument("--seeds", type=int, default=3, help="run seeds 1..N (default 3)")
    ap.add_argument("--windows", default="30", help="edges of the fall windows (default 30)")
    ap.add_argument("--workers", type=int, default=1, help="local processes (default 1)")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument(
        "--band",
        metavar="LO,HI",
        help="also the share of runs with no defector and with LO <= defected share <= HI",
    )
    args = ap.parse_args(argv)
    from defection.cli import parse_sets

    fixed = parse_sets(args.set)
    problems = []
    if not (args.sample.is_file() or (args.sample / "runs.parquet").is_file()):
        problems.append(f"{args.sample}: no such sample file (nor a folder with runs.parquet)")
    if args.vary not in BY_NAME:
        problems.append(f"--vary {args.vary}: not a registry parameter")
    try:
        kind = BY_NAME[args.vary].type if args.vary in BY_NAME else "float"
        values = [_value(v.strip(), kind) for v in args.values.split(",") if v.strip()]
        edges = [int(e) for e in args.windows.split(",") if e.strip()]
    except ValueError as exc:
        problems.append(f"--values/--windows: {exc}")
        values, edges = [], []
    band = None
    if args.band is not None:
        try:
            lo, hi = (float(x) for x in args.band.split(","))
        except ValueError:
            problems.append(f"--band {args.band}: two shares LO,HI, such as 0.01,0.04")
        else:
            if not 0 <= lo <= hi <= 1:
                problems.append(f"--band {args.band}: needs 0 <= LO <= HI <= 1")
            band = (lo, hi)
    if not 1 <= args.seeds <= MAX_SEEDS:
        problems.append(f"--seeds {args.seeds}: must be between 1 and {MAX_SEEDS}")
    cases = expand_cases([c.strip() for c in args.cases.split(",") if c.strip()])
    vectors: list[dict[str, float]] = []
    if not problems:
        rows_in = len(read_sample(args.sample))
        if not 1 <= args.draws <= rows_in:
            problems.append(f"--draws {args.draws}: the sample has {rows_in} rows")
        else:
            vectors = sample_vectors(args.sample, args.draws, args.seed)
    from defection.calibration.cases import split_overrides

    for case in cases:  # every problem before anything runs
        for v in values[:1] + values[-1:]:
            coeffs, over = split_overrides({**(vectors or [{}])[0], **fixed, args.vary: v})
            try:
                case_scenario(case, coeffs).with_overrides(over)
            except ScenarioError as exc:
                problems += exc.problems
    if problems:
        print("\n".join(dict.fromkeys(problems)))
        return 2
    jobs, keys = [], []
    for case in cases:
        for v in values:
            for vec in vectors:
                for s in range(1, args.seeds + 1):
                    jobs.append((case, s, {**vec, **fixed, args.vary: v}))
                    keys.append((case, v))
    rows: list[dict[str, Any]] = []
    with Progress(transient=True) as bar:
        task = bar.add_task("runs", total=len(jobs))
        if args.workers > 1:
            with ProcessPoolExecutor(args.workers) as pool:
                for row in pool.map(_run, jobs, chunksize=1):
                    rows.append(row)
                    bar.advance(task)
        else:
            for job in jobs:
                rows.append(_run(job))
                bar.advance(task)
    print(
        f"{len(vectors)} vectors of {args.sample} (draw seed {args.seed}) x seeds 1-{args.seeds}"
        f" per case and value of {args.vary}" + "".join(f"; {k} = {v}" for k, v in fixed.items())
    )
    for case in [c for c in cases if not c.startswith(NAVCO_PREFIX)]:
        first = next(j for j, k in zip(jobs, keys, strict=True) if k[0] == case)
        coeffs, over = split_overrides(first[2])
        horizon = int(case_scenario(case, coeffs).with_overrides(over).params["run.horizon"])
        wins = windows_of(edges, horizon)
        table = []
        for v in values:
            sel = [r for r, k in zip(rows, keys, strict=True) if k == (case, v)]
            table.append({args.vary: v, **summarise(sel, wins, band)})
        print(f"\n{case}\n")
        print("| " + " | ".join(table[0]) + " |")
        print("|" + "---|" * len(table[0]))
        for t in table:
            cells = [
                "-" if x is None else (f"{x:.3g}" if isinstance(x, float) else str(x))
                for x in t.values()
            ]
            print("| " + " | ".join(cells) + " |")
        failed = [r for r, k in zip(rows, keys, strict=True) if k[0] == case]
        failed = [r for r in failed if r["outcome"] == NOT_BUILT]
        if failed:
            print(f"\nnot built (left out above): {len(failed)} runs; {failed[0]['error']}")
    campaigns = [c for c in cases if c.startswith(NAVCO_PREFIX)]
    for v in values if campaigns else []:
        sel = [r for r, k in zip(rows, keys, strict=True) if k[1] == v and k[0] in campaigns]
        built = [r for r in sel if r["outcome"] != NOT_BUILT]
        print(f"\n{len(campaigns)} NAVCO campaigns, {args.vary} = {v} ({len(built)} runs built)\n")
        print(navco_summary(built))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
