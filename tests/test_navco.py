"""NAVCO data rules, Wilson intervals, the README's orientation figures and the split's
invariants (issue #10, section 3). No model runs."""

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from defection.calibration import navco, split
from defection.calibration.navco import ID

DOCS = Path(__file__).resolve().parents[1] / "docs" / "DATA.md"


@pytest.fixture(scope="module")
def rows():
    return navco.load_rows()


@pytest.fixture(scope="module")
def units(rows):
    return navco.campaigns(rows)


@pytest.fixture(scope="module")
def committed():
    return navco.read_split()


# --- loader rules ---------------------------------------------------------------------------


def test_file_hash_and_shape(rows):
    assert navco.sha256(navco.DATA_PATH) == navco.DATA_SHA256
    assert len(rows) == 282
    assert rows[ID].nunique() == 280
    assert (navco.regime_change(rows).shape[0], navco.out_of_domain(rows).shape[0]) == (189, 93)


def test_changed_file_is_refused(tmp_path):
    copy = tmp_path / "navco.csv"
    text = navco.DATA_PATH.read_text()
    copy.write_text(text.replace("Afghans,", "Afghans ,", 1))
    with pytest.raises(navco.DataError, match="sha256"):
        navco.load_rows(copy)
    assert len(navco.load_rows(copy, verify=False)) == 282


def test_method_flags_exactly_one(rows, tmp_path):
    assert navco.method_problems(rows).empty
    assert set(rows["method"]) == {"nonviolent", "violent"}
    assert ((rows["method"] == "nonviolent") == (rows["NONVIOL"] == 1)).all()
    bad = pd.read_csv(navco.DATA_PATH)
    bad.loc[0, "NONVIOL"] = 1  # row 0 is already VIOL = 1
    assert list(navco.method_problems(bad)[ID]) == [bad.loc[0, ID]]
    path = tmp_path / "bad.csv"
    bad.to_csv(path, index=False)
    with pytest.raises(navco.DataError, match="method"):
        navco.load_rows(path, verify=False)


def test_missing_participation_is_not_lowest_bin(rows):
    missing = rows[rows[navco.SHARE] == 0]
    assert len(missing) == 7
    assert missing["share"].isna().all()
    assert (missing["bin"] == navco.MISSING).all()
    assert (rows.loc[rows[navco.SHARE] > 0, "bin"] != navco.MISSING).all()


@pytest.mark.parametrize(
    ("share", "label"),
    [
        (0.0, "missing"),
        (float("nan"), "missing"),
        (0.00005, "<0.01%"),
        (0.0001, "0.01-0.1%"),
        (0.00099, "0.01-0.1%"),
        (0.001, "0.1-1%"),
        (0.01, "1-3.5%"),
        (0.0349, "1-3.5%"),
        (0.035, ">=3.5%"),
        (0.25, ">=3.5%"),
    ],
)
def test_participation_bins(share, label):
    assert navco.participation_bin(share) == label


def test_limited_and_ongoing(rows):
    ongoing = rows[rows["ONGOING"] == 1]
    assert len(ongoing) == 29
    assert (ongoing["FAILURE"] == 1).all()  # NAVCO codes them FAILURE too
    assert (ongoing["outcome"] == "ongoing").all() and ongoing["success"].isna().all()
    assert navco.outcome_problems(rows).empty
    limited = rows[rows["LIMITED"] == 1]
    assert (limited["success"] == 0).all() and (limited["outcome"] == "limited").all()

    regchange = navco.regime_change(rows)
    table = navco.success_by_defect(regchange)
    finished = regchange[regchange["ONGOING"] == 0]
    assert table["n"].sum() == len(finished)  # ongoing left out of success rates
    assert table["k"].sum() == finished["SUCCESS"].sum()
    assert table["limited"].sum() == finished["LIMITED"].sum() == 21
    # ... but kept for DEFECT
    assert navco.defect_by_method(regchange)["n"].sum() == len(regchange)


