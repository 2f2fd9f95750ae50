"""The parameter registry: every parameter of the model, defined once.

Each :class:`Param` carries its default, type, range, unit, meaning, source, its role
(behavioural, structure, lever, measurement or numerical: see :class:`Param`; the policy levers
are :data:`LEVERS`, the parameters calibration fits :data:`BEHAVIOURAL`) and whether the model
reads it only when built (:data:`BUILD_ONLY`). The scenario schema, ``defection run --set``, the
README table, the sweep axes and the UI sliders are all generated from :data:`PARAMS`; nothing
else defines a parameter. The fields of regions
(:data:`REGION_FIELDS`, :data:`REGION_OWN`), identity groups (:data:`GROUP_FIELDS`) and scheduled
events (:data:`EVENT_FIELDS`, with the defaults the model uses, :func:`event_field_default`) are
registry entries of the same kind. Values are checked against them in one place,
:mod:`defection.model.address`.

Addressing:
    A parameter is addressed by ``section.name`` (``soldiers.pay``). Parameters marked
    ``per_region`` may be overridden for one region with ``regions.<region>.<name>``
    (``regions.latvia.legitimacy`` overrides ``protest.legitimacy`` in Latvia only); the
    region-level key is the parameter's last part. Identity groups are addressed the same way,
    ``groups.<group>.<field>``.

Sources:
    ``source`` says where a default comes from. ``"Epstein 2002"`` and the like cite the published
    model; ``"assumption: ..."`` marks an uncalibrated choice with its reason. Scenario files record
    the sources of their own values in a ``[sources]`` table keyed by the same addresses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

ParamType = Literal["float", "int", "bool", "choice", "name"]
Role = Literal["behavioural", "structure", "lever", "measurement", "numerical"]
#: The roles, in the order of :data:`Role`.
ROLES: tuple[Role, ...] = get_args(Role)


@dataclass(frozen=True)
class Param:
    """One model parameter.

    Attributes:
        name: Dotted address, ``section.name``.
        default: Default value.
        type: ``float``, ``int``, ``bool``, ``choice`` or ``name`` (an identifier, see
            :mod:`defection.model.address`).
        lo: Lower bound (inclusive), numbers only.
        hi: Upper bound (inclusive), numbers only.
        unit: Unit of measurement ("share", "days", "cells", "utility", ...).
        meaning: One sentence saying what it does.
        source: Citation for the default, or ``"assumption: <reason>"``.
        role: What kind of quantity it is, one of :data:`ROLES`:

            - ``behavioural``: a weight or threshold of an agent's decision that no source
              measures; calibration fits these (:data:`BEHAVIOURAL`) and only these.
            - ``structure``: a fact of the case: sizes, shares, populations, legitimacy and
              hardship, grid geometry and vision, force structure and pay scales, the scripted
              events of a history.
            - ``lever``: a policy a regime or the opposition chooses; shown as a UI slider
              (:attr:`lever`, :data:`LEVERS`).
            - ``measurement``: how outputs are read: the outcome rules (``outcome.*``), the
              mobilisable share, the stated peak and its denominator (``protest.*``), and the
              protest signal's floor and ceiling.
            - ``numerical``: simulation machinery: the horizon, sub-steps, move tries, rounding and
              the switches that select a docking variant of the model (Epstein's movement and
              cops, Granovetter's threshold ladder).
        per_region: True if a region may override it (``regions.<r>.<leaf>``).
        choices: Allowed values for ``choice`` parameters.
        build_only: True if the model reads it only when it is built (a change needs a reset).
    """

    name: str
    default: Any
    type: ParamType
    lo: float | None
    hi: float | None
    unit: str
    meaning: str
    source: str
    role: Role
    per_region: bool = False
    choices: tuple[str, ...] = ()
    build_only: bool = False

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"{self.name}: role {self.role!r} is not one of {ROLES}")

    @property
    def lever(self) -> bool:
        """True for a policy lever (regime's or opposition's), i.e. role ``lever``."""
        return self.role == "lever"

    @property
    def section(self) -> str:
        """The TOML table the parameter lives in."""
        return self.name.split(".", 1)[0]

    @property
    def leaf(self) -> str:
        """The key inside its table (and inside a region table, if ``per_region``)."""
        return self.name.rsplit(".", 1)[1]


E02 = "Epstein 2002, PNAS 99(S3):7243, doi:10.1073/pnas.092080199"
MESA = "Mesa 3.5.1 example epstein_civil_violence"
G78 = "Granovetter 1978, AJS 83(6):1420"
A = "assumption: "
#: The source of a default fitted by history matching (issue #10, section 4): the calibrated
#: sample's medoid, rounded (calibration/promote.py; tests/test_calibrated_defaults.py holds them
#: to the sample's manifest). The thirteenth calibration (waves wave16_1 to wave16_3) made it,
#: refined by runs (calibration/refine16): model version 9.
CAL = (
    "calibrated: calibration/calibrated/sample.parquet (the sample's medoid, rounded; the "
    "thirteenth calibration, wave16_3 refined by runs, calibration/refine16)"
)
#: The source of a default the twelfth calibration fitted (model version 8's sample of record)
#: and the thirteenth held fixed: that sample's medoid, rounded
#: (calibration/calibrated_v8/manifest.json is the manifest it was promoted with).
CAL8 = (
    "calibrated: calibration/calibrated_v8/sample.parquet (model version 8's medoid, rounded: "
    "wave15_3 refined by runs, calibration/refine15; held there by the thirteenth calibration)"
)
#: The source of a default the second calibration fitted (model version 6's sample of record)
#: and the third to twelfth held fixed: that sample's medoid, rounded
#: (calibration/calibrated_v6/manifest.json is the manifest it was promoted with).
CAL6 = (
    "calibrated: calibration/calibrated_v6/sample.parquet (model version 6's medoid, rounded: "
    "wave5_3 refined by runs, calibration/refine5; held there by the twelfth and thirteenth "
    "calibrations)"
)
#: The source of the ruler's concession and the elites' armed threat (model version 10): the
#: setting the concession fit's rule chose across the recordings of the sample of record's
#: validation runs with the armed threat at 0.5 and at 1 (calibration/concession.py ``choose``;
#: tests/test_calibrated_defaults.py holds them to the fit file).
CALC = (
    "calibrated: calibration/concession/fit_threat05.json (the concession fit's winner on the "
    "validation runs recorded with elites.armed_threat 0.5, chosen over the threat at 1 by "
    "'concession choose'; docs/CALIBRATION.md, \"Winning without the force\")"
)
#: The source of a default the first calibration fitted (waves 1 to 3) and the second held fixed:
#: its medoid, rounded (calibration/wave3/promoted.json is the manifest it was promoted with).
CAL1 = (
    "calibrated: calibration/wave3/nonimplausible.parquet (the first calibration's medoid, "
    "rounded: calibration/wave3/promoted.json; held there by the second calibration)"
)


def _p(name, default, type_, lo, hi, unit, meaning, source, *, role, **kw) -> Param:
    return Param(name, default, type_, lo, hi, unit, meaning, source, role, **kw)


# fmt: off
PARAMS: tuple[Param, ...] = (
    # --- run -------------------------------------------------------------------------------------
    _p("run.horizon", 365, "int", 1, 100_000, "days", "Days simulated unless an outcome stops the run first.", A + "one year of crisis", role="numerical"),  # noqa: E501
    # --- grid ------------------------------------------------------------------------------------
    _p("grid.width", 40, "int", 5, 5000, "cells", "Width of each region's torus grid.", E02, role="structure", build_only=True),  # noqa: E501
    _p("grid.height", 40, "int", 5, 5000, "cells", "Height of each region's torus grid.", E02, role="structure", build_only=True),  # noqa: E501
    _p("grid.movement", True, "bool", None, None, "switch", "Agents move to a random empty cell in vision each day.", E02, role="numerical"),  # noqa: E501
    _p("grid.substeps", 3, "int", 1, 64, "sub-steps", "Random batches per day in which protesters decide, soldiers arrest and agents move, each batch seeing the last (approximates Mesa's random sequential order).", A + "3 docks with Mesa's example (tests/test_docking.py)", role="numerical"),  # noqa: E501
    _p("grid.move_tries", 4, "int", 1, 50, "cells", "Candidate cells a mover draws in each of two rounds; it proposes the first empty one (more: closer to Mesa's always-move rule).", A + "4 docks with Mesa's example (tests/test_docking.py)", role="numerical"),  # noqa: E501
    # --- protest (Epstein Model I) ----------------------------------------------------------------
    _p("protest.citizen_density", 0.7, "float", 0, 1, "agents/cell", "Protester (citizen) density on the grid.", E02, role="structure", per_region=True, build_only=True),  # noqa: E501
    _p("protest.legitimacy", 0.82, "float", 0, 1, "share", "Regime legitimacy L in grievance G = H(1-L).", E02, role="structure", per_region=True),  # noqa: E501
    _p("protest.hardship", 1.0, "float", 0, 1, "share", "Upper bound of hardship H ~ U(0, hardship).", E02 + " (H ~ U(0,1))", role="structure", per_region=True, build_only=True),  # noqa: E501
    _p("protest.threshold", 0.1, "float", 0, 1, "utility", "Activation threshold T: active iff G - R*P > T.", E02, role="behavioural"),  # noqa: E501
    _p("protest.arrest_k", 2.3, "float", 0, 20, "1", "Constant k in P = 1 - exp(-k * round(C/A)).", E02, role="behavioural"),  # noqa: E501
    _p("protest.rounding", True, "bool", None, None, "switch", "Round C/A to an integer (half to even) before the exponential, as Mesa's example does.", MESA + " (needed to reproduce Epstein's bursts)", role="numerical"),  # noqa: E501
    _p("protest.max_jail", 30, "int", 0, 10_000, "days", "Jail terms are drawn uniformly from 0..max_jail days.", E02, role="structure"),  # noqa: E501
    _p("protest.vision", 7, "int", 1, 30, "cells", "Protesters' von Neumann vision radius.", E02, role="structure"),  # noqa: E501
    _p("protest.mobilisable_share", 0.05, "float", 1e-6, 1, "share of population", "Share of each region's population its protester agents stand for (the people who could join); used when protest.peak_share is not stated.", A + "NAVCO's largest campaigns reach a few per cent of the population (Chenoweth & Stephan 2011); the pool who could join is taken as 5 %", role="measurement", build_only=True),  # noqa: E501
    _p("protest.peak_share", 0.0, "float", 0, 0.5, "share of denominator", "Peak participation the scenario models, as NAVCO measures it (peak participants / protest.denominator); when given, the mobilisable share is derived from it (docs/ODD.md, measurement). 0: not stated.", "NAVCO 1.2 PERCENTAGE POPULAR PARTICIPATION (Chenoweth & Shay 2019)", role="measurement", build_only=True),  # noqa: E501
    _p("protest.buildup_days", 0, "int", 0, 365, "days", "Days over which the mobilisable pool comes out: each protester agent may act from a day drawn from 1 to buildup_days, uniformly or on the exponential ramp of protest.buildup_growth (the crowd can grow to its peak over that time); 0: every agent from day 1.", "Lohmann 1994, World Politics 47(1) (the Leipzig Monday crowds grew week by week, from about 1,000 on 4 September to 70,000 on 9 October 1989); coded per case from its history; 0: the crowd of model versions up to 6", role="structure", build_only=True),  # noqa: E501
    _p("protest.buildup_growth", 0.0, "float", 0, 10_000, "ratio", "Shape of the build-up (protest.buildup_days): above 1, the ratio of the pool that can act on day buildup_days to the pool on day 1, growing by the same factor every day (an exponential ramp); 1 or below: the linear ramp (join days uniform).", "Lohmann 1994, World Politics 47(1) (the Leipzig Monday crowds grew about seventy-fold, from about 1,000 on 4 September to 70,000 on 9 October 1989); coded per case from its history; 0: the linear ramp of the fifth to ninth calibrations", role="structure", build_only=True),  # noqa: E501
    _p("protest.denominator", 0.0, "float", 0, 2e9, "people", "Population that participation shares are taken of (NAVCO's LOCATION); 0: the sum of the regions' populations.", "docs/MEASUREMENT.md section 2", role="measurement", build_only=True),  # noqa: E501
    _p("protest.signal_floor", 1e-4, "float", 1e-7, 0.01, "share of denominator", "Participation at which the public protest signal starts (below: 0); the signal rises with log participation up to protest.signal_ceiling (1).", "NAVCO 1.2: half the campaigns are below 0.1 % of the population, the lowest bin below 0.01 %", role="measurement"),  # noqa: E501
    _p("protest.signal_ceiling", 0.035, "float", 1e-4, 1, "share of denominator", "Participation at which the public protest signal is full (1).", "Chenoweth & Stephan 2011 (no campaign reaching 3.5 % of the population failed in their data)", role="measurement"),  # noqa: E501
    _p("protest.backfire", 0.0, "float", 0, 5, "1/arrest-share", "Legitimacy lost per day per share of a region's protesters arrested, times (1 + backfire_lethality * regime.lethality).", "Sutton, Butcher & Svensson 2014, Journal of Peace Research; " + A + "linear form", role="behavioural"),  # noqa: E501
    _p("protest.backfire_lethality", 4.0, "float", 0, 20, "x", "Factor k in backfire's (1 + k * regime.lethality): at full lethality an arrest costs 1 + k times the legitimacy it costs without.", "Sutton et al. 2014 (lethal repression backfires more); " + A + "a fully lethal arrest costs five times as much", role="behavioural"),  # noqa: E501
    # --- opposition ------------------------------------------------------------------------------
    _p("opposition.violent_share", 0.1, "float", 0, 1, "share", "Share of protesters using violent tactics (lowers soldiers' moral cost of repressing them).", "Chenoweth & Stephan 2011", role="lever"),  # noqa: E501
    _p("opposition.amnesty", 0.0, "float", 0, 3, "utility", "Amnesty and reward the opposition promises defectors, received if the regime falls.", "Chieu Hoi programme (RAND, An Analysis of the Motives of 125 Defectors: reference article [65]); " + A + "utility scale", role="lever"),  # noqa: E501
    _p("opposition.defector_value", 4.739, "float", 0, 5, "utility", "Value to a defector of being on the winning side if the regime falls (times officer_reward_factor for officers).", CAL6, role="behavioural"),  # noqa: E501
    _p("opposition.officer_reward_factor", 2.0, "float", 1, 5, "x", "How many times a soldier's defector_value a defecting officer expects (a higher place in the new order).", A + "an officer's place in the new order is worth twice a soldier's", role="behavioural"),  # noqa: E501
    _p("opposition.fight_risk", 2.889, "float", 0, 5, "utility", "Cost to an armed defector of fighting a regime that survives (times belief).", CAL1, role="behavioural"),  # noqa: E501
    _p("opposition.w_support", 0.0, "float", 0, 5, "utility/share", "What a defector expects from the opposition's foreign backing if the regime falls, per unit of support.opposition (added to the reward R: a backed opposition can pay, arm and shelter defectors).", "NAVCO 1.2 STATESUP; Chenoweth & Stephan 2011 (foreign state support weighed as a rival explanation of success, not found a reliable one); " + A + "0 until calibrated: no effect", role="behavioural"),  # noqa: E501
    # --- soldiers --------------------------------------------------------------------------------
    _p("soldiers.garrison_density", 0.04, "float", 0, 1, "agents/cell", "Soldier density on a region's grid (its garrison).", E02 + " (cop density)", role="structure", per_region=True, build_only=True),  # noqa: E501
    _p("soldiers.force", 0.0, "float", 0, 1e8, "people", "Size of the security force in people (army, guards and police); soldier agents each stand for force / agents people. 0: 0.5 % of the regions' population.", A + "a case's sources give it; the fallback, 0.5 % of the population under arms, is within the usual range of military participation ratios (0.2-1 %)", role="structure", build_only=True),  # noqa: E501
    _p("soldiers.count", 0, "int", 0, 10_000_000, "agents", "Exact number of regular soldier agents, spread over regions by garrison density; 0: drawn cell by cell from the densities.", A + "for exact docking configurations (Granovetter's 100)", role="structure", build_only=True),  # noqa: E501
    _p("soldiers.min_agents", 0, "int", 0, 100_000, "agents", "Soldier agents the force is represented by, at least: when the map's garrison and guards are fewer, the rest serve off the map (regulars spread over the regions as the map's are, guards in the capital). They decide by the same rules, face the crowd their region's map shows on average when on duty, and make no arrests on the map. 0: the map's soldiers only.", "docs/MEASUREMENT.md (DEFECT's 0.5 % of the force must take several soldier agents); " + A + "the map is a sample of a region's streets at the garrison density of Epstein 2002", role="measurement", build_only=True),  # noqa: E501
    _p("soldiers.can_defect", True, "bool", None, None, "switch", "Soldiers decide each day; off, they are Epstein's cops (always loyal).", E02, role="numerical"),  # noqa: E501
    _p("soldiers.vision", 7, "int", 1, 30, "cells", "Soldiers' von Neumann vision radius (arrests and the crowd they face).", E02, role="structure"),  # noqa: E501
    _p("soldiers.officer_share", 0.1, "float", 0, 1, "share", "Share of soldiers who are officers (company and battalion commanders are officers).", A + "typical armies 8-15%", role="structure", build_only=True),  # noqa: E501
    _p("soldiers.nco_share", 0.2, "float", 0, 1, "share", "Share of soldiers who are NCOs (squad leaders).", A + "one NCO per squad of about five", role="structure", build_only=True),  # noqa: E501
    _p("soldiers.pay", 1.0, "float", 0, 3, "x subsistence", "Pay relative to subsistence.", "Albrecht & Ohl 2016; 'For Money or Liberty?' (Syria)", role="lever"),  # noqa: E501
    _p("soldiers.officer_bonus", 0.5, "float", 0, 3, "x subsistence", "Extra pay and perks for officers and NCOs (NCOs get nco_bonus_share of it).", "Makara 2013", role="lever"),  # noqa: E501
    _p("soldiers.nco_bonus_share", 0.5, "float", 0, 1, "share", "Share of soldiers.officer_bonus an NCO gets (an officer gets all of it, a conscript none).", A + "NCOs' perks halfway between a conscript's and an officer's", role="structure"),  # noqa: E501
    _p("soldiers.arrears", 0.0, "float", 0, 1, "share", "Share of pay not paid (arrears); pay-cut events set it.", "'For Money or Liberty?' (reference article [66])", role="lever"),  # noqa: E501
    _p("soldiers.w_pay", 4.137, "float", 0, 5, "utility/pay", "Weight of pay received in the value of staying.", CAL6, role="behavioural"),  # noqa: E501
    _p("soldiers.business_stake", 0.0, "float", 0, 3, "utility", "Officers' stake in military-owned businesses, lost if the regime falls (value: stake x belief).", "Defection-proofing and military-owned businesses (reference article [109])", role="lever"),  # noqa: E501
    _p("soldiers.loyalty", 2.07, "float", -3, 3, "utility", "Mean intrinsic loyalty.", CAL6, role="behavioural", build_only=True),  # noqa: E501
    _p("soldiers.loyalty_sd", 0.5, "float", 0, 3, "utility", "Spread of intrinsic loyalty (normal).", A + "utility scale", role="behavioural", build_only=True),  # noqa: E501
    _p("soldiers.core_loyalty", 1.0, "float", 0, 5, "utility", "Extra loyalty of soldiers from the regime's core identity group.", "McLauchlin 2010, Comparative Politics 42(3)", role="behavioural", build_only=True),  # noqa: E501
    _p("soldiers.core_tied_fate", 0.8, "float", 0, 1, "share", "Share of the defection reward core-group soldiers cannot claim: their fate is tied to the regime's.", "McLauchlin 2010; Makara 2013", role="behavioural"),  # noqa: E501
    _p("soldiers.indoctrination", 0.0, "float", 0, 3, "utility", "Loyalty added by political indoctrination.", A + "utility scale", role="lever"),  # noqa: E501
    _p("soldiers.moral_cost", 0.673, "float", 0, 10, "utility", "Moral cost of repressing a crowd filling one's vision (scaled by crowd density, nonviolence and shared identity).", CAL + "; rule: Nepstad 2011; Chenoweth & Stephan 2011", role="behavioural"),  # noqa: E501
    _p("soldiers.conscience_sd", 0.0, "float", 0, 3, "log-scale sd", "Spread of soldiers' moral sensitivity: each soldier's moral cost is multiplied by his own factor exp(sd z - sd^2/2), z standard normal (mean 1, median exp(-sd^2/2)); 0: every soldier alike.", A + "a lognormal spread of conscience, off (0) until fitted: who refuses to fire on a crowd is a matter of the individual as much as of the unit (Grossman 1995, On Killing; Koehler, Ohl & Albrecht 2016, Comparative Politics 48(4): defection in Syria 2011 as individual decisions)", role="behavioural", build_only=True),  # noqa: E501
    _p("soldiers.crowd_scale", 0.2, "float", 0.001, 1, "share of vision", "Active density in vision at which the moral cost is half its maximum.", A + "saturating crowd effect", role="behavioural"),  # noqa: E501
    _p("soldiers.shared_identity", 1.0, "float", 0, 5, "x", "Moral cost multiplier (1 + this) when the crowd shares the soldier's identity group.", "McLauchlin 2010; Makara 2013", role="behavioural"),  # noqa: E501
    _p("soldiers.home_region", 0.5, "float", 0, 5, "x", "Moral cost multiplier (1 + this) when stationed in the home region.", "Lee 2015; " + A + "strength", role="behavioural"),  # noqa: E501
    _p("soldiers.lethality_weight", 1.0, "float", 0, 10, "x", "Moral cost multiplier (1 + this * regime.lethality): how much orders to kill add to the cost of repressing.", "Reference article (Syria 2011: officers alienated by the violent crackdown; Myanmar 2021: early defectors refused to perpetrate violence); " + A + "fully lethal orders double the cost", role="behavioural"),  # noqa: E501
    _p("soldiers.nonviolence_weight", 0.92, "float", 0, 1, "share", "How much of the moral cost rests on the crowd's nonviolence: the cost is scaled by 1 - this + this * (the crowd's nonviolent share); 1: an armed crowd costs nothing to repress, 0: the crowd's method does not matter.", CAL + "; rule: Chenoweth & Stephan 2011; Nepstad 2011 (nonviolent discipline and defection); fitted over 0-1 because in the fitting set of NAVCO 1.2's regime-change campaigns the violent ones saw defections no less often", role="behavioural"),  # noqa: E501
    _p("soldiers.rotation", 0.0, "float", 0, 1, "share", "Share of battalions stationed away from their home region.", "Quinlivan 1999 (rotation as coup-proofing)", role="lever", build_only=True),  # noqa: E501
    _p("soldiers.surveillance", 0.3, "float", 0, 1, "probability", "Daily chance a defection or desertion attempt is detected (before safety in numbers).", A + "informant networks", role="lever"),  # noqa: E501
    _p("soldiers.punishment", 1.0, "float", 0, 5, "utility", "Cost of being caught defecting or deserting.", A + "utility scale", role="lever"),  # noqa: E501
    _p("soldiers.family_reprisal", 0.5, "float", 0, 5, "utility", "Extra cost from reprisals against family, scaled by each soldier's exposure U(0,1).", "Reference article (families of defectors detained)", role="lever"),  # noqa: E501
    _p("soldiers.safety_in_numbers", 0.8, "float", 0, 1, "share", "How far detection falls as neighbours defect at once: q = s (1 - this * peer share).", "Granovetter 1978; Kuran 1991", role="behavioural"),  # noqa: E501
    _p("soldiers.peer_weight", 5.955, "float", 0, 10, "utility/share", "Weight of the share of network neighbours who have left.", CAL1 + "; rule: " + G78, role="behavioural"),  # noqa: E501
    _p("soldiers.threshold", 8.948, "float", -5, 10, "utility", "Mean personal threshold theta for leaving.", CAL + "; rule: " + G78, role="behavioural", build_only=True),  # noqa: E501
    _p("soldiers.threshold_sd", 2.934, "float", 0, 5, "utility", "Spread of thresholds (normal).", CAL1 + "; rule: " + G78, role="behavioural", build_only=True),  # noqa: E501
    _p("soldiers.threshold_dist", "normal", "choice", None, None, "", "normal: theta ~ N(mean, sd); ladder: theta_i = i/(n-1) (Granovetter's 0..n-1 in shares).", G78, role="numerical", choices=("normal", "ladder"), build_only=True),  # noqa: E501
    _p("soldiers.choice_noise", 0.105, "float", 0, 2, "utility", "Scale tau of the daily random-utility (Gumbel) shock on each option: a soldier leaves with the logit chance of his options, not only when his gain reaches his threshold (0: the deterministic threshold rule). The chance is drawn every day, so over a year of T = 365 days a soldier whose best option falls short of staying by D leaves with about T exp(-D / tau): at the calibrated defaults D has a median of 15-17 and a tenth percentile of about 11-13 in syria_2011 and soviet_1991 (scripts/choice_gap.py, days 1-5), so tau = 2 takes a sixth to a quarter of the force within a year with nothing else moving, hence the range.", CAL + "; rule: McFadden 1974; McKelvey & Palfrey 1995", role="behavioural"),  # noqa: E501
    _p("soldiers.exit_barrier", 1.0, "float", 0, 5, "utility", "Cost of deserting (distance, papers, roadblocks).", "Albrecht & Ohl 2016", role="lever"),  # noqa: E501
    _p("soldiers.desert_punishment", 0.5, "float", 0, 1, "share", "Share of the punishment (punishment + family reprisal) a caught deserter suffers; a caught defector suffers all of it.", A + "desertion (exit) is a lesser offence than armed defection; half", role="behavioural"),  # noqa: E501
    _p("soldiers.guard_share", 0.0, "float", 0, 0.6, "share", "Share of the force in separate guard units (counterbalancing), stationed in the capital.", "Quinlivan 1999; De Bruin", role="lever", build_only=True),  # noqa: E501
    _p("soldiers.guard_loyalty", 1.5, "float", 0, 5, "utility", "Extra loyalty of guard units (selected, better paid).", "Quinlivan 1999", role="behavioural", build_only=True),  # noqa: E501
    _p("soldiers.guard_resentment", 1.0, "float", 0, 5, "utility", "Loyalty lost by regular soldiers per unit of guard share.", "Dworschak 2020; Lutscher 2016", role="behavioural"),  # noqa: E501
    _p("soldiers.ethnic_stacking", 0.0, "float", 0, 1, "share", "Chance an officer or guard is drawn from the core group instead of his region's mix.", "McLauchlin 2010; Makara 2013", role="lever", build_only=True),  # noqa: E501
    _p("soldiers.purge_rate", 0.0, "float", 0, 0.2, "1/day", "Daily chance a wavering officer (gain from leaving > 0) is purged (detained).", "Quinlivan 1999", role="lever"),  # noqa: E501
    _p("soldiers.squad_size", 8, "int", 2, 500, "soldiers", "Soldiers per squad (a clique in the network).", A + "infantry squad", role="structure", build_only=True),  # noqa: E501
    _p("soldiers.squads_per_company", 4, "int", 1, 20, "squads", "Squads per company.", A + "infantry company", role="structure", build_only=True),  # noqa: E501
    _p("soldiers.companies_per_battalion", 4, "int", 1, 20, "companies", "Companies per battalion.", A + "infantry battalion", role="structure", build_only=True),  # noqa: E501
    _p("soldiers.cross_ties", 1.0, "float", 0, 20, "ties/soldier", "Mean random ties to soldiers in other units of the same region.", A + "friendships across units", role="structure", build_only=True),  # noqa: E501
    _p("soldiers.follow_commander", 0.3, "float", 0, 1, "probability", "Daily chance a soldier follows his company commander who defected.", "Reference article (USSR: subordinate units defected)", role="behavioural"),  # noqa: E501
    _p("soldiers.follower_detection", 0.0, "float", 0, 1, "share", "Share of the detection chance q that applies to a soldier who goes over behind his defected company commander (1: he is caught as a lone leaver would be, the rule before this parameter; 0: a company that goes over with its commander is never arrested for it).", "Lee 2015 (Philippines 1986: units went over with their commanders); reference article (USSR: subordinate units followed); " + A + "0, as every case of the eleventh and twelfth calibrations set it (the calibrated sample was made with it; docs/CALIBRATION.md, 'The eleventh calibration')", role="behavioural"),  # noqa: E501
    _p("soldiers.w_legitimacy", 2.357, "float", 0, 5, "utility/share", "Weight of the regime's illegitimacy in a soldier's gain from defecting: w (1 - L), L the legitimacy among his home region and identity group (principled defection).", CAL + "; rule: reference article ('Ideological and Principled Reasons': defectors who find the regime unjust; Myanmar 2021: early defectors refused to perpetrate violence)", role="behavioural"),  # noqa: E501
    _p("soldiers.legitimacy_desert_share", 0.0, "float", 0, 1, "share", "Share of the legitimacy term w (1 - L) that also counts toward deserting (private exit) rather than only toward defecting (voice).", "Albrecht & Ohl 2016 (exit vs voice); Ohl, Albrecht & Koehler 2015 'For Money or Liberty?'; " + A + "0: principled defection is voice, desertion is exit for pay and safety", role="behavioural"),  # noqa: E501
    _p("soldiers.conscript_exit", 0.0, "float", 0, 1, "share", "How much more of the principled motive drives a conscript's exit than a professional's: a conscript's desertion counts k_L + c (1 - k_L) of w (1 - L), k_L = soldiers.legitimacy_desert_share.", "Ohl, Albrecht & Koehler 2015 'For Money or Liberty?' (reference article [66]: the bulk of Syria's desertions came from the rank and file, unwilling to fight); Barany 2016 (conscripts are drawn from society and leave it only for a term); " + A + "0 (conscripts exit as professionals do) until calibrated", role="behavioural"),  # noqa: E501
    _p("soldiers.conscript_share", 0.0, "float", 0, 1, "share", "Share of the army's rank and file (not guards, not police) who are conscripts; the rest are professionals.", A + "0: an all-professional force unless a case's sources say otherwise", role="structure", build_only=True),  # noqa: E501
    _p("soldiers.conscript_loyalty", 0.0, "float", -3, 3, "utility", "Loyalty added to a conscript's (negative: conscripts are less loyal than professionals).", "Barany 2016, How Armies Respond to Revolutions and Why (conscripts are drawn from and close to society); Lutterbeck 2013, Armed Forces & Society 39(1); " + A + "0 until calibrated", role="behavioural", build_only=True),  # noqa: E501
    _p("soldiers.conscript_pay", 1.0, "float", 0, 1, "share", "A conscript's pay as a share of a professional's (arrears and outside money act on it alike).", A + "1 (same pay) unless a case's sources say otherwise; conscripts are usually paid a fraction", role="structure"),  # noqa: E501
    # --- police and interior troops ---------------------------------------------------------------
    _p("police.share", 0.0, "float", 0, 0.9, "share", "Share of the security force (soldiers.force) in police and interior-troop companies, a force apart from the army, serving in their home regions.", "De Bruin 2018, Journal of Conflict Resolution 62(7) (police and interior troops as counterweights); " + A + "0: the whole force is army unless a case's sources say otherwise", role="structure", build_only=True),  # noqa: E501
    _p("police.loyalty", 0.0, "float", -3, 3, "utility", "Loyalty added to a policeman's (his loyalty offset against the army's).", A + "0 until calibrated", role="behavioural", build_only=True),  # noqa: E501
    _p("police.duty_first", 0.0, "float", 0, 1, "share", "How far the regime sends police to the crowds before the army: an army soldier's duty chance is scaled by 1 - this x (share of the police still in service). 0: no difference.", "Reference article (Myanmar 2021: police faced the crowds first); " + A + "linear form", role="lever"),  # noqa: E501
    # --- belief that the regime survives ----------------------------------------------------------
    _p("belief.intercept", 6.44, "float", -10, 10, "logit", "Logit of belief in survival with no signals.", CAL + "; rule: Kuran 1991", role="behavioural"),  # noqa: E501
    _p("belief.w_protest", 7.201, "float", 0, 50, "logit/share", "Weight of the active share of protesters.", CAL + "; rule: Kuran 1991", role="behavioural"),  # noqa: E501
    _p("belief.w_defect", 12.0, "float", 0, 100, "logit/share", "Weight of the share of soldiers who left (deserted or defected).", "Kuran 1991", role="behavioural"),  # noqa: E501
    _p("belief.w_elite", 6.0, "float", 0, 50, "logit/share", "Weight of the share of elites who defected.", "Kuran 1991", role="behavioural"),  # noqa: E501
    _p("belief.w_armed", 44.288, "float", 0, 50, "x", "How many more unarmed participants an armed one counts as in the public protest signal: the signal reads participation x (1 + this x the armed share of the active).", CAL + "; rule: Chenoweth & Stephan 2011, ch. 2 (armed campaigns threaten with fewer people)", role="behavioural"),  # noqa: E501
    _p("belief.w_messaging", 1.0, "float", 0, 10, "logit", "Weight of regime messaging.", A + "propaganda effect", role="behavioural"),  # noqa: E501
    _p("belief.w_neighbours", 3.0, "float", 0, 20, "logit/share", "Weight of the share of one's own network neighbours who left.", "Makowsky & Rubin 2013, PLoS ONE", role="behavioural"),  # noqa: E501
    _p("belief.memory", 0.694, "float", 0, 0.999, "share", "Weight of yesterday's public signal in today's (smoothing).", CAL6, role="behavioural"),  # noqa: E501
    _p("belief.w_support", 0.0, "float", 0, 10, "logit", "Weight of outside support to the regime in the belief that it survives: w max(support.regime_money, min(1, support.regime_troops)).", "NAVCO 1.2 REGAID; " + A + "0 until calibrated: a patron does not change beliefs", role="behavioural"),  # noqa: E501
    # --- regime ----------------------------------------------------------------------------------
    _p("regime.repression", 0.8, "float", 0, 1, "share", "Repression order: share of loyal soldiers on crowd duty each day.", A + "crackdown events set it to 1", role="lever"),  # noqa: E501
    _p("regime.selective_deployment", 0.0, "float", 0, 1, "share", "How far the regime keeps regular non-core soldiers in barracks and sends guards and core-group soldiers to the crowds (their duty chance is scaled by 1 - this).", "Reference article [87] (Syria relied on a few trusted units)", role="lever"),  # noqa: E501
    _p("regime.lethality", 0.0, "float", 0, 1, "share", "How lethal repression is; raises backfire and soldiers' moral cost.", "Sutton et al. 2014", role="lever"),  # noqa: E501
    _p("regime.messaging", 0.5, "float", 0, 1, "share", "Intensity of the regime's messaging that it will survive.", A + "propaganda", role="lever"),  # noqa: E501
    _p("regime.party_removal", False, "bool", None, None, "switch", "The ruling party's rules let its inner circle remove the leader by its own vote, so with elites.plots a plot of elites.plot_quorum of the loyal elites removes him without troops (off: insiders do not plot; plots by force are not modelled yet).", "Geddes, Wright & Frantz 2018, How Dictatorships Work (party-based regimes replace their leaders and outlive them); " + A + "off unless a case's sources say the party could remove its leader", role="structure"),  # noqa: E501
    _p("regime.information_control", 0.0, "float", 0, 1, "share", "Scales public signals of protest and defection down by (1 - this).", "Kuran 1991 (preference falsification)", role="lever"),  # noqa: E501
    _p("regime.concession_nonviolent", 0.0005, "float", 0, 0.1, "per day", "Daily rate at which the ruler concedes to a nonviolent campaign with 1 % of the population active (resigns, calls elections, negotiates an exit): the hazard is 1 - exp(-r (p / 1 %)^regime.concession_elasticity), r mixing this and regime.concession_violent by the armed share of the active; the run ends in a transition by concession (0: never).", CALC + "; the rule: Chenoweth & Stephan 2011, ch. 2; Celestino & Gleditsch 2013, JPR 50(3)", role="behavioural"),  # noqa: E501
    _p("regime.concession_violent", 0.0002, "float", 0, 0.1, "per day", "Daily rate at which the ruler concedes to an armed campaign with 1 % of the population active (see regime.concession_nonviolent; 0: never).", CALC + "; the rule: Chenoweth & Stephan 2011, ch. 2", role="behavioural"),  # noqa: E501
    _p("regime.concession_elasticity", 0.0, "float", 0, 2, "exponent", "How fast the concession hazard grows with participation: the rate is scaled by (participation / 1 %) to this power (0: size does not matter; 1: proportional). Read only when a concession rate is above 0.", CALC + "; the rule: Chenoweth & Stephan 2011, ch. 2 (leverage grows with participation); the fit found 0 (size does not matter: in the NAVCO fitting set success barely depends on size among nonviolent campaigns)", role="behavioural"),  # noqa: E501
    _p("regime.concession_defection", 0.0, "float", 0, 50, "factor per 0.5 % of the force defected", "How much a force that has begun to go over hastens the ruler's concession: the concession hazard's rate is multiplied by 1 + k d / 0.5 %, d the share of the initial force that has defected (so 1 + k once a NAVCO armed defection has occurred). Read only when a concession rate is above 0 (0: the force does not matter).", "assumption: the form and the default 0 (model version 10's concession, unchanged); the rule: Nepstad 2011, Nonviolent Revolutions; Chenoweth & Stephan 2011, ch. 2 (success far likelier after a security-force defection); fitted by a calibration", role="behavioural"),  # noqa: E501
    # --- outside support (NAVCO's REGAID and STATESUP) -----------------------------------------
    _p("support.regime_money", 0.0, "float", 0, 1, "share of wage bill", "Share of the soldiers' wage bill an outside patron covers: it pays that share of every soldier's shortfall (arrears and pay cuts below the scenario's pay).", "NAVCO 1.2 REGAID (the regime received outside material support; Chenoweth & Shay 2019); " + A + "0: no patron", role="structure"),  # noqa: E501
    _p("support.regime_troops", 0.0, "float", 0, 2, "share of initial force", "Foreign troops on the regime's side, in people as a share of the initial force: counted in the loyal force of the outcome rule, never defecting.", "NAVCO 1.2 REGAID; " + A + "0: no foreign troops", role="structure"),  # noqa: E501
    _p("support.opposition", 0.0, "float", 0, 1, "share", "Support a foreign state gives the campaign, 0 (none) to 1 (full backing); raises what defectors expect if the regime falls (times opposition.w_support).", "NAVCO 1.2 STATESUP (the campaign received support from a foreign state); " + A + "0: none", role="structure"),  # noqa: E501
    # --- elites ----------------------------------------------------------------------------------
    _p("elites.count", 20, "int", 0, 10_000, "agents", "Number of elite agents (each stands for one person).", A + "inner circle", role="structure", build_only=True),  # noqa: E501
    _p("elites.rents", 1.0, "float", 0, 5, "utility", "Rents an elite keeps while the regime survives.", "Svolik 2012", role="lever"),  # noqa: E501
    _p("elites.purge_risk", 0.2, "float", 0, 1, "probability", "Chance a wavering elite is purged if the regime survives.", "Svolik 2012", role="lever"),  # noqa: E501
    _p("elites.loyalty", 1.853, "float", -3, 3, "utility", "Mean intrinsic loyalty of elites.", CAL6, role="behavioural", build_only=True),  # noqa: E501
    _p("elites.loyalty_sd", 1.794, "float", 0, 3, "utility", "Spread of elite loyalty.", CAL, role="behavioural", build_only=True),  # noqa: E501
    _p("elites.softline_share", 0.0, "float", 0, 1, "share", "Share of the elites in an open soft-line faction before the crisis (the first round(share x count) of them), whose loyalty is drawn elites.softline_gap lower than the rest's: the elite split a case codes (0: no open faction).", "O'Donnell & Schmitter 1986, Tentative Conclusions, p. 19 (hard-liners and soft-liners); " + A + "0 unless a case codes a faction", role="structure", build_only=True),  # noqa: E501
    _p("elites.softline_gap", 2.0, "float", 0, 5, "utility", "How far the soft-line faction's mean loyalty lies below elites.loyalty (its draws are still truncated at the calm-time indifference point under elites.steady_start, so a large gap puts the faction at the margin, not over it).", A + "2, the middle of its range, fixed in every case of the twelfth calibration (the calibrated sample was made with it): the eleventh calibration's waves did not narrow it and it was its least influential parameter", role="behavioural", build_only=True),  # noqa: E501
    _p("elites.outside_option", 0.95, "float", 0, 5, "utility", "What a defecting elite gets if the regime falls.", CAL6, role="behavioural"),  # noqa: E501
    _p("elites.peer_weight", 7.23, "float", 0, 10, "utility/share", "Weight of the share of elites already defected.", CAL + "; rule: " + G78, role="behavioural"),  # noqa: E501
    _p("elites.armed_threat", 0.5, "float", 0, 1, "share", "How far an armed opposition cuts what a defecting elite expects if the regime falls: his outside option and the amnesty count (1 - this x the armed share of the active protesters) (0: the same under any opposition).", CALC + " (recorded at 0, 0.5 and 1; 0.5 won); the rule: Chenoweth & Stephan 2011, ch. 2 (loyalty shifts are rarer under violent campaigns)", role="behavioural"),  # noqa: E501
    _p("elites.steady_start", True, "bool", None, None, "switch", "Elites are drawn from the loyalty distribution truncated at the calm-time indifference point, so none breaks with the regime before the crisis gives a reason (off: the untruncated normal, under which a low draw can defect on day 1).", "Svolik 2012 (the inner circle is selected and screened); " + A + "on since model version 5, as in every run of the second calibration: a regime that stood before its crisis (docs/CALIBRATION.md, 'Model structure')", role="structure", build_only=True),  # noqa: E501
    _p("elites.steady_margin", 0.43, "float", 0, 0.5, "belief", "Fall of the public survival belief below its initial value that every elite withstands under elites.steady_start: loyalty is truncated at the indifference point at that lower belief (0: at the initial belief itself, so an elite drawn just above it breaks at the first small fall).", CAL8 + "; rule: Svolik 2012 (the inner circle is selected and screened)", role="behavioural", build_only=True),  # noqa: E501
    _p("elites.choice_noise", 0.036, "float", 0, 1, "utility", "Scale tau of the daily random-utility shock in an elite's choice: he defects with chance logistic(gain / tau) a day (0: when his gain reaches 0). An elite's gain lies within a few units of 0, and a daily chance of logistic(-D / tau) over a year takes him at tau above about D / 6, hence the range.", CAL6 + "; rule: McFadden 1974", role="behavioural"),  # noqa: E501
    _p("elites.plots", False, "bool", None, None, "switch", "Insiders can plot against the ruler where regime.party_removal lets the ruling party's inner circle remove its leader: each day, loyal elites for whom the public signal has reached elites.plot_signal plus their loyalty above the calm-time floor are ready, and when they are at least elites.plot_quorum of the loyal elites they remove him by their vote (a transition by palace_vote). Plots by force are not modelled yet.", "Svolik 2012, The Politics of Authoritarian Rule, ch. 3 (the ruling coalition removes the dictator); Casper & Tyson 2014, Journal of Politics 76(2) (protest as the public signal on which elites coordinate a coup); " + A + "off until calibrated (model version 7's elites only defect)", role="structure"),  # noqa: E501
    _p("elites.plot_signal", 2.97, "float", 0, 20, "logit", "Public signal (the smoothed fall of the survival belief's logit) at which the least loyal insider, at the calm-time loyalty floor, is ready to plot against the ruler; each unit of loyalty above the floor adds one (read only with elites.plots).", CAL + "; rule: Casper & Tyson 2014, Journal of Politics 76(2)", role="behavioural"),  # noqa: E501
    _p("elites.plot_quorum", 0.25, "float", 0.01, 1, "share of loyal elites", "Share of the loyal elites that must be ready before a plot is tried (read only with elites.plots): a plot is collective.", "Casper & Tyson 2014, Journal of Politics 76(2) (elites coordinate); " + A + "a quarter until calibrated", role="behavioural"),  # noqa: E501
    _p("elites.plot_protest_gain", 2.785, "float", 0, 20, "x belief.w_protest", "Insiders' weight of the crowd in the signal they plot on, as a multiple of belief.w_protest, the weight soldiers and the public give it (read only with elites.plots; 1: insiders read the crowd as soldiers do).", CAL + "; rule: Casper & Tyson 2014, Journal of Politics 76(2) (elites coordinate on protest); Lohmann 1994, World Politics 47(1) (the Leipzig crowds and the Politburo)", role="behavioural"),  # noqa: E501
    _p("elites.clients", 3, "int", 0, 100, "commanders", "Client company commanders per elite.", "Reference article; " + A + "patronage", role="structure", build_only=True),  # noqa: E501
    _p("elites.client_follow", 0.496, "float", 0, 1, "probability", "Chance a client commander defects with his patron (a coded NAVCO campaign may take its own from its feature patronage: case.patronage_weight, docs/CASES.md).", CAL1, role="behavioural"),  # noqa: E501
    # --- outcome ---------------------------------------------------------------------------------
    _p("outcome.k_days", 7, "int", 1, 365, "days", "Consecutive days the loyal force must stay below the opposition for a collapse.", A + "a week", role="measurement"),  # noqa: E501
    _p("outcome.split_days", 30, "int", 1, 365, "days", "Consecutive days the split condition must hold (a civil war is a lasting state).", A + "a month", role="measurement"),  # noqa: E501
    _p("outcome.protester_weight", 0.1, "float", 0, 10, "soldier-equivalents", "Strength of one active protester against one loyal soldier.", A + "Chenoweth & Stephan 2011 mobilisation", role="measurement"),  # noqa: E501
    _p("outcome.defector_weight", 1.0, "float", 0, 10, "soldier-equivalents", "Strength of one armed defector.", A + "like for like", role="measurement"),  # noqa: E501
    _p("outcome.guard_weight", 1.5, "float", 0, 10, "soldier-equivalents", "Strength of one loyal guard soldier (better armed).", "Quinlivan 1999", role="measurement"),  # noqa: E501
    _p("outcome.elite_majority", 0.5, "float", 0, 1, "share", "Elite defected share above which the regime collapses.", A + "most elites", role="measurement"),  # noqa: E501
    _p("outcome.split_defected", 0.05, "float", 0, 1, "share", "Armed defectors (share of initial force) needed for a split.", A + "an armed opposition of note", role="measurement"),  # noqa: E501
    _p("outcome.split_loyal", 0.5, "float", 0, 1, "share", "Loyal core (share of initial force) that must hold for a split.", "Reference article (Syria's core cohesive)", role="measurement"),  # noqa: E501
    _p("outcome.region_defection", 0.02, "float", 0, 1, "share", "A region 'had a defection' when this share of its garrison left, or a company went over.", "Issue #2 definition", role="measurement"),  # noqa: E501
)
# fmt: on

BY_NAME: dict[str, Param] = {p.name: p for p in PARAMS}
SECTIONS: tuple[str, ...] = tuple(dict.fromkeys(p.section for p in PARAMS))
REGION_FIELDS: dict[str, Param] = {p.leaf: p for p in PARAMS if p.per_region}
assert len(REGION_FIELDS) == sum(p.per_region for p in PARAMS), "per-region leaves must be unique"
LEVERS: tuple[Param, ...] = tuple(p for p in PARAMS if p.lever)
#: The behavioural parameters: weights and thresholds of agents' decisions that no source measures,
#: the ones calibration fits (SALib's Morris screen, then history matching).
BEHAVIOURAL: tuple[Param, ...] = tuple(p for p in PARAMS if p.role == "behavioural")

BUILD_ONLY: frozenset[str] = frozenset(p.name for p in PARAMS if p.build_only)

# fmt: off
#: Fields of a ``[[regions]]`` table besides its name and the per-region overrides.
REGION_OWN: dict[str, Param] = {
    p.leaf: p
    for p in (
        _p("regions.capital", False, "bool", None, None, "switch", "The centre: guards stand here; coups aim here.", A + "the first region if none is marked", role="structure"),  # noqa: E501
        _p("regions.population", 1_000_000.0, "float", 0, 2e9, "people", "Population of the region: weight of its home-region recruitment, and the people its protester agents stand for (times the mobilisable share).", A + "a region of a million people", role="structure"),  # noqa: E501
    )
}

#: Fields of an identity group (``[[groups]]`` table) besides its name.
GROUP_FIELDS: dict[str, Param] = {
    p.leaf: p
    for p in (
        _p("groups.core", False, "bool", None, None, "switch", "The ruler's own group (ethnic stacking draws from it).", "McLauchlin 2010", role="structure"),  # noqa: E501
        _p("groups.share", 1.0, "float", 0, 1, "share", "Share of the national population (normalised over groups).", A + "one group", role="structure"),  # noqa: E501
        _p("groups.legitimacy_shift", 0.0, "float", -1, 1, "share", "Added to regime legitimacy among this group.", A + "no group grievance", role="structure"),  # noqa: E501
    )
}

# --- scheduled events -----------------------------------------------------------------------------
_PAY = BY_NAME["soldiers.pay"]
_ARREARS = BY_NAME["soldiers.arrears"]
_LETHALITY = BY_NAME["regime.lethality"]
_MONEY = BY_NAME["support.regime_money"]
_TROOPS = BY_NAME["support.regime_troops"]
_OPP = BY_NAME["support.opposition"]
_VIOLENT = BY_NAME["opposition.violent_share"]
_AMNESTY = BY_NAME["opposition.amnesty"]

#: Fields of each kind of ``[[events]]`` entry (besides ``day``, ``kind`` and ``note``), by kind.
#: ``default`` is what the model uses when the field is left out; ``None`` leaves the value as it
#: is (or, for ``region``, means every region).
EVENT_FIELDS: dict[str, dict[str, Param]] = {
    "pay_cut": {
        "pay": _p("events.pay_cut.pay", None, "float", _PAY.lo, _PAY.hi, _PAY.unit, "Sets soldiers.pay.", _PAY.source, role="lever"),  # noqa: E501
        "arrears": _p("events.pay_cut.arrears", None, "float", _ARREARS.lo, _ARREARS.hi, _ARREARS.unit, "Sets soldiers.arrears.", _ARREARS.source, role="lever"),  # noqa: E501
    },
    "crackdown": {
        "repression": _p("events.crackdown.repression", 1.0, "float", 0, 1, "share", "Sets regime.repression.", A + "a crackdown sends every loyal soldier out", role="lever"),  # noqa: E501
        "lethality": _p("events.crackdown.lethality", None, "float", _LETHALITY.lo, _LETHALITY.hi, _LETHALITY.unit, "Sets regime.lethality.", _LETHALITY.source, role="lever"),  # noqa: E501
    },
    "elite_split": {
        "share": _p("events.elite_split.share", 0.2, "float", 0, 1, "share of loyal elites", "Share of the still-loyal elites who defect publicly.", A + "a faction of one in five", role="structure"),  # noqa: E501
    },
    "coup": {
        "share": _p("events.coup.share", 0.2, "float", 0, 1, "share of loyal elites", "Share of the still-loyal elites in the plot (at least one); their client units try to seize the capital.", A + "a faction of one in five", role="structure"),  # noqa: E501
        "faction": _p("events.coup.faction", "any", "choice", None, None, "", "Which loyal elites the plotters are drawn from: any, or hard-liners only (outside the soft-line faction of elites.softline_share; any if no hard-liner is left).", "O'Donnell & Schmitter 1986 (hard-liners against a liberalising centre); " + A + "any by default, as before model version 7", role="structure", choices=("any", "hardline")),  # noqa: E501
        "legitimacy_cost": _p("events.coup.legitimacy_cost", 0.1, "float", 0, 1, "share", "Legitimacy lost everywhere if the coup fails.", A + "a failed coup discredits the regime somewhat", role="structure"),  # noqa: E501
    },
    "support": {
        "regime_money": _p("events.support.regime_money", None, "float", _MONEY.lo, _MONEY.hi, _MONEY.unit, "Sets support.regime_money.", _MONEY.source, role="structure"),  # noqa: E501
        "regime_troops": _p("events.support.regime_troops", None, "float", _TROOPS.lo, _TROOPS.hi, _TROOPS.unit, "Sets support.regime_troops.", _TROOPS.source, role="structure"),  # noqa: E501
        "opposition": _p("events.support.opposition", None, "float", _OPP.lo, _OPP.hi, _OPP.unit, "Sets support.opposition.", _OPP.source, role="structure"),  # noqa: E501
    },
    "opposition": {
        "violent_share": _p("events.opposition.violent_share", None, "float", _VIOLENT.lo, _VIOLENT.hi, _VIOLENT.unit, "Sets opposition.violent_share.", _VIOLENT.source, role="lever"),  # noqa: E501
        "amnesty": _p("events.opposition.amnesty", None, "float", _AMNESTY.lo, _AMNESTY.hi, _AMNESTY.unit, "Sets opposition.amnesty.", _AMNESTY.source, role="lever"),  # noqa: E501
    },
    "legitimacy_shock": {
        "delta": _p("events.legitimacy_shock.delta", 0.0, "float", -1, 1, "share", "Added to legitimacy (clipped to 0..1).", A + "no change unless given", role="structure"),  # noqa: E501
        "region": _p("events.legitimacy_shock.region", None, "name", None, None, "", "Region hit; every region if left out.", A + "national shock", role="structure"),  # noqa: E501
    },
}
# fmt: on
EVENT_KINDS: tuple[str, ...] = tuple(EVENT_FIELDS)
#: Kinds that do nothing unless one of these fields is given.
EVENT_NEEDS_ONE_OF: dict[str, tuple[str, ...]] = {
    "pay_cut": ("pay", "arrears"),
    "legitimacy_shock": ("delta",),
    "support": ("regime_money", "regime_troops", "opposition"),
    "opposition": ("violent_share", "amnesty"),
}
#: Every event field once (the union over kinds, first-seen order): the scenario schema's columns.
EVENT_FIELD_UNION: dict[str, Param] = {}
for _fields in EVENT_FIELDS.values():
    for _leaf, _param in _fields.items():
        _seen = EVENT_FIELD_UNION.setdefault(_leaf, _param)
        assert (_seen.type, _seen.lo, _seen.hi) == (_param.type, _param.lo, _param.hi), _leaf


def event_field_default(kind: str, field: str) -> Any:
    """Value the model uses for an event field that the scenario left out.

    Args:
        kind: Event kind (one of :data:`EVENT_KINDS`).
        field: Field of that kind (a key of ``EVENT_FIELDS[kind]``).

    Returns:
        The default; ``None`` means the event leaves that value unchanged (or, for ``region``,
        applies everywhere).

    Raises:
        KeyError: Not a field of that kind.
    """
    return EVENT_FIELDS[kind][field].default


def markdown_table(levers_only: bool = False, role: Role | None = None) -> str:
    """Render the registry as a Markdown table (the README's parameter table).

    Args:
        levers_only: Only list policy levers.
        role: Only list parameters of this role (one of :data:`ROLES`).

    Returns:
        The table as Markdown text.
    """
    rows = [
        "| name | default | range | unit | role | meaning | source |",
        "|---|---|---|---|---|---|---|",
    ]
    for p in PARAMS:
        if (levers_only and not p.lever) or (role is not None and p.role != role):
            continue
        if p.type == "choice":
            rng = " / ".join(p.choices)
        elif p.type == "bool":
            rng = "true / false"
        else:
            rng = f"{p.lo:g} to {p.hi:g}"
        name = f"`{p.name}`" + (" (per region)" if p.per_region else "")
        rows.append(
            f"| {name} | {p.default} | {rng} | {p.unit} | {p.role} | {p.meaning} | {p.source} |"
        )
    return "\n".join(rows)
