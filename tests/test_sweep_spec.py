"""Sweep files: the design drawn from a spec, and clear errors (nothing written) for bad specs."""

import numpy as np
import pytest
from sweep_kit import SMALL_SPEC, write_spec
from typer.testing import CliRunner

from defection.cli import app
from defection.model.scenario import ScenarioError
from defection.sweep.spec import load_spec, spec_from_dict

runner = CliRunner()


def test_grid_design_is_the_full_product_with_deterministic_ids_and_seeds(tmp_path):
    sw = load_spec(write_spec(tmp_path))
    assert sw.n_runs == 2 * 2 * 3
    assert sw.points == [
        {"soldiers.pay": 0.5, "regime.repression": 0.2},
        {"soldiers.pay": 0.5, "regime.repression": 0.8},
        {"soldiers.pay": 2.0, "regime.repression": 0.2},
        {"soldiers.pay": 2.0, "regime.repression": 0.8},
    ]
    again = load_spec(write_spec(tmp_path, name="copy.toml"))
    assert again.sweep_id == sw.sweep_id
    seeds = {sw.seed(p, r) for p in range(4) for r in range(3)}
    assert len(seeds) == 12  # independent seeds: one per point and replicate
    assert all(0 <= s < 2**63 for s in seeds)
    assert sw.seed(1, 2) == again.seed(1, 2)
    assert sw.run_id(1, 2).startswith(sw.sweep_id + "/")


def test_common_seeds_share_a_seed_across_points(tmp_path):
    sw = load_spec(
        write_spec(tmp_path, SMALL_SPEC.replace("seed = 11", 'seed = 11\nseeds = "common"'))
    )
    assert sw.seed(0, 1) == sw.seed(3, 1) != sw.seed(0, 2)


def test_changing_the_spec_changes_the_sweep_id(tmp_path):
    a = load_spec(write_spec(tmp_path))
    b = load_spec(write_spec(tmp_path, SMALL_SPEC.replace("replicates = 3", "replicates = 4")))
    c = load_spec(
        write_spec(tmp_path, SMALL_SPEC.replace('"run.horizon" = 40', '"run.horizon" = 41'))
    )
    assert len({a.sweep_id, b.sweep_id, c.sweep_id}) == 3


def test_nested_tables_mean_the_same_as_dotted_keys(tmp_path):
    nested = SMALL_SPEC.replace('[vary."soldiers.pay"]', "[vary.soldiers.pay]").replace(
        '"run.horizon" = 40', "run.horizon = 40"
    )
    assert (
        load_spec(write_spec(tmp_path, nested)).sweep_id
        == load_spec(write_spec(tmp_path, name="dotted.toml")).sweep_id
    )


def test_range_with_steps_and_integer_parameters(tmp_path):
    text = SMALL_SPEC.replace(
        '[vary."soldiers.pay"]\nvalues = [0.5, 2.0]',
        '[vary."soldiers.pay"]\nrange = [0.0, 3.0]\nsteps = 4\n\n[vary."soldiers.force"]\n'
        "values = [1000.0, 2000.0]",
    )
    sw = load_spec(write_spec(tmp_path, text))
    assert sorted({p["soldiers.pay"] for p in sw.points}) == [0.0, 1.0, 2.0, 3.0]
    assert len(sw.points) == 4 * 2 * 2


def _doc(design, samples, n_vars=2):
    vary = {"soldiers.pay": {"range": [0.0, 3.0]}, "regime.repression": {"range": [0.0, 1.0]}}
    if n_vars == 3:
        vary["grid.substeps"] = {"range": [1, 5]}
    return {
        "sweep": {
            "name": "s",
            "scenario": "baseline",
            "design": design,
            "samples": samples,
            "seed": 3,
        },
        "vary": vary,
    }


def test_latin_hypercube_draws_one_point_per_stratum_and_repeats_with_the_seed():
    sw = spec_from_dict(_doc("lhs", 10), "mem")
    pay = np.array([p["soldiers.pay"] for p in sw.points])
    assert len(pay) == 10
    # one value in each tenth of the range: the Latin property
    assert sorted(np.floor(pay / 0.3).astype(int)) == list(range(10))
    assert spec_from_dict(_doc("lhs", 10), "mem").points == sw.points


