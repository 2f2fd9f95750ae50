"""Decision rules: small pure functions over numpy arrays.

Each rule takes arrays (or scalars that broadcast) and returns arrays; none reaches into the model
and none draws random numbers: draws come in as arguments. Equations and sources are in each
docstring; departures from a source say why.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

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
    2011 found no campaign reaching 3.5 % that failed). The log form is an assumption.
    """
    if participation <= floor:
        return 0.0
    return float(min(1.0, np.log(participation / floor) / np.log(ceiling / floor)))


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

    ``A`` is the protest signal in 0..1 (:func:`protest_signal` of the participation share),
    ``D`` the share of soldiers who left (deserted or defected), ``E`` the share of elites who
    defected; information control ``I`` scales what the public sees. Kuran (1991), World Politics
    44(1): revolutions surprise because private preferences show only through such public signals.
    """
    raw = w_protest * protest + w_defect * left_share + w_elite * elite_defected_share
    return (1.0 - information_control) * raw


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
# Soldiers
# ------------------------------------------------------------------------------------------------


def moral_cost(
    base: float,
    crowd_density: ArrayLike,
    crowd_scale: float,
    nonviolent_share: ArrayLike,
    shared_identity: ArrayLike,
    shared_weight: float,
    at_home: ArrayLike,
    home_weight: float,
    lethality: float,
    lethality_weight: float,
) -> NDArray[np.float64]:
    """Moral cost of repressing the crowd in front of a soldier.

    ``m = base * c / (c + c0) * v * (1 + w_s s) * (1 + w_h h) * (1 + w_l l)``, where ``c`` is
    the active density in vision (saturating at ``c0``), ``v`` the crowd's nonviolent share, ``s``
    the share of the crowd sharing the soldier's identity group, ``h`` whether he is stationed
    at home and ``l`` the lethality of his orders, weighted by ``w_l``
    (``soldiers.lethality_weight``). Larger, nonviolent crowds of one's own people are costlier to
    repress (Chenoweth & Stephan 2011; Nepstad 2011; McLauchlin 2010), and more so under orders to
    kill (the reference article: early defectors refused to perpetrate violence); ``w_l`` is an
    assumption.
    """
    c = np.asarray(crowd_density, dtype=float)
    return (
        base
        * c
        / (c + crowd_scale)
        * np.asarray(nonviolent_share, dtype=float)
        * (1.0 + shared_weight * np.asarray(shared_identity, dtype=float))
        * (1.0 + home_weight * np.asarray(at_home, dtype=float))
        * (1.0 + lethality_weight * lethality)
    )


def detection_probability(
    surveillance: float, safety_in_numbers: float, neighbour_left_share: ArrayLike
) -> NDArray[np.float64]:
    """Chance an attempt to leave is detected, ``q = s (1 - safety * n)``.

    Detection falls as more peers leave at once (safety in numbers; Granovetter 1978; Kuran 1991).
    """
    n = np.asarray(neighbour_left_share, dtype=float)
    return np.clip(surveillance * (1.0 - safety_in_numbers * n), 0.0, 1.0)


def stay_value(
    pay_received: ArrayLike,
    w_pay: float,
    bonus: ArrayLike,
    stake: ArrayLike,
    belief: ArrayLike,
    loyalty: ArrayLike,
    moral_cost: ArrayLike,
    on_duty: ArrayLike,
) -> NDArray[np.float64]:
    """Value of staying: ``w_pay (pay + bonus) + stake * b + loyalty - m * duty``.

    A stake (military-owned business) pays only if the regime survives, so it is weighted by the
    belief ``b``. The design card's expected-payoff comparison (model.md section 3); pay and stakes
    as defection-proofing follow Albrecht & Ohl (2016) and Makara (2013).
    """
    return (
        w_pay * (np.asarray(pay_received, dtype=float) + np.asarray(bonus, dtype=float))
        + np.asarray(stake, dtype=float) * np.asarray(belief, dtype=float)
        + np.asarray(loyalty, dtype=float)
        - np.asarray(moral_cost, dtype=float) * np.asarray(on_duty, dtype=float)
    )


def rank_bonus(officer_bonus: float, rank: ArrayLike, nco_share: float) -> NDArray[np.float64]:
    """Bonus each soldier is paid by rank: ``officer_bonus`` times 1 (officer), ``k_n`` (NCO), 0.

    ``k_n`` (``soldiers.nco_bonus_share``) is the share of an officer's bonus an NCO gets. Perks
    for the officer corps as defection-proofing follow Makara (2013); ``k_n`` is an assumption.
    """
    r = np.asarray(rank)
    return officer_bonus * np.where(r == OFFICER, 1.0, np.where(r == NCO, nco_share, 0.0))


def defection_reward(
    amnesty: float,
    defector_value: float,
    officer: ArrayLike,
    officer_factor: float,
    core: ArrayLike,
    core_tied_fate: float,
    backing: float = 0.0,
) -> NDArray[np.float64]:
    """Reward ``R`` a soldier expects from defecting if the regime falls.

    ``R = (a + w_o s + v k_o^officer)(1 - f core)``: the amnesty ``a``, plus what the
    opposition's foreign backing promises (``backing`` = ``w_o s``, :func:`opposition_backing`),
    plus the value ``v`` of being on the winning side, ``k_o`` times more for an officer
    (``opposition.officer_reward_factor``), cut by the share ``f`` a soldier of the regime's core
    group cannot claim (his fate is tied to the regime's; McLauchlin 2010; Makara 2013). ``k_o``
    is an assumption.
    """
    reward = (
        amnesty
        + backing
        + defector_value * np.where(np.asarray(officer, dtype=bool), officer_factor, 1.0)
    )
    return reward * (1.0 - core_tied_fate * np.asarray(core, dtype=bool))


def defect_gain(
    stay: ArrayLike,
    belief: ArrayLike,
    reward: ArrayLike,
    detection: ArrayLike,
    punishment: ArrayLike,
    peer_share: ArrayLike,
    peer_weight: float,
    fight_risk: float = 0.0,
    principled: ArrayLike = 0.0,
) -> NDArray[np.float64]:
    """Gain from defecting over staying.

    ``(1 - b) R - b (q K + F) + w_peer n - stay + P``: the reward ``R`` (amnesty plus the value
    of being on the winning side) comes if the regime falls; if it survives, the punishment ``K``
    (including family reprisals) if the attempt is detected, and the cost ``F`` of fighting it;
    ``w_peer n`` is Granovetter's peer term over the share ``n`` of network neighbours who left;
    ``P`` is the principled motive (:func:`principled_gain`), which does not depend on the
    regime's fate. The design card's expected-payoff comparison (model.md section 3).
    """
    b = np.asarray(belief, dtype=float)
    return (
        (1.0 - b) * np.asarray(reward, dtype=float)
        - b
        * (np.asarray(detection, dtype=float) * np.asarray(punishment, dtype=float) + fight_risk)
        + peer_weight * np.asarray(peer_share, dtype=float)
        - np.asarray(stay, dtype=float)
    ) + np.asarray(principled, dtype=float)


def desert_gain(
    stay: ArrayLike,
    belief: ArrayLike,
    detection: ArrayLike,
    punishment: ArrayLike,
    punishment_share: float,
    exit_barrier: float,
    peer_share: ArrayLike,
    peer_weight: float,
    principled: ArrayLike = 0.0,
) -> NDArray[np.float64]:
    """Gain from deserting (private exit) over staying.

    ``-barrier - k_d b q K + w_peer n - stay + k_L P``: no reward from the regime's fall and no
    fighting, and a caught deserter suffers the share ``k_d`` (``soldiers.desert_punishment``) of
    the punishment ``K`` of armed defection. Exit versus voice (Albrecht & Ohl 2016); ``k_d`` is
    an assumption. ``principled`` is the share ``k_L`` (``soldiers.legitimacy_desert_share``,
    default 0) of the principled motive ``P`` of :func:`principled_gain` that also drives exit.
    """
    b = np.asarray(belief, dtype=float)
    return (
        -exit_barrier
        - punishment_share
        * b
        * np.asarray(detection, dtype=float)
        * np.asarray(punishment, dtype=float)
        + peer_weight * np.asarray(peer_share, dtype=float)
        - np.asarray(stay, dtype=float)
    ) + np.asarray(principled, dtype=float)


def principled_gain(weight: float, legitimacy: ArrayLike) -> NDArray[np.float64]:
    """Principled motive to defect, ``P = w_L (1 - L)``.

    ``L`` is the regime's legitimacy among the soldier's own people (his home region's
    legitimacy plus his identity group's shift, clipped to [0, 1]: what the protesters of his
    region and group see), ``w_L`` is ``soldiers.w_legitimacy``. A soldier who finds the regime
    unjust gains from breaking with it whatever its fate (the reference article, "Ideological and
    Principled Reasons": defection as refusal to serve an unjust regime or to perpetrate its
    violence; Myanmar 2021). The term counts toward defection (voice); only the share
    ``soldiers.legitimacy_desert_share`` of it counts toward desertion (exit; Albrecht & Ohl 2016).
    The linear form is an assumption.
    """
    return weight * (1.0 - np.asarray(legitimacy, dtype=float))


def pay_received(
    pay: float,
    arrears: float,
    reference_pay: float,
    patron_share: float,
    pay_factor: ArrayLike = 1.0,
) -> NDArray[np.float64]:
    """Pay a soldier receives: ``[p (1 - a) + s max(0, p_0 - p (1 - a))] f``.

    ``p`` is today's pay (``soldiers.pay``), ``a`` the arrears, ``p_0`` the pay the scenario
    starts with (its wage bill), ``s`` the share of the wage bill an outside patron covers
    (``support.regime_money``; NAVCO's REGAID) and ``f`` the soldier's pay factor (a conscript's
    ``soldiers.conscript_pay``, 1 for a professional). The patron pays the share ``s`` of the
    shortfall below the scenario's pay, whether it comes from arrears or from pay cuts, so
    ``s = 1`` restores full pay and ``s = 0`` changes nothing; pay raised above ``p_0`` is the
    regime's own. Outside money as the regime's lifeline for paying its soldiers: Albrecht & Ohl
    (2016) and Ohl, Albrecht & Koehler (2015) on pay and desertion in Syria; the form is an
    assumption.
    """
    paid = pay * (1.0 - arrears)
    topped = paid + patron_share * np.maximum(reference_pay - paid, 0.0)
    return topped * np.asarray(pay_factor, dtype=float)


def opposition_backing(weight: float, support: float) -> float:
    """What the opposition's foreign backing adds to a defector's reward: ``w_o s``.

    ``s`` is ``support.opposition`` (NAVCO's STATESUP, 0 to 1) and ``w_o``
    ``opposition.w_support``: a campaign backed by a foreign state can pay, arm and shelter
    defectors. Chenoweth & Stephan (2011) weigh foreign state support as a rival explanation of
    campaigns' success and do not find it a reliable one, so the weight defaults to 0 and is left
    to calibration.
    """
    return weight * support


def patron_confidence(weight: float, money: float, troops: float) -> float:
    """Shift of the belief that the regime survives due to an outside patron (logit units).

    ``w_s max(m, min(1, t))``: the stronger of the patron's money ``m`` (share of the wage bill,
    ``support.regime_money``) and troops ``t`` (share of the initial force,
    ``support.regime_troops``), weighted by ``belief.w_support``. A regime with a patron looks
    likelier to survive; the form is an assumption (NAVCO's REGAID is binary).
    """
    return weight * max(money, min(1.0, troops))


def duty_chance(
    repression: float,
    trusted: ArrayLike,
    selective: float,
    police: ArrayLike,
    duty_first: float,
    police_in_service: float,
) -> NDArray[np.float64]:
    """Chance a soldier is sent to the crowds today.

    ``r (1 - d_s)^[not trusted] (1 - d_p rho)^[not police]``: the repression order ``r``, scaled
    down for regular soldiers outside the core group by the selective deployment ``d_s`` (trusted
    units go first; reference article [87]), and for everyone but the police by ``d_p rho``, the
    police's duty priority ``d_p`` (``police.duty_first``) times the share ``rho`` of the police
    still in service: the regime sends its police to the crowds first and holds the army back as
    long as it has police (the army was called in after the police in Myanmar 2021). The form is
    an assumption.
    """
    return (
        repression
        * np.where(np.asarray(trusted, dtype=bool), 1.0, 1.0 - selective)
        * np.where(np.asarray(police, dtype=bool), 1.0, 1.0 - duty_first * police_in_service)
    )


def pick_companies(
    size: ArrayLike, eligible: ArrayLike, target: float, keys: ArrayLike
) -> NDArray[np.bool_]:
    """Companies that become police: a random set of eligible companies of about ``target`` men.

    Eligible companies are taken in the order of their random ``keys`` (a draw per company),
    and the prefix whose total size is closest to ``target`` soldiers is kept (the shorter one on
    a tie), so police are whole companies and the police share is met as closely as whole
    companies allow.
    """
    size = np.asarray(size, dtype=float)
    ok = np.flatnonzero(np.asarray(eligible, dtype=bool))
    out = np.zeros(size.size, dtype=bool)
    if ok.size == 0 or target <= 0:
        return out
    order = ok[np.argsort(np.asarray(keys, dtype=float)[ok], kind="stable")]
    cum = np.concatenate([[0.0], np.cumsum(size[order])])
    k = int(np.argmin(np.abs(cum - target)))
    out[order[:k]] = True
    return out


def soldier_choice(defect: ArrayLike, desert: ArrayLike, threshold: ArrayLike) -> NDArray[np.int8]:
    """Choose to leave iff the best gain reaches the threshold: ``max(g_def, g_des) >= theta``.

    Returns ``DEFECTED``, ``DESERTED`` or ``LOYAL`` (stay) per soldier; ties go to defection.
    The inclusive ``>=`` makes Granovetter's threshold 0 agent riot alone (Granovetter 1978).
    """
    d = np.asarray(defect, dtype=float)
    e = np.asarray(desert, dtype=float)
    best = np.maximum(d, e)
    out = np.full(best.shape, LOYAL, dtype=np.int8)
    leave = best >= np.asarray(threshold, dtype=float)
    out[leave & (d >= e)] = DEFECTED
    out[leave & (d < e)] = DESERTED
    return out


def shirks(
    moral_cost: ArrayLike, loyalty: ArrayLike, fear: ArrayLike, on_duty: ArrayLike
) -> NDArray[np.bool_]:
    """A soldier ordered to repress shirks iff ``m > loyalty + fear`` (stays, refuses to fire).

    Shirking as quiet non-compliance short of exit (Albrecht & Ohl 2016; Lee 2015).
    """
    return np.asarray(on_duty, dtype=bool) & (
        np.asarray(moral_cost, dtype=float)
        > np.asarray(loyalty, dtype=float) + np.asarray(fear, dtype=float)
    )


def peer_share(adjacency, left: ArrayLike, degree: ArrayLike) -> NDArray[np.float64]:
    """Share of each node's network neighbours who left: ``n = A x / deg`` (0 for isolates).

    Granovetter (1978) counts rioters among everyone; on a network the count is over neighbours
    (Watts 2002). ``adjacency`` is a scipy sparse matrix.
    """
    deg = np.asarray(degree, dtype=float)
    counts = adjacency @ np.asarray(left, dtype=float)
    return np.divide(counts, deg, out=np.zeros_like(deg), where=deg > 0)


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
) -> NDArray[np.float64]:
    """Gain of an elite from defecting over staying.

    ``(1 - b)(O + a) + w_e E - [b rents (1 - purge) + loyalty]``.

    Elites weigh rents kept if the regime survives, discounted by the risk of being purged by the
    ruler anyway (Svolik 2012, The Politics of Authoritarian Rule), against what defection brings
    if it falls. The peer term counts elites already defected.
    """
    stay = belief * rents * (1.0 - purge_risk) + np.asarray(loyalty, dtype=float)
    return (1.0 - belief) * (outside_option + amnesty) + peer_weight * defected_share - stay


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


def coup_succeeds(coup_force: float, loyal_centre_force: float) -> bool:
    """A coup succeeds iff its force exceeds the loyal force around the centre."""
    return coup_force > loyal_centre_force
