"""Coding a case from its features (issue #10 section 2; documented in docs/CASES.md).

Political scientists know a case's features, not utility weights. A case is coded as
:class:`Features`: NAVCO's columns (peak participation, method, regime violence, outside aid to
the regime, foreign-state support to the campaign, a violent flank) and the force structure
(force size, guard share, ethnic stacking, the ruling group's share, pay, arrears, an elite
soft-line faction, how far officers follow a patron who breaks). A feature the
coder does not know is ``None`` and is drawn from its documented prior (:data:`PRIORS`); for NAVCO
campaigns the force structure is always unknown. :func:`scenario_doc` turns features, drawn
values and the mapping coefficients (:data:`MAPPING`, the part of the mapping that is not a
structural fact and is calibrated with the behavioural parameters) into a scenario document that
:func:`defection.model.scenario.from_dict` validates like any scenario file.

What the mapping may write: only facts and what the regime or outside actors did. Defections and
outcomes are never inputs: they must emerge. The stated participation is an input (it sizes the
protester pool, docs/ODD.md's measurement model), never a target.

Test-set campaigns of the committed NAVCO split are refused unless ``allow_test=True``, which
only the final validation report passes (never tune on the test set).

``defection validate --navco ID`` prints a coded campaign's features (:func:`describe`), the
values the mapping wrote (:func:`mapped_values`) and its problems, and writes its scenario as a
TOML file (:func:`scenario_toml`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import numpy as np
import pandas as pd

from defection.calibration import navco
from defection.model.params import Param

A = "assumption: "


def _m(name: str, default: float, lo: float, hi: float, unit: str, meaning: str, source: str):
    return Param(f"case.{name}", default, "float", lo, hi, unit, meaning, source, "behavioural")


# fmt: off
#: Coefficients of the feature-to-scenario mapping that no source fixes: calibrated with the
#: behavioural parameters (role ``behavioural``), addressed as ``case.<name>``.
MAPPING: dict[str, Param] = {p.name: p for p in (
    _m("violent_share_nonviolent", 0.05, 0.0, 0.3, "share", "opposition.violent_share of a campaign coded nonviolent (NAVCO NONVIOL = 1).", A + "a primarily nonviolent campaign still has some violent participants"),  # noqa: E501
    _m("violent_share_violent", 0.8, 0.5, 1.0, "share", "opposition.violent_share of a campaign coded violent (NAVCO VIOL = 1).", A + "a primarily violent campaign"),  # noqa: E501
    _m("flank_violent_share", 0.15, 0.0, 0.4, "share", "Added to a nonviolent campaign's violent share when it has a violent flank (NAVCO VIOLENT FLANK = 1).", "Chenoweth & Schock 2015 (violent flanks); " + A + "size"),  # noqa: E501
    _m("lethality_regviol", 0.5, 0.1, 1.0, "share", "regime.lethality of the crackdown when the regime used violent repression (NAVCO REGVIOL = 1).", A + "violent repression is lethal to a degree no column records"),  # noqa: E501
    _m("repression_regviol", 0.9, 0.5, 1.0, "share", "regime.repression of that crackdown.", A + "a crackdown sends most loyal soldiers out"),  # noqa: E501
    _m("patronage_weight", 0.0, 0.0, 1.0, "share", "How much of elites.client_follow a coded campaign takes from its feature patronage: (1 - w) x the registry's single value + w x patronage. At 0 every campaign keeps the single value, as every calibration so far was fitted; at 1 it is coded per campaign.", "Lee 2015, Defect or Defend? (officers follow a patron's break in some militaries, the chain of command in others); " + A + "0 until a calibration is fitted with the coded patronage"),  # noqa: E501
)}
# fmt: on


@dataclass(frozen=True)
class Prior:
    """A documented prior for a feature a coder does not know.

    Attributes:
        kind: ``uniform``, ``loguniform`` or ``bernoulli``.
        lo: Lower bound (``bernoulli``: unused).
        hi: Upper bound (``bernoulli``: the probability of 1).
        why: The source or the assumption, with the reason.
    """

    kind: str
    lo: float
    hi: float
    why: str

    def label(self) -> str:
        """The distribution in a few words: ``Bernoulli(0.5)``, ``uniform 0-0.3``."""
        if self.kind == "bernoulli":
            return f"Bernoulli({self.hi:g})"
        kind = "log-uniform" if self.kind == "loguniform" else self.kind
        return f"{kind} {self.lo:g}-{self.hi:g}"

    def draw(self, rng: np.random.Generator) -> float:
        """One draw."""
        if self.kind == "uniform":
            return float(rng.uniform(self.lo, self.hi))
        if self.kind == "loguniform":
            return float(math.exp(rng.uniform(math.log(self.lo), math.log(self.hi))))
        return float(rng.random() < self.hi)


@dataclass(frozen=True)
class Features:
    """What a coder knows of a case; ``None`` means unknown (drawn from :data:`PRIORS`).

    Attributes:
        name: Scenario name (identifier rule of the scenario schema).
        title: Human-readable title.
        cite: Where the known features come from (written as their source).
        population: The country's population in people (NAVCO's LOCATION).
        participation: Peak participants / population (NAVCO's share).
        method: ``nonviolent`` or ``violent`` (NAVCO NONVIOL / VIOL).
        regime_violence: The regime used violent repression (REGVIOL).
        regime_aid: The regime received outside material support (REGAID).
        state_support: The campaign received support from a foreign state (STATESUP).
        violent_flank: A violent flank alongside a nonviolent campaign (VIOLENT FLANK).
        force_share: Security force (army and guards) as a share of the population.
        guard_share: Share of the force in separate guard units (counterbalancing).
        ethnic_stacking: Chance an officer or guard comes from the ruling group.
        ruling_share: The ruling (core) identity group's share of the population.
        pay: Soldiers' pay relative to subsistence.
        arrears: Share of pay not paid.
        legitimacy: Regime legitimacy among the public before the campaign.
        crackdown_day: Day of the violent crackdown when the regime used violent repression.
        police_share: Share of the security force in police and interior troops.
        conscript_share: Share of the army's rank and file who are conscripts.
        aid_money: Share of the wage bill an outside patron covers, when the regime has aid.
        softline_share: Share of the inner circle in a soft-line faction open before the crisis
            (an elite split in structure, not one the crisis produced).
        patronage: Chance that an insider's client company commander goes over with him when
            he breaks publicly: how far officers follow a patron rather than the chain of
            command (``elites.client_follow``).
    """

    name: str
    title: str
    cite: str
    population: float
    participation: float
    method: str
    regime_violence: bool | None = None
    regime_aid: bool | None = None
    state_support: bool | None = None
    violent_flank: bool | None = None
    force_share: float | None = None
    guard_share: float | None = None
    ethnic_stacking: float | None = None
    ruling_share: float | None = None
    pay: float | None = None
    arrears: float | None = None
    legitimacy: float | None = None
    crackdown_day: float | None = None
    police_share: float | None = None
    conscript_share: float | None = None
    aid_money: float | None = None
    softline_share: float | None = None
    patronage: float | None = None


# fmt: off
#: Priors of the features a coder may not know (all force-structure features, for NAVCO).
PRIORS: dict[str, Prior] = {
    "regime_violence": Prior("bernoulli", 0, 0.5, A + "even odds when NAVCO's REGVIOL is missing"),  # noqa: E501
    "regime_aid": Prior("bernoulli", 0, 0.5, A + "even odds when REGAID is missing"),
    "state_support": Prior("bernoulli", 0, 0.3, A + "foreign-state support is the exception (about a quarter of NAVCO's campaigns)"),  # noqa: E501
    "violent_flank": Prior("bernoulli", 0, 0.3, A + "flanks are the exception when the column is missing"),  # noqa: E501
    "force_share": Prior("loguniform", 0.002, 0.01, "military participation ratios of most states lie between 0.2 % and 1 % of the population (a common reading of IISS Military Balance figures); " + A + "log-uniform"),  # noqa: E501
    "guard_share": Prior("uniform", 0.0, 0.3, "Quinlivan 1999 and De Bruin 2020 (counterweights are common in autocracies, rarely above a third of the force); " + A + "uniform"),  # noqa: E501
    "ethnic_stacking": Prior("uniform", 0.0, 0.6, "McLauchlin 2010 (stacking ranges from none to near-total in the officer corps); " + A + "uniform below 0.6"),  # noqa: E501
    "ruling_share": Prior("uniform", 0.05, 0.5, A + "the ruling group is a minority or a bare majority"),  # noqa: E501
    "pay": Prior("uniform", 0.6, 1.4, "Albrecht & Ohl 2016 (pay from meagre to privileged); " + A + "relative scale"),  # noqa: E501
    "arrears": Prior("uniform", 0.0, 0.3, "'For Money or Liberty?' (arrears during crises); " + A + "range"),  # noqa: E501
    "legitimacy": Prior("uniform", 0.55, 0.85, "Epstein 2002 uses 0.82 for a regime that mostly holds; " + A + "a campaign arises when legitimacy is eroded"),  # noqa: E501
    "crackdown_day": Prior("uniform", 1, 60, A + "violent repression comes within the first two months of the peak year"),  # noqa: E501
    "police_share": Prior("uniform", 0.1, 0.4, A + "police and interior troops are a large minority of most regimes' coercive forces"),  # noqa: E501
    "conscript_share": Prior("uniform", 0.0, 0.8, A + "from all-volunteer to mostly conscript armies"),  # noqa: E501
    "aid_money": Prior("uniform", 0.2, 1.0, A + "NAVCO's REGAID records that material aid came, not how much of the wage bill it covered"),  # noqa: E501
    "softline_share": Prior("uniform", 0.0, 0.4, "O'Donnell & Schmitter 1986, Tentative Conclusions, p. 19 (divisions inside the regime precede transitions); " + A + "from no open faction to a large minority of the inner circle (a majority faction would already rule); drawn after the features of model version 6, so their draws are unchanged"),  # noqa: E501
    "patronage": Prior("loguniform", 0.01, 0.5, "Lee 2015, Defect or Defend? (whether officers follow a patron's break or the chain of command differs between militaries); " + A + "log-uniform from an institutional chain of command (1 client commander in 100 follows) to patrimonial networks (half follow, about the single value 0.496 of the first calibration, the registry default every hand-written case keeps); drawn last, so the draws of the other priors are those of model version 8"),  # noqa: E501
}
# fmt: on

#: Region layout of a campaign coded from features: the capital and the rest of the country.
CAPITAL_SHARE = 0.3
#: Grid side of each region of a coded campaign: two 40 x 40 regions, about 3,500 agents, well
#: under the calibration budget's 10,000 (issue #10 section 4).
GRID_SIDE = 40


class CaseError(ValueError):
    """A case cannot be coded (a test-set campaign, or a missing participation figure)."""


def unknown(features: Features) -> list[str]:
    """Names of the features that are ``None`` (to be drawn from :data:`PRIORS`)."""
    return [f.name for f in fields(features) if getattr(features, f.name) is None]


#: Feature behind each scenario value :func:`scenario_doc` writes (``None``: the template).
WRITES: dict[str, str | None] = {
    "run.horizon": None,
    "grid.width": None,
    "grid.height": None,
    "protest.peak_share": "participation",
    "protest.legitimacy": "legitimacy",
    "opposition.violent_share": "method",
    "soldiers.force": "force_share",
    "soldiers.guard_share": "guard_share",
    "soldiers.ethnic_stacking": "ethnic_stacking",
    "soldiers.pay": "pay",
    "soldiers.arrears": "arrears",
    "soldiers.conscript_share": "conscript_share",
    "police.share": "police_share",
    "elites.softline_share": "softline_share",
    "elites.client_follow": "patronage",
    "support.regime_money": "regime_aid",
    "support.opposition": "state_support",
    "groups": "ruling_share",
    "regions": "population",
    "events": "regime_violence",
}

#: Why the template's own values are what they are.
TEMPLATE_SOURCES = {
    "run.horizon": "docs/MEASUREMENT.md section 1: a NAVCO campaign is read over 365 days",
    "grid.width": A + "two 40 x 40 regions keep a campaign run near 3,500 agents (budget of "
    "issue #10 section 4)",
    "grid.height": A + "as grid.width",
}


def draw_unknowns(features: Features, rng: np.random.Generator) -> Features:
    """Fill every unknown feature with a draw from its prior, in :data:`PRIORS` order.

    One draw per prior whether or not the feature is known, so that the draws of the unknown
    features do not depend on which others are known (common random numbers across codings).
    """
    filled = {}
    for name, prior in PRIORS.items():
        value = prior.draw(rng)
        if getattr(features, name) is None:
            filled[name] = bool(value) if prior.kind == "bernoulli" else value
    return replace(features, **filled)


def coefficients(values: dict[str, float] | None = None) -> dict[str, float]:
    """The mapping coefficients: defaults, with ``values`` (by ``case.<name>``) applied."""
    out = {name: p.default for name, p in MAPPING.items()}
    for name, value in (values or {}).items():
        if name not in MAPPING:
            raise CaseError(f"`{name}`: not a mapping coefficient ({', '.join(MAPPING)})")
        p = MAPPING[name]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise CaseError(f"`{name}`: must be a number in [{p.lo}, {p.hi}] (got {value!r})")
        if not p.lo <= value <= p.hi:
            raise CaseError(f"`{name}`: must be in [{p.lo}, {p.hi}] (got {value})")
        out[name] = float(value)
    return out


def scenario_doc(
    features: Features, coeffs: dict[str, float] | None = None, coded: Features | None = None
) -> dict[str, Any]:
    """The scenario document of fully known features (see :func:`draw_unknowns`).

    ``coded`` is the case as coded, before the draws: the ``[sources]`` table then says which
    values are inputs (``features.cite``) and which were drawn from a prior.

    Inputs written: the stated peak (``protest.peak_share``), the population in two regions,
    legitimacy, the force in people and its structure (guards, stacking, pay, arrears, police,
    conscripts), an elite soft-line faction open before the crisis, how far client commanders
    follow their patron, the method as a violent share, outside support (REGAID as the share of
    the wage bill a patron covers, STATESUP as full backing of the campaign) and a crackdown
    event when the regime used violent repression.

    Raises:
        CaseError: A feature is still unknown, or the method is neither nonviolent nor violent.
    """
    missing = unknown(features)
    if missing:
        raise CaseError(f"{features.name}: unknown features must be drawn first: {missing}")
    drawn = set(unknown(coded)) if coded is not None else set()
    if features.method not in navco.METHODS:
        raise CaseError(f"{features.name}: method must be one of {navco.METHODS}")
    c = coefficients(coeffs)
    f = features
    if f.method == "violent":
        violent = c["case.violent_share_violent"]
    else:
        violent = c["case.violent_share_nonviolent"]
        if f.violent_flank:
            violent = min(1.0, violent + c["case.flank_violent_share"])
    pop = float(f.population)
    mix = {"majority": 1.0 - f.ruling_share, "ruling": f.ruling_share}
    doc: dict[str, Any] = {
        "scenario": {
            "name": f.name,
            "title": f.title,
            "description": (
                f"Coded from features: {f.method}, peak participation {f.participation:.3%}; "
                f"regime violence {int(bool(f.regime_violence))}, outside aid to the regime "
                f"{int(bool(f.regime_aid))}, foreign-state support {int(bool(f.state_support))}."
            ),
            "historical": True,
        },
        "run": {"horizon": navco_window()},
        "grid": {"width": GRID_SIDE, "height": GRID_SIDE},
        "protest": {"peak_share": f.participation, "legitimacy": f.legitimacy},
        "opposition": {"violent_share": violent},
        "soldiers": {
            "force": f.force_share * pop,
            "guard_share": f.guard_share,
            "ethnic_stacking": f.ethnic_stacking,
            "pay": f.pay,
            "arrears": f.arrears,
            "conscript_share": f.conscript_share,
        },
        "police": {"share": f.police_share},
        "elites": {"softline_share": f.softline_share},
        "support": {
            "regime_money": f.aid_money if f.regime_aid else 0.0,
            "opposition": 1.0 if f.state_support else 0.0,
        },
        "groups": [
            {"name": "majority", "share": mix["majority"]},
            {"name": "ruling", "core": True, "share": mix["ruling"]},
        ],
        "regions": [
            {"name": "capital", "capital": True, "population": CAPITAL_SHARE * pop},
            {"name": "country", "population": (1.0 - CAPITAL_SHARE) * pop},
        ],
        "events": [],
    }
    w = c["case.patronage_weight"]
    if w > 0:
        doc["elites"]["client_follow"] = client_follow(f.patronage, w)
    doc["sources"] = _sources(f, drawn, c)
    if f.regime_violence:
        doc["events"].append(
            {
                "day": int(round(f.crackdown_day)),
                "kind": "crackdown",
                "repression": c["case.repression_regviol"],
                "lethality": c["case.lethality_regviol"],
                "note": "violent repression (NAVCO REGVIOL = 1); the day is drawn",
            }
        )
    return doc


def client_follow(patronage: float, weight: float) -> float:
    """``elites.client_follow`` of a coded case: ``(1 - w) c0 + w patronage``.

    ``c0`` is the registry's single value (the first calibration's), ``w`` the mapping
    coefficient ``case.patronage_weight``: at ``w = 1`` the case's own patronage (whether its
    officers follow a patron's break or the chain of command; Lee 2015, *Defect or Defend?*),
    at ``w = 0`` the single value every calibration so far was fitted with.
    """
    from defection.model.params import BY_NAME

    if weight >= 1.0:
        return float(patronage)
    return (1.0 - weight) * BY_NAME["elites.client_follow"].default + weight * float(patronage)


def _sources(f: Features, drawn: set[str], c: dict[str, float]) -> dict[str, str]:
    """The ``[sources]`` table: the case's citation for inputs, the prior for drawn values."""
    out = {}
    for key, feature in WRITES.items():
        if key == "elites.client_follow" and not c["case.patronage_weight"] > 0:
            continue  # not written: the registry's single value
        if feature is None:
            out[key] = TEMPLATE_SOURCES[key]
        elif feature in drawn:
            out[key] = f"assumption: drawn from the prior of `{feature}` ({PRIORS[feature].why})"
        else:
            out[key] = f"{f.cite} (feature `{feature}`)"
    out["opposition.violent_share"] += (
        "; mapped by case.violent_share_* and case.flank_violent_share: assumption: mapping "
        "coefficients at "
        + ", ".join(f"{k} = {v:g}" for k, v in sorted(c.items()) if "violent" in k)
        + " until calibrated"
    )
    out["regions"] += f"; assumption: {CAPITAL_SHARE:.0%} of the people in the capital region"
    if f.regime_aid:
        src = "drawn" if "aid_money" in drawn else "input"
        out["support.regime_money"] += f"; the wage-bill share covered is {src} (`aid_money`)"
    out["support.opposition"] += "; assumption: backing coded as 1 (full) when present"
    if "elites.client_follow" in out:
        out["elites.client_follow"] += (
            f"; mapped by case.patronage_weight = {c['case.patronage_weight']:g} (1: the "
            "feature itself; below 1 blended with the registry's single value)"
        )
    out["groups"] += "; assumption: two groups, the ruling one the regime's core"
    return out