def test_sobol_design_has_saltelli_size_and_integer_parameters_are_rounded():
    sw = spec_from_dict(_doc("sobol", 8, n_vars=3), "mem")
    assert len(sw.points) == 8 * (3 + 2)
    assert all(isinstance(p["grid.substeps"], int) for p in sw.points)
    assert all(0 <= p["regime.repression"] <= 1 for p in sw.points)


# ------------------------------------------------------------------------------------------------
# bad specs: exit 2, the file, the field and the rule named, no traceback, nothing written
# ------------------------------------------------------------------------------------------------

PAY = '[vary."soldiers.pay"]\nvalues = [0.5, 2.0]'
BAD = {
    "unknown parameter": (
        SMALL_SPEC.replace('vary."soldiers.pay"', 'vary."soldiers.payy"'),
        ["soldiers.payy", "unknown parameter", "did you mean `soldiers.pay`"],
    ),
    "range outside the bounds": (
        SMALL_SPEC.replace(PAY, '[vary."soldiers.pay"]\nrange = [0.0, 5.0]\nsteps = 3'),
        ["vary.soldiers.pay", "outside the parameter's bounds (0 to 3 x subsistence)"],
    ),
    "value outside the bounds": (
        SMALL_SPEC.replace("values = [0.2, 0.8]", "values = [0.2, 1.8]"),
        ["vary.regime.repression", "value 1.8 refused: must be between 0 and 1 share"],
    ),
    "misspelled key": (
        SMALL_SPEC.replace("replicates = 3", "replicate = 3"),
        ["sweep.replicate", "unknown key", "did you mean `replicates`"],
    ),
    "unknown design": (
        SMALL_SPEC.replace('design = "grid"', 'design = "random"'),
        ["sweep.design", "'grid', 'lhs' or 'sobol'"],
    ),
    "lhs without samples": (
        SMALL_SPEC.replace('design = "grid"', 'design = "lhs"')
        .replace(PAY, '[vary."soldiers.pay"]\nrange = [0.0, 3.0]')
        .replace("values = [0.2, 0.8]", "range = [0.2, 0.8]"),
        ["sweep.samples", "needs `samples`"],
    ),
    "sobol samples not a power of two": (
        SMALL_SPEC.replace('design = "grid"', 'design = "sobol"\nsamples = 12')
        .replace(PAY, '[vary."soldiers.pay"]\nrange = [0.0, 3.0]')
        .replace("values = [0.2, 0.8]", "range = [0.2, 0.8]"),
        ["sweep.samples", "power of 2", "try 8 or 16"],
    ),
    "values in a sampled design": (
        SMALL_SPEC.replace('design = "grid"', 'design = "lhs"\nsamples = 8'),
        ["vary.soldiers.pay", "lhs design samples `range"],
    ),
    "scenario not found": (
        SMALL_SPEC.replace('scenario = "baseline"', 'scenario = "baselin"'),
        ["sweep.scenario", "did you mean `baseline`"],
    ),
    "range from high to low": (
        SMALL_SPEC.replace(PAY, '[vary."soldiers.pay"]\nrange = [2.0, 1.0]\nsteps = 3'),
        ["vary.soldiers.pay", "from low to high"],
    ),
    "grid range without steps": (
        SMALL_SPEC.replace(PAY, '[vary."soldiers.pay"]\nrange = [0.0, 2.0]'),
        ["vary.soldiers.pay", "needs `steps`"],
    ),
    "values and range together": (
        SMALL_SPEC.replace(PAY, PAY + "\nrange = [0.0, 2.0]"),
        ["vary.soldiers.pay", "either `values` or `range`"],
    ),
    "value of the wrong type": (
        SMALL_SPEC.replace("values = [0.2, 0.8]", 'values = [0.2, "high"]'),
        ["vary.regime.repression", "value 'high' refused: must be a number"],
    ),
    "unknown output series": (
        SMALL_SPEC + '\n[outputs]\nseries = ["active_protester"]\n',
        ["outputs.series", "unknown series `active_protester`", "did you mean `active_protesters`"],
    ),
    "set and varied": (
        SMALL_SPEC.replace('"run.horizon" = 40', '"run.horizon" = 40\n"soldiers.pay" = 1.0'),
        ["vary.soldiers.pay", "also fixed in [set]"],
    ),
    "bad value in set": (
        SMALL_SPEC.replace('"run.horizon" = 40', '"run.horizon" = -5'),
        ["[set]", "run.horizon", "must be between 1 and 100000 days"],
    ),
    "no replicates": (
        SMALL_SPEC.replace("replicates = 3", "replicates = 0"),
        ["sweep.replicates", "greater than or equal to 1"],
    ),
    "region that does not exist": (
        SMALL_SPEC + '\n[vary."regions.atlantis.legitimacy"]\nvalues = [0.5, 0.6]\n',
        ["regions.atlantis.legitimacy", "no region named `atlantis`"],
    ),
    "nothing varied": (
        SMALL_SPEC.split("[vary.")[0],
        ["field `vary`", "required"],
    ),
    "not TOML": (SMALL_SPEC.replace("[sweep]", "[sweep"), ["not valid TOML"]),
}


