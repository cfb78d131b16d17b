"""Localize game string tables (xlsx) with an LLM, orchestrated by Dagster."""
