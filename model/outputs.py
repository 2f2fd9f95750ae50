"""What a run reports, defined once: series, final figures, outcomes, states, layouts, moments.

Every reader of a run's results takes its names from here: the model's DataCollector, the summary
(:mod:`defection.runner`), the sweep store and report, the static figures and the browser UI. The
module imports numpy and the state codes of :mod:`defection.model.rules` only, so light modules
(the sweep report, the command line) can read it without importing the model.

* :data:`SERIES`: the per-day series (DataCollector columns), in order.
* :data:`FINAL_SOLDIER_COLUMNS` and :data:`FINAL_FIGURES`: a finished run's headline numbers.
* :data:`OUTCOMES` and :data:`OUTCOME_RULES`: how a run ends and which rule decided it.
* State names (re-exported from :mod:`defection.model.rules`) and their colours.
* The group-count layout: per day, counts of soldiers by ``(region, group, rank, state)``.
* Notable moments as pure functions of the model's arrays: a company going over, a region having
  a defection.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from defection.model.rules import (
    DEFECTED,
    DESERTED,
    ELITE_STATES,
    PROTESTER_STATES,
    RANKS,
    SOLDIER_STATES,
)

__all__ = [
    "BRANCHES",
    "COLLAPSE",
    "ELITE_COLOURS",
    "ELITE_STATES",
    "FINAL_FIGURES",
    "DEFECT_RULES",
    "DEFECT_SHARE",
    "REFUSAL_SHARE",
    "SUCCESS_OUTCOMES",
    "WINDOW_DAYS",
    "defect_occurred",
    "navco_defect",
    "navco_success",
    "FINAL_SOLDIER_COLUMNS",
    "GROUP_COUNT_AXES",
    "OUTCOMES",
    "OUTCOME_COLOURS",
    "OUTCOME_RULES",
    "PROTESTER_COLOURS",
    "PROTESTER_STATES",
    "RANKS",
    "RULE_CONCESSION",
    "RULE_COUP",
    "RULE_ELITE_MAJORITY",
    "RULE_HORIZON",
    "RULE_LOYAL_FORCE",
    "RULE_PALACE",
    "RULE_SPLIT",
    "SERIES",
    "SERIES_COLOURS",
    "SERIES_LABELS",
    "SHARE_SERIES",
    "SOLDIER_STATES",
    "SPLIT",
    "TRANSITION",
    "STATE_COLOURS",
    "SURVIVAL",
    "SWEEP_SERIES",
    "branch_shares",
    "companies_gone_over",
    "company_regions",
    "group_count_array",
    "group_count_key",
    "group_count_shape",
    "group_counts",
    "has_left",
    "region_left_share",
    "regions_with_defection",
]

# ------------------------------------------------------------------------------------------------
# per-day series
# ------------------------------------------------------------------------------------------------

#: The per-day series, in DataCollector column order (``day`` first). Shares are of the initial
#: force (``soldiers_*``), of the mobilisable pool in people (``*_protesters``: regions weighted
#: by the people their agents stand for), of the whole population (``participation``, NAVCO's
#: measure: active people over ``protest.denominator``) and of all elites; ``legitimacy`` is
#: the mean over regions; ``arrests`` counts the day's arrests.
SERIES: tuple[str, ...] = (
    "day",
    "active_protesters",
    "participation",
    "jailed_protesters",
    "soldiers_loyal",
    "soldiers_shirking",
    "soldiers_deserted",
    "soldiers_defected",
    "soldiers_detained",
    "elites_defected",
    "belief_survival",
    "legitimacy",
    "arrests",
)
#: Series that are shares of protesters or soldiers (``timeseries.parquet`` adds ``<name>_people``).
SHARE_SERIES: tuple[str, ...] = tuple(
    c for c in SERIES if c.endswith("_protesters") or c.startswith("soldiers_")
)
#: Per-day series a sweep can keep (every series but ``day``, which is always kept).
SWEEP_SERIES: tuple[str, ...] = tuple(c for c in SERIES if c != "day")

# ------------------------------------------------------------------------------------------------
# final figures of a run
# ------------------------------------------------------------------------------------------------

#: Final share of the initial force in each state (summary ``soldiers``; sweep run columns).
FINAL_SOLDIER_COLUMNS: tuple[str, ...] = tuple(f"soldiers_{s}" for s in SOLDIER_STATES)
#: A finished run's other headline numbers and their types, shared by ``summary.json`` and the
#: sweep store: ``soldiers_left`` (deserted or defected, share of the initial force),
#: ``elites_defected``, ``active_protesters`` and ``belief_survival`` (last day),
#: ``peak_active_protesters`` (highest daily share of the mobilisable pool),
#: ``peak_participation`` (highest daily share of the population, NAVCO's measure),
#: ``regions_with_defection`` (count), and the
#: run read as NAVCO codes a campaign (:func:`navco_defect`, :func:`navco_success`):
#: ``navco_defect`` and ``navco_success`` (0 or 1); and per branch of the force
#: (:data:`BRANCHES`, :func:`branch_shares`), the share of its initial members who left
#: (``<branch>_left``) and who defected (``<branch>_defected``), 0 for a branch with no one.
FINAL_FIGURES: dict[str, type] = {
    "soldiers_left": float,
    "elites_defected": float,
    "active_protesters": float,
    "peak_active_protesters": float,
    "peak_participation": float,
    "belief_survival": float,
    "regions_with_defection": int,
    "navco_defect": int,
    "navco_success": int,
    "army_left": float,
    "army_defected": float,
    "police_left": float,
    "police_defected": float,
}
#: The branches of the force reported apart: the army (guards included) and the police and
#: interior troops (``police.share``; docs/ODD.md section 2). Myanmar 2021, for one, is known by
#: both: about 3,000 soldiers and 7,000 police defected.
BRANCHES: tuple[str, ...] = ("army", "police")


def branch_shares(state: ArrayLike, member: ArrayLike) -> tuple[float, float]:
    """Shares of a branch's initial members who left (deserted or defected) and who defected.

    Args:
        state: Soldier state per soldier.
        member: Per soldier, whether he belongs to the branch.

    Returns:
        ``(left, defected)``, both 0 when the branch has no members.
    """
    member = np.asarray(member, dtype=bool)
    n = int(member.sum())
    if n == 0:
        return 0.0, 0.0
    st = np.asarray(state)[member]
    return float(has_left(st).sum() / n), float((st == DEFECTED).sum() / n)


# ------------------------------------------------------------------------------------------------
# outcomes
# ------------------------------------------------------------------------------------------------

COLLAPSE, TRANSITION, SPLIT, SURVIVAL = "collapse", "transition", "split", "survival"
#: How a run ends (``RegimeModel.outcome``; ``None`` until decided; docs/MEASUREMENT.md section 4).
#: ``collapse`` is a popular collapse (the loyal force gave way), ``transition`` an elite one (the
#: insiders defected, voted the ruler out or seized the centre, or the ruler conceded),
#: ``split`` an armed defection the regime did not end (read at the end of the run, not a
#: stop), ``survival`` none of these.
OUTCOMES: tuple[str, ...] = (COLLAPSE, TRANSITION, SPLIT, SURVIVAL)
RULE_ELITE_MAJORITY = "elite_majority"
RULE_COUP = "coup"
RULE_PALACE = "palace_vote"
RULE_CONCESSION = "concession"
RULE_LOYAL_FORCE = "loyal_force_below_opposition"
RULE_SPLIT = "armed_split"
RULE_HORIZON = "horizon_reached"
#: Which rule decided a run (``RegimeModel.outcome_rule``) and the outcome it decides.
OUTCOME_RULES: dict[str, str] = {
    RULE_ELITE_MAJORITY: TRANSITION,
    RULE_COUP: TRANSITION,
    RULE_PALACE: TRANSITION,
    RULE_CONCESSION: TRANSITION,
    RULE_LOYAL_FORCE: COLLAPSE,
    RULE_SPLIT: SPLIT,
    RULE_HORIZON: SURVIVAL,
}
#: Colour of each outcome in plots (sweep report).
OUTCOME_COLOURS: dict[str, str] = {
    COLLAPSE: "#c0392b",
    TRANSITION: "#8e44ad",
    SPLIT: "#e67e22",
    SURVIVAL: "#2c3e50",
}

# ------------------------------------------------------------------------------------------------
# states and their colours
# ------------------------------------------------------------------------------------------------

#: Colour of each soldier state, in every picture (summary figure, UI network and charts).
STATE_COLOURS: dict[str, str] = {
    "loyal": "#3b6fb6",
    "shirking": "#f2b134",
    "deserted": "#9e9e9e",
    "defected": "#d1495b",
    "detained": "#4a4a4a",
}
#: Colour of each protester state (UI map).
PROTESTER_COLOURS: dict[str, str] = {
    "quiet": "#dcdcdc",
    "active": "#e4572e",
    "jailed": "#222222",
}
#: Colour of each elite state.
ELITE_COLOURS: dict[str, str] = {
    "loyal": "#3b6fb6",
    "defected": "#6a4c93",
    "purged": "#4a4a4a",
}
#: Colour of the series drawn as lines (protest, elites and belief panel).
SERIES_COLOURS: dict[str, str] = {
    "active_protesters": PROTESTER_COLOURS["active"],
    "elites_defected": ELITE_COLOURS["defected"],
    "belief_survival": "#3b6fb6",
}
#: Legend text of the series drawn as lines.
SERIES_LABELS: dict[str, str] = {
    "active_protesters": "active protesters",
    "elites_defected": "elites defected",
    "belief_survival": "belief regime survives",
}

# ------------------------------------------------------------------------------------------------
# group counts: per day, soldiers by (region, identity group, rank, state)
# ------------------------------------------------------------------------------------------------

#: Axes of one day's group counts, in order; ranks and states are coded as in ``rules``.
GROUP_COUNT_AXES: tuple[str, ...] = ("region", "group", "rank", "state")


def group_count_shape(n_regions: int, n_groups: int) -> tuple[int, int, int, int]:
    """Shape of one day's group counts: ``(regions, groups, 3 ranks, 5 states)``."""
    return n_regions, n_groups, len(RANKS), len(SOLDIER_STATES)


