"""Measure what a run costs in memory per cell, agent, tie and day (the figures of model/limits.py).

Run it with::

    .venv/bin/python scripts/measure_memory.py          # 3 to 7 minutes on 2 cores
    .venv/bin/python scripts/measure_memory.py --json   # the same, one JSON object at the end

Each measurement runs what ``defection run`` runs (build the model, simulate, write
summary.json, the parquet files and cascade.png into a temporary folder) in a fresh child
process, and reads that process's peak resident set size (``ru_maxrss``). Each figure is the
slope between two sizes of one configuration that differ only in what is measured, so the
interpreter and its imports cancel out:

* cell: an empty grid (both densities 0), 500 x 500 and 1000 x 1000, 3 days;
* protester: a full grid of protesters (density 1), the same sizes, minus the cells;
* soldier: a full grid of soldiers (garrison density 1), 200 x 200 and 400 x 400, 3 days, minus
  the cells and the ties (a soldier with his ties is also printed);
* tie: 200 x 200 soldiers with squads of 8 and of 32 (the clique of a squad ties every pair);
* day: one 10 x 10 region run to a horizon of 2,000 and of 8,000 days;
* region-group-day: 32 regions x 8 groups of 5 x 5 cells, horizons 250 and 1,000, minus the days;
* base: the peak of a small run (``epstein_1``, 40 x 40, 50 days), which is mostly imports;
* sweep run: planning a sweep (the spec's design points and the coordinator's tasks) of 20,000 and
  of 200,000 runs, per planned run.

``model/limits.py`` uses these figures, rounded up, to estimate a run's peak before it starts.

With ``--caps`` it measures instead a model at each default limit (:func:`at_the_caps`: the most
agents, cells, soldiers, regions x groups x days, and a stated-peak scenario near the memory
budget) and prints its peak beside the estimate and the budget; ``tests/test_limits.py`` runs the
same models and checks ``peak <= estimate <= budget``::

    .venv/bin/python scripts/measure_memory.py --caps   # about 1 to 2 minutes
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MiB = 2**20


def _peak_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


def _doc(side: int, citizen: float, garrison: float, **extra) -> dict:
    doc = {
        "scenario": {"name": "measure"},
        "run": {"horizon": extra.pop("horizon", 3)},
        "grid": {"width": side, "height": side},
        "protest": {"citizen_density": citizen, "vision": min(7, (side - 1) // 2)},
        "soldiers": {"garrison_density": garrison, "vision": min(7, (side - 1) // 2)},
    }
    for address, value in extra.items():
        section, key = address.split("__")
        doc.setdefault(section, {})[key] = value
    return doc


def child_run(cfg: dict) -> dict:
    """In the child: build, run to the horizon, write the outputs; report counts and peak RSS."""
    from defection.model.limits import LARGE, expected_peak_bytes
    from defection.model.regime import RegimeModel
    from defection.model.scenario import from_dict, load
    from defection.runner import write_outputs

    if "bundled" in cfg:
        sc = load(cfg["bundled"], cfg.get("set"), limits=LARGE)
    else:
        sc = from_dict(cfg["doc"], "measure", limits=LARGE)
    start = time.perf_counter()
    model = RegimeModel(sc, rng=1, until_horizon=True)
    model.run()
    with tempfile.TemporaryDirectory() as folder:
        write_outputs(model, 1, Path(folder))
    return {
        "protesters": model.n_protesters,
        "soldiers": model.n_soldiers,
        "ties": int(model.units.adjacency.nnz // 2),
        "cells": model.grid.cells,
        "days": model.day,
        "regions": len(model.region_names),
        "groups": model.n_groups,
        "peak": _peak_bytes(),
        "estimate": expected_peak_bytes(sc),
        "seconds": time.perf_counter() - start,
    }


def child_sweep(cfg: dict) -> dict:
    """In the child: plan a sweep of ``cfg['runs']`` runs (design points and tasks)."""
    from defection.sweep.coordinator import tasks_for
    from defection.sweep.spec import spec_from_dict

    before = _peak_bytes()
    points = cfg["runs"] // 10
    doc = {
        "sweep": {"name": "measure", "scenario": "baseline", "replicates": 10, "seed": 1},
        "set": {"run.horizon": 20, "grid.width": 20, "grid.height": 20},
        "vary": {
            "soldiers.pay": {"range": [0.0, 3.0], "steps": points // 10},
            "regime.repression": {"range": [0.0, 1.0], "steps": 10},
        },
    }
    from defection.model.limits import LARGE

    sweep = spec_from_dict(doc, "measure", limits=LARGE)
    tasks = tasks_for(sweep, set())
    return {"runs": len(tasks), "peak": _peak_bytes(), "before": before}


def at_the_caps() -> dict[str, dict]:
    """A model at each default limit (``defection.model.limits.DEFAULT``), as child configs."""
    from defection.model.limits import DEFAULT

    side = math.isqrt
    per_region = min(DEFAULT.cells_per_region, DEFAULT.cells)
    regions, groups = DEFAULT.regions, DEFAULT.groups
    days = DEFAULT.region_group_days // (regions * groups)
    many = _doc(5, 0.7, 0.04, horizon=days) | {
        "groups": [{"name": f"g{i}", "share": 1.0} for i in range(groups)],
        "regions": [{"name": f"r{i}"} for i in range(regions)],
    }
    return {
        "agents": {"doc": _doc(side(DEFAULT.agents), 1.0, 0.0)},
        "cells": {"doc": _doc(side(per_region), 0.0, 0.0)},
        "soldiers": {"doc": _doc(side(DEFAULT.soldiers), 0.0, 1.0)},
        "regions x groups x days": {"doc": many},
        "memory, a stated peak": {
            "bundled": "syria_2011",
            "set": {"run.horizon": 10, "grid.width": 450, "grid.height": 450},
        },
    }


def measure(kind: str, cfg: dict) -> dict:
    """Run one configuration in a fresh child process and return its report."""
    cmd = [sys.executable, __file__, "--child", kind, json.dumps(cfg)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise RuntimeError(f"child failed: {cfg}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def slope(a: dict, b: dict, key: str) -> float:
    """Bytes of peak RSS per unit of ``key`` between two reports."""
    return (b["peak"] - a["peak"]) / (b[key] - a[key])


def main(argv: list[str] | None = None) -> dict:
    """Measure every figure; print one line each, then (``--json``) one JSON object."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object at the end")
    ap.add_argument("--caps", action="store_true", help="measure models at the default limits")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        kind, cfg = args.child[0], json.loads(args.child[1])
        out = child_sweep(cfg) if kind == "sweep" else child_run(cfg)
        print(json.dumps(out), flush=True)
        return out
    if args.caps:
        return caps(args.json)

    runs = {
        "base": {"bundled": "epstein_1", "set": {"run.horizon": 50}},
        "cells_a": {"doc": _doc(500, 0.0, 0.0)},
        "cells_b": {"doc": _doc(1000, 0.0, 0.0)},
        "prot_a": {"doc": _doc(500, 1.0, 0.0)},
        "prot_b": {"doc": _doc(1000, 1.0, 0.0)},
        "sold_a": {"doc": _doc(200, 0.0, 1.0)},
        "sold_b": {"doc": _doc(400, 0.0, 1.0)},
        "ties_a": {"doc": _doc(200, 0.0, 1.0, soldiers__squad_size=8)},
        "ties_b": {"doc": _doc(200, 0.0, 1.0, soldiers__squad_size=32)},
        "days_a": {"doc": _doc(10, 0.7, 0.04, horizon=2000)},
        "days_b": {"doc": _doc(10, 0.7, 0.04, horizon=8000)},
    }
    rgd = {
        "groups": [{"name": f"g{i}", "share": 1.0} for i in range(8)],
        "regions": [{"name": f"r{i}"} for i in range(32)],
    }
    for key, horizon in (("rgd_a", 250), ("rgd_b", 1000)):
        runs[key] = {"doc": _doc(5, 0.7, 0.04, horizon=horizon) | rgd}
    r = {}
    for key, cfg in runs.items():
        r[key] = measure("run", cfg)
        print(f"  {key}: {r[key]}", file=sys.stderr, flush=True)
    sweeps = {"sweep_a": {"runs": 20_000}, "sweep_b": {"runs": 200_000}}
    for key, cfg in sweeps.items():
        r[key] = measure("sweep", cfg)
        print(f"  {key}: {r[key]}", file=sys.stderr, flush=True)

    cell = slope(r["cells_a"], r["cells_b"], "cells")
    tie = slope(r["ties_a"], r["ties_b"], "ties")
    day = slope(r["days_a"], r["days_b"], "days")
    with_ties = slope(r["sold_a"], r["sold_b"], "soldiers")
    ties_each = (r["sold_b"]["ties"] - r["sold_a"]["ties"]) / (
        r["sold_b"]["soldiers"] - r["sold_a"]["soldiers"]
    )
    for k in ("rgd_a", "rgd_b"):
        r[k]["region_group_days"] = r[k]["regions"] * r[k]["groups"] * r[k]["days"]
    figures = {
        "base_mib": r["base"]["peak"] / MiB,
        "cell": cell,
        "protester": slope(r["prot_a"], r["prot_b"], "protesters") - cell,
        "soldier_with_ties": with_ties - cell,
        "ties_per_soldier": ties_each,
        "soldier": with_ties - cell - tie * ties_each,
        "tie": tie,
        "day": day,
        "region_group_day": (
            slope(r["rgd_a"], r["rgd_b"], "days")
            * (r["rgd_b"]["days"] - r["rgd_a"]["days"])
            / (r["rgd_b"]["region_group_days"] - r["rgd_a"]["region_group_days"])
            - day / (r["rgd_a"]["regions"] * r["rgd_a"]["groups"])
        ),
        "sweep_run": slope(r["sweep_a"], r["sweep_b"], "runs"),
        "estimate_over_peak": {
            k: round(v["estimate"] / v["peak"], 2) for k, v in r.items() if "estimate" in v
        },
    }
    print("peak RSS of `defection run` (build, days, outputs), slope between two sizes:")
    print(f"  base (a 40 x 40 run, mostly imports): {figures['base_mib']:8,.0f} MiB")
    for name, unit in (
        ("cell", "per grid cell"),
        ("protester", "per protester agent, besides its cell"),
        ("soldier_with_ties", "per soldier agent with his ties, besides his cell"),
        ("soldier", "per soldier agent, besides his cell and ties"),
        ("tie", "per tie of the soldiers' network"),
        ("day", "per day"),
        ("region_group_day", "per region x group x day"),
        ("sweep_run", "per planned run of a sweep (design point and task)"),
    ):
        print(f"  {name}: {figures[name]:10,.0f} bytes {unit}")
    print(f"  ties per soldier at the default squads: {figures['ties_per_soldier']:.2f}")
    print(f"  estimate / measured peak: {figures['estimate_over_peak']}")
    if args.json:
        print(json.dumps(figures | {"runs": r}))
    return figures


def caps(as_json: bool) -> dict:
    """Measure a model at each default limit; print its peak, the estimate and the budget."""
    from defection.model.limits import DEFAULT

    out = {}
    print(f"models at the default limits (budget {DEFAULT.memory / MiB:,.0f} MiB):")
    for name, cfg in at_the_caps().items():
        r = measure("run", cfg)
        out[name] = r
        agents = r["protesters"] + r["soldiers"]
        print(
            f"  {name}: {agents:,} agents on {r['cells']:,} cells, {r['days']:,} days: "
            f"peak {r['peak'] / MiB:,.0f} MiB, estimate {r['estimate'] / MiB:,.0f} MiB",
            flush=True,
        )
    if as_json:
        print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
