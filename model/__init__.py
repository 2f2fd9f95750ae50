"""The model core: parameters, scenarios, rules and RegimeModel (headless; never imports a UI)."""
