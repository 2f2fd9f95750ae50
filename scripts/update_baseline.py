"""Regenerate the golden baseline (tests/baseline/*.json) on purpose.

The golden baseline pins, bit for bit, what each bundled scenario produces at fixed seeds when it
is run to its horizon: the run's summary (provenance fields left out), every day of the
DataCollector series and a digest of the per-day group counts. ``tests/test_baseline.py``
compares a fresh run with it exactly, so a refactor that changes a single random draw fails.

Regenerate only on purpose (the model's numbers, or what a summary records, are meant to
change), in a commit of its own whose message says what changed and why; when numbers change,
bump ``MODEL_VERSION`` in ``model/version.py`` with it (it goes into every summary and every
sweep id, so a changed model starts new sweeps; Covasim's ``update_baseline`` is the model for
this)::

    .venv/bin/python scripts/update_baseline.py            # all scenarios
    .venv/bin/python scripts/update_baseline.py syria_2011 # one
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BASELINE_DIR = ROOT / "tests" / "baseline"
#: (scenario, seed) pairs pinned by the golden baseline.
CASES = (
    ("baseline", 1),
    ("baseline", 2),
    ("east_germany_1989", 1),
    ("epstein_1", 1),
    ("granovetter", 1),
    ("myanmar_2021", 1),
    ("philippines_1986", 1),
    ("soviet_1991", 1),
    ("syria_2011", 1),
)
#: Summary fields that say where a run came from, not what it did.
PROVENANCE = ("commit", "version", "model_version")


def golden_record(scenario: str, seed: int) -> dict[str, Any]:
    """Run ``scenario`` at ``seed`` to its horizon and return what the baseline pins."""
    from defection.model.scenario import load
    from defection.runner import simulate, summarize

    model = simulate(load(scenario), seed, until_horizon=True)
    summary = summarize(model, seed)
    for key in PROVENANCE:
        summary.pop(key, None)
    ts = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    counts = np.ascontiguousarray(np.stack(model.group_counts).astype(np.int64))
    return {
        "summary": summary,
        "series": {col: [float(v) for v in ts[col]] for col in ts.columns},
        "group_counts_shape": list(counts.shape),
        "group_counts_sha256": hashlib.sha256(counts.tobytes()).hexdigest(),
        "group_counts_last": counts[-1].tolist(),
    }


def path_for(scenario: str, seed: int) -> Path:
    """Where the baseline of ``(scenario, seed)`` is stored."""
    return BASELINE_DIR / f"{scenario}-seed{seed}.json"


def main(argv: list[str]) -> None:
    """Rewrite the baseline files of the cases named in ``argv`` (all when empty)."""
    wanted = set(argv)
    BASELINE_DIR.mkdir(parents=True, exist_ok=True)
    for scenario, seed in CASES:
        if wanted and scenario not in wanted:
            continue
        record = golden_record(scenario, seed)
        path_for(scenario, seed).write_text(json.dumps(record, indent=1) + "\n")
        print(f"wrote {path_for(scenario, seed).relative_to(ROOT)}")


if __name__ == "__main__":
    main(sys.argv[1:])
