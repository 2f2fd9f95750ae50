"""The command line's errors: clean errors (exit 2, file and field named, no traceback) for
malformed scenarios and ``--set`` values, and exit 1 for a run that fails (the happy paths are in
``test_cli.py``).

The cases the brief lists run the real CLI in subprocesses (``python -m defection``), started
concurrently to keep the suite fast; further kinds of bad input go through the same Typer app
in-process (typer.testing.CliRunner), which exercises the same code paths at a fraction of the
start-up cost.
"""

import os
from concurrent.futures import ThreadPoolExecutor

import pytest
from cli_kit import assert_clean_input_error, cli, invoke

# Each case: (file name, TOML text, strings that one error line must contain).
# The file name is always among them: every message names the file.
HEAD = '[scenario]\nname = "bad"\n'
MALFORMED = {
    "bad_toml_syntax": (HEAD + "[soldiers\npay = 1\n", ["not valid TOML", "line 3"]),
    "unknown_top_level_key": (HEAD + "[soldierz]\npay = 1.0\n", ["field `soldierz`", "unknown"]),
    "unknown_key_in_section": (
        HEAD + "[soldiers]\nsurvelliance = 0.5\n",
        ["field `soldiers.survelliance`", "did you mean `surveillance`"],
    ),
    "value_out_of_range": (
        HEAD + "[soldiers]\npay = 7.5\n",
        ["field `soldiers.pay`", "must be between 0 and 3", "7.5"],
    ),
    "negative_out_of_range": (HEAD + "[protest]\nlegitimacy = -0.1\n", ["protest.legitimacy"]),
    "string_for_float": (HEAD + '[soldiers]\npay = "high"\n', ["field `soldiers.pay`", "'high'"]),
    "numeric_string_for_float": (HEAD + '[soldiers]\npay = "0.5"\n', ["field `soldiers.pay`"]),
    "bool_for_float": (HEAD + "[soldiers]\npay = true\n", ["field `soldiers.pay`", "True"]),
    "float_for_int": (HEAD + "[run]\nhorizon = 30.5\n", ["field `run.horizon`", "30.5"]),
    "bad_choice": (
        HEAD + '[soldiers]\nthreshold_dist = "uniform"\n',
        ["field `soldiers.threshold_dist`", "'uniform'"],
    ),
    "section_not_a_table": ("soldiers = 3\n" + HEAD, ["field `soldiers`"]),
    "unknown_region_field": (
        HEAD + '[[regions]]\nname = "north"\nlegitimacyy = 0.3\n',
        ["field `regions.north.legitimacyy`", "did you mean `legitimacy`"],
    ),
    "region_value_out_of_range": (
        HEAD + '[[regions]]\nname = "north"\nlegitimacy = 1.3\n',
        ["field `regions.north.legitimacy`", "must be between 0 and 1"],
    ),
    "region_without_name": (HEAD + "[[regions]]\ncapital = true\n", ["regions[0].name", "missing"]),
    "duplicate_region_names": (
        HEAD + '[[regions]]\nname = "north"\n[[regions]]\nname = "north"\n',
        ["field `regions`", "`north` appears twice"],
    ),
    "two_capitals": (
        HEAD + '[[regions]]\nname = "a"\ncapital = true\n[[regions]]\nname = "b"\ncapital = true\n',
        ["field `regions`", "capital"],
    ),
    "unknown_group_in_region_mix": (
        HEAD
        + '[[groups]]\nname = "majority"\n[[groups]]\nname = "ruling"\ncore = true\n'
        + '[[regions]]\nname = "north"\ngroups = { majorty = 0.9, ruling = 0.1 }\n',
        ["field `regions.north.groups`", "unknown group `majorty`", "did you mean `majority`"],
    ),
    "two_core_groups": (
        HEAD + '[[groups]]\nname = "a"\ncore = true\n[[groups]]\nname = "b"\ncore = true\n',
        ["field `groups`", "core"],
    ),
    "unknown_event_kind": (
        HEAD + '[[events]]\nday = 3\nkind = "invasion"\n',
        ["field `events[0].kind`", "'invasion'"],
    ),
    "unknown_event_field": (
        HEAD + '[[events]]\nday = 3\nkind = "coup"\nshar = 0.5\n',
        ["field `events[0].shar`", "did you mean `share`"],
    ),
    "event_field_of_another_kind": (
        HEAD + '[[events]]\nday = 3\nkind = "crackdown"\npay = 0.5\ndelta = 0.1\n',
        ["field `events[0].pay`", "a `crackdown` event takes"],
    ),
    "event_that_sets_nothing": (
        HEAD + '[[events]]\nday = 3\nkind = "pay_cut"\n',
        ["field `events[0]`", "needs `pay` or `arrears`"],
    ),
    "region_name_breaks_the_rule": (
        HEAD + '[[regions]]\nname = "x\'; DROP TABLE runs; --"\n',
        ["field `regions[0].name`", "^[a-z][a-z0-9_]{0,63}$"],
    ),
    "scenario_name_leaves_the_folder": (
        '[scenario]\nname = "../../evil"\n',
        ["field `scenario.name`", "must be a name"],
    ),
    "event_day_after_horizon": (
        HEAD + '[run]\nhorizon = 10\n[[events]]\nday = 30\nkind = "crackdown"\n',
        ["field `events[0].day`", "after the horizon"],
    ),
    "event_in_unknown_region": (
        HEAD + '[[events]]\nday = 3\nkind = "legitimacy_shock"\ndelta = -0.1\nregion = "mars"\n',
        ["field `events[0].region`", "`mars`"],
    ),
    "bad_sources_key": (
        HEAD + '[sources]\n"soldiers.payy" = "a citation"\n',
        ["field `sources`", "`soldiers.payy`", "did you mean `soldiers.pay`"],
    ),
    "missing_scenario_name": ('[scenario]\ntitle = "no name"\n', ["field `scenario.name`"]),
    "missing_scenario_table": ("[soldiers]\npay = 1.0\n", ["field `scenario`", "missing"]),
    "historical_without_sources": (
        '[scenario]\nname = "bad"\nhistorical = true\n[soldiers]\npay = 2.0\n',
        ["field `sources`", "soldiers.pay", "without a source"],
    ),
    "ranks_over_one": (
        HEAD + "[soldiers]\nofficer_share = 0.6\nnco_share = 0.6\n",
        ["soldiers.officer_share", "at most 1"],
    ),
    "signal_ceiling_not_above_floor": (
        HEAD + "[protest]\nsignal_floor = 0.001\nsignal_ceiling = 0.001\n",
        ["field `protest.signal_ceiling`", "must be above `protest.signal_floor`"],
    ),
    "extends_missing_parent": (
        '[scenario]\nname = "bad"\nextends = "no_such_parent"\n',
        ["field `scenario.extends`", "no_such_parent"],
    ),
    "extends_not_a_string": ('[scenario]\nname = "bad"\nextends = 3\n', ["scenario.extends"]),
}

