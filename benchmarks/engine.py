"""Engine speed: our vectorized RegimeModel against Mesa's Epstein example, agent-steps per second.

Run it with::

    .venv/bin/python benchmarks/engine.py            # full run (several minutes)
    .venv/bin/python benchmarks/engine.py --quick    # smoke run, fewer steps
    .venv/bin/python benchmarks/engine.py --skip-1m  # skip the 1,000,000-agent subprocess

Both models run Epstein's Model I docking configuration (citizen density 0.7, cop density 0.04,
vision 7, legitimacy 0.82, threshold 0.1, k 2.3, max jail 30) on a square torus whose side makes
0.74 * side**2 about the target agent count. Ours is the full engine as the docking test runs it
(``load("epstein_1")`` with grid and horizon overrides, ``until_horizon=True``, Mesa proxies
built); Mesa's is ``mesa.examples.advanced.epstein_civil_violence`` as shipped. Only ``step()`` is
timed, after one warm-up step; an agent-step is one agent for one step (agents = citizens + cops).

The 1,000,000-agent run happens in a child process (``--child-1m``) so that its peak resident
memory can be measured on its own. The last line printed is one JSON object with the figures.

Timings are wall-clock; the CPU time of the timed steps is printed next to them, so a busy machine
(another process on the same core) shows up as CPU time well below wall time.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import resource
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from scipy.fft import next_fast_len

from defection.calibration.docking import mesa_epstein
from defection.model.regime import RegimeModel
from defection.model.scenario import load

DENSITY = 0.74  # citizens 0.7 + cops 0.04 per cell
SEED = 42
SIZES = (10_000, 100_000)
N_1M = 1_000_000

#: Steps timed (after one warm-up step) per engine, agent count and mode.
STEPS = {
    "ours": {10_000: 30, 100_000: 10, N_1M: 100},
    "mesa": {10_000: 10, 100_000: 3},
}
STEPS_QUICK = {
    "ours": {10_000: 5, 100_000: 3, N_1M: 5},
    "mesa": {10_000: 2, 100_000: 1},
}

TARGETS = {
    "ratio_10k": (">=", 100.0),
    "ratio_100k": (">=", 250.0),
    "agent_steps_per_s_1m": (">=", 2_000_000.0),
    "peak_rss_mb_1m": ("<", 2000.0),
}


@dataclass
class Timing:
    """One timed run."""

    engine: str
    target: int
    side: int
    agents: int
    steps: int
    build_s: float
    wall_s: float
    cpu_s: float

    @property
    def rate(self) -> float:
        """Agent-steps per second (wall clock)."""
        return self.agents * self.steps / self.wall_s

    @property
    def cpu_rate(self) -> float:
        """Agent-steps per second of CPU time."""
        return self.agents * self.steps / self.cpu_s


def side_for(n_agents: int) -> int:
    """Side of the square torus holding about ``n_agents`` agents at density 0.74."""
    # the nearest side at or above the target whose FFT is fast (the agent count is reported)
    return max(15, next_fast_len(round(math.sqrt(n_agents / DENSITY)), real=True))


def steps_for(engine: str, n_agents: int, quick: bool) -> int:
    """Steps to time: the table's value for the listed size nearest ``n_agents``."""
    table = (STEPS_QUICK if quick else STEPS)[engine]
    return table[min(table, key=lambda k: abs(math.log(k / n_agents)))]


def build_ours(side: int, seed: int = SEED, horizon: int = 10_000):
    """Our full engine on Epstein's docking configuration, as the docking test builds it.

    The horizon only has to outlast the timed steps; 10,000 days is the default limit
    (``defection.model.limits``), and the 1,000,000-agent model is inside the default budget.
    """
    scenario = load("epstein_1").with_overrides(
        {"grid.width": side, "grid.height": side, "run.horizon": horizon}
    )
    return RegimeModel(scenario, rng=seed, until_horizon=True)


def build_mesa(side: int, seed: int = SEED):
    """Mesa's shipped Epstein example with the same parameters."""
    return mesa_epstein(side, seed)


def count_agents(engine: str, model) -> int:
    """Citizens + cops (our model: protesters + soldiers; epstein_1 has no elites)."""
    if engine == "ours":
        return int(model.n_protesters + model.n_soldiers + model.elites.state.size)
    return len(model.agents)


