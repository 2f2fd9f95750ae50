"""Docking helpers: Mesa's own Epstein example configured with Epstein's (2002) run values.

Used by the docking test (tests/test_docking.py) and the engine benchmark (benchmarks/engine.py),
so both run the same peer model. ``python -m defection.calibration.docking`` runs the docking
test's 96 runs of Mesa's example and writes their statistics to
``calibration/docking/mesa_epstein.json``, which the test reads.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

#: Epstein (2002) Model I run values, as the Mesa example's scenario fields.
EPSTEIN_RUN_VALUES = {
    "citizen_density": 0.7,
    "cop_density": 0.04,
    "citizen_vision": 7,
    "cop_vision": 7,
    "legitimacy": 0.82,
    "active_threshold": 0.1,
    "arrest_prob_constant": 2.3,
    "max_jail_term": 30,
}


def mesa_epstein(side: int = 40, seed: int = 0):
    """Mesa's shipped ``epstein_civil_violence`` model on a ``side`` x ``side`` torus.

    Args:
        side: Grid side (Epstein's is 40).
        seed: Seed of the example's random generators.

    Returns:
        An ``EpsteinCivilViolence`` model, as shipped with Mesa 3.5.1.
    """
    from mesa.examples.advanced.epstein_civil_violence.model import (
        EpsteinCivilViolence,
        EpsteinScenario,
    )

    scenario = EpsteinScenario(**EPSTEIN_RUN_VALUES, rng=seed)
    return EpsteinCivilViolence(width=side, height=side, scenario=scenario)


#: The docking runs of Mesa's example: grid side, days per run and seeds (tests/test_docking.py).
MESA_SIDE = 40
MESA_STEPS = 300
MESA_SEEDS = range(1000, 1096)
#: Where the Mesa runs' statistics are committed (``python -m defection.calibration.docking``).
MESA_REFERENCE = Path(__file__).resolve().parent / "docking" / "mesa_epstein.json"


def mesa_run(seed: int, steps: int = MESA_STEPS) -> tuple[float, float, float]:
    """One run of Mesa's example with Epstein's values.

    Returns:
        The mean active share, mean jailed share and peak active share of the citizens over
        the run's data-collector rows.
    """
    model = mesa_epstein(MESA_SIDE, seed)
    for _ in range(steps):
        model.step()
    df = model.datacollector.get_model_vars_dataframe()
    citizens = df[["active", "quiet", "arrested"]].iloc[0].sum()
    active = df["active"].to_numpy() / citizens
    jailed = df["arrested"].to_numpy() / citizens
    return float(active.mean()), float(jailed.mean()), float(active.max())


def mesa_reference(seeds: Sequence[int] = MESA_SEEDS, workers: int = 2) -> dict[str, Any]:
    """Run Mesa's example on every seed; the statistics the docking test compares against.

    Mesa's example is slow (about 20 s a run on a slow 2-core machine), and it is the fixed peer:
    its runs are committed once (``MESA_REFERENCE``) and the docking test re-runs two of them to
    check that the committed numbers are what this Mesa gives.
    """
    import mesa
    from tqdm import tqdm

    seeds = list(seeds)
    with ProcessPoolExecutor(max_workers=max(1, workers)) as pool:
        rows = list(tqdm(pool.map(mesa_run, seeds), total=len(seeds), desc="Mesa runs"))
    return {
        "model": "mesa.examples.advanced.epstein_civil_violence, as shipped",
        "mesa_version": mesa.__version__,
        "side": MESA_SIDE,
        "steps": MESA_STEPS,
        "values": EPSTEIN_RUN_VALUES,
        "columns": ["seed", "mean_active", "mean_jailed", "peak_active"],
        "rows": [[s, *r] for s, r in zip(seeds, rows, strict=True)],
    }


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m defection.calibration.docking [OUT] [--workers N]``: write the Mesa runs."""
    ap = argparse.ArgumentParser(prog="python -m defection.calibration.docking")
    ap.add_argument("out", type=Path, nargs="?", default=MESA_REFERENCE)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args(argv)
    ref = mesa_reference(workers=a.workers)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(ref, indent=1) + "\n")
    print(f"wrote {a.out} ({len(ref['rows'])} runs of Mesa {ref['mesa_version']}'s example)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