#: Ten kinds of malformed file (plus a missing file and circular extends below) run the real CLI
#: in subprocesses (see ``cli_results``); every other kind runs in-process.
SUBPROCESS_CASES = (
    "bad_toml_syntax",
    "unknown_key_in_section",
    "value_out_of_range",
    "bool_for_float",
    "unknown_region_field",
    "duplicate_region_names",
    "unknown_group_in_region_mix",
    "unknown_event_kind",
    "event_day_after_horizon",
    "historical_without_sources",
)
IN_PROCESS_CASES = tuple(sorted(set(MALFORMED) - set(SUBPROCESS_CASES)))

SET_CASES = {
    "unknown_name": (
        "soldiers.survelance=0.5",
        ["`soldiers.survelance`", "did you mean `soldiers.surveillance`"],
    ),
    "unknown_section": ("nonsense=1", ["`nonsense`", "unknown parameter"]),
    "out_of_range": ("soldiers.pay=9", ["field `soldiers.pay`", "must be between 0 and 3"]),
    "wrong_type": ("soldiers.pay=lots", ["field `soldiers.pay`", "'lots'"]),
    "bool_for_float": ("soldiers.pay=true", ["field `soldiers.pay`"]),
    "malformed": ("foo", ["--set 'foo'", "expected name=value"]),
    "empty_value": ("soldiers.pay=", ["expected name=value"]),
    "empty_name": ("=3", ["expected name=value"]),
    "unknown_region": (
        "regions.capitl.legitimacy=0.3",
        ["`regions.capitl.legitimacy`", "did you mean `capital`"],
    ),
    "region_out_of_range": ("regions.north.legitimacy=2", ["regions.north.legitimacy"]),
    "signal_ceiling_below_floor": (
        "protest.signal_ceiling=0.0001",
        ["field `protest.signal_ceiling`", "must be above `protest.signal_floor`"],
    ),
    "grid_too_small_for_vision": ("grid.width=3", ["field `grid.width`"]),
}

SUBPROCESS_SET_CASES = ("unknown_name", "out_of_range", "malformed")
IN_PROCESS_SET_CASES = tuple(sorted(set(SET_CASES) - set(SUBPROCESS_SET_CASES)))
SET_ARGS = ("run", "baseline", "--steps", "1", "-q", "--out", "out", "--set")


@pytest.fixture(scope="module")
def cli_results(tmp_path_factory):
    """Run every subprocess case at once (threads wait on the processes), keyed by case."""
    jobs = {}
    for case in SUBPROCESS_CASES:
        d = tmp_path_factory.mktemp(case)
        (d / f"{case}.toml").write_text(MALFORMED[case][0], encoding="utf-8")
        jobs[("file", case)] = (("validate", f"{case}.toml"), d)
    for case in SUBPROCESS_SET_CASES:
        d = tmp_path_factory.mktemp(f"set_{case}")
        jobs[("set", case)] = ((*SET_ARGS, SET_CASES[case][0]), d)
    d = tmp_path_factory.mktemp("missing")
    jobs[("missing", "validate")] = (("validate", "nothere.toml"), d)
    d = tmp_path_factory.mktemp("circular")
    (d / "a.toml").write_text('[scenario]\nname = "a"\nextends = "b.toml"\n')
    (d / "b.toml").write_text('[scenario]\nname = "b"\nextends = "a"\n')
    jobs[("circular", "a")] = (("validate", "a.toml"), d)
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        futures = {key: pool.submit(cli, *args, cwd=cwd) for key, (args, cwd) in jobs.items()}
        return {key: (f.result(), jobs[key][1]) for key, f in futures.items()}