def group_count_key(
    region: ArrayLike, group: ArrayLike, rank: ArrayLike, state: ArrayLike, n_groups: int
) -> NDArray[np.int64]:
    """Flat index of each soldier's ``(region, group, rank, state)`` cell (C order)."""
    region, group, rank, state = (np.asarray(a) for a in (region, group, rank, state))
    return ((region * n_groups + group) * len(RANKS) + rank) * len(SOLDIER_STATES) + state


def group_counts(
    region: ArrayLike,
    group: ArrayLike,
    rank: ArrayLike,
    state: ArrayLike,
    n_regions: int,
    n_groups: int,
) -> NDArray[np.int64]:
    """One day's group counts, flat (``prod(group_count_shape)`` entries; reshape to it)."""
    key = group_count_key(region, group, rank, state, n_groups)
    return np.bincount(key, minlength=int(np.prod(group_count_shape(n_regions, n_groups))))


def group_count_array(
    days: ArrayLike, n_regions: int, n_groups: int, dtype: type | None = None
) -> NDArray:
    """Stack days of flat group counts into ``(days, regions, groups, 3 ranks, 5 states)``."""
    arr = np.asarray(days, dtype=dtype)
    return arr.reshape(-1, *group_count_shape(n_regions, n_groups))


# ------------------------------------------------------------------------------------------------
# notable moments (pure functions of the model's arrays)
# ------------------------------------------------------------------------------------------------


