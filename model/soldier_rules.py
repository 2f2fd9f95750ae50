"""Soldiers' decision rules (ODD section 7.4): small pure functions over numpy arrays.

As in :mod:`defection.model.rules` (states, protesters, beliefs, elites, outcomes): each rule takes
arrays (or scalars that broadcast) and returns arrays; none reaches into the model and none draws
random numbers. Equations and sources are in each docstring.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from defection.model.rules import DEFECTED, DESERTED, LOYAL, NCO, OFFICER


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
    nonviolence_weight: float = 1.0,
) -> NDArray[np.float64]:
    """Moral cost of repressing the crowd in front of a soldier.

    ``m = base * c / (c + c0) * (1 - w_v + w_v v) * (1 + w_s s) * (1 + w_h h) * (1 + w_l l)``,
    where ``c`` is the active density in vision (saturating at ``c0``), ``v`` the crowd's
    nonviolent share, weighted by ``w_v`` (``soldiers.nonviolence_weight``: 1, the cost of an
    armed crowd is 0; 0, a crowd's method does not change it), ``s`` the share of the crowd
    sharing the soldier's identity group, ``h`` whether he is stationed at home and ``l`` the
    lethality of his orders, weighted by ``w_l`` (``soldiers.lethality_weight``). Larger,
    nonviolent crowds of one's own people are costlier to repress (Chenoweth & Stephan 2011;
    Nepstad 2011; McLauchlin 2010), and more so under orders to kill (the reference article:
    early defectors refused to perpetrate violence). How much of the cost rests on the crowd's
    nonviolence is open: in the fitting set of NAVCO 1.2's regime-change campaigns the violent
    ones saw security-force defections at least as often as the nonviolent ones, so ``w_v`` is
    calibrated, not fixed at Chenoweth & Stephan's reading; ``w_l`` is an assumption.
    """
    c = np.asarray(crowd_density, dtype=float)
    v = np.asarray(nonviolent_share, dtype=float)
    return (
        base
        * c
        / (c + crowd_scale)
        * (1.0 - nonviolence_weight + nonviolence_weight * v)
        * (1.0 + shared_weight * np.asarray(shared_identity, dtype=float))
        * (1.0 + home_weight * np.asarray(at_home, dtype=float))
        * (1.0 + lethality_weight * lethality)
    )


def conscience_factor(spread: float, z: ArrayLike) -> NDArray[np.float64]:
    """Each soldier's own multiplier of the moral cost, ``k = exp(sd z - sd^2 / 2)``.

    ``z`` is a standard normal draw per soldier and ``sd`` (``soldiers.conscience_sd``) the spread
    of ``ln k``, so ``k`` is lognormal with mean 1 whatever ``sd``: the force's average moral cost
    is :func:`moral_cost`'s, while a few men find repressing a crowd far costlier than the rest and
    most somewhat less. With ``sd`` 0 every factor is exactly 1. Who refuses to fire on civilians
    is an individual matter as much as a unit's (Grossman 1995, *On Killing*), and Syria's
    defections in 2011 were individual decisions (Koehler, Ohl & Albrecht 2016, *Comparative
    Politics* 48(4)); the lognormal form is an assumption.
    """
    return np.exp(spread * np.asarray(z, dtype=float) - 0.5 * spread * spread)


def detection_probability(
    surveillance: float, safety_in_numbers: float, neighbour_left_share: ArrayLike
) -> NDArray[np.float64]:
    """Chance an attempt to leave is detected, ``q = s (1 - safety * n)``.

    Detection falls as more peers leave at once (safety in numbers; Granovetter 1978; Kuran 1991).
    """
    n = np.asarray(neighbour_left_share, dtype=float)
    return np.clip(surveillance * (1.0 - safety_in_numbers * n), 0.0, 1.0)


def follower_detection(
    detection: ArrayLike, followed: ArrayLike, share: float
) -> NDArray[np.float64]:
    """Chance a leaver is detected, for a soldier who follows his company commander over.

    ``q_f = k_f q`` for a soldier who goes over today because his company commander has defected
    (``soldiers.follow_commander``), and ``q`` (:func:`detection_probability`) for anyone else;
    ``k_f`` is ``soldiers.follower_detection``. Detection stands for the informants and military
    police who catch a soldier slipping away alone; a company that goes over behind its own
    officer leaves as an armed unit, and nobody in its chain of command is left to report it
    (Lee 2015, Defect or Defend?: Philippine units went over with their commanders in February
    1986; the reference article: in 1991 subordinate units followed their commanders). ``k_f = 1``
    treats a follower as a lone leaver (the rule before the parameter existed); its size is an
    assumption.
    """
    q = np.asarray(detection, dtype=float)
    return np.where(np.asarray(followed, dtype=bool), share * q, q)


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
    :func:`exit_share` of it counts toward desertion (exit; Albrecht & Ohl 2016):
    ``soldiers.legitimacy_desert_share``, and more for a conscript (``soldiers.conscript_exit``).
    The linear form is an assumption.
    """
    return weight * (1.0 - np.asarray(legitimacy, dtype=float))


