"""The operating points where mechanism tests run: model versions 3's, 4's and 7's weights.

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

import json
from pathlib import Path

from defection.model.params import BY_NAME

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

#: Model version 7's defaults of the parameters model version 8 changed that the two earlier
#: points do not set (the twelfth calibration's parameters the second did not fit, and the two
#: it fixed in every case): the principled motive, the armed signal, the soft-liners' gap, the
#: undetected followers and the method weight as they were before the twelfth calibration.
TWELFTH_CALIBRATION_OFF: dict[str, float | bool] = {
    "soldiers.w_legitimacy": 0.0,
    "soldiers.nonviolence_weight": 1.0,
    "belief.w_armed": 0.0,
    "belief.w_protest": 4.0,
    "elites.steady_margin": 0.0,
    "elites.plot_signal": 2.0,
    "elites.plot_protest_gain": 1.0,
    "soldiers.follower_detection": 1.0,
    "elites.softline_gap": 0.0,
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
    **TWELFTH_CALIBRATION_OFF,
}

#: Model version 4's defaults of the parameters model version 5 changed (the first
#: calibration's medoid where it set them, the second calibration's mechanisms off): where the
#: tests of those mechanisms start from.
V4_DEFAULTS: dict[str, float | bool] = {
    **SECOND_CALIBRATION_OFF,
    **TWELFTH_CALIBRATION_OFF,
    "soldiers.threshold": 5.73,
    "belief.intercept": 3.703,
    "elites.loyalty": 0.708,
    "soldiers.loyalty": 2.867,
    "elites.loyalty_sd": 0.715,
    "soldiers.w_pay": 1.555,
    "soldiers.moral_cost": 0.289,
}

#: Model version 7's defaults of every parameter model version 8 changed: the point where tests
#: written before the twelfth calibration's promotion (plots, a failed coup) were set, and where
#: their mechanisms still show as they were written to (docs/CALIBRATION.md, "The twelfth
#: calibration's sample, model version 8").
V7_DEFAULTS: dict[str, float | bool] = {
    **TWELFTH_CALIBRATION_OFF,
    # the parameters both the second and the twelfth calibration fitted, at the second's medoid
    **{
        name: value
        for name, value in json.loads(
            (
                Path(__file__).resolve().parents[1] / "calibration/calibrated_v6/manifest.json"
            ).read_text(encoding="utf-8")
        )["medoid"]["defaults"].items()
        if BY_NAME[name].source.startswith("calibrated: calibration/calibrated/")
    },
}