def test_two_row_ids_are_one_unit(rows, units):
    assert len(units) == 280
    assert len(navco.regime_change(units)) == 188  # 189 REGCHANGE rows, 188 IDs
    two = units[units["n_rows"] == 2].set_index(ID)
    assert set(two.index) == {242, 282}
    syria = two.loc[282]
    assert syria["CAMPAIGN"] == "Syrian Uprising" and syria["other_rows"] == "Syrian Civil War"
    assert syria["method"] == "nonviolent" and syria["outcome"] == "failure"
    assert two.loc[242, "CAMPAIGN"] == "West Papua rebels"
    assert (units.loc[units["n_rows"] == 1, "other_rows"] == "").all()


# --- Wilson intervals -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("k", "n", "lo", "hi"),
    # Newcombe (1998), Statistics in Medicine 17:857, Table I, method 3 (Wilson, no correction)
    [
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_95_against_newcombe(k, n, lo, hi):
    got = navco.wilson_interval(k, n, level=0.95)
    assert got == pytest.approx((lo, hi), abs=6e-5)


def test_wilson_90_by_hand():
    z2 = 1.6448536269514722**2
    # k = 0: (0, z^2 / (n + z^2)); k = n mirrors it
    assert navco.wilson_interval(0, 10) == pytest.approx((0.0, z2 / (10 + z2)))
    assert navco.wilson_interval(10, 10) == pytest.approx((10 / (10 + z2), 1.0))
    # k = n/2 is centred on 1/2 with half-width z sqrt(n/4 + z^2/4) / (n + z^2)
    half = math.sqrt(z2) * math.sqrt(20 / 4 + z2 / 4) / (20 + z2)
    assert navco.wilson_interval(10, 20) == pytest.approx((0.5 - half, 0.5 + half))
    assert all(math.isnan(x) for x in navco.wilson_interval(0, 0))
    with pytest.raises(ValueError):
        navco.wilson_interval(3, 2)


# --- the data README's orientation figures (all 282 rows) ------------------------------------


def test_readme_defect_by_method(rows):
    table = navco.defect_by_method(rows).set_index("method")
    assert round(table.loc["nonviolent", "p"], 2) == 0.30
    assert round(table.loc["violent", "p"], 2) == 0.24


def test_readme_defect_by_bin(rows):
    table = navco.defect_by_bin(rows).set_index("bin")
    bins = list(navco.BIN_LABELS)
    # Our bins are closed on the left, as issue #10 states them (< 0.01 %, 0.01-0.1 %, ...).
    # The README's 38 and 90 put the one share of exactly 0.0001 (ID 102, Indonesia
    # "leftists", DEFECT = 1) in the lowest bin; everything else agrees.
    assert list(table.loc[bins, "n"]) == [37, 91, 107, 29, 11]
    assert table.loc[navco.MISSING, "n"] == 7
    boundary = rows[rows["share"] == 0.0001]
    assert list(boundary[ID]) == [102] and list(boundary["DEFECT"]) == [1]
    k = table.loc[bins, "k"].to_numpy() + np.array([1, -1, 0, 0, 0])
    n = table.loc[bins, "n"].to_numpy() + np.array([1, -1, 0, 0, 0])
    assert list(n) == [38, 90, 107, 29, 11]
    assert list(np.round(k / n, 2)) == [0.13, 0.18, 0.35, 0.28, 0.55]


def test_readme_success_by_defect(rows):
    table = navco.success_by_defect(navco.regime_change(rows)).set_index(["method", "DEFECT"])
    got = {key: round(p, 2) for key, p in table["p"].items()}
    assert got == {
        ("nonviolent", 1): 0.81,
        ("nonviolent", 0): 0.46,
        ("violent", 1): 0.43,
        ("violent", 0): 0.17,
    }


# --- the split ------------------------------------------------------------------------------


def test_split_covers_every_regchange_campaign_once(rows, units, committed):
    regchange = navco.regime_change(units)
    assert list(committed.columns) == split.COLUMNS
    assert len(committed) == len(navco.regime_change(rows)) == 189
    assert sorted(committed[ID].unique()) == sorted(regchange[ID])
    assert committed.groupby(ID)["set"].nunique().eq(1).all()  # two-row IDs on one side
    assert set(committed["set"]) == {"fit", "test"}
    assert set(committed["forced"]) == {0, 1}
    strata = regchange.set_index(ID)
    expected = [
        split.stratum_of(strata.loc[i, "method"], strata.loc[i, "bin"]) for i in committed[ID]
    ]
    assert list(committed["stratum"]) == expected


def test_split_test_share_and_strata(committed):
    per_unit = committed.drop_duplicates(ID)
    n = len(per_unit)
    total = int((per_unit["set"] == "test").sum())
    assert 0.25 <= total / n <= 0.30
    for stratum, group in per_unit.groupby("stratum"):
        ideal = total * len(group) / n
        assert abs((group["set"] == "test").sum() - ideal) <= 1, stratum


def test_forced_ids_are_fit(committed):
    per_unit = committed.drop_duplicates(ID).set_index(ID)
    inside = [i for i in split.FORCED if i in per_unit.index]
    assert sorted(inside) == [75, 127, 169, 190, 202, 282, 287, 407]
    assert (per_unit.loc[inside, "set"] == "fit").all()
    assert (per_unit.loc[inside, "forced"] == 1).all()
    assert per_unit["forced"].sum() == len(inside)
    assert 185 not in per_unit.index  # Russia 1990-91 is REGCHANGE = 0 (out of domain)
    assert (committed.loc[committed[ID] == 282, "set"] == "fit").all()


def test_split_is_reproduced_by_the_script():
    assert split.check() == []
    meta = json.loads(split.SPLIT_JSON.read_text())
    assert meta["seed_entropy"] == str(split.ENTROPY)
    assert meta["data_sha256"] == navco.DATA_SHA256


def test_split_refuses_to_overwrite(tmp_path):
    assert split.main(["--dir", str(tmp_path)]) == 0
    csv = (tmp_path / split.SPLIT_CSV.name).read_text()
    assert csv == split.SPLIT_CSV.read_text()
    assert split.main(["--dir", str(tmp_path)]) == 1  # exists: refused
    assert split.main(["--dir", str(tmp_path), "--check"]) == 0
    (tmp_path / split.SPLIT_CSV.name).write_text(csv.replace(",test,", ",fit,", 1))
    assert split.main(["--dir", str(tmp_path), "--check"]) == 1
    assert split.main(["--dir", str(tmp_path), "--force"]) == 0
    assert (tmp_path / split.SPLIT_CSV.name).read_text() == csv


def test_allocation_stays_within_quotas():
    seats = split.allocate({"a": 1, "b": 3, "c": 10, "d": 6}, {"a": 1, "b": 3, "c": 8, "d": 6}, 6)
    assert sum(seats.values()) == 6
    assert all(
        abs(seats[s] - 6 * size / 20) < 1 for s, size in [("a", 1), ("b", 3), ("c", 10), ("d", 6)]
    )
    with pytest.raises(ValueError):
        split.allocate({"a": 4}, {"a": 0}, 2)


# --- docs -----------------------------------------------------------------------------------


def _doc_block(name):
    found = re.search(rf"<!-- {name}:begin -->\n(.*?)<!-- {name}:end -->", DOCS.read_text(), re.S)
    assert found, f"docs/DATA.md lacks the {name} markers"
    return found.group(1)


def test_docs_targets_are_the_functions_output():
    assert _doc_block("targets") == navco.markdown(navco.fitting_units())


def test_docs_strata_are_the_split_files():
    assert _doc_block("strata") == split.strata_markdown()
