"""Running a calibration through the sweep engine and store, and committing what it produced.

* :func:`tasks_for`: the runs not yet in the database, as sweep-engine tasks that name their case
  and carry the targets' measures (computed in the worker; only the numbers come back).
* :func:`run_calibration`: register the calibration in the DuckDB store, run the remaining tasks
  on the serial, pool or Dask backend (:func:`defection.sweep.coordinator.run_tasks`), stop at
  the time budget. Every finished run is committed to the database as it comes, so ``kill -9``
  followed by the same command runs only the rest.
* :func:`runs_frame`: the calibration's runs, one row each, from the database.
* :func:`write_results`: the committed folder ``calibration/<name>/``: ``spec.toml``,
  ``design.parquet``, ``runs.parquet``, the screen's or the wave's analysis (a check has none),
  ``manifest.json``; written into a temporary sibling and renamed into place whole.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from defection import __version__
from defection.sweep.coordinator import Progress, run_tasks
from defection.sweep.engine import Result, Task, read_faults
from defection.sweep.errors import SweepError
from defection.sweep.store import Store

__all__ = [
    "BudgetSpent",
    "Clock",
    "RESULT_FILES",
    "run_calibration",
    "runs_frame",
    "tasks_for",
    "write_results",
]

#: Files a calibration results folder may hold (a folder with others is not replaced).
RESULT_FILES = (
    "manifest.json",
    "spec.toml",
    "design.parquet",
    "runs.parquet",
    "morris.parquet",
    "screen.md",
    "screen.png",
    "chosen.json",
    "emulators.json",
    "nonimplausible.parquet",
    "sobol.parquet",
    "wave.md",
    "touches.json",  # a test-set check's record of every touch of the test set (validation.py)
)


class BudgetSpent(SweepError):
    """The invocation reached the spec's ``max_minutes``; finished runs are saved."""


def tasks_for(calib: Any, skip: set[str]) -> list[Task]:
    """The runs not in ``skip``, replicate by replicate, in design order.

    A design point has ``calib.replicates()`` runs (``seeds`` for a screen or a wave; a check's
    points may differ).
    """
    faults = read_faults()
    measures = calib.measures()
    names = calib.param_names
    out = []
    design = calib.design
    points = design["point"].to_numpy()
    groups = design["group"].to_numpy()
    cases = design["case"].to_numpy()
    values = design[names].to_numpy(dtype=float)
    reps = calib.replicates()
    for rep in range(int(reps.max()) if len(reps) else 0):
        for i, point in enumerate(points):
            run_id = calib.run_id(int(point), rep)
            if rep >= reps[i] or run_id in skip:
                continue
            out.append(
                Task(
                    run_id=run_id,
                    sweep_id=calib.calib_id,
                    point=int(point),
                    replicate=rep,
                    seed=calib.seed(int(groups[i]), rep),
                    overrides={n: float(v) for n, v in zip(names, values[i], strict=True)},
                    until_horizon=calib.meta.until_horizon,
                    series=(),
                    faults=faults,
                    case=str(cases[i]),
                    measures=measures,
                )
            )
    return out


class Clock:
    """The time budget of one invocation, and the estimate from the first runs.

    Args:
        total: Runs still to do in this invocation.
        max_minutes: The spec's budget.
        first: Runs after which the estimate is made.
    """

    def __init__(self, total: int, max_minutes: float, first: int):
        self.total = total
        self.limit = max_minutes * 60.0
        self.first = max(2, min(first, total))
        self.start = time.monotonic()
        self.first_at: float | None = None
        self.estimate: float | None = None

    def elapsed(self) -> float:
        """Seconds since the runs started."""
        return time.monotonic() - self.start

    def note(self, done: int) -> str | None:
        """After the first runs, once: the estimate of this invocation's minutes, as a line."""
        if done == 1 and self.first_at is None:
            self.first_at = self.elapsed()
        if self.estimate is not None or done < self.first:
            return None
        spent = self.elapsed()
        # the first result carries the start-up (worker processes, imports); the rate after it
        # is the rate of the runs
        start_up = self.first_at if self.first_at is not None else 0.0
        rate = (done - 1) / max(spent - start_up, 1e-9)
        self.estimate = start_up + (self.total - 1) / rate
        over = (
            f"; over the budget: this invocation stops at {self.limit / 60:.1f} min and the "
            "same command resumes"
            if self.estimate > self.limit
            else ""
        )
        return (
            f"timing: the first {done} runs took {spent:.1f} s ({start_up:.1f} s to the first); "
            f"about "
            f"{self.estimate / 60:.1f} min for all {self.total} (budget "
            f"{self.limit / 60:.1f} min){over}"
        )

    def check(self, done: int) -> None:
        """Raise :class:`BudgetSpent` when the budget is spent and runs remain."""
        if done < self.total and self.elapsed() > self.limit:
            raise BudgetSpent(
                f"time budget of {self.limit / 60:.1f} min spent after {done} of {self.total} "
                "runs this time; finished runs are saved, run the same command to resume"
            )