def has_left(state: ArrayLike) -> NDArray[np.bool_]:
    """Per soldier: whether they left the force (deserted or defected)."""
    state = np.asarray(state)
    return (state == DEFECTED) | (state == DESERTED)


def companies_gone_over(
    state: ArrayLike, company: ArrayLike, company_size: ArrayLike
) -> NDArray[np.bool_]:
    """Per company: whether every one of its soldiers has defected (the unit went over).

    Args:
        state: Soldier state per soldier.
        company: Company index per soldier.
        company_size: Soldiers per company.
    """
    size = np.asarray(company_size)
    defected = np.bincount(
        np.asarray(company), weights=np.asarray(state) == DEFECTED, minlength=size.size
    )
    return defected >= size


def company_regions(soldier_region: ArrayLike, company_commander: ArrayLike) -> NDArray[np.int64]:
    """Region of each company: where its commander stands."""
    commander = np.asarray(company_commander)
    if commander.size == 0:
        return np.zeros(0, dtype=int)
    return np.asarray(soldier_region)[commander]


def region_left_share(
    state: ArrayLike, region: ArrayLike, garrison: ArrayLike
) -> NDArray[np.float64]:
    """Per region: share of its initial garrison that deserted or defected.

    Args:
        state: Soldier state per soldier.
        region: Region per soldier (where they stand now).
        garrison: Initial soldiers per region.
    """
    garrison = np.asarray(garrison)
    R = garrison.size
    left = np.bincount(np.asarray(region), weights=has_left(state), minlength=R)
    return np.divide(left, garrison, out=np.zeros(R), where=garrison > 0)


