"""What a failed coup does (model version 7): plotters from the hard-liners, a public break.

Two changes, both to what a scheduled ``coup`` event does (docs/ODD.md 7.3 and 7.8): the
event's ``faction`` field can draw the plotters among the hard-liners only (outside the soft-line
faction), as in August 1991; and purged plotters count in the public signal as elites who broke
with the ruler (``rules.public_break_share``). A run without a coup event is unchanged.
"""

from __future__ import annotations

import numpy as np
import pytest
from operating_point import V7_DEFAULTS

from defection.model import rules
from defection.model import scenario as scn
from defection.model.regime import RegimeModel
from defection.model.rules import ELITE_DEFECTED, ELITE_LOYAL, ELITE_PURGED

#: Short runs; guards at the centre make the plot fail (a failed coup is what is tested). At
#: model version 7's defaults, where these tests were written: at version 8's the baseline's
#: elites start defecting within days, so "only the plotters broke" cannot be asked.
SMALL = {**V7_DEFAULTS, "run.horizon": 12, "soldiers.guard_share": 0.3}
COUP_DAY = 5


def _model(seed: int, faction: str | None, **overrides) -> RegimeModel:
    """Baseline with a soft-line faction of half the elites, guards, and a coup on day 5."""
    raw = scn.load("baseline").raw
    ev = {"day": COUP_DAY, "kind": "coup", "share": 0.3}
    if faction is not None:
        ev["faction"] = faction
    raw = {**raw, "events": [ev]}
    sc = scn.from_dict(raw, origin="coup.toml").with_overrides(
        {**SMALL, "elites.softline_share": 0.5, **overrides}
    )
    return RegimeModel(sc, rng=seed, until_horizon=True)


def _to_day(m: RegimeModel, day: int) -> RegimeModel:
    while m.day < day:
        m.step()
    return m


def test_the_pool_is_every_loyal_elite_or_the_hardliners():
    soft = np.array([True, True, False, False, False])
    assert rules.coup_pool(soft, "any").all()
    assert list(rules.coup_pool(soft, "hardline")) == [False, False, True, True, True]
    # no hard-liner left: anyone can plot rather than no one
    assert rules.coup_pool(np.array([True, True]), "hardline").all()
    assert rules.coup_pool(np.array([], dtype=bool), "hardline").size == 0


def test_the_public_break_counts_defected_and_purged_elites():
    state = np.array([ELITE_LOYAL, ELITE_DEFECTED, ELITE_PURGED, ELITE_PURGED])
    assert rules.public_break_share(state) == pytest.approx(0.75)
    assert rules.public_break_share(np.array([ELITE_LOYAL, ELITE_LOYAL])) == 0.0
    assert rules.public_break_share(np.array([], dtype=np.int8)) == 0.0


def _coup_outcome(m: RegimeModel) -> str:
    return next(text for day, text in m.log if day == COUP_DAY and text.startswith("coup "))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_hardline_plotters_are_never_soft_liners_and_number_the_share(seed):
    m = _to_day(_model(seed, "hardline"), COUP_DAY)
    assert _coup_outcome(m).startswith("coup failed")
    purged = m.elites.state == ELITE_PURGED
    assert purged.any() and not (purged & m.elites.softline).any()
    assert purged.sum() == round(0.3 * m.elites.state.size)  # every elite was loyal on day 5


def test_any_plotters_can_be_soft_liners():
    soft_plotters = 0
    for seed in range(1, 9):
        m = _to_day(_model(seed, None), COUP_DAY)
        soft_plotters += int(((m.elites.state == ELITE_PURGED) & m.elites.softline).sum())
    assert soft_plotters > 0  # the default draws among all loyal elites


def test_a_failed_coup_lowers_the_public_belief_through_the_elite_weight():
    """Before the coup the elite weight cannot act (no elite has broken); after it, it does."""
    on, off = _model(4, "hardline"), _model(4, "hardline", **{"belief.w_elite": 0.0})
    _to_day(on, COUP_DAY - 1)
    _to_day(off, COUP_DAY - 1)
    assert (on.elites.state == ELITE_LOYAL).all() and (off.elites.state == ELITE_LOYAL).all()
    assert on.belief_public == off.belief_public
    _to_day(on, COUP_DAY)
    _to_day(off, COUP_DAY)
    assert _coup_outcome(on).startswith("coup failed")
    assert not (on.elites.state == ELITE_DEFECTED).any()  # only plotters broke
    assert on.belief_public < off.belief_public
