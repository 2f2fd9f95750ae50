"""Soldiers (ODD sections 3 and 7.4): crowd duty; the choice to stay, shirk, desert or defect.

The choice is computed for every soldier still in the force at once from the pure rules of
:mod:`defection.model.rules`; this module gathers their inputs from the state arrays and writes
the result back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from defection.model import soldier_rules
from defection.model.rules import (
    ACTIVE,
    DEFECTED,
    DESERTED,
    DETAINED,
    LOYAL,
    OFFICER,
    SHIRKING,
)
from defection.model.space import diamond_offsets

if TYPE_CHECKING:
    from defection.model.regime import RegimeModel


def draw_duty(m: RegimeModel, rng: np.random.Generator) -> None:
    """Today's crowd duty: each soldier in the force goes out with the repression order.

    ``P(duty) = regime.repression``, times ``1 - regime.selective_deployment`` for regular
    soldiers outside the core group (trusted units are deployed first), and times
    ``1 - police.duty_first x (share of the police still in service)`` for everyone but the
    police (the police go first; :func:`~defection.model.soldier_rules.duty_chance`).
    """
    s, p = m.soldiers, m.p
    in_force = (s.state == LOYAL) | (s.state == SHIRKING)
    trusted = s.guard | (s.group == m.core_group)
    n_police = int(s.police.sum())
    serving = float((in_force & s.police).sum()) / n_police if n_police else 0.0
    chance = soldier_rules.duty_chance(
        p["regime.repression"],
        trusted,
        p["regime.selective_deployment"],
        s.police,
        p["police.duty_first"],
        serving,
    )
    s.on_duty = in_force & (rng.random(s.state.size) < chance)


def decide(
    m: RegimeModel,
    counts: dict[str, NDArray[np.int32]],
    n_left: NDArray[np.float64],
    belief: NDArray[np.float64],
    rng: np.random.Generator,
) -> None:
    """Every soldier in the force chooses: stay loyal, shirk, desert or defect (ODD 7.4).

    Args:
        m: The model.
        counts: Actives and violent actives in each soldier's vision
            (:func:`defection.model.protesters.neighbourhood_counts` with ``for_soldiers``).
        n_left: Share of each soldier's network neighbours who have left.
        belief: Each soldier's belief that the regime survives.
        rng: The soldiers' stream (commanders' pull, detection, purges).
    """
    s, p, u, pr = m.soldiers, m.p, m.units, m.protesters
    if s.state.size == 0:
        return
    idx = np.flatnonzero((s.state == LOYAL) | (s.state == SHIRKING))
    R, G = len(m.region_names), m.n_groups
    act_v, vio_v = crowd_in_vision(
        counts["actives_sv"], counts["violent_sv"], s.pos[idx], s.region[idx], R
    )
    n_vis = len(diamond_offsets(p["soldiers.vision"]))
    crowd = act_v / n_vis
    nonviolent = np.divide(act_v - vio_v, act_v, out=np.ones_like(act_v), where=act_v > 0)
    active = pr.state == ACTIVE
    by_rg = np.bincount(pr.region[active] * G + pr.group[active], minlength=R * G)
    by_r = by_rg.reshape(R, G).sum(axis=1)
    reg, grp = s.region[idx], s.group[idx]
    shared = np.divide(
        by_rg[reg * G + grp].astype(float), by_r[reg], out=np.zeros(idx.size), where=by_r[reg] > 0
    )
    mc = (
        soldier_rules.moral_cost(
            p["soldiers.moral_cost"],
            crowd,
            p["soldiers.crowd_scale"],
            nonviolent,
            shared,
            p["soldiers.shared_identity"],
            s.home[idx] == reg,
            p["soldiers.home_region"],
            p["regime.lethality"],
            p["soldiers.lethality_weight"],
            p["soldiers.nonviolence_weight"],
        )
        * s.conscience[idx]
    )
    rank = s.rank[idx]
    officer = rank == OFFICER
    bonus = soldier_rules.rank_bonus(
        p["soldiers.officer_bonus"], rank, p["soldiers.nco_bonus_share"]
    )
    stake = p["soldiers.business_stake"] * officer
    loyalty = s.loyalty[idx] + p["soldiers.indoctrination"]
    b, n = belief[idx], n_left[idx]
    duty = s.on_duty[idx]
    # pay: the patron tops up the shortfall below the scenario's pay; conscripts get a share
    paid = soldier_rules.pay_received(
        p["soldiers.pay"],
        p["soldiers.arrears"],
        m.scenario_def.params["soldiers.pay"],
        p["support.regime_money"],
        np.where(s.conscript[idx], p["soldiers.conscript_pay"], 1.0),
    )
    stay = soldier_rules.stay_value(
        paid,
        p["soldiers.w_pay"],
        bonus,
        stake,
        b,
        loyalty,
        mc,
        duty,
    )
    q = soldier_rules.detection_probability(
        p["soldiers.surveillance"], p["soldiers.safety_in_numbers"], n
    )
    punish = p["soldiers.punishment"] + p["soldiers.family_reprisal"] * s.exposure[idx]
    reward = soldier_rules.defection_reward(
        p["opposition.amnesty"],
        p["opposition.defector_value"],
        officer,
        p["opposition.officer_reward_factor"],
        grp == m.core_group,
        p["soldiers.core_tied_fate"],
        soldier_rules.opposition_backing(p["opposition.w_support"], p["support.opposition"]),
    )
    # principled motive: the regime's illegitimacy among his home region and identity group
    legit = np.clip(m.legitimacy[s.home[idx]] + m.group_shift[grp], 0.0, 1.0)
    principled = soldier_rules.principled_gain(p["soldiers.w_legitimacy"], legit)
    g_def = soldier_rules.defect_gain(
        stay,
        b,
        reward,
        q,
        punish,
        n,
        p["soldiers.peer_weight"],
        p["opposition.fight_risk"],
        principled,
    )
    g_des = soldier_rules.desert_gain(
        stay,
        b,
        q,
        punish,
        p["soldiers.desert_punishment"],
        p["soldiers.exit_barrier"],
        n,
        p["soldiers.peer_weight"],
        soldier_rules.exit_share(
            p["soldiers.legitimacy_desert_share"], p["soldiers.conscript_exit"], s.conscript[idx]
        )
        * principled,
    )
    noise = p["soldiers.choice_noise"]
    if noise > 0:  # random utility: a daily logit choice (draws only when switched on)
        p_def, p_des = soldier_rules.choice_probabilities(g_def, g_des, s.threshold[idx], noise)
        choice = soldier_rules.noisy_choice(p_def, p_des, rng.random(idx.size))
    else:
        choice = soldier_rules.soldier_choice(g_def, g_des, s.threshold[idx])
    # commanders who defected pull their companies
    cmd = u.company_commander[u.company[idx]]
    follow = (s.state[cmd] == DEFECTED) & (cmd != idx)
    follow &= rng.random(idx.size) < p["soldiers.follow_commander"]
    followed = follow & (choice == LOYAL)
    choice = np.where(followed, DEFECTED, choice)
    leaving = choice != LOYAL
    q_leave = soldier_rules.follower_detection(q, followed, p["soldiers.follower_detection"])
    detected = leaving & (rng.random(idx.size) < q_leave)
    new = np.where(detected, DETAINED, choice)
    stayers = ~leaving
    shirk = soldier_rules.shirks(mc, loyalty, b * q * punish, duty)
    new = np.where(stayers, np.where(shirk, SHIRKING, LOYAL), new)
    # purges: wavering officers detained
    wavering = stayers & officer & (np.maximum(g_def, g_des) > 0)
    purged = wavering & (rng.random(idx.size) < p["soldiers.purge_rate"])
    new = np.where(purged, DETAINED, new).astype(np.int8)
    gone = idx[new >= DESERTED]
    s.state[idx] = new
    s.on_duty &= s.state == LOYAL
    leave_grid(m, gone)


def crowd_in_vision(
    actives: NDArray[np.int32],
    violent: NDArray[np.int32],
    cells: NDArray[np.int64],
    region: NDArray[np.int64],
    n_regions: int,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Actives and violent actives each soldier faces: ``(actives, violent)`` per soldier.

    A soldier on the map counts those within his vision of his cell (``actives`` and
    ``violent`` hold the counts around every cell, region after region). A soldier who serves
    off the map (cell -1, ``soldiers.min_agents``) faces the mean of those counts over his
    region's cells: the crowd a soldier standing anywhere in his region's streets would see
    (docs/ODD.md 7.4). With every soldier on the map this is the Epstein (2002) count itself.
    """
    on = cells >= 0
    if on.all():
        return actives[cells].astype(float), violent[cells].astype(float)
    act = np.empty(cells.size)
    vio = np.empty(cells.size)
    act[on] = actives[cells[on]]
    vio[on] = violent[cells[on]]
    off = ~on
    act[off] = actives.reshape(n_regions, -1).mean(axis=1)[region[off]]
    vio[off] = violent.reshape(n_regions, -1).mean(axis=1)[region[off]]
    return act, vio


def leave_grid(m: RegimeModel, who: NDArray[np.int64]) -> None:
    """Take soldiers ``who`` (indices) off the grid: they deserted, defected or were detained."""
    s = m.soldiers
    on = who[s.pos[who] >= 0]
    m.occupant[s.pos[on]] = -1
    s.pos[on] = -1