def regions_with_defection(
    left_share: ArrayLike, threshold: float, gone_over: ArrayLike, company_region: ArrayLike
) -> NDArray[np.bool_]:
    """Per region: whether it had a defection.

    A region had a defection when at least ``threshold`` (``outcome.region_defection``) of its
    garrison deserted or defected, or a whole company of it went over.

    Args:
        left_share: Per region, from :func:`region_left_share`.
        threshold: Share of the garrison that makes a defection.
        gone_over: Per company, from :func:`companies_gone_over`.
        company_region: Per company, from :func:`company_regions`.
    """
    share = np.asarray(left_share)
    went = np.asarray(company_region)[np.asarray(gone_over, dtype=bool)]
    company_went = np.bincount(went, minlength=share.size) > 0
    return (share >= threshold) | company_went


# ------------------------------------------------------------------------------------------------
# a run read as NAVCO data (docs/MEASUREMENT.md; fixed before the NAVCO split, not calibrated)
# ------------------------------------------------------------------------------------------------

#: Days of a run that are compared with a NAVCO campaign (from the onset of its peak phase).
WINDOW_DAYS = 365
#: D1, armed defection: soldiers who went over, as a share of the initial force.
DEFECT_SHARE = 0.005
#: D3, mass refusal: soldiers in service who refuse the order (shirk), share of the initial force.
REFUSAL_SHARE = 0.10
#: The DEFECT rules of docs/MEASUREMENT.md section 3, by key.
DEFECT_RULES: dict[str, str] = {
    "armed_defection": f"soldiers who went over reach {DEFECT_SHARE:.1%} of the initial force",
    "unit_went_over": "every soldier of a company has defected",
    "mass_refusal": f"soldiers refusing the order reach {REFUSAL_SHARE:.0%} of the initial force",
}
#: Outcomes that count as NAVCO SUCCESS (the regime fell: docs/MEASUREMENT.md section 4).
SUCCESS_OUTCOMES: frozenset[str] = frozenset({COLLAPSE, TRANSITION})


def navco_defect(
    defected: ArrayLike,
    shirking: ArrayLike,
    unit_went_over_day: int | None,
    window: int = WINDOW_DAYS,
) -> dict[str, int | None]:
    """On which day each DEFECT rule of docs/MEASUREMENT.md first held in the window.

    Args:
        defected: Daily share of the initial force in state ``defected`` (series
            ``soldiers_defected``, day 0 first).
        shirking: Daily share in state ``shirking`` (series ``soldiers_shirking``).
        unit_went_over_day: First day a whole company had defected, or ``None``.
        window: Days 1..window are read.

    Returns:
        ``{rule: first day or None}`` for each key of :data:`DEFECT_RULES`; DEFECT = 1 when any
        is not ``None`` (:func:`defect_occurred`).
    """

    def first(hit: NDArray[np.bool_]) -> int | None:
        days = np.flatnonzero(hit[1 : window + 1])
        return int(days[0]) + 1 if days.size else None

    went = unit_went_over_day
    return {
        "armed_defection": first(np.asarray(defected) >= DEFECT_SHARE),
        "unit_went_over": went if went is not None and 1 <= went <= window else None,
        "mass_refusal": first(np.asarray(shirking) >= REFUSAL_SHARE),
    }


def defect_occurred(rules_met: dict[str, int | None]) -> bool:
    """NAVCO DEFECT from :func:`navco_defect`'s result: any rule held."""
    return any(day is not None for day in rules_met.values())


def navco_success(outcome: str | None, outcome_day: int | None, window: int = WINDOW_DAYS) -> bool:
    """NAVCO SUCCESS: the regime fell (an outcome in :data:`SUCCESS_OUTCOMES`) within the window."""
    return outcome in SUCCESS_OUTCOMES and outcome_day is not None and outcome_day <= window
