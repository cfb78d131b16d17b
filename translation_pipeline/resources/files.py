"""Where the project keeps files: `<data_dir>/inbox`, `archive`, `outbox`, `storage`."""

from __future__ import annotations

from pathlib import Path

import dagster as dg


class DataDirResource(dg.ConfigurableResource):
    """Root of the drop folder, the archive of inputs, the outputs and the step outputs."""

    data_dir: str = "./data"

    @property
    def root(self) -> Path:
        return Path(self.data_dir).resolve()

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def archive(self) -> Path:
        return self.root / "archive"

    @property
    def outbox(self) -> Path:
        return self.root / "outbox"

    @property
    def storage(self) -> Path:
        return self.root / "storage"

    def ensure(self) -> None:
        for folder in (self.inbox, self.archive, self.outbox, self.storage):
            folder.mkdir(parents=True, exist_ok=True)
