"""The operating point where mechanism tests run: model version 3's weights.

At the calibrated defaults (model version 4, docs/CALIBRATION.md) rank-and-file soldiers hardly
ever leave on their own: ``soldiers.loyalty`` 2.867 and ``soldiers.threshold`` 5.73 put them far
from their thresholds, so a test of a mechanism that acts through a soldier's choice (pay,
legitimacy, outside backing, police, conscripts, a parameter's liveness) would see nothing move.
Those tests state this point instead: the 12 calibrated parameters at their model-version-3
values, where soldiers decide for themselves. It is a probe of the mechanisms' direction, not a
claim about history; what the calibrated model does is in docs/VALIDATION.md.
"""

#: The 12 calibrated parameters at their model-version-3 defaults.
V3_WEIGHTS: dict[str, float] = {
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
}
