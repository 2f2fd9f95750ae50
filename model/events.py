"""Scheduled events (ODD section 7.8): what the regime, the opposition or outsiders do on a day.

A scenario's ``[[events]]`` are applied at the start of their day, before any agent decides.
Adding an event kind: its fields go in the registry, its effect in :func:`apply_events`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from defection.model import elites, rules
from defection.model.params import event_field_default
from defection.model.rules import ELITE_LOYAL

if TYPE_CHECKING:
    from defection.model.regime import RegimeModel


#: ``{(event kind, field): parameter}``: the parameter each event field sets when applied.
EVENT_SETS: dict[tuple[str, str], str] = {
    ("pay_cut", "pay"): "soldiers.pay",
    ("pay_cut", "arrears"): "soldiers.arrears",
    ("crackdown", "repression"): "regime.repression",
    ("crackdown", "lethality"): "regime.lethality",
    ("support", "regime_money"): "support.regime_money",
    ("support", "regime_troops"): "support.regime_troops",
    ("support", "opposition"): "support.opposition",
    ("opposition", "violent_share"): "opposition.violent_share",
    ("opposition", "amnesty"): "opposition.amnesty",
}


def event_sets(ev: dict[str, Any]) -> dict[str, str]:
    """``{field: parameter}`` an event sets when applied (fields left out with a default too)."""
    kind = ev.get("kind")
    out = {}
    for (k, f), param in EVENT_SETS.items():
        if k == kind and (f in ev or event_field_default(k, f) is not None):
            out[f] = param
    return out


def _get(ev: dict[str, Any], name: str) -> Any:
    """An event's field, or the registry's default for its kind."""
    return ev.get(name, event_field_default(ev["kind"], name))


def apply_events(m: RegimeModel, rng: np.random.Generator) -> None:
    """Apply the scenario's events scheduled for today, in file order, and log each."""
    for ev in m.scenario_def.events:
        if ev["day"] != m.day:
            continue
        kind = ev["kind"]
        if kind == "pay_cut":
            if "pay" in ev:
                m.p["soldiers.pay"] = ev["pay"]
            if "arrears" in ev:
                m.p["soldiers.arrears"] = ev["arrears"]
        elif kind == "crackdown":
            m.p["regime.repression"] = _get(ev, "repression")
            if "lethality" in ev:
                m.p["regime.lethality"] = ev["lethality"]
        elif kind == "elite_split":
            loyal = np.flatnonzero(m.elites.state == ELITE_LOYAL)
            n = int(round(_get(ev, "share") * loyal.size))
            if n:
                elites.defect(m, np.sort(rng.choice(loyal, size=n, replace=False)), rng)
        elif kind == "coup":
            coup(m, ev, rng)
        elif kind == "support":
            for field in ("regime_money", "regime_troops", "opposition"):
                if field in ev:
                    m.p[f"support.{field}"] = ev[field]
        elif kind == "opposition":
            for field in ("violent_share", "amnesty"):
                if field in ev:
                    m.p[f"opposition.{field}"] = ev[field]
        elif kind == "legitimacy_shock":
            idx = [m.region_names.index(ev["region"])] if ev.get("region") else slice(None)
            m.legitimacy[idx] = np.clip(m.legitimacy[idx] + _get(ev, "delta"), 0, 1)
        m.log.append((m.day, event_text(ev)))


def coup(m: RegimeModel, ev: dict[str, Any], rng: np.random.Generator) -> None:
    """A faction of elites tries to seize the centre with its client companies in the capital.

    The faction is ``share`` of the loyal elites (at least one), drawn from those
    :func:`~defection.model.rules.coup_pool` allows (``faction``: any, or hard-liners only), and
    never more than it allows; the coup itself is :func:`~defection.model.elites.attempt` (by
    force), at the event's ``legitimacy_cost``.
    """
    e = m.elites
    loyal = np.flatnonzero(e.state == ELITE_LOYAL)
    n = max(1, int(round(_get(ev, "share") * loyal.size))) if loyal.size else 0
    pool = loyal[rules.coup_pool(e.softline[loyal], _get(ev, "faction"))]
    n = min(n, pool.size)
    faction = np.sort(rng.choice(pool, size=n, replace=False)) if n else loyal[:0]
    elites.attempt(m, faction, _get(ev, "legitimacy_cost"))


def event_text(ev: dict[str, Any]) -> str:
    """The event-log line of an event: its kind, its fields and its note."""
    extra = ", ".join(f"{k}={v}" for k, v in ev.items() if k not in ("day", "kind", "note"))
    note = f": {ev['note']}" if ev.get("note") else ""
    return f"event {ev['kind']}" + (f" ({extra})" if extra else "") + note