def time_engine(engine: str, n_agents: int, steps: int, seed: int = SEED) -> Timing:
    """Build ``engine`` ("ours" or "mesa") at about ``n_agents`` agents; time ``steps`` steps."""
    side = side_for(n_agents)
    t0 = time.perf_counter()
    model = build_ours(side, seed) if engine == "ours" else build_mesa(side, seed)
    build_s = time.perf_counter() - t0
    model.step()  # warm-up (caches, first allocations)
    gc.collect()
    w0, c0 = time.perf_counter(), time.process_time()
    for _ in range(steps):
        model.step()
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    return Timing(engine, n_agents, side, count_agents(engine, model), steps, build_s, wall, cpu)


def describe(t: Timing) -> str:
    """One human-readable line for a timing."""
    return (
        f"  {t.engine:<4} {t.agents:>9,} agents (side {t.side}): {t.steps:>3} steps in "
        f"{t.wall_s:7.2f} s wall / {t.cpu_s:7.2f} s CPU -> {t.rate:>12,.0f} agent-steps/s "
        f"(build {t.build_s:.1f} s)"
    )


def verdict(key: str, value: float | None) -> str:
    """PASS/MISS against the target for ``key``."""
    if value is None:
        return "n/a"
    op, goal = TARGETS[key]
    ok = value >= goal if op == ">=" else value < goal
    return f"{'PASS' if ok else 'MISS'} (target {op} {goal:,.0f})"


def peak_rss_mb() -> float:
    """Peak resident set size of this process, MB (Linux reports ru_maxrss in KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_1m(quick: bool) -> None:
    """Run in the child process: time the 1M-agent engine, print one JSON line."""
    t = time_engine("ours", N_1M, steps_for("ours", N_1M, quick))
    out = asdict(t) | {"rate": t.rate, "peak_rss_mb": peak_rss_mb()}
    print(json.dumps(out), flush=True)


def run_1m(quick: bool) -> dict:
    """Run the 1M-agent timing in a subprocess; return its figures and peak RSS."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child-1m"]
    if quick:
        cmd.append("--quick")
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise RuntimeError(f"1M-agent child failed with exit code {proc.returncode}")
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    res["peak_rss_mb_children"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return res


def _label(n: int) -> str:
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark; print human-readable lines, then one JSON line. Returns the JSON."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer steps (smoke test)")
    ap.add_argument("--skip-1m", action="store_true", help="skip the 1M-agent subprocess")
    ap.add_argument("--child-1m", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child_1m:
        child_1m(args.quick)
        return {}

    result: dict = {}
    for n in args.sizes:
        print(f"{n:,} agents:", flush=True)
        ours = time_engine("ours", n, steps_for("ours", n, args.quick))
        print(describe(ours), flush=True)
        mesa = time_engine("mesa", n, steps_for("mesa", n, args.quick))
        print(describe(mesa), flush=True)
        ratio = ours.rate / mesa.rate
        # the same ratio on CPU time: less sensitive to another process sharing the core
        ratio_cpu = ours.cpu_rate / mesa.cpu_rate
        lab = _label(n)
        key = f"ratio_{lab}"
        shown = verdict(key, ratio) if key in TARGETS else ""
        print(f"  ratio ours / Mesa: {ratio:,.1f}x  {shown}", flush=True)
        print(f"  (on CPU time: {ratio_cpu:,.1f}x)", flush=True)
        result[key] = ratio
        result[f"ratio_cpu_{lab}"] = ratio_cpu
        result[f"agent_steps_per_s_ours_{lab}"] = ours.rate
        result[f"agent_steps_per_s_mesa_{lab}"] = mesa.rate
        result[f"cpu_over_wall_ours_{lab}"] = ours.cpu_s / ours.wall_s
        result[f"cpu_over_wall_mesa_{lab}"] = mesa.cpu_s / mesa.wall_s
    for key in ("ratio_10k", "ratio_100k"):
        result.setdefault(key, None)

    result["agent_steps_per_s_1m"] = None
    result["peak_rss_mb_1m"] = None
    if not args.skip_1m:
        print(f"{N_1M:,} agents (ours only, in a subprocess):", flush=True)
        r = run_1m(args.quick)
        t = Timing(**{k: r[k] for k in Timing.__dataclass_fields__})
        print(describe(t), "  ", verdict("agent_steps_per_s_1m", t.rate), flush=True)
        rss = r["peak_rss_mb"]
        print(f"  peak RSS {rss:,.0f} MB  {verdict('peak_rss_mb_1m', rss)}", flush=True)
        result["agent_steps_per_s_1m"] = t.rate
        result["peak_rss_mb_1m"] = rss
        result["peak_rss_mb_1m_children"] = r["peak_rss_mb_children"]
        result["build_s_1m"] = t.build_s
        result["cpu_over_wall_1m"] = t.cpu_s / t.wall_s
    result["quick"] = args.quick
    print(json.dumps(result), flush=True)
    return result


if __name__ == "__main__":
    main()
