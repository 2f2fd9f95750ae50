"""The operating points where mechanism tests run: model versions 3's and 4's weights.

At the calibrated defaults rank-and-file soldiers hardly ever leave by their threshold rule alone
(model version 4: ``soldiers.loyalty`` 2.867 and ``soldiers.threshold`` 5.73 put them far from
their thresholds; model version 5 lets them leave through a daily random-utility shock instead),
so a test of a mechanism that acts through a soldier's choice (pay, legitimacy, outside backing,
police, conscripts, a parameter's liveness) would see nothing move, or would see noise. Those
tests state this point instead: the first calibration's 12 parameters at their model-version-3
values, where soldiers decide for themselves, and the second calibration's mechanisms off (no
random utility, no steady start: model version 4's structure). It is a probe of the mechanisms'
direction, not a claim about history; what the calibrated model does is in docs/VALIDATION.md.
"""

#: The second calibration's parameters at their values before it (model versions 3 and 4):
#: deterministic choices, elites drawn from the untruncated normal.
SECOND_CALIBRATION_OFF: dict[str, float | bool] = {
    "soldiers.choice_noise": 0.0,
    "elites.choice_noise": 0.0,
    "elites.steady_start": False,
    "belief.memory": 0.9,
    "elites.outside_option": 1.5,
    "opposition.defector_value": 2.0,
}

#: The first calibration's 12 parameters at their model-version-3 defaults, the second's off.
V3_WEIGHTS: dict[str, float | bool] = {
    "soldiers.threshold": 0.0,
    "soldiers.threshold_sd": 0.75,
    "soldiers.loyalty": 0.5,
    "soldiers.moral_cost": 0.6,
    "soldiers.w_pay": 1.0,
    "soldiers.peer_weight": 1.5,
    "opposition.fight_risk": 1.5,
    "elites.loyalty": 1.0,
    "elites.loyalty_sd": 0.5,
    "elites.peer_weight": 2.0,
    "elites.client_follow": 0.5,
    "belief.intercept": 2.0,
    **SECOND_CALIBRATION_OFF,
}

#: Model version 4's defaults of the parameters model version 5 changed (the first
#: calibration's medoid where it set them, the second calibration's mechanisms off): where the
#: tests of those mechanisms start from.
V4_DEFAULTS: dict[str, float | bool] = {
    **SECOND_CALIBRATION_OFF,
    "soldiers.threshold": 5.73,
    "belief.intercept": 3.703,
    "elites.loyalty": 0.708,
    "soldiers.loyalty": 2.867,
    "elites.loyalty_sd": 0.715,
    "soldiers.w_pay": 1.555,
    "soldiers.moral_cost": 0.289,
}