def navco_window() -> int:
    """Days simulated for a NAVCO campaign (docs/MEASUREMENT.md section 1)."""
    from defection.model.outputs import WINDOW_DAYS

    return WINDOW_DAYS


def _flag(value: Any) -> bool | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return bool(int(value))


def navco_features(
    campaign_id: int,
    units: pd.DataFrame | None = None,
    split: pd.DataFrame | None = None,
    *,
    allow_test: bool = False,
) -> Features:
    """The features NAVCO codes for one regime-change campaign (force structure unknown).

    The population is PARTICIPATION / share (the file gives no population column).

    Raises:
        CaseError: No such NAVCO ID, not a regime-change campaign of the split, a test-set
            campaign without ``allow_test``, or no participation figure (such campaigns are left
            out of model runs; docs/CASES.md). One line each.
    """
    split = navco.read_split() if split is None else split
    sets = split.groupby(navco.ID)["set"].first()
    if campaign_id not in sets.index:
        if campaign_id not in set(navco.campaigns(navco.load_rows())[navco.ID]):
            raise CaseError(f"NAVCO ID {campaign_id}: no such campaign in NAVCO 1.2")
        raise CaseError(
            f"NAVCO ID {campaign_id}: not a regime-change campaign of the split (REGCHANGE is "
            "not 1: outside the model's domain, docs/DATA.md)"
        )
    if sets[campaign_id] != "fit" and not allow_test:
        raise CaseError(
            f"NAVCO ID {campaign_id}: in the test set, touched only by the final validation "
            "(`defection validation --test-set`); choose a fitting-set campaign"
        )
    if units is None:
        units = navco.regime_change(navco.campaigns(navco.load_rows()))
    row = units.loc[units[navco.ID] == campaign_id].iloc[0]
    share = row["share"]
    if not share or not np.isfinite(share) or not row["PARTICIPATION"] > 0:
        raise CaseError(
            f"NAVCO ID {campaign_id}: no participation figure (PERCENTAGE POPULAR PARTICIPATION "
            "is 0), so it is not coded or run (docs/CASES.md)"
        )
    return Features(
        name=f"navco_{campaign_id}",
        cite=f"NAVCO 1.2 (Chenoweth & Shay 2019), ID {campaign_id}",
        title=f"{row['CAMPAIGN']} ({row['LOCATION']}, {row['BYEAR']}-{row['EYEAR']})",
        population=float(row["PARTICIPATION"] / share),
        participation=float(share),
        method=str(row["method"]),
        regime_violence=_flag(row["REGVIOL"]),
        regime_aid=_flag(row["REGAID"]),
        state_support=_flag(row["STATESUP"]),
        violent_flank=_flag(row["VIOLENT FLANK"]),
    )


