"""Bundled scenario files (TOML data only; this file makes them findable as package data)."""