@pytest.mark.parametrize("kind", list(BAD))
def test_bad_spec_is_a_clear_error_and_writes_nothing(kind, tmp_path):
    text, needles = BAD[kind]
    spec = write_spec(tmp_path, text, name="bad.toml")
    db = tmp_path / "out" / "sweeps.duckdb"
    res = runner.invoke(app, ["sweep", str(spec), "--db", str(db), "--workers", "1"])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    assert str(spec) in res.output
    for needle in needles:
        assert needle in res.output, (needle, res.output)
    assert not db.exists() and not db.parent.exists()


def test_workers_and_scheduler_together_is_an_error(tmp_path):
    spec = write_spec(tmp_path)
    db = tmp_path / "sweeps.duckdb"
    res = runner.invoke(
        app, ["sweep", str(spec), "--db", str(db), "--workers", "2", "--scheduler", "tcp://x:1"]
    )
    assert res.exit_code == 2
    assert "--workers and --scheduler" in res.output
    assert not db.exists()


def test_spec_errors_are_collected_not_raised_one_at_a_time(tmp_path):
    text = BAD["range outside the bounds"][0].replace("values = [0.2, 0.8]", "values = [0.2, 1.8]")
    with pytest.raises(ScenarioError) as exc:
        load_spec(write_spec(tmp_path, text))
    assert len(exc.value.problems) == 2


def test_dry_run_prints_the_design_and_writes_nothing(tmp_path):
    spec = write_spec(tmp_path)
    db = tmp_path / "sweeps.duckdb"
    res = runner.invoke(app, ["sweep", str(spec), "--db", str(db), "--dry-run"])
    assert res.exit_code == 0, res.output
    assert "4 points x 3 replicates = 12 runs" in res.output
    assert not db.exists()


@pytest.mark.parametrize(
    "name",
    ["baseline_pay_repression", "syria_counterbalancing_surveillance", "baseline_levers_sobol"],
)
def test_bundled_sweeps_validate(name):
    from defection.model.scenario import bundled_dir

    sw = load_spec(bundled_dir() / "sweeps" / f"{name}.toml")
    assert sw.n_runs >= 100


def test_a_combination_the_model_refuses_is_caught_before_any_run(tmp_path):
    text = SMALL_SPEC.replace(
        '[vary."regime.repression"]\nvalues = [0.2, 0.8]',
        '[vary."grid.width"]\nvalues = [12, 30]\n\n[vary."protest.vision"]\nvalues = [3, 7]',
    ).replace('"grid.width" = 20\n', "")
    spec = write_spec(tmp_path, text, "geo.toml")
    db = tmp_path / "geo.duckdb"
    res = runner.invoke(app, ["sweep", str(spec), "--db", str(db)])
    assert res.exit_code == 2, res.output
    assert "vision 7 needs a grid at least 15 cells wide (grid is 12)" in res.output
    assert "grid.width = 12" in res.output and "protest.vision = 7" in res.output
    assert not db.exists()
