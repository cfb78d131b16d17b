"""The project store as a Dagster resource: one SQLAlchemy URL, SQLite under the data dir by default."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import dagster as dg

from translation_pipeline.localization.store import ProjectStore


@cache
def _open(url: str) -> ProjectStore:
    return ProjectStore(url)


def default_store_url(data_dir: str) -> str:
    return f"sqlite:///{(Path(data_dir) / 'translation_store.sqlite').resolve()}"


class ProjectStoreResource(dg.ConfigurableResource):
    """`TRANSLATION_DB_URL`, or a SQLite file in the data dir when empty."""

    db_url: str = ""
    data_dir: str = "./data"

    def get_store(self) -> ProjectStore:
        url = self.db_url or default_store_url(self.data_dir)
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        return _open(url)
