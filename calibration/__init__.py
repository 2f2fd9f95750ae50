"""Experiments on the model: sweeps, calibration, sensitivity analysis."""
