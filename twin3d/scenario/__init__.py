"""Scenarios: spec (TOML), runner, results file, ensembles."""
