"""Shared pilots: a lever sweep's runs with one pilot per seed, against one pilot per run.

Run it with::

    .venv/bin/python benchmarks/pilots.py            # full run (about two minutes on 1 core)
    .venv/bin/python benchmarks/pilots.py --quick    # smoke run, a few short runs

A scenario that states its peak participation runs a pilot first (docs/ODD.md, measurement).
The pilot ignores the soldiers' and elites' parameters (``measurement.PILOT_IGNORES``), so runs
that differ only in them (a calibration sample's draws, a lever's values) share one pilot per
seed and process. The workload is a lever sweep's in miniature: ``syria_2011``, seed 1, three
draws of the calibrated sample x four values of ``soldiers.surveillance``, every run to its
outcome. Two phases in one process, each with an empty pilot cache:

1. **peer**: the pilots keyed as before the change, by the run's own scenario (every run makes
   its own pilot);
2. **shared**: the pilots keyed by the pilot's scenario (``measurement.pilot_scenario``).

Printed: both times, their ratio (target: at least 1.5 x on this workload) and whether the runs'
outcomes are identical (they must be: the pilot's days do not depend on what it ignores). The
last line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

import pandas as pd

from defection.model import measurement, regime
from defection.model.regime import RegimeModel
from defection.model.scenario import Scenario, load

TARGET = 1.5


def _workload(quick: bool) -> list[Scenario]:
    from importlib import resources

    path = resources.files("defection.calibration") / "calibrated" / "sample.parquet"
    sample = pd.read_parquet(str(path))
    cols = [c for c in sample.columns if "." in c]
    base = load("syria_2011")
    if quick:
        base = base.with_overrides({"run.horizon": 30})
    draws, values = (2, (0.0, 0.5)) if quick else (3, (0.0, 0.25, 0.5, 0.75))
    out = []
    for d in range(draws):
        draw = {c: float(v) for c, v in sample.iloc[d][cols].items()}
        out += [base.with_overrides({**draw, "soldiers.surveillance": v}) for v in values]
    return out


def _phase(scenarios: list[Scenario], peer: bool) -> tuple[float, list[Any]]:
    regime._PILOTS.clear()
    real = measurement.pilot_scenario
    if peer:  # the former key: the run's own scenario with the pilot's overrides
        measurement.pilot_scenario = lambda sc: sc.with_overrides(measurement.pilot_overrides(sc))
    try:
        t = time.perf_counter()
        outcomes = []
        for sc in scenarios:
            m = RegimeModel(sc, rng=1)
            m.run()
            outcomes.append((m.outcome, m.outcome_day, m.stats["soldiers_defected"]))
        return time.perf_counter() - t, outcomes
    finally:
        measurement.pilot_scenario = real
        regime._PILOTS.clear()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run both phases and print the figures (the last line is JSON)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a few short runs (smoke test)")
    args = ap.parse_args(argv)
    scenarios = _workload(args.quick)
    peer_s, peer_out = _phase(scenarios, peer=True)
    print(f"peer   (a pilot per run):  {len(scenarios)} runs in {peer_s:6.1f} s")
    shared_s, shared_out = _phase(scenarios, peer=False)
    print(f"shared (a pilot per seed): {len(scenarios)} runs in {shared_s:6.1f} s")
    ratio = peer_s / shared_s if shared_s > 0 else float("nan")
    same = peer_out == shared_out
    verdict = "meets" if ratio >= TARGET else "misses"
    print(f"speed-up {ratio:.2f} x ({verdict} the target of {TARGET} x); same outcomes: {same}")
    print(f"load average: {os.getloadavg()[0]:.2f}")
    result = {
        "runs": len(scenarios),
        "peer_s": round(peer_s, 3),
        "shared_s": round(shared_s, 3),
        "speedup": round(ratio, 3),
        "same_outcomes": same,
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
