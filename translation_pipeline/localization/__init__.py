"""Plain-Python localization domain: no Dagster imports below this package."""
