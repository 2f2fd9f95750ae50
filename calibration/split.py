"""The NAVCO fitting/test split (issue #10, section 3), made once and committed.

Run ``python -m defection.calibration.split`` to write ``navco_split.csv`` and
``navco_split.json`` next to this module. It refuses to overwrite an existing split unless
``--force``; ``--check`` verifies that the committed files are what this script produces.

Rule (also written into the JSON sidecar):

1. Universe: the campaign units (one per NAVCO ID, see :func:`navco.campaigns`) with
   REGCHANGE = 1. Both rows of a two-row ID are listed and always share a set.
2. Strata: method x participation bin (the unit's primary row), ``missing`` a bin of its own.
3. Test size: ``T = ceil(TEST_SHARE * N)`` units. Stratum s gets the quota ``T * n_s / N``;
   every stratum gets the floor of its quota and the remaining seats go to the largest
   remainders (ties: larger stratum, then label), never more than the stratum's units that
   are not forced. So each stratum's test count is within 1 of its quota (a stratum of one unit
   has a quota of about 0.27 and normally goes to fitting) and the test share is ``T / N``.
4. Forced units (:data:`FORCED`) go to fitting whatever their stratum; they count in the quota.
5. Draw: one ``numpy.random.Generator`` from ``SeedSequence(ENTROPY)``; strata in label order;
   in each, the non-forced units in ascending ID get one uniform key each, and the ``k`` units
   with the smallest keys form the test set.

The test set is touched once, to report. Nothing here computes anything on it beyond its size
and stratum counts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from defection.calibration import navco
from defection.calibration.navco import ID

#: Entropy of the split's SeedSequence, drawn once with ``SeedSequence().entropy`` before the
#: split was made (not chosen).
ENTROPY = 186578326070598706678908960653764411755

#: Target test share; the realised share is ceil(TEST_SHARE * N) / N.
TEST_SHARE = 0.27

#: NAVCO IDs forced into the fitting set: the five calibration cases and the rows that overlap
#: them, found by LOCATION, BYEAR, EYEAR and CAMPAIGN in the data file (docs/DATA.md).
FORCED: dict[int, str] = {
    185: "Russia 'pro-dem movement' 1990-1991 (target: anti-coup): the Soviet 1991 calibration "
    "case. REGCHANGE = 0 (coded OTHER), so outside the split's universe; listed for the record",
    202: "Estonia 'Singing Revolution' 1987-1991: Baltic republic, overlaps the Soviet 1990-91 "
    "case",
    127: "Latvia 'pro-dem movement' 1989-1991: Baltic republic, overlaps the Soviet 1990-91 case",
    190: "Lithuania 'pro-democracy movement/Sajudis' 1988-1991: Baltic republic, overlaps the "
    "Soviet 1990-91 case",
    287: "Ukraine 'Students Union Protests' 1990: Ukrainian SSR, overlaps the Soviet 1990-91 case",
    75: "East Germany 'pro-dem movement' 1989: the East Germany 1989 calibration case",
    169: "Philippines 'People Power' 1983-1986: the Philippines 1986 calibration case (Second "
    "People Power 2001, ID 194, and People Power III 2001, ID 279, are not forced)",
    282: "Syria 2011, both rows ('Syrian Uprising', 'Syrian Civil War'): the Syria 2011 "
    "calibration case",
    407: "Burma/Myanmar 'Myanmar Regime Change Campaign' 1988-2014, ongoing at the file's end: "
    "its open span covers the Myanmar 2021 calibration case (no row dates from 2021)",
}

SPLIT_CSV = navco.SPLIT_PATH
SPLIT_JSON = SPLIT_CSV.with_suffix(".json")
COLUMNS = [ID, "CAMPAIGN", "LOCATION", "BYEAR", "set", "forced", "stratum"]

RULE = (
    "Units: one per NAVCO ID with REGCHANGE = 1 (two-row IDs as one unit, both rows listed, same "
    "set; method and bin from the primary, earliest-ending row). Strata: method x participation "
    "bin (missing its own bin). T = ceil(test_share * N) test units; stratum quota T * n_s / N; "
    "floor of each quota, remaining seats to the largest remainders (ties: larger stratum, then "
    "label), capped by the stratum's non-forced units. Forced IDs always fit. Draw: "
    "numpy Generator(SeedSequence(entropy)); strata in label order; non-forced units in "
    "ascending ID get one uniform key each; the k smallest keys are test."
)


def stratum_of(method: str, bin_label: str) -> str:
    """The stratum label of a unit.

    Args:
        method: ``"nonviolent"`` or ``"violent"``.
        bin_label: A participation bin label.

    Returns:
        ``"method/bin"``.
    """
    return f"{method}/{bin_label}"


def allocate(sizes: dict[str, int], eligible: dict[str, int], total: int) -> dict[str, int]:
    """Test seats per stratum by largest remainders, capped by the eligible units.

    Args:
        sizes: Units per stratum.
        eligible: Non-forced units per stratum.
        total: Test units to allocate.

    Returns:
        Test count per stratum, summing to ``total``.

    Raises:
        ValueError: The caps make ``total`` unreachable within one of the quotas.
    """
    n = sum(sizes.values())
    quota = {s: total * sizes[s] / n for s in sizes}
    seats = {s: min(math.floor(q), eligible[s]) for s, q in quota.items()}
    order = sorted(sizes, key=lambda s: (-(quota[s] - math.floor(quota[s])), -sizes[s], s))
    left = total - sum(seats.values())
    for s in order:
        if left == 0:
            break
        if seats[s] + 1 <= eligible[s] and seats[s] + 1 - quota[s] < 1:
            seats[s] += 1
            left -= 1
    if left:
        raise ValueError(f"cannot place {left} test units within the quotas and caps")
    return seats


def make_split(rows: pd.DataFrame | None = None) -> tuple[pd.DataFrame, dict]:
    """Make the split (deterministic).

    Args:
        rows: As from :func:`navco.load_rows`; loaded by default.

    Returns:
        The split table (one line per data row of a REGCHANGE = 1 unit, sorted by ID and file
        order) and the sidecar's content without its date.
    """
    rows = navco.load_rows() if rows is None else rows
    units = navco.regime_change(navco.campaigns(rows)).copy()
    units["stratum"] = [
        stratum_of(m, str(b)) for m, b in zip(units["method"], units["bin"], strict=True)
    ]
    units["forced"] = units[ID].isin(FORCED).astype(int)
    strata = sorted(units["stratum"].unique())
    sizes = {s: int((units["stratum"] == s).sum()) for s in strata}
    eligible = {s: int(((units["stratum"] == s) & (units["forced"] == 0)).sum()) for s in strata}
    n = len(units)
    total = math.ceil(TEST_SHARE * n)
    seats = allocate(sizes, eligible, total)

    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(ENTROPY)))
    test_ids: set[int] = set()
    for s in strata:
        pool = sorted(units.loc[(units["stratum"] == s) & (units["forced"] == 0), ID])
        keys = rng.random(len(pool))
        test_ids.update(int(pool[i]) for i in np.argsort(keys, kind="stable")[: seats[s]])
    units["set"] = np.where(units[ID].isin(test_ids), "test", "fit")

    unit_cols = units.set_index(ID)[["set", "forced", "stratum"]]
    table = rows[rows[ID].isin(units[ID])].sort_values([ID, "row"], kind="stable")
    table = table[[ID, "CAMPAIGN", "LOCATION", "BYEAR"]].join(unit_cols, on=ID)[COLUMNS]
    table = table.reset_index(drop=True)

    counts = {
        s: {
            "units": sizes[s],
            "forced": sizes[s] - eligible[s],
            "quota": round(total * sizes[s] / n, 3),
            "fit": int(((units["stratum"] == s) & (units["set"] == "fit")).sum()),
            "test": int(((units["stratum"] == s) & (units["set"] == "test")).sum()),
        }
        for s in strata
    }
    in_universe = set(units[ID])
    meta = {
        "data": "calibration/data/navco-1.2-campaigns.csv",
        "data_sha256": navco.DATA_SHA256,
        "script": "calibration/split.py (python -m defection.calibration.split)",
        "seed_entropy": str(ENTROPY),
        "test_share_target": TEST_SHARE,
        "rule": RULE,
        "units": n,
        "rows": len(table),
        "fit": int((units["set"] == "fit").sum()),
        "test": int((units["set"] == "test").sum()),
        "test_share": round(len(test_ids) / n, 4),
        "forced": {str(k): v for k, v in FORCED.items() if k in in_universe},
        "forced_outside_universe": {str(k): v for k, v in FORCED.items() if k not in in_universe},
        "strata": counts,
    }
    return table, meta


def _csv_text(table: pd.DataFrame) -> str:
    return table.to_csv(index=False, lineterminator="\n")


def _json_text(meta: dict) -> str:
    return json.dumps(meta, indent=2, ensure_ascii=False) + "\n"


def check(folder: Path | None = None) -> list[str]:
    """Compare the split files in ``folder`` with what :func:`make_split` produces.

    Args:
        folder: Where the split files are; next to this module by default.

    Returns:
        Problems found (empty when both files match; the JSON's ``created`` date is ignored).
    """
    csv_path, json_path = _paths(folder)
    table, meta = make_split()
    problems = []
    if not csv_path.exists() or csv_path.read_text() != _csv_text(table):
        problems.append(f"{csv_path} differs from the script's split")
    if not json_path.exists():
        problems.append(f"{json_path} is missing")
    else:
        stored = json.loads(json_path.read_text())
        stored.pop("created", None)
        if stored != json.loads(_json_text(meta)):
            problems.append(f"{json_path} differs from the script's sidecar")
    return problems


def _paths(folder: Path | None) -> tuple[Path, Path]:
    if folder is None:
        return SPLIT_CSV, SPLIT_JSON
    return Path(folder) / SPLIT_CSV.name, Path(folder) / SPLIT_JSON.name


def write(folder: Path | None = None, *, force: bool = False) -> tuple[Path, Path]:
    """Write the split files.

    Args:
        folder: Where to write; next to this module by default.
        force: Overwrite existing files.

    Returns:
        The CSV and JSON paths.

    Raises:
        FileExistsError: A split file exists and ``force`` is false.
    """
    csv_path, json_path = _paths(folder)
    existing = [p for p in (csv_path, json_path) if p.exists()]
    if existing and not force:
        raise FileExistsError(f"split already made: {', '.join(map(str, existing))}")
    table, meta = make_split()
    meta = {"created": dt.date.today().isoformat(), **meta}
    csv_path.write_text(_csv_text(table))
    json_path.write_text(_json_text(meta))
    return csv_path, json_path


def strata_markdown(meta: dict | None = None) -> str:
    """The split's counts per stratum and set as a Markdown table (for docs/DATA.md).

    Args:
        meta: The sidecar's content; read from ``navco_split.json`` by default.

    Returns:
        Markdown text, ending with a newline.
    """
    meta = json.loads(SPLIT_JSON.read_text()) if meta is None else meta
    out = ["| stratum | units | forced | test quota | fit | test |", "|---|---|---|---|---|---|"]
    for name, c in meta["strata"].items():
        cells = [name, c["units"], c["forced"], f"{c['quota']:.2f}", c["fit"], c["test"]]
        out.append("| " + " | ".join(map(str, cells)) + " |")
    out.append(
        f"| all | {meta['units']} | {len(meta['forced'])} | | {meta['fit']} | {meta['test']} |"
    )
    return "\n".join(out) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: write the split once, or check it.

    Args:
        argv: Arguments (``sys.argv[1:]`` by default).

    Returns:
        Exit status: 0 done or matching, 1 refused or differing.
    """
    parser = argparse.ArgumentParser(
        prog="python -m defection.calibration.split",
        description="Make the NAVCO fitting/test split once (refuses to overwrite).",
    )
    parser.add_argument("--force", action="store_true", help="overwrite an existing split")
    parser.add_argument("--check", action="store_true", help="verify the committed split")
    parser.add_argument("--dir", type=Path, default=None, help="folder of the split files")
    parser.add_argument(
        "--markdown", action="store_true", help="print the counts per stratum and set"
    )
    args = parser.parse_args(argv)
    if args.markdown:
        print(strata_markdown(), end="")
        return 0
    if args.check:
        problems = check(args.dir)
        for p in problems:
            print(p)
        if not problems:
            print("split matches the script")
        return 1 if problems else 0
    try:
        paths = write(args.dir, force=args.force)
    except FileExistsError as err:
        print(f"{err} (use --force to overwrite, --check to verify)")
        return 1
    print("wrote", *paths)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