def run_calibration(
    calib: Any,
    store: Store,
    workers: int = 1,
    scheduler: Any = None,
    on_start: Callable[[Progress, Clock], None] | None = None,
    on_result: Callable[[Progress, Result, str | None], None] | None = None,
) -> Progress:
    """Run the calibration's runs that are not yet in ``store``.

    Args:
        calib: The validated calibration.
        store: The open database.
        workers: Local processes; 1 runs in this process.
        scheduler: A Dask scheduler address or ``LocalCluster``.
        on_start: Called once before the first run with the progress and the clock.
        on_result: Called after each run with the progress, the result and, once, the timing
            line of :meth:`Clock.note`.

    Raises:
        BudgetSpent: ``budget.max_minutes`` passed with runs left (the finished ones are saved).
    """
    view = calib.store_view()
    store.register(view)
    prog = Progress(calib.calib_id, calib.n_runs)
    done = store.done_ids(calib.calib_id)
    prog.skipped = len(done)
    tasks = tasks_for(calib, done)
    clock = Clock(len(tasks), calib.budget.max_minutes, first=max(5, 3 * workers))

    def started(p: Progress) -> None:
        clock.start = time.monotonic()
        if on_start is not None:
            on_start(p, clock)

    def finished(p: Progress, res: Result) -> None:
        line = clock.note(p.done)
        if on_result is not None:
            on_result(p, res, line)
        clock.check(p.done)

    # a case coded from features is rebuilt per run with the run's case.* coefficients
    cases = {c.name: c.runner() for c in calib.cases}
    return run_tasks(tasks, cases, store, prog, workers, scheduler, started, finished)


def runs_frame(calib: Any, store: Store) -> pd.DataFrame:
    """One row per run of the calibration: ids, case, seed, parameters, targets, outcome.

    Sorted by run id; the columns other sweeps added to the shared table are left out.
    """
    df = store.runs(calib.calib_id)
    group = calib.design.set_index("point")["group"]
    df["group"] = df["point"].map(group)
    cols = [
        "run_id",
        "point",
        "group",
        "replicate",
        "case",
        "seed",
        "status",
        "error",
        *calib.param_names,
        *[t.column for t in calib.targets],
        "outcome",
        "outcome_day",
        "outcome_rule",
        "days",
    ]
    for c in cols:
        if c not in df.columns:
            df[c] = None
    out = df[cols].sort_values("run_id", kind="stable").reset_index(drop=True)
    for t in calib.targets:
        out[t.column] = pd.to_numeric(out[t.column], errors="coerce").astype(float)
    return out


# ------------------------------------------------------------------------------------------------
# the committed folder
# ------------------------------------------------------------------------------------------------