def exit_share(
    desert_share: float, conscript_exit: float, conscript: ArrayLike
) -> NDArray[np.float64]:
    """Share of the principled motive that drives each soldier's exit (desertion).

    ``k = k_L + c (1 - k_L)`` for a conscript and ``k_L`` for anyone else, where ``k_L`` is
    ``soldiers.legitimacy_desert_share`` and ``c`` is ``soldiers.conscript_exit``. A conscript
    serves a term and goes back to civilian life; the bulk of Syria's desertions came from the
    rank and file, unwilling to fight rather than moved to take up arms (Ohl, Albrecht & Koehler
    2015, "For Money or Liberty?"; Barany 2016 on conscripts' ties to society), so the same
    misgiving about the regime that moves a career officer to voice moves a conscript toward
    exit. The form is an assumption; ``c = 0`` treats conscripts as professionals.
    """
    c = np.asarray(conscript, dtype=bool)
    return np.where(c, desert_share + conscript_exit * (1.0 - desert_share), desert_share)


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


def choice_probabilities(
    defect: ArrayLike, desert: ArrayLike, threshold: ArrayLike, noise: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Daily chances to defect and to desert under random utility (multinomial logit).

    Staying is worth the soldier's threshold ``theta``, defecting ``g_def`` and deserting
    ``g_des``; each option's value carries an independent Gumbel shock of scale ``tau``
    (``soldiers.choice_noise``) drawn anew every day, so
    ``P(k) = exp(U_k / tau) / (exp(theta / tau) + exp(g_def / tau) + exp(g_des / tau))``
    (McFadden 1974, "Conditional logit analysis of qualitative choice behavior"; the quantal
    response of McKelvey & Palfrey 1995). As ``tau`` goes to 0 the choice becomes
    :func:`soldier_choice`'s argmax. With ``tau > 0`` a soldier whose gain lies below his threshold
    still leaves with a small daily chance, so a share that leaves can build up over months
    instead of all at once or never. Returns ``(p_defect, p_desert)``; with ``tau = 0`` each is 0
    or 1 as :func:`soldier_choice` decides.
    """
    d = np.asarray(defect, dtype=float)
    e = np.asarray(desert, dtype=float)
    t = np.broadcast_to(np.asarray(threshold, dtype=float), d.shape)
    if noise <= 0:
        choice = soldier_choice(d, e, t)
        return (choice == DEFECTED).astype(float), (choice == DESERTED).astype(float)
    top = np.maximum(np.maximum(d, e), t)
    w_d, w_e, w_s = (np.exp((x - top) / noise) for x in (d, e, t))
    total = w_d + w_e + w_s
    return w_d / total, w_e / total


def noisy_choice(p_defect: ArrayLike, p_desert: ArrayLike, u: ArrayLike) -> NDArray[np.int8]:
    """Draw each soldier's choice from :func:`choice_probabilities` with one uniform ``u``.

    ``DEFECTED`` when ``u < p_def``, ``DESERTED`` when ``p_def <= u < p_def + p_des``, else
    ``LOYAL`` (stay): inverse-CDF sampling of the three options.
    """
    pd_ = np.asarray(p_defect, dtype=float)
    pe = np.asarray(p_desert, dtype=float)
    uu = np.asarray(u, dtype=float)
    out = np.full(pd_.shape, LOYAL, dtype=np.int8)
    out[uu < pd_ + pe] = DESERTED
    out[uu < pd_] = DEFECTED
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
