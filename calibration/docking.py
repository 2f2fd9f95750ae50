"""Docking helpers: Mesa's own Epstein example configured with Epstein's (2002) run values.

Used by the docking test (tests/test_docking.py) and the engine benchmark (benchmarks/engine.py),
so both run the same peer model.
"""

from __future__ import annotations

#: Epstein (2002) Model I run values, as the Mesa example's scenario fields.
EPSTEIN_RUN_VALUES = {
    "citizen_density": 0.7,
    "cop_density": 0.04,
    "citizen_vision": 7,
    "cop_vision": 7,
    "legitimacy": 0.82,
    "active_threshold": 0.1,
    "arrest_prob_constant": 2.3,
    "max_jail_term": 30,
}


def mesa_epstein(side: int = 40, seed: int = 0):
    """Mesa's shipped ``epstein_civil_violence`` model on a ``side`` x ``side`` torus.

    Args:
        side: Grid side (Epstein's is 40).
        seed: Seed of the example's random generators.

    Returns:
        An ``EpsteinCivilViolence`` model, as shipped with Mesa 3.5.1.
    """
    from mesa.examples.advanced.epstein_civil_violence.model import (
        EpsteinCivilViolence,
        EpsteinScenario,
    )

    scenario = EpsteinScenario(**EPSTEIN_RUN_VALUES, rng=seed)
    return EpsteinCivilViolence(width=side, height=side, scenario=scenario)