def _sha(path: Path) -> str | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def _commit() -> dict[str, Any]:
    """The source checkout's commit and whether it had uncommitted changes."""
    import subprocess

    from defection.runner import git_commit

    src = Path(__file__).resolve().parent.parent
    dirty = None
    try:
        out = subprocess.run(
            ["git", "-C", str(src), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        if out.returncode == 0:
            dirty = bool(out.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    return {"commit": git_commit(), "dirty": dirty}


def manifest(calib: Any, runs: pd.DataFrame, analysis: dict[str, Any], seconds: float) -> dict:
    """The manifest: versions, commit, data and split hashes, spec hash, sizes, analysis entry."""
    from importlib.metadata import version as dist_version

    from defection.calibration import navco
    from defection.model import version

    ok = int((runs["status"] == "ok").sum())
    prev = None
    if calib.previous is not None:
        prev = {
            "name": calib.previous.manifest["name"],
            "spec_hash": calib.previous.spec_hash,
            "folder": os.path.relpath(calib.previous.folder.resolve(), _out_hint(calib)),
        }
    return {
        "name": calib.name,
        "title": calib.title,
        "kind": calib.kind,
        "calibration_id": calib.calib_id,
        "spec_hash": calib.spec_hash,
        "spec": "spec.toml",
        "model_version": version.MODEL_VERSION,
        "package_version": __version__,
        **_commit(),
        "data": {
            "file": "calibration/data/navco-1.2-campaigns.csv",
            "sha256": _sha(navco.DATA_PATH),
            "expected_sha256": navco.DATA_SHA256,
        },
        "split": {"file": "calibration/navco_split.csv", "sha256": _sha(navco.SPLIT_PATH)},
        "libraries": {lib: dist_version(lib) for lib in ("scikit-learn", "SALib", "numpy")},
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "parameters": [[p.name, p.lo, p.hi] for p in calib.params],
        "cases": {
            c.name: {"runs": calib.case_runs()[c.name], "features": c.features, **c.describe}
            for c in calib.cases
        },
        "targets": [{**t.__dict__, "cases": list(t.cases)} for t in calib.targets],
        "runs": {"planned": calib.n_runs, "ok": ok, "failed": len(runs) - ok},
        "seconds_this_invocation": round(seconds, 1),
        "seeds": calib.meta.seeds,
        "previous": prev,
        calib.kind: analysis,
    }


def _out_hint(calib: Any) -> Path:
    return Path(getattr(calib, "out", ".")).resolve()


def write_results(
    calib: Any,
    runs: pd.DataFrame,
    out: Path,
    seconds: float = 0.0,
    keep: tuple[str, ...] = (),
) -> list[Path]:
    """Analyse and write the committed folder ``out`` whole (replacing an earlier one).

    Args:
        calib: The calibration.
        runs: Its runs (:func:`runs_frame`).
        out: The results folder.
        seconds: This invocation's time, for the manifest.
        keep: Files of an earlier ``out`` carried into the new one (a test-set check's
            ``touches.json``).

    Returns:
        The files written.
    """
    from defection.calibration.screen import write_screen
    from defection.calibration.wave import write_wave

    out = Path(out).absolute()
    calib.out = out  # the manifest names the previous wave's folder relative to this one
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    try:
        (tmp / "spec.toml").write_text(calib.text, encoding="utf-8")
        design = calib.design.copy()
        design.to_parquet(tmp / "design.parquet", index=False)
        runs.to_parquet(tmp / "runs.parquet", index=False)
        if calib.kind == "screen":
            analysis = write_screen(calib, runs, tmp)
        elif calib.kind == "wave":
            analysis = write_wave(calib, runs, tmp)
        else:  # a check: no analysis of its own (the validation report reads its runs)
            analysis = calib.check_entry()
        for name in keep:
            if (out / name).is_file():
                shutil.copy2(out / name, tmp / name)
        doc = manifest(calib, runs, analysis, seconds)
        (tmp / "manifest.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
            os.rename(out, old / out.name)
            os.rename(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return sorted(out.iterdir())


def wave_manifest(folder: Path) -> dict[str, Any]:
    """A committed wave's manifest (``folder/manifest.json``).

    Raises:
        ScenarioError: The folder has no readable manifest, or it holds another kind.
    """
    from defection.model.scenario import ScenarioError

    try:
        manifest = json.loads((Path(folder) / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ScenarioError([f"{folder}: not a wave's results folder ({exc})"]) from None
    if manifest.get("kind") != "wave":
        raise ScenarioError([f"{folder}: holds a {manifest.get('kind')!r}, not a wave"])
    return manifest


def out_problems(out: Path) -> list[str]:
    """Why ``out`` cannot take a calibration's results (a file; a folder holding other files)."""
    if out.exists() and not out.is_dir():
        return [f"--out {out}: is a file, not a folder"]
    if out.is_dir():
        extra = [p.name for p in out.iterdir() if p.name not in RESULT_FILES]
        if extra:
            return [
                f"--out {out}: holds files that are not a calibration's results "
                f"({', '.join(sorted(extra)[:5])}); results replace the folder whole, so choose "
                "a new or empty folder"
            ]
    return []
