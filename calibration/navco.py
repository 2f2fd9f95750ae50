"""NAVCO 1.2 campaigns: the data rules of issue #10 and the data targets.

The data are the project's part of NAVCO 1.2 (Chenoweth & Shay 2019, Harvard Dataverse,
doi:10.7910/DVN/0UZOTX; Chenoweth & Stephan 2011), shipped as ``data/navco-1.2-campaigns.csv``
next to this module. The rules, as implemented here (docs/DATA.md explains them):

* Scope: the model's domain is regime change, so targets are fitted on ``REGCHANGE == 1``; the
  other campaigns are out-of-domain checks only (:func:`regime_change`, :func:`out_of_domain`).
* Unit: a campaign is a NAVCO ID. IDs with two rows (242, 282) become one unit whose
  **primary row** (the earliest-ending phase; see :func:`campaigns`) gives its method,
  participation and outcome for rates; the other row stays attached to the unit (``n_rows``,
  ``other_rows``) and always goes to the same side of the split.
* Participation share 0.0 (no participation figure) is missing, not the lowest bin.
* Bins of the share (fractions of the population), closed on the left: < 0.0001, 0.0001-0.001,
  0.001-0.01, 0.01-0.035, >= 0.035, plus ``missing``.
* Method: ``NONVIOL == 1`` is nonviolent, ``VIOL == 1`` violent; exactly one per row.
* Outcome: ``ONGOING == 1`` is ongoing (these are also coded FAILURE); otherwise SUCCESS,
  LIMITED or FAILURE, exactly one. LIMITED is not success and is counted separately; ongoing
  campaigns are left out of success rates but kept for DEFECT.

Pure functions on pandas frames; nothing here runs the model.
"""

from __future__ import annotations

import argparse
import hashlib
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from defection.stats import wilson

#: The shipped data file and its sha256 (a changed file is refused).
DATA_PATH = Path(__file__).parent / "data" / "navco-1.2-campaigns.csv"
DATA_SHA256 = "bd6712f21e555bb35b615be5f298582ee549512b0eb366abb247a185f704c638"

#: The split written by ``python -m defection.calibration.split``.
SPLIT_PATH = Path(__file__).parent / "navco_split.csv"

ID = "NAVCO ID"
SHARE = "PERCENTAGE POPULAR PARTICIPATION"

#: Lower edges of the participation bins (fractions of the population), closed on the left.
BIN_EDGES = (0.0001, 0.001, 0.01, 0.035)
#: Bin labels, in percent of the population, lowest first; then the missing label.
BIN_LABELS = ("<0.01%", "0.01-0.1%", "0.1-1%", "1-3.5%", ">=3.5%")
MISSING = "missing"
BINS = (*BIN_LABELS, MISSING)
METHODS = ("nonviolent", "violent")
OUTCOMES = ("success", "limited", "failure", "ongoing")

#: Default confidence level of the Wilson intervals.
LEVEL = 0.90


class DataError(ValueError):
    """The data file breaks one of the rules (wrong hash, method or outcome flags)."""


def sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes.

    Args:
        path: The file.

    Returns:
        The digest as 64 hex characters.
    """
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def participation_bin(share: float) -> str:
    """The participation bin of a peak participation share.

    Args:
        share: Peak participants / population (a fraction). 0.0 or NaN means no figure.

    Returns:
        One of :data:`BIN_LABELS`, or :data:`MISSING`. Bins are closed on the left, so a share
        of exactly 0.0001 is in ``"0.01-0.1%"``.
    """
    if share is None or not np.isfinite(share) or share <= 0:
        return MISSING
    return BIN_LABELS[int(np.searchsorted(BIN_EDGES, share, side="right"))]


def method_problems(raw: pd.DataFrame) -> pd.DataFrame:
    """Rows whose method flags are not exactly one of NONVIOL and VIOL.

    Args:
        raw: Rows as in the data file.

    Returns:
        The offending rows (empty when every row has exactly one method).
    """
    return raw[(raw["NONVIOL"] + raw["VIOL"]) != 1]


def outcome_problems(raw: pd.DataFrame) -> pd.DataFrame:
    """Rows whose outcome flags break the rule.

    A finished row has exactly one of SUCCESS, LIMITED, FAILURE; an ongoing row has FAILURE = 1
    and neither SUCCESS nor LIMITED (as NAVCO codes it).

    Args:
        raw: Rows as in the data file.

    Returns:
        The offending rows (empty when all follow the rule).
    """
    flags = raw["SUCCESS"] + raw["LIMITED"] + raw["FAILURE"]
    ongoing = raw["ONGOING"] == 1
    bad_finished = ~ongoing & (flags != 1)
    bad_ongoing = ongoing & ((raw["FAILURE"] != 1) | (raw["SUCCESS"] + raw["LIMITED"] != 0))
    return raw[bad_finished | bad_ongoing]


def load_rows(path: Path | None = None, *, verify: bool = True) -> pd.DataFrame:
    """Load the NAVCO rows with the derived columns of the data rules.

    Args:
        path: A data file; the shipped one by default.
        verify: Check the file's sha256 against :data:`DATA_SHA256`.

    Returns:
        One row per file row, in file order, with the file's columns and ``row`` (position in
        the file), ``method``, ``share`` (NaN when missing), ``bin``, ``outcome``, ``finished``,
        ``success`` (1/0, NaN when ongoing) and ``limited`` (1/0).

    Raises:
        DataError: The hash differs, or a row breaks the method or outcome rule.
    """
    path = DATA_PATH if path is None else Path(path)
    if verify and (digest := sha256(path)) != DATA_SHA256:
        raise DataError(f"{path}: sha256 {digest} differs from the recorded {DATA_SHA256}")
    raw = pd.read_csv(path)
    for name, problems in (("method", method_problems(raw)), ("outcome", outcome_problems(raw))):
        if len(problems):
            raise DataError(f"{name} flags broken in rows: {problems[[ID, 'CAMPAIGN']].values}")
    rows = raw.copy()
    rows.insert(0, "row", np.arange(len(rows)))
    rows["method"] = np.where(rows["NONVIOL"] == 1, "nonviolent", "violent")
    rows["share"] = rows[SHARE].where(rows[SHARE] > 0)
    rows["bin"] = pd.Categorical([participation_bin(s) for s in rows["share"]], categories=BINS)
    rows["outcome"] = np.select(
        [rows["ONGOING"] == 1, rows["SUCCESS"] == 1, rows["LIMITED"] == 1],
        ["ongoing", "success", "limited"],
        "failure",
    )
    rows["finished"] = rows["ONGOING"] == 0
    rows["success"] = rows["SUCCESS"].astype(float).where(rows["finished"])
    rows["limited"] = rows["LIMITED"]
    return rows


def campaigns(rows: pd.DataFrame) -> pd.DataFrame:
    """One unit per NAVCO ID, carried by its primary row.

    The primary row of an ID with several rows is its earliest-ending phase (smallest EYEAR,
    then BYEAR, then file order): for 282 the 2011 "Syrian Uprising" (nonviolent, finished)
    rather than the "Syrian Civil War" (violent, ongoing at 2014) that grew out of it; for 242
    "West Papua rebels" (1965-1978). The model simulates a year from a campaign's peak onset,
    which is the first phase. Columns that differ between the rows (method, outcome,
    participation, flank) are the primary row's; the others are listed in ``other_rows``.

    Args:
        rows: As from :func:`load_rows`.

    Returns:
        One row per NAVCO ID (sorted by ID) with the primary row's columns, ``n_rows`` and
        ``other_rows`` (the other rows' CAMPAIGN names, "; "-joined, "" if none).
    """
    ordered = rows.sort_values([ID, "EYEAR", "BYEAR", "row"], kind="stable")
    units = ordered.groupby(ID, sort=True).head(1).set_index(ID)
    others = ordered.groupby(ID, sort=True)["CAMPAIGN"].agg(lambda c: "; ".join(c.iloc[1:]))
    units["n_rows"] = ordered.groupby(ID, sort=True).size()
    units["other_rows"] = others
    return units.reset_index()


def regime_change(frame: pd.DataFrame) -> pd.DataFrame:
    """The model's domain: campaigns (or rows) with REGCHANGE = 1.

    Args:
        frame: Rows or campaign units.

    Returns:
        The REGCHANGE = 1 subset.
    """
    return frame[frame["REGCHANGE"] == 1]


def out_of_domain(frame: pd.DataFrame) -> pd.DataFrame:
    """Campaigns (or rows) outside the model's domain (REGCHANGE = 0): checks only.

    Args:
        frame: Rows or campaign units.

    Returns:
        The REGCHANGE = 0 subset.
    """
    return frame[frame["REGCHANGE"] != 1]


def wilson_interval(k: int, n: int, level: float = LEVEL) -> tuple[float, float]:
    """Wilson score interval for k / n at ``level`` (:func:`defection.stats.wilson`)."""
    return wilson(k, n, level)


def rate_table(
    frame: pd.DataFrame, by: Sequence[str], column: str, level: float = LEVEL
) -> pd.DataFrame:
    """Proportion of ``column == 1`` per group, with counts and Wilson intervals.

    Rows where ``column`` is NaN (e.g. success of an ongoing campaign) are left out. Groups are
    the categories of ``by`` (categorical columns keep empty categories).

    Args:
        frame: Rows or campaign units.
        by: Grouping columns.
        column: A 0/1 column.
        level: Confidence level of the intervals.

    Returns:
        One row per group with ``by`` columns and ``k``, ``n``, ``p``, ``lo``, ``hi``.
    """
    data = frame[frame[column].notna()]
    groups = data.groupby(list(by), observed=False, sort=True)[column]
    table = pd.DataFrame({"k": groups.sum().astype(int), "n": groups.size()}).reset_index()
    table["p"] = [k / n if n else math.nan for k, n in zip(table["k"], table["n"], strict=True)]
    bounds = [wilson_interval(k, n, level) for k, n in zip(table["k"], table["n"], strict=True)]
    table["lo"] = [b[0] for b in bounds]
    table["hi"] = [b[1] for b in bounds]
    return table


def _method_cat(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(method=pd.Categorical(frame["method"], categories=METHODS))


def defect_by_bin(frame: pd.DataFrame, level: float = LEVEL) -> pd.DataFrame:
    """P(DEFECT) by participation bin (ongoing campaigns included).

    Args:
        frame: Rows or campaign units from :func:`load_rows` / :func:`campaigns`.
        level: Confidence level of the intervals.

    Returns:
        A :func:`rate_table` by ``bin`` (``missing`` last).
    """
    return rate_table(frame, ["bin"], "DEFECT", level)


def defect_by_method(frame: pd.DataFrame, level: float = LEVEL) -> pd.DataFrame:
    """P(DEFECT) by method (ongoing campaigns included).

    Args:
        frame: Rows or campaign units.
        level: Confidence level of the intervals.

    Returns:
        A :func:`rate_table` by ``method``.
    """
    return rate_table(_method_cat(frame), ["method"], "DEFECT", level)


def success_by_defect(frame: pd.DataFrame, level: float = LEVEL) -> pd.DataFrame:
    """P(SUCCESS) with and without DEFECT by method, finished campaigns only.

    LIMITED counts as not success; the ``limited`` column counts those campaigns separately.

    Args:
        frame: Rows or campaign units (give the REGCHANGE = 1 subset for the fitting targets).
        level: Confidence level of the intervals.

    Returns:
        A :func:`rate_table` by ``method`` and ``DEFECT``, plus ``limited``.
    """
    data = _method_cat(frame).assign(DEFECT=pd.Categorical(frame["DEFECT"], categories=[0, 1]))
    table = rate_table(data, ["method", "DEFECT"], "success", level)
    finished = data[data["finished"]]
    limited = finished.groupby(["method", "DEFECT"], observed=False, sort=True)["limited"].sum()
    table["limited"] = limited.to_numpy().astype(int)
    table["DEFECT"] = table["DEFECT"].astype(int)
    return table


def success_by_method(frame: pd.DataFrame, level: float = LEVEL) -> pd.DataFrame:
    """P(SUCCESS) by method, finished campaigns only (LIMITED is not success).

    Args:
        frame: Rows or campaign units (give the REGCHANGE = 1 subset for the fitting targets).
        level: Confidence level of the intervals.

    Returns:
        A :func:`rate_table` by ``method`` (ongoing campaigns, whose success is NaN, left out).
    """
    return rate_table(_method_cat(frame), ["method"], "success", level)


def targets(units: pd.DataFrame, level: float = LEVEL) -> dict[str, pd.DataFrame]:
    """The data targets of a set of campaign units.

    Args:
        units: Campaign units (for fitting: REGCHANGE = 1 units in the fitting set).
        level: Confidence level of the intervals.

    Returns:
        ``{"defect_by_bin", "defect_by_method", "success_by_method", "success_by_defect"}``
        tables.
    """
    return {
        "defect_by_bin": defect_by_bin(units, level),
        "defect_by_method": defect_by_method(units, level),
        "success_by_method": success_by_method(units, level),
        "success_by_defect": success_by_defect(units, level),
    }


def _fmt(table: pd.DataFrame, label: pd.Series, extra: Sequence[str] = ()) -> list[str]:
    lines = []
    for i, r in table.iterrows():
        p = "–" if r["n"] == 0 else f"{r['p']:.2f}"
        ci = "–" if r["n"] == 0 else f"{r['lo']:.2f}–{r['hi']:.2f}"
        cells = [label[i], f"{r['k']}/{r['n']}", p, ci, *(str(r[c]) for c in extra)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def markdown(units: pd.DataFrame, level: float = LEVEL) -> str:
    """The data targets of ``units`` as Markdown tables (pasted into docs/DATA.md).

    Args:
        units: Campaign units.
        level: Confidence level of the intervals.

    Returns:
        Markdown text, ending with a newline.
    """
    t = targets(units, level)
    pct = f"{level:.0%}"
    out = [f"P(DEFECT) by participation bin ({len(units)} campaigns; Wilson {pct} intervals):", ""]
    out += [f"| bin | DEFECT/n | P | {pct} CI |", "|---|---|---|---|"]
    out += _fmt(t["defect_by_bin"], t["defect_by_bin"]["bin"].astype(str))
    out += [
        "",
        "P(DEFECT) by method:",
        "",
        f"| method | DEFECT/n | P | {pct} CI |",
        "|---|---|---|---|",
    ]
    out += _fmt(t["defect_by_method"], t["defect_by_method"]["method"].astype(str))
    s = t["success_by_defect"]
    out += [
        "",
        "P(SUCCESS) by method, with and without DEFECT (finished campaigns; LIMITED is not "
        "success and is counted separately):",
        "",
        f"| method, DEFECT | SUCCESS/n | P | {pct} CI | LIMITED |",
        "|---|---|---|---|---|",
    ]
    label = s["method"].astype(str) + ", " + s["DEFECT"].astype(str)
    out += _fmt(s, label, extra=["limited"])
    return "\n".join(out) + "\n"


def read_split(path: Path | None = None) -> pd.DataFrame:
    """The committed fitting/test split (one line per data row of a REGCHANGE campaign).

    Args:
        path: A split file; ``navco_split.csv`` next to this module by default.

    Returns:
        The split table.
    """
    return pd.read_csv(SPLIT_PATH if path is None else Path(path))


def fitting_units(
    rows: pd.DataFrame | None = None, split: pd.DataFrame | None = None
) -> pd.DataFrame:
    """REGCHANGE = 1 campaign units in the fitting set (the only set targets are computed on).

    Args:
        rows: As from :func:`load_rows`; loaded by default.
        split: As from :func:`read_split`; read by default.

    Returns:
        Campaign units of the fitting set.
    """
    rows = load_rows() if rows is None else rows
    split = read_split() if split is None else split
    fit_ids = set(split.loc[split["set"] == "fit", ID])
    units = regime_change(campaigns(rows))
    return units[units[ID].isin(fit_ids)]


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: print the fitting set's data targets.

    Args:
        argv: Arguments (``sys.argv[1:]`` by default).

    Returns:
        Exit status.
    """
    parser = argparse.ArgumentParser(
        prog="python -m defection.calibration.navco",
        description="Data targets on the NAVCO fitting set (never the test set).",
    )
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    args = parser.parse_args(argv)
    units = fitting_units()
    if args.markdown:
        print(markdown(units), end="")
    else:
        for name, table in targets(units).items():
            print(f"{name}:\n{table.round(3).to_string(index=False)}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
