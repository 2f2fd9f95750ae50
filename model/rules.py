"""Decision rules: small pure functions over numpy arrays.

The state codes, and the rules of protesters (ODD 7.1-7.2), measurement, beliefs (7.3), elites
(7.5) and outcomes (7.7); soldiers' rules (7.4) are in :mod:`defection.model.soldier_rules`. Each
rule takes arrays (or scalars that broadcast) and returns arrays; none reaches into the model
and none draws random numbers: draws come in as arguments. Equations and sources are in each
docstring; departures from a source say why.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr, ndtri

# Soldier states (codes used in every array and output).
LOYAL, SHIRKING, DESERTED, DEFECTED, DETAINED = 0, 1, 2, 3, 4
SOLDIER_STATES = ("loyal", "shirking", "deserted", "defected", "detained")
# Protester states.
QUIET, ACTIVE, JAILED = 0, 1, 2
PROTESTER_STATES = ("quiet", "active", "jailed")
# Elite states.
ELITE_LOYAL, ELITE_DEFECTED, ELITE_PURGED = 0, 1, 2
ELITE_STATES = ("loyal", "defected", "purged")
# Ranks.
CONSCRIPT, NCO, OFFICER = 0, 1, 2
RANKS = ("conscript", "nco", "officer")


# ------------------------------------------------------------------------------------------------
# Protesters: Epstein (2002) Model I
# ------------------------------------------------------------------------------------------------


def grievance(hardship: ArrayLike, legitimacy: ArrayLike) -> NDArray[np.float64]:
    """Grievance ``G = H (1 - L)``.

    Epstein (2002), Model I, doi:10.1073/pnas.092080199.
    """
    return np.asarray(hardship, dtype=float) * (1.0 - np.asarray(legitimacy, dtype=float))


def arrest_probability(
    cops: ArrayLike, actives: ArrayLike, k: float, rounding: bool = True
) -> NDArray[np.float64]:
    """Estimated arrest probability ``P = 1 - exp(-k * round(C / A))``.

    ``C`` counts repressing soldiers in vision, ``A`` active protesters in vision counting the
    agent herself (so ``A >= 1``). Epstein (2002) writes ``floor``; Mesa's example rounds (half to
    even, Python's ``round``) and notes that without an integer step the paper's bursts cannot be
    reproduced. ``rounding=False`` uses the plain ratio (the negative control of the docking test).
    """
    ratio = np.asarray(cops, dtype=float) / np.asarray(actives, dtype=float)
    if rounding:
        ratio = np.round(ratio)  # numpy rounds half to even, as Python's round does
    return 1.0 - np.exp(-k * ratio)


def activation(
    grievance: ArrayLike, risk_aversion: ArrayLike, arrest_probability: ArrayLike, threshold: float
) -> NDArray[np.bool_]:
    """A protester is active iff ``G - R P > T``. Epstein (2002), Model I."""
    return (
        np.asarray(grievance) - np.asarray(risk_aversion) * np.asarray(arrest_probability)
        > threshold
    )


def join_days(
    buildup_days: int, n: int, rng: np.random.Generator, growth: float = 0.0
) -> NDArray[np.int64]:
    """First day each of ``n`` protesters may act over a build-up of ``D`` days (0 if none).

    A crowd does not reach its peak on the first day of a campaign: the Leipzig Monday
    demonstrations grew week by week over five weeks to 9 October 1989 as each turnout told the
    next who would come (Lohmann 1994, World Politics 47(1): 42-101). With ``D =
    protest.buildup_days`` > 0 and ``K = protest.buildup_growth`` at most 1, the share of the pool
    that can act on day ``t`` is ``min(t, D) / D`` (a linear ramp: join days uniform on
    ``1..D``). With ``K`` > 1 it is ``K ** ((min(t, D) - D) / (D - 1))``: ``1 / K`` of the pool on
    day 1, growing by the same factor every day to all of it on day ``D`` (an exponential ramp;
    ``K`` is the ratio of the crowd at its peak to the first day's, as a case's sources give it:
    about 1,000 on 4 September to 70,000 on 9 October in Leipzig). A join day is then
    ``max(1, ceil(D + (D - 1) ln U / ln K))`` for ``U`` uniform on (0, 1], the inverse of that
    share. Either way the stated peak (:mod:`.measurement`) comes near day ``D``; whether each
    protester can act still follows :func:`activation`. The protest signal is logarithmic in
    participation (:func:`protest_signal`), so under the linear ramp most of it comes in the
    first days; under the exponential one it grows evenly to day ``D``. The two forms are
    assumptions; ``D`` and ``K`` are coded from a case's sources. No random number is drawn
    when ``D`` is 0 (every protester may act from day 1).
    """
    if buildup_days <= 0:
        return np.zeros(n, dtype=np.int64)
    if growth <= 1.0:
        return rng.integers(1, buildup_days + 1, size=n).astype(np.int64)
    u = 1.0 - rng.random(n)  # uniform on (0, 1]
    day = np.ceil(buildup_days + (buildup_days - 1) * np.log(u) / np.log(growth))
    return np.clip(day, 1, buildup_days).astype(np.int64)


def backfire_loss(
    arrested_share: ArrayLike, backfire: float, lethality: float, lethality_factor: float
) -> NDArray[np.float64]:
    """Legitimacy lost to repression in a day: ``backfire * arrested_share * (1 + k lethality)``.

    ``k`` (``protest.backfire_lethality``) is how many times more an arrest costs at fully lethal
    repression than at none, over one. Repression backfires past a point (Sutton, Butcher &
    Svensson 2014, Journal of Peace Research); the linear form and ``k`` are assumptions.
    """
    return backfire * np.asarray(arrested_share, dtype=float) * (1.0 + lethality_factor * lethality)


# ------------------------------------------------------------------------------------------------
# Measurement: agents and people (docs/ODD.md, "measurement")
# ------------------------------------------------------------------------------------------------


def unrepressed_active_share(
    hardship_max: ArrayLike, legitimacy: ArrayLike, threshold: float
) -> NDArray[np.float64]:
    """Share of protesters active when no one can be arrested: ``P(H (1 - L) > T)``.

    With ``H ~ U(0, h)`` (Epstein 2002, Model I) and arrest risk 0, a protester is active iff
    ``H (1 - L) > T``, so the share is ``max(0, 1 - T / (h (1 - L)))`` (0 when ``h (1 - L) <= T``).
    It is the ceiling of the active share the grievance rule allows, used to size the protester
    pool from a stated peak participation; repression keeps the realised peak below it.
    """
    top = np.asarray(hardship_max, dtype=float) * (1.0 - np.asarray(legitimacy, dtype=float))
    safe = np.where(top > 0, top, 1.0)
    return np.where(top > threshold, 1.0 - threshold / safe, 0.0)


def participation_share(active_people: float, denominator: float) -> float:
    """NAVCO's participation: people active as a share of the whole population ``N``.

    ``active_people`` sums active protester agents times the people each stands for, region by
    region (docs/MEASUREMENT.md section 2; Chenoweth & Shay 2019, NAVCO 1.2 codebook).
    """
    return active_people / denominator if denominator > 0 else 0.0


def protest_signal(participation: float, floor: float, ceiling: float) -> float:
    """How visible a protest is, from its size: ``clip(ln(p / f) / ln(c / f), 0, 1)``.

    Participation shares span four orders of magnitude in NAVCO (half the campaigns below 0.1 % of
    the population, the largest above 3.5 %), so the signal rises with log participation from
    ``f`` (``protest.signal_floor``) to ``c`` (``protest.signal_ceiling``; Chenoweth & Stephan
    2011 found no campaign reaching 3.5 % that failed). The log form is an assumption. It needs
    ``c > f``, which the scenario schema enforces (``model/schema.py``).
    """
    if participation <= floor:
        return 0.0
    return float(min(1.0, np.log(participation / floor) / np.log(ceiling / floor)))


def threat_participation(participation: float, armed_share: float, w_armed: float) -> float:
    """Participation as the public reads the threat it poses: ``p (1 + w_a a)``.

    ``p`` is the participation share (:func:`participation_share`), ``a`` the share of the
    active people who use violent tactics and ``w_a`` (``belief.w_armed``) how many more
    unarmed participants one armed participant counts as. An armed campaign threatens the
    regime's survival with fewer people: it imposes military costs directly rather than through
    numbers (Chenoweth & Stephan 2011, ch. 2, on the participation gap between violent and
    nonviolent campaigns), and in the NAVCO 1.2 fitting set violent campaigns see meaningful
    defection more often than nonviolent ones of the same participation bin
    (docs/CALIBRATION.md, "What the second calibration showed"). The linear form is an
    assumption; ``w_a = 0`` reads every participant alike.
    """
    return participation * (1.0 + w_armed * armed_share)


# ------------------------------------------------------------------------------------------------
# Belief that the regime survives
# ------------------------------------------------------------------------------------------------


def logistic(x: ArrayLike) -> NDArray[np.float64]:
    """Numerically safe logistic ``1 / (1 + exp(-x))``."""
    x = np.clip(np.asarray(x, dtype=float), -50.0, 50.0)
    return 1.0 / (1.0 + np.exp(-x))


def public_signal(
    protest: float,
    left_share: float,
    elite_defected_share: float,
    w_protest: float,
    w_defect: float,
    w_elite: float,
    information_control: float,
) -> float:
    """Public signal of regime weakness ``(1 - I)(w_p A + w_d D + w_e E)``.

    ``A`` is the protest signal in 0..1 (:func:`protest_signal` of the participation share, read
    as a threat by :func:`threat_participation`),
    ``D`` the share of soldiers who left (deserted or defected), ``E`` the share of elites who
    broke with the ruler in public (:func:`public_break_share`: defected, or failed plotters);
    information control ``I`` scales what the public sees. Kuran (1991), World Politics
    44(1): revolutions surprise because private preferences show only through such public signals.
    """
    raw = w_protest * protest + w_defect * left_share + w_elite * elite_defected_share
    return (1.0 - information_control) * raw


def insider_protest_weight(w_protest: float, gain: float) -> float:
    """Weight of the crowd in the signal insiders plot on, ``w_i = g w_p``.

    ``w_p`` is the protest weight of the public signal (:func:`public_signal`) that soldiers and
    the public read, ``g`` the insiders' gain (``elites.plot_protest_gain``). The signal insiders
    plot on (:func:`plot_ready`) is :func:`public_signal` with ``w_i`` in place of ``w_p`` and the
    same weights of defections and elite breaks. Insiders read the crowd as the signal on which
    to coordinate against the ruler (Casper & Tyson 2014, Journal of Politics 76(2)); in Leipzig
    the Politburo turned on Honecker as the weekly crowds grew, before soldiers or the public
    broke (Lohmann 1994, World Politics 47(1)). That insiders may weigh the crowd more (or less)
    than soldiers do is an assumption; ``g = 1`` reads it alike, as before the parameter existed.
    """
    return gain * w_protest


def belief_survival(
    intercept: float,
    messaging: float,
    w_messaging: float,
    signal: float,
    neighbour_left_share: ArrayLike,
    w_neighbours: float,
) -> NDArray[np.float64]:
    """Belief that the regime survives, ``b = logistic(b0 + w_m M - S - w_n n)``.

    ``S`` is the (smoothed) public signal, ``M`` the regime's messaging and ``n`` the share of the
    agent's own network neighbours who left. Private information from neighbours is mixed with
    public signals as in Makowsky & Rubin (2013), PLoS ONE.
    """
    n = np.asarray(neighbour_left_share, dtype=float)
    return logistic(intercept + w_messaging * messaging - signal - w_neighbours * n)


# ------------------------------------------------------------------------------------------------
# Elites
# ------------------------------------------------------------------------------------------------


def elite_defect_gain(
    belief: float,
    rents: float,
    purge_risk: float,
    loyalty: ArrayLike,
    outside_option: float,
    amnesty: float,
    defected_share: float,
    peer_weight: float,
    armed_share: float = 0.0,
    armed_threat: float = 0.0,
) -> NDArray[np.float64]:
    """Gain of an elite from defecting over staying.

    ``(1 - b)(O + a)(1 - k v) + w_e E - [b rents (1 - purge) + loyalty]``.

    Elites weigh rents kept if the regime survives, discounted by the risk of being purged by the
    ruler anyway (Svolik 2012, The Politics of Authoritarian Rule), against what defection brings
    if it falls. The peer term counts elites already defected. An armed opposition (armed share
    ``v`` of the active, ``k`` = ``elites.armed_threat``) cuts the exit's value
    (:func:`armed_exit_factor`); with ``k = 0`` the rule is the one without it.
    """
    stay = belief * rents * (1.0 - purge_risk) + np.asarray(loyalty, dtype=float)
    exit_value = (outside_option + amnesty) * armed_exit_factor(armed_share, armed_threat)
    return (1.0 - belief) * exit_value + peer_weight * defected_share - stay


def armed_exit_factor(armed_share: float, armed_threat: float) -> float:
    """How much of the exit's value an elite expects to keep under an armed opposition: ``1 - k v``.

    ``v`` is the share of the active people who use violent tactics and ``k``
    (``elites.armed_threat``) how far an all-armed opposition cuts what a defecting insider
    expects if the regime falls (his outside option and the amnesty offered). Insiders of a regime
    fighting armed rebels fear their retribution and doubt their promises, so loyalty shifts come
    more rarely than under a nonviolent campaign, whose commitment to nonviolence makes a safe
    exit credible (Chenoweth & Stephan 2011, Why Civil Resistance Works, ch. 2, on loyalty
    shifts). The linear form is an assumption; ``k = 0`` (the default until calibrated) leaves
    the exit whole.
    """
    return 1.0 - armed_threat * min(1.0, max(0.0, armed_share))


def calm_loyalty_floor(
    belief: float, rents: float, purge_risk: float, outside_option: float, amnesty: float
) -> float:
    """The loyalty at which an elite is indifferent before the crisis.

    ``L* = (1 - b0)(O + a) - b0 rents (1 - purge)``: :func:`elite_defect_gain` with no elite
    defected and loyalty 0, at the initial public belief ``b0``. An elite with loyalty above
    ``L*`` stays in calm times. A regime that has lasted keeps only such elites; one who would
    have broken with it before any crisis was purged or never admitted (Svolik 2012, ch. 3 and
    4: the ruler's inner circle is selected and screened).
    """
    gain = elite_defect_gain(belief, rents, purge_risk, 0.0, outside_option, amnesty, 0.0, 0.0)
    return float(gain)


def plot_ready(signal: float, threshold: float, above_floor: ArrayLike) -> NDArray[np.bool_]:
    """Which loyal elites are ready to plot against the ruler: ``S >= theta_p + (l - L*)``.

    ``S`` is the public signal (the smoothed fall of the survival belief's logit that protest,
    defections and elite breaks have caused; :func:`public_signal`), ``theta_p`` the plot
    threshold (``elites.plot_signal``) and ``l - L*`` the elite's loyalty above the calm-time
    floor (:func:`calm_loyalty_floor`), one logit per unit of utility: the least loyal insiders
    turn first. An insider losing faith in a failing ruler would rather replace him from inside,
    and keep his place in the ruling coalition, than wait for the regime to fall (Svolik 2012,
    The Politics of Authoritarian Rule, ch. 3: the ruling coalition removes the dictator); mass
    protest is the public signal on which insiders coordinate against him (Casper & Tyson 2014,
    Journal of Politics 76(2)). The signal, not the belief, is compared: a belief near 1 hides
    on its probability scale a crisis its logit shows. The linear form and the exchange rate of
    one logit per unit of utility are assumptions.
    """
    return signal >= threshold + np.asarray(above_floor, dtype=float)


def plot_tried(ready: int, loyal: int, quorum: float) -> bool:
    """Whether the ready insiders try a plot: ``ready >= max(1, q * loyal)``.

    A plot is collective: insiders try only when enough of the loyal inner circle is ready,
    the share ``q`` (``elites.plot_quorum``) of its ``loyal`` members; mass protest is the public
    signal on which they coordinate (Casper & Tyson 2014, Journal of Politics 76(2)). The
    threshold form is an assumption.
    """
    return ready >= 1 and ready >= quorum * loyal


def softline_faction(count: int, share: float) -> NDArray[np.bool_]:
    """Which of ``count`` elites form the soft-line faction: the first ``round(share count)``.

    O'Donnell & Schmitter (1986), Transitions from Authoritarian Rule: Tentative Conclusions,
    p. 19: no transition begins without important divisions inside the authoritarian regime,
    chiefly between hard-liners and soft-liners. A case codes the faction open before its crisis
    as its share of the inner circle (``elites.softline_share``); its members draw their loyalty
    ``elites.softline_gap`` lower (:func:`truncated_normal` with a lower mean, the same draws).
    Which elites they are needs no random number: elites are exchangeable, and their clients are
    drawn independently of the faction.
    """
    n = int(round(share * count))
    out = np.zeros(count, dtype=bool)
    out[:n] = True
    return out


def truncated_normal(z: ArrayLike, mean: float, sd: float, floor: float) -> NDArray[np.float64]:
    """Map standard normal draws ``z`` to ``N(mean, sd)`` truncated below at ``floor``.

    Inverse-CDF transform of each draw's rank: with ``q = P(X > floor)``, draw ``z`` maps to the
    ``x`` with ``P(X > x) = q Phi(-z)``, i.e. ``x = mean - sd Phi^-1(q Phi(-z))``; increasing in
    ``z``, ``floor`` as ``z`` goes to minus infinity, and stable far in the upper tail. No extra
    random numbers are drawn. With ``sd = 0`` every value is ``max(mean, floor)``.
    """
    z = np.asarray(z, dtype=float)
    if sd <= 0:
        return np.full(z.shape, max(mean, floor))
    q = ndtr(-(floor - mean) / sd)
    t = q * ndtr(-z)
    x = mean - sd * ndtri(np.where(t > 0, t, np.nan))
    return np.where(np.isfinite(x), np.maximum(x, floor), floor)


# ------------------------------------------------------------------------------------------------
# Outcomes
# ------------------------------------------------------------------------------------------------


def loyal_force(
    loyal: float, loyal_guard: float, guard_weight: float, foreign: float = 0.0
) -> float:
    """Force able to repress, in people: ``loyal + w_g guards + foreign``.

    Loyal regular soldiers (army and police), weighted loyal guards, and foreign troops on the
    regime's side (``support.regime_troops`` times the initial force; NAVCO's REGAID), who count
    like regular soldiers and never defect.
    """
    return loyal + guard_weight * loyal_guard + foreign


def opposition_strength(
    active: float, defected: float, protester_weight: float, defector_weight: float
) -> float:
    """Opposition strength: weighted active protesters plus armed defectors (people)."""
    return protester_weight * active + defector_weight * defected


#: The participation share at which the concession rates are read (1 % of the population):
#: a normalisation, so that ``regime.concession_nonviolent`` is a daily rate at that size.
CONCESSION_REFERENCE = 0.01
#: The defected share of the initial force at which the concession's defection term is read:
#: NAVCO's armed defection (:data:`defection.model.outputs.DEFECT_SHARE`, 0.5 %), so that
#: ``regime.concession_defection`` is the added factor once a meaningful defection has occurred.
CONCESSION_DEFECTION_REFERENCE = 0.005


def concession_hazard(
    participation: ArrayLike,
    armed_share: ArrayLike,
    rate_nonviolent: float,
    rate_violent: float,
    elasticity: float,
    reference: float = CONCESSION_REFERENCE,
    defected_share: ArrayLike = 0.0,
    defection_gain: float = 0.0,
) -> Any:
    """Chance that the ruler concedes today: ``1 - exp(-lam)``, ``lam = r s f``.

    ``s = (p / p_ref)^beta`` is the campaign's size term and ``f = 1 + k d / d_ref`` the force's.

    ``r = (1 - v) r_n + v r_v`` mixes the daily rates of a nonviolent and of an armed campaign
    (``regime.concession_nonviolent``, ``regime.concession_violent``) by ``v``, the share of the
    active people who use violent tactics; ``p`` is today's participation share as NAVCO measures
    it (:func:`participation_share`), ``p_ref`` :data:`CONCESSION_REFERENCE` and ``beta``
    (``regime.concession_elasticity``) how fast the pressure grows with the campaign's size.
    No one active, no pressure: the hazard is 0 at ``p = 0``. ``d`` is the share of the initial
    force that has defected (``soldiers_defected``), ``d_ref``
    :data:`CONCESSION_DEFECTION_REFERENCE` (NAVCO's armed-defection share, so ``1 + k`` is the
    factor once a meaningful defection has occurred) and ``k`` (``regime.concession_defection``,
    0 by default: the force does not matter) how much a force that has begun to go over hastens
    the ruler's exit.

    A reduced form of the routes by which campaigns win without the security force breaking: a
    ruler who resigns, calls elections or negotiates an exit under mass non-cooperation, or
    whose patrons abroad press him to go. Most successful nonviolent campaigns won without a
    security-force defection, and nonviolent campaigns succeed about twice as often as violent
    ones: mass non-cooperation raises the cost of holding out while the campaign's restraint
    lowers the ruler's and his circle's cost of conceding (Chenoweth & Stephan 2011, Why Civil
    Resistance Works, ch. 2; Celestino & Gleditsch 2013, Journal of Peace Research 50(3), on
    nonviolent campaigns and transitions in autocracies). In the NAVCO 1.2 fitting set, 0.47 of
    the finished nonviolent campaigns without DEFECT succeeded, against 0.15 of the violent ones
    (docs/CALIBRATION.md, "Winning without the force"). The power form and the mixing are
    assumptions; the rates are 0 (no concession) until calibrated. Vectorized over days (a float
    for scalar inputs).

    The defection term: a ruler whose soldiers have begun to go over negotiates his exit sooner,
    since he can no longer count on repression to outlast the campaign (Marcos in February 1986
    after Enrile's and Ramos's break, Mubarak in February 2011 once the army would not clear the
    squares: Nepstad 2011, Nonviolent Revolutions; Chenoweth & Stephan 2011, ch. 2, where a
    security-force defection goes with a much higher chance of success). In the
    NAVCO 1.2 fitting set success is 0.32 more likely with DEFECT than without among nonviolent
    campaigns and 0.24 among violent ones (docs/CALIBRATION.md). The linear form is an
    assumption; ``k`` is fitted.
    """
    p = np.asarray(participation, dtype=float)
    v = np.clip(np.asarray(armed_share, dtype=float), 0.0, 1.0)
    rate = (1.0 - v) * rate_nonviolent + v * rate_violent
    size = np.where(p > 0.0, (np.maximum(p, 0.0) / reference) ** elasticity, 0.0)
    force = 1.0 + defection_gain * np.maximum(np.asarray(defected_share, dtype=float), 0.0) / (
        CONCESSION_DEFECTION_REFERENCE
    )
    hazard = -np.expm1(-rate * size * force)
    return float(hazard) if hazard.ndim == 0 else hazard


def coup_succeeds(coup_force: float, loyal_centre_force: float) -> bool:
    """A coup succeeds iff its force exceeds the loyal force around the centre."""
    return coup_force > loyal_centre_force


def coup_pool(softline: ArrayLike, faction: str) -> NDArray[np.bool_]:
    """Which loyal elites a coup's plotters are drawn from: all, or the hard-liners.

    ``softline`` flags each loyal elite's membership of the soft-line faction. With ``faction``
    ``"any"`` every loyal elite can plot; with ``"hardline"`` only those outside the soft-line
    faction can, unless none is left (then any). Coups against a liberalising centre come from
    its hard-liners (O'Donnell & Schmitter 1986, Transitions from Authoritarian Rule: Tentative
    Conclusions, on hard-liners and soft-liners); the plotters of August 1991 were the Soviet
    centre's hard-liners (Plokhy 2014, The Last Empire).
    """
    soft = np.asarray(softline, dtype=bool)
    if faction == "hardline" and (~soft).any():
        return ~soft
    return np.ones(soft.shape, dtype=bool)


def public_break_share(state: ArrayLike) -> float:
    """Share of the elites who have broken with the ruler in public: defected, or failed plotters.

    ``(#defected + #purged) / #elites`` (0 with no elites). Elites are purged only after a
    failed coup (:func:`defection.model.events.coup`), so a purged elite is a plotter whose
    break with the ruler everyone saw. For the public signal (:func:`public_signal`) a failed
    coup is as plain a sign of a divided centre as a defection: private preferences show through
    public acts (Kuran 1991, World Politics 44(1)), and a coup attempt, failed or not, makes the
    next one likelier (Londregan & Poole 1990, World Politics 42(2), the "coup trap"). After the
    failed Soviet coup of August 1991 the republics declared independence one after another
    (Plokhy 2014). Counting plotters alike is an assumption.
    """
    s = np.asarray(state)
    if s.size == 0:
        return 0.0
    return float(((s == ELITE_DEFECTED) | (s == ELITE_PURGED)).mean())