@pytest.mark.parametrize("case", SUBPROCESS_CASES)
def test_malformed_scenario_is_a_clean_error(case, cli_results):
    proc, _ = cli_results[("file", case)]
    assert_clean_input_error(proc, f"{case}.toml", *MALFORMED[case][1])


def test_missing_file(cli_results):
    proc, _ = cli_results[("missing", "validate")]
    assert_clean_input_error(proc, "nothere.toml", "no such file")


def test_circular_extends(cli_results):
    proc, _ = cli_results[("circular", "a")]
    assert_clean_input_error(proc, "a.toml", "field `scenario.extends`", "circular")


@pytest.mark.parametrize("case", SUBPROCESS_SET_CASES)
def test_bad_set_is_a_clean_error(case, cli_results):
    proc, cwd = cli_results[("set", case)]
    assert_clean_input_error(proc, "--set", *SET_CASES[case][1])
    assert not (cwd / "out").exists()


# --- the same checks in-process, for further kinds of bad input ---------------------------------


@pytest.mark.parametrize("case", IN_PROCESS_CASES)
def test_more_malformed_scenarios_in_process(case, tmp_path):
    text, needles = MALFORMED[case]
    fname = f"{case}.toml"
    (tmp_path / fname).write_text(text, encoding="utf-8")
    assert_clean_input_error(invoke("validate", fname, cwd=tmp_path), fname, *needles)


def test_run_unknown_bundled_name_suggests_closest(tmp_path):
    proc = invoke("run", "basline", "-q", cwd=tmp_path)
    assert_clean_input_error(proc, "basline", "did you mean `baseline`")


@pytest.mark.parametrize(
    "case", ["unknown_key_in_section", "bool_for_float", "unknown_event_kind", "bad_toml_syntax"]
)
def test_run_rejects_bad_files_in_process(case, tmp_path):
    text, needles = MALFORMED[case]
    fname = f"{case}.toml"
    (tmp_path / fname).write_text(text, encoding="utf-8")
    proc = invoke("run", fname, "-q", "--out", "out", cwd=tmp_path)
    assert_clean_input_error(proc, fname, *needles)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("case", IN_PROCESS_SET_CASES)
def test_more_bad_sets_in_process(case, tmp_path):
    item, needles = SET_CASES[case]
    proc = invoke(*SET_ARGS, item, cwd=tmp_path)
    assert_clean_input_error(proc, "--set", *needles)
    assert not (tmp_path / "out").exists()


def test_not_utf8(tmp_path):
    (tmp_path / "latin.toml").write_bytes(b'[scenario]\nname = "caf\xe9"\n')
    assert_clean_input_error(invoke("validate", "latin.toml", cwd=tmp_path), "latin.toml", "UTF-8")


def test_several_problems_are_all_reported_one_per_line(tmp_path):
    text = HEAD + '[soldiers]\npay = 9.0\nsurvelliance = 0.1\n[protest]\nlegitimacy = "x"\n'
    (tmp_path / "many.toml").write_text(text)
    proc = invoke("validate", "many.toml", cwd=tmp_path)
    assert_clean_input_error(proc, "many.toml", "soldiers.pay")
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 3
    # one problem per line: long messages are not wrapped at the console width
    assert len(proc.stderr.strip().splitlines()) == 3


def test_geometry_error_is_clean(tmp_path):
    # vision 7 needs 15 cells: the model refuses a 10-cell grid with exit 2, not a traceback
    proc = invoke(*SET_ARGS, "grid.width=10", cwd=tmp_path)
    assert_clean_input_error(proc, "protest.vision", "grid")


def test_run_steps_must_be_positive(tmp_path):
    proc = invoke("run", "baseline", "--steps", "0", "-q", cwd=tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stdout + proc.stderr


def test_failure_inside_a_run_exits_1_with_a_message(tmp_path, monkeypatch):
    from defection.model import soldiers

    def broken(*args):
        raise FloatingPointError("overflow in soldiers' gains")

    monkeypatch.setattr(soldiers, "decide", broken)
    res = invoke(
        "run", "baseline", "--steps", "3", "--quiet", "--out", str(tmp_path / "o"), cwd=tmp_path
    )
    assert res.returncode == 1
    assert "run failed: FloatingPointError: overflow in soldiers' gains" in res.stderr
    assert "Traceback" not in res.stderr + res.stdout