#: The NAVCO column behind each feature NAVCO codes (:func:`navco_features`).
NAVCO_COLUMNS = {
    "population": "PARTICIPATION / PERCENTAGE POPULAR PARTICIPATION",
    "participation": "PERCENTAGE POPULAR PARTICIPATION",
    "method": "NONVIOL, VIOL",
    "regime_violence": "REGVIOL",
    "regime_aid": "REGAID",
    "state_support": "STATESUP",
    "violent_flank": "VIOLENT FLANK",
}


def unused(drawn: Features, coeffs: dict[str, float] | None = None) -> dict[str, str]:
    """Features that :func:`scenario_doc` does not use for this case, with the reason.

    ``coeffs``: the mapping coefficients (defaults otherwise); at ``case.patronage_weight`` 0
    the feature ``patronage`` is drawn but not used.
    """
    out = {}
    if not coefficients(coeffs)["case.patronage_weight"] > 0:
        out["patronage"] = "case.patronage_weight = 0"
    if not drawn.regime_aid:
        out["aid_money"] = "regime_aid = 0"
    if not drawn.regime_violence:
        out["crackdown_day"] = "regime_violence = 0"
    if drawn.method == "violent":
        out["violent_flank"] = "a violent campaign"
    return out


def _feature_value(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return str(int(value))
    if name == "population":
        return f"{value:,.0f}"
    if name == "participation":
        return f"{value:.4g} ({value:.3%})"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def describe(
    features: Features, drawn: Features, coeffs: dict[str, float] | None = None
) -> list[tuple[str, str, str, str]]:
    """``(feature, value, source, prior)`` rows for a report of a coded case.

    Args:
        features: The case as coded (unknown features ``None``).
        drawn: The same case with the unknown features drawn (:func:`draw_unknowns`).
        coeffs: The mapping coefficients (defaults otherwise): which features are used.

    Returns:
        One row per feature: its value (booleans as 1/0), where it comes from (``input`` with
        its NAVCO column when it has one, or ``drawn``, with ``not used`` and the reason when the
        mapping ignores it for this case) and, for a drawn feature, its prior
        (:meth:`Prior.label`).
    """
    drawn_names = set(unknown(features))
    ignored = unused(drawn, coeffs)
    out = []
    for name, value in asdict(drawn).items():
        if name in ("name", "title", "cite"):
            continue
        if name in drawn_names:
            source, prior = "drawn", PRIORS[name].label()
        else:
            col = NAVCO_COLUMNS.get(name) if features.cite.startswith("NAVCO") else None
            source, prior = (f"input: NAVCO {col}" if col else "input"), ""
        if name in ignored:
            source += f"; not used ({ignored[name]})"
        out.append((name, _feature_value(name, value), source, prior))
    return out


def mapped_values(
    scenario: Any, drawn: Features, coeffs: dict[str, float] | None = None
) -> list[tuple[str, str, str]]:
    """``(scenario value, value, from)`` rows: what the mapping wrote and what it came from.

    The values are read from the built scenario (what the model gets); ``from`` names the
    feature behind each, or the ``case.*`` coefficient (:data:`MAPPING`) and its value.

    Args:
        scenario: The scenario :func:`scenario_doc` wrote for ``drawn``, resolved.
        drawn: The case's features with the unknown ones drawn.
        coeffs: The mapping coefficients it was written with (defaults otherwise).
    """
    c = coefficients(coeffs)
    p = scenario.params

    def num(v: Any) -> str:
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    def coef(name: str) -> str:
        return f"{name} = {c[name]:g}"

    rows = [(k, num(p[k]), f"template: {TEMPLATE_SOURCES[k]}") for k in TEMPLATE_SOURCES]
    rows.append(("protest.peak_share", num(p["protest.peak_share"]), "participation"))
    rows.append(("protest.legitimacy", num(p["protest.legitimacy"]), "legitimacy"))
    if drawn.method == "violent":
        how = f"method violent: {coef('case.violent_share_violent')}"
    elif drawn.violent_flank:
        how = (
            f"method nonviolent, violent flank: {coef('case.violent_share_nonviolent')} "
            f"+ {coef('case.flank_violent_share')} (at most 1)"
        )
    else:
        how = f"method nonviolent, no violent flank: {coef('case.violent_share_nonviolent')}"
    rows.append(("opposition.violent_share", num(p["opposition.violent_share"]), how))
    rows.append(
        (
            "soldiers.force",
            f"{p['soldiers.force']:,.0f}",
            f"force_share x population ({drawn.force_share:.4g} x {drawn.population:,.0f})",
        )
    )
    for key in (
        "soldiers.guard_share",
        "soldiers.ethnic_stacking",
        "soldiers.pay",
        "soldiers.arrears",
        "soldiers.conscript_share",
        "police.share",
    ):
        rows.append((key, num(p[key]), str(WRITES[key])))
    money = "aid_money (regime_aid = 1)" if drawn.regime_aid else "0: regime_aid = 0"
    rows.append(("support.regime_money", num(p["support.regime_money"]), money))
    backing = "1: state_support = 1" if drawn.state_support else "0: state_support = 0"
    rows.append(("support.opposition", num(p["support.opposition"]), backing))
    for g in scenario.groups:
        what = "ruling_share (the regime's core)" if g["core"] else "1 - ruling_share"
        rows.append((f"groups.{g['name']}.share", num(g["share"]), what))
    for r in scenario.regions:
        share = CAPITAL_SHARE if r["capital"] else 1.0 - CAPITAL_SHARE
        rows.append(
            (
                f"regions.{r['name']}.population",
                f"{r['population']:,.0f}",
                f"population x {share:.0%} (assumption)",
            )
        )
    if c["case.patronage_weight"] > 0:
        rows.append(
            (
                "elites.client_follow",
                num(p["elites.client_follow"]),
                f"patronage ({drawn.patronage:.4g}), {coef('case.patronage_weight')}",
            )
        )
    if not scenario.events:
        rows.append(("events", "none", "regime_violence = 0: no crackdown"))
    for i, e in enumerate(scenario.events):
        rows.append((f"events[{i}].day", str(e["day"]), "crackdown_day (regime_violence = 1)"))
        rows.append(
            (f"events[{i}].repression", num(e["repression"]), coef("case.repression_regviol"))
        )
        rows.append((f"events[{i}].lethality", num(e["lethality"]), coef("case.lethality_regviol")))
    return rows


def _toml_key(key: str) -> str:
    if key and all(ch.isascii() and (ch.isalnum() or ch in "_-") for ch in key):
        return key
    return _toml_string(key)


def _toml_string(text: str) -> str:
    escapes = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}
    out = []
    for ch in text:
        if ch in escapes:
            out.append(escapes[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)  # a float's repr reads back as the same float, in TOML too
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        inner = ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items())
        return "{ " + inner + " }" if inner else "{}"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def scenario_toml(doc: dict[str, Any], header: str = "") -> str:
    """A scenario document (as :func:`scenario_doc` writes it) as the text of a TOML file.

    Tables become ``[table]``, lists of tables ``[[table]]``, tables inside them inline tables;
    strings are escaped and floats written so that they read back exactly, so the file loads to
    the same scenario (``tests/test_cli_case.py``).

    Args:
        doc: Top-level tables (dicts) and arrays of tables (lists of dicts), scalar values.
        header: Comment lines written first (each gets ``# ``).
    """
    lines = [f"# {line}".rstrip() for line in header.splitlines()]

    def is_table(v: Any) -> bool:
        return isinstance(v, dict) or (bool(v) and isinstance(v, list) and _all_dicts(v))

    # plain values first: after a table header, a key belongs to that table
    plain = [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in doc.items() if not is_table(v)]
    if plain:
        lines += ["", *plain]
    for name, table in doc.items():
        if not is_table(table):
            continue
        many = isinstance(table, list)
        for t in table if many else [table]:
            lines += ["", f"[[{_toml_key(name)}]]" if many else f"[{_toml_key(name)}]"]
            lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in t.items()]
    return "\n".join(lines).lstrip("\n") + "\n"


def _all_dicts(values: list[Any]) -> bool:
    return all(isinstance(v, dict) for v in values)


#: Entropy of the draws of unknown features for NAVCO campaigns: draw ``k`` of campaign ``i`` uses
#: ``SeedSequence([DRAW_ENTROPY, i, k])``, so a campaign's k-th coding is the same everywhere.
DRAW_ENTROPY = 20261202


def coded_campaign(
    campaign_id: int,
    draw: int,
    coeffs: dict[str, float] | None = None,
    overrides: dict[str, Any] | None = None,
    *,
    units: pd.DataFrame | None = None,
    split: pd.DataFrame | None = None,
    allow_test: bool = False,
) -> tuple[Any, Features]:
    """The ``draw``-th coding of a NAVCO campaign as a validated scenario, and its features.

    Args:
        campaign_id: NAVCO ID (a regime-change campaign of the split).
        draw: Which draw of the unknown features (0, 1, ...).
        coeffs: Mapping coefficients by ``case.<name>`` (defaults otherwise).
        overrides: Model parameters by address (e.g. behavioural ones being calibrated).
        units: Campaign units (loaded if not given).
        split: The split (read if not given).
        allow_test: Only the final validation report passes True.

    Returns:
        ``(scenario, drawn features)``.
    """
    from defection.model.scenario import from_dict

    coded = navco_features(campaign_id, units, split, allow_test=allow_test)
    rng = np.random.default_rng(np.random.SeedSequence([DRAW_ENTROPY, campaign_id, draw]))
    drawn = draw_unknowns(coded, rng)
    scenario = from_dict(scenario_doc(drawn, coeffs, coded), f"navco:{campaign_id}")
    if overrides:
        scenario = scenario.with_overrides(overrides)
    return scenario, drawn
