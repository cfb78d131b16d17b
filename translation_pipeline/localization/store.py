"""The project store (SQLAlchemy, one URL): translation memory, batch checkpoints, the LLM call log and each
workbook's pinned translation settings.

Every answered batch is written in one transaction the moment it returns: its translations go into the
translation memory (keyed by source text, languages, model and prompt version, so later workbooks and
reruns reuse them and nothing is paid for twice), plus one checkpoint row and one call-log row.
Writes are idempotent: a second writer of the same entry is ignored, not an error.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import operator
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Engine
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_random_exponential

metadata = sa.MetaData()
# a cell holds up to 32,767 characters: 98 KB of UTF-8 in a CJK script, past MySQL's TEXT (64 KB), which
# INSERT IGNORE would cut without an error
CELL_TEXT = sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")

translation_memory = sa.Table(
    "translation_memory",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source_hash", sa.String(64), nullable=False),
    sa.Column("source_language", sa.String(16), nullable=False),
    sa.Column("target_language", sa.String(16), nullable=False),
    sa.Column("model", sa.String(100), nullable=False),
    sa.Column("prompt_version", sa.String(32), nullable=False),
    sa.Column("source_text", CELL_TEXT, nullable=False),
    sa.Column("text", CELL_TEXT, nullable=False),
    sa.Column("workbook_key", sa.String(100), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.UniqueConstraint(
        "source_hash", "source_language", "target_language", "model", "prompt_version", name="uq_memory_entry"
    ),
)

batch_checkpoints = sa.Table(
    "batch_checkpoints",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("workbook_key", sa.String(100), nullable=False),
    sa.Column("batch_id", sa.String(64), nullable=False),
    sa.Column("items", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.UniqueConstraint("workbook_key", "batch_id", name="uq_checkpoint"),
)

llm_calls = sa.Table(
    "llm_calls",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("workbook_key", sa.String(100), nullable=False, index=True),
    sa.Column("batch_id", sa.String(64), nullable=False),
    sa.Column("provider", sa.String(32), nullable=False),
    sa.Column("model", sa.String(100), nullable=False),
    sa.Column("items", sa.Integer, nullable=False),
    sa.Column("answered", sa.Integer, nullable=False),
    sa.Column("prompt_tokens", sa.Integer, nullable=False),
    sa.Column("completion_tokens", sa.Integer, nullable=False),
    sa.Column("latency_ms", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    # added after the first release: nullable, so `_migrate` can add them to an existing table
    sa.Column("cost_usd", sa.Float, nullable=True),
    sa.Column("outcome", sa.String(300), nullable=True),
    sa.Column("lane", sa.String(16), nullable=True),  # realtime (also NULL, from older releases) or batch
)

# what a workbook version is translated with (provider, model, prompt version, glossary hash, game context, as
# JSON), from the first run that translated it; later runs use it, only an explicit switch replaces it
workbook_settings = sa.Table(
    "workbook_settings",
    metadata,
    sa.Column("workbook_key", sa.String(100), primary_key=True),
    sa.Column("settings", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)


# the batch lane (localization/translate/batch): one row per provider batch job, written before anything is sent,
# and one per request line it holds; `localization/translate/batch/records.py` reads and writes them
batch_jobs = sa.Table(
    "batch_jobs",
    metadata,
    sa.Column("job_key", sa.String(40), primary_key=True),  # ours, also in the provider batch's metadata
    sa.Column("workbook_key", sa.String(100), nullable=False, index=True),
    sa.Column("cycle", sa.Integer, nullable=False),  # one cycle: from a run with nothing open until all collected
    sa.Column("provider", sa.String(32), nullable=False),
    sa.Column("model", sa.String(100), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),  # intent, the provider's statuses, then collected
    sa.Column("input_file_id", sa.String(100), nullable=True),
    sa.Column("batch_id", sa.String(100), nullable=True),
    sa.Column("output_file_id", sa.String(100), nullable=True),
    sa.Column("error_file_id", sa.String(100), nullable=True),
    sa.Column("lines", sa.Integer, nullable=False),
    sa.Column("completed", sa.Integer, nullable=False, default=0),
    sa.Column("failed", sa.Integer, nullable=False, default=0),
    sa.Column("note", sa.String(300), nullable=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

batch_lines = sa.Table(
    "batch_lines",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("job_key", sa.String(40), nullable=False, index=True),
    sa.Column("custom_id", sa.String(100), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("request", CELL_TEXT, nullable=False),  # the request batch as JSON: languages, items
    sa.Column("state", sa.String(16), nullable=False),  # sent, done
    sa.Column("failures", CELL_TEXT, nullable=True),  # JSON {item id: reason} of a done line
    sa.Column("followed", sa.String(16), nullable=False, default=""),  # its failures: "", resent or final
    sa.UniqueConstraint("job_key", "custom_id", name="uq_batch_line"),
)

# versions (localization/versions): each version of a lineage (a workbook's file name, or its YAML `lineages`
# name), numbered by `id` in the order first planned, and per version every target cell of a text row as its
# export left it; a new version is classified against the latest earlier version that was exported
lineage_versions = sa.Table(
    "lineage_versions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),  # the versions' order within a lineage
    sa.Column("lineage_hash", sa.String(64), nullable=False),
    sa.Column("lineage", sa.String(400), nullable=False),
    sa.Column("workbook_key", sa.String(100), nullable=False),
    sa.Column("file_name", sa.String(400), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("exported_at", sa.DateTime, nullable=True),  # set when its cells were recorded
    sa.Column("forgotten_at", sa.DateTime, nullable=True),  # set by retention (`forget_workbook`)
    sa.UniqueConstraint("lineage_hash", "workbook_key", name="uq_lineage_version"),
)

lineage_cells = sa.Table(
    "lineage_cells",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("version_id", sa.Integer, nullable=False),
    sa.Column("cell_hash", sa.String(64), nullable=False),  # of (sheet, row key, target language): the identity
    sa.Column("sheet", sa.String(255), nullable=False),
    sa.Column("row_key", CELL_TEXT, nullable=False),
    sa.Column("target_language", sa.String(16), nullable=False),
    sa.Column("cell", sa.String(16), nullable=False),  # where it was in that version (A1)
    sa.Column("source_text", CELL_TEXT, nullable=False),  # the source the text is for
    sa.Column("text", CELL_TEXT, nullable=True),  # what the cell held after the export; NULL: left empty
    sa.Column("origin", sa.String(16), nullable=False),  # machine (the project wrote it), human, empty
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.UniqueConstraint("version_id", "cell_hash", name="uq_lineage_cell"),
)

# reviewers' text learned from workbook versions: for (source text, languages), whatever the model; several texts
# for one source are a conflict, the most recent (created_at, then id) fills new cells
approved_memory = sa.Table(
    "approved_memory",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source_hash", sa.String(64), nullable=False),
    sa.Column("source_language", sa.String(16), nullable=False),
    sa.Column("target_language", sa.String(16), nullable=False),
    sa.Column("text_hash", sa.String(64), nullable=False),
    sa.Column("source_text", CELL_TEXT, nullable=False),
    sa.Column("text", CELL_TEXT, nullable=False),
    sa.Column("lineage", sa.String(400), nullable=False),  # where it was learned
    sa.Column("workbook_key", sa.String(100), nullable=False),
    sa.Column("sheet", sa.String(255), nullable=False),
    sa.Column("cell", sa.String(16), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.UniqueConstraint("source_hash", "source_language", "target_language", "text_hash", name="uq_approved_entry"),
)


VERSION_CELL_COLUMNS = ("sheet", "row_key", "target_language", "cell", "source_text", "text", "origin")


@dataclass(frozen=True)
class ApprovedEntry:
    """A reviewer's text for a source, and where it was learned first."""

    source_text: str
    text: str
    lineage: str
    workbook_key: str
    sheet: str
    cell: str
    created_at: datetime


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _unshared(value: object) -> object:
    """`value`, a copy of it when it is non-ASCII text: the database driver binds a string by its UTF-8 form, which
    Python then keeps inside that string object for as long as it lives. Bound as a copy, the UTF-8 form goes with
    the row (1,000,000 rows of two targets: the answers and source texts a run stores kept 144 MiB of it)."""
    if type(value) is str and len(value) > 1 and not value.isascii():
        return value[:1] + value[1:]
    return value


def _hashed_chunks(texts: list[str], size: int = 500) -> Iterator[dict[str, str]]:
    """`texts` `size` at a time as {hash: text}, the chunks a lookup queries: never a hash held for every text (a
    workbook of 1,000,000 rows looks up 800,000 texts per language)."""
    for start in range(0, len(texts), size):
        yield {text_hash(text): text for text in texts[start : start + size]}


@dataclass(frozen=True)
class MemoryScope:
    """Which translations are interchangeable: same languages, model and prompt version."""

    source_language: str
    target_language: str
    model: str
    prompt_version: str


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


# Each retry follows another process's finished CREATE/ALTER (6 tables, 3 indexes, 3 added columns): 20 is plenty.
_SCHEMA_ATTEMPTS = 20


def _driver_error_is(error: BaseException, mysql_codes: set[int], sqlite_messages: tuple[str, ...]) -> bool:
    """Is `error` a driver error with one of these MySQL/MariaDB error numbers, or (SQLite, no number) one of
    these message fragments?"""
    if not isinstance(error, sa.exc.DBAPIError):
        return False
    code = getattr(error.orig, "errno", None) or next(iter(error.orig.args), None)  # mysql-connector / PyMySQL
    if isinstance(code, int):
        return code in mysql_codes
    message = str(error.orig).lower()
    return any(fragment in message for fragment in sqlite_messages)


def _made_by_another_process(error: BaseException) -> bool:
    """Did DDL fail only because the table, index or column it creates exists already? (MySQL: table exists,
    duplicate column name, duplicate key name.)"""
    return _driver_error_is(error, {1050, 1060, 1061}, ("already exists", "duplicate column name"))


def _transient(error: BaseException) -> bool:
    """A write that lost a lock to another run's write (MySQL deadlock 1213 or lock wait timeout 1205, SQLite
    busy). The transaction was rolled back whole: running it again is safe."""
    return isinstance(error, sa.exc.OperationalError) and _driver_error_is(error, {1205, 1213}, ("database is locked",))


# a transaction that lost a lock was rolled back whole: run it again, a few times
_retried_after_lost_lock = retry(
    retry=retry_if_exception(_transient),
    stop=stop_after_attempt(5),
    wait=wait_random_exponential(multiplier=0.05, max=1.0),
    reraise=True,
)


def _settings_json(settings: dict[str, object]) -> str:
    return json.dumps(settings, ensure_ascii=False, sort_keys=True)


class ProjectStore:
    """The project's own tables behind one SQLAlchemy URL; created on first use."""

    def __init__(self, url: str) -> None:
        self.url = url
        connect_args = {"timeout": 30} if url.startswith("sqlite") else {}
        self.engine: Engine = sa.create_engine(url, pool_pre_ping=True, connect_args=connect_args)
        self._create_schema()

    def _create_schema(self) -> None:
        """Create missing tables and columns, safe when several processes open a brand-new store at once.

        `create_all(checkfirst=True)` and `_migrate` look, then create: not atomic, so a process that loses the
        race fails with "already exists" / "duplicate column" for what the winner just made. Then look again.
        """
        for attempt in range(_SCHEMA_ATTEMPTS):
            try:
                metadata.create_all(self.engine)
                self._migrate()
                return
            except (sa.exc.OperationalError, sa.exc.ProgrammingError) as error:
                if attempt == _SCHEMA_ATTEMPTS - 1 or not _made_by_another_process(error):
                    raise

    def _migrate(self) -> None:
        """Add the nullable columns a table created by an older release lacks, and on MySQL widen its cell-text
        columns from TEXT to MEDIUMTEXT (idempotent)."""
        inspector = sa.inspect(self.engine)
        for table in metadata.sorted_tables:
            present = {column["name"]: column for column in inspector.get_columns(table.name)}
            for column in table.columns:
                found = present.get(column.name)
                if found is None:
                    kind = column.type.compile(dialect=self.engine.dialect)
                    with self.engine.begin() as conn:
                        conn.execute(sa.text(f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind} NULL"))
                elif column.type is CELL_TEXT and type(found["type"]).__name__ == "TEXT" and self._mysql:
                    with self.engine.begin() as conn:
                        conn.execute(sa.text(f"ALTER TABLE {table.name} MODIFY {column.name} MEDIUMTEXT NOT NULL"))

    @property
    def _mysql(self) -> bool:
        return self.engine.dialect.name in ("mysql", "mariadb")

    def _insert_ignore(self, table: sa.Table) -> sa.Insert:
        dialect = self.engine.dialect.name
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            return sqlite_insert(table).on_conflict_do_nothing()
        if dialect in ("mysql", "mariadb"):
            return table.insert().prefix_with("IGNORE")
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing()

    def lookup(self, scope: MemoryScope, texts: list[str]) -> dict[str, str]:
        """Stored translations of `texts` in `scope`: source text -> translation."""
        found: dict[str, str] = {}
        with self.engine.connect() as conn:
            for hashes in _hashed_chunks(texts):
                rows = conn.execute(
                    sa.select(translation_memory.c.source_hash, translation_memory.c.text).where(
                        translation_memory.c.source_hash.in_(list(hashes)),
                        translation_memory.c.source_language == scope.source_language,
                        translation_memory.c.target_language == scope.target_language,
                        translation_memory.c.model == scope.model,
                        translation_memory.c.prompt_version == scope.prompt_version,
                    )
                )
                found.update({hashes[h]: text for h, text in rows})
        return found

    @_retried_after_lost_lock
    def record_batch(
        self,
        workbook_key: str,
        batch_id: str,
        scope: MemoryScope,
        answers: dict[str, str],
        *,
        provider: str,
        items: int,
        prompt_tokens: int,
        completion_tokens: int,
        latency_ms: int,
        cost_usd: float | None = None,
        lane: str = "realtime",
    ) -> None:
        """One transaction: the answers into memory, the checkpoint row and the call-log row. Retried when it
        lost a lock to a concurrent run (seen on MariaDB: two runs inserting overlapping memory rows)."""
        now = _now()
        rows = [
            {
                "source_hash": text_hash(source),
                "source_language": scope.source_language,
                "target_language": scope.target_language,
                "model": scope.model,
                "prompt_version": scope.prompt_version,
                "source_text": _unshared(source),
                "text": _unshared(text),
                "workbook_key": workbook_key,
                "created_at": now,
            }
            for source, text in answers.items()
        ]
        with self.engine.begin() as conn:
            if rows:
                conn.execute(self._insert_ignore(translation_memory), rows)
            conn.execute(
                self._insert_ignore(batch_checkpoints),
                [{"workbook_key": workbook_key, "batch_id": batch_id, "items": len(rows), "created_at": now}],
            )
            conn.execute(
                llm_calls.insert(),
                [
                    {
                        "workbook_key": workbook_key,
                        "batch_id": batch_id,
                        "provider": provider,
                        "model": scope.model,
                        "items": items,
                        "answered": len(rows),
                        "prompt_tokens": prompt_tokens,
                        "completion_tokens": completion_tokens,
                        "latency_ms": latency_ms,
                        "created_at": now,
                        "cost_usd": cost_usd,
                        "outcome": "answered",
                        "lane": lane,
                    }
                ],
            )

    def log_calls(self, workbook_key: str, calls: list[dict[str, object]]) -> None:
        """Call-log rows for requests that brought no answer (rejected replies, transport errors)."""
        if calls:
            now = _now()
            with self.engine.begin() as conn:
                conn.execute(
                    llm_calls.insert(), [{"workbook_key": workbook_key, "created_at": now, **c} for c in calls]
                )

    @_retried_after_lost_lock
    def pin_settings(self, workbook_key: str, settings: dict[str, object]) -> dict[str, object]:
        """Pin `settings` to the workbook unless it has some already (the first writer wins, also between
        concurrent runs); returns the settings actually pinned."""
        now = _now()
        row = {"workbook_key": workbook_key, "settings": _settings_json(settings), "created_at": now, "updated_at": now}
        with self.engine.begin() as conn:
            conn.execute(self._insert_ignore(workbook_settings), [row])
        return self.pinned_settings(workbook_key) or settings  # None only when forgotten in between

    @_retried_after_lost_lock
    def repin_settings(self, workbook_key: str, settings: dict[str, object]) -> None:
        """Replace the workbook's pinned settings (an explicit switch; the last writer wins)."""
        now = _now()
        text = _settings_json(settings)
        with self.engine.begin() as conn:
            conn.execute(
                self._insert_ignore(workbook_settings),
                [{"workbook_key": workbook_key, "settings": text, "created_at": now, "updated_at": now}],
            )
            conn.execute(
                workbook_settings.update()
                .where(workbook_settings.c.workbook_key == workbook_key)
                .values(settings=text, updated_at=now)
            )

    def pinned_settings(self, workbook_key: str) -> dict[str, object] | None:
        """The workbook's pinned settings, or None before its first translation run."""
        with self.engine.connect() as conn:
            text = conn.scalar(
                sa.select(workbook_settings.c.settings).where(workbook_settings.c.workbook_key == workbook_key)
            )
        return None if text is None else json.loads(text)

    def forget_workbook(self, workbook_key: str) -> int:
        """Delete a workbook's batch checkpoints and pinned settings (not its memory entries, not the call log);
        returns how many checkpoints went."""
        with self.engine.begin() as conn:
            result = conn.execute(batch_checkpoints.delete().where(batch_checkpoints.c.workbook_key == workbook_key))
            conn.execute(workbook_settings.delete().where(workbook_settings.c.workbook_key == workbook_key))
            self._forget_versions(conn, workbook_key)
        return result.rowcount

    @staticmethod
    def _forget_versions(conn: sa.Connection, workbook_key: str) -> None:
        """Mark a workbook's versions forgotten, and drop the recorded cells of every forgotten version no kept
        version can be compared with any more: a version's cells serve the versions after it up to the next
        exported one (a rerun of that one compares with it again), so they go once all of those are forgotten.
        The latest exported version of a lineage always keeps its cells (forgetting them would make the project's
        text look like a reviewer's in the next version); version rows stay, as they number the versions, and
        approved memory stays."""
        versions = lineage_versions.c
        conn.execute(lineage_versions.update().where(versions.workbook_key == workbook_key).values(forgotten_at=_now()))
        lineages = conn.scalars(sa.select(versions.lineage_hash).where(versions.workbook_key == workbook_key)).all()
        for lineage_hash in set(lineages):
            rows = conn.execute(
                sa.select(versions.id, versions.exported_at, versions.forgotten_at)
                .where(versions.lineage_hash == lineage_hash)
                .order_by(versions.id)
            ).all()
            for index, (version_id, exported, forgotten) in enumerate(rows):
                if forgotten is None or exported is None:
                    continue
                later = rows[index + 1 :]
                served = next((i for i, row in enumerate(later) if row[1] is not None), None)
                if served is not None and all(row[2] is not None for row in later[: served + 1]):
                    conn.execute(lineage_cells.delete().where(lineage_cells.c.version_id == version_id))

    def workbook_usage(self, workbook_key: str) -> tuple[int, int, int, float | None]:
        """(requests, prompt tokens, completion tokens, cost in USD or None if unpriced) of a workbook."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(
                    sa.func.count(),
                    sa.func.coalesce(sa.func.sum(llm_calls.c.prompt_tokens), 0),
                    sa.func.coalesce(sa.func.sum(llm_calls.c.completion_tokens), 0),
                    sa.func.sum(llm_calls.c.cost_usd),
                ).where(llm_calls.c.workbook_key == workbook_key)
            ).one()
        return int(row[0]), int(row[1]), int(row[2]), None if row[3] is None else float(row[3])

    # --- versions (localization/versions) ------------------------------------------------------------------

    @_retried_after_lost_lock
    def register_version(self, lineage: str, workbook_key: str, file_name: str) -> int:
        """The version number (`lineage_versions.id`) of a workbook version in its lineage; the first call
        numbers it, later ones (reruns) get the same number."""
        lineage_hash = text_hash(lineage)
        row = {"lineage_hash": lineage_hash, "lineage": lineage[:400], "workbook_key": workbook_key,
               "file_name": file_name[:400], "created_at": _now()}  # fmt: skip
        with self.engine.begin() as conn:
            conn.execute(self._insert_ignore(lineage_versions), [row])
            return int(conn.scalar(
                sa.select(lineage_versions.c.id).where(
                    lineage_versions.c.lineage_hash == lineage_hash, lineage_versions.c.workbook_key == workbook_key
                )
            ))  # fmt: skip

    def version_id(self, lineage: str, workbook_key: str) -> int | None:
        """The version id of a workbook version already registered in its lineage, else None."""
        table = lineage_versions.c
        with self.engine.connect() as conn:
            found = conn.scalar(
                sa.select(table.id).where(table.lineage_hash == text_hash(lineage), table.workbook_key == workbook_key)
            )
        return None if found is None else int(found)

    def version_number(self, lineage: str, version_id: int | None) -> int:
        """A version's number within its lineage (1 for the first one planned, and so on); for None, how many
        versions the lineage has."""
        table = lineage_versions.c
        upto = [] if version_id is None else [table.id <= version_id]
        with self.engine.connect() as conn:
            return int(conn.scalar(sa.select(sa.func.count()).where(table.lineage_hash == text_hash(lineage), *upto)))

    def previous_version(self, lineage: str, version_id: int | None) -> tuple[int, str, datetime] | None:
        """(version id, workbook key, exported at) of the latest version before `version_id` (None: of all) in the
        lineage whose cells were recorded; None for a first version."""
        table = lineage_versions.c
        before = [] if version_id is None else [table.id < version_id]
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(table.id, table.workbook_key, table.exported_at)
                .where(table.lineage_hash == text_hash(lineage), table.exported_at.is_not(None), *before)
                .order_by(lineage_versions.c.id.desc())
                .limit(1)
            ).first()
        return None if row is None else (int(row[0]), str(row[1]), row[2])

    def version_cells(self, version_id: int) -> list[dict[str, object]]:
        """The recorded cells of a version: sheet, row_key, target_language, cell, source_text, text, origin."""
        columns = [lineage_cells.c[name] for name in VERSION_CELL_COLUMNS]
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(*columns).where(lineage_cells.c.version_id == version_id))
            return [dict(zip(VERSION_CELL_COLUMNS, row, strict=True)) for row in rows]

    @_retried_after_lost_lock
    def record_version(self, version_id: int, cells: Iterable[dict[str, object]]) -> None:
        """Replace the recorded cells of a version (a rerun's export replaces its earlier one), in one transaction,
        1,000 cells at a time (memory does not grow with the version). Each cell: VERSION_CELL_COLUMNS. `cells` is
        iterated once per attempt (a lost lock retries the transaction): a collection, not an iterator."""
        now = _now()
        values = operator.itemgetter(*VERSION_CELL_COLUMNS)
        identity = operator.itemgetter("sheet", "row_key", "target_language")
        rows = (
            dict(zip(VERSION_CELL_COLUMNS, map(_unshared, values(cell)), strict=True), version_id=version_id,
                 created_at=now, cell_hash=text_hash("\0".join(map(str, identity(cell)))))
            for cell in cells
        )  # fmt: skip
        with self.engine.begin() as conn:
            conn.execute(lineage_cells.delete().where(lineage_cells.c.version_id == version_id))
            while chunk := list(itertools.islice(rows, 1000)):
                conn.execute(self._insert_ignore(lineage_cells), chunk)
            conn.execute(lineage_versions.update().where(lineage_versions.c.id == version_id).values(exported_at=now))

    @_retried_after_lost_lock
    def learn_approved(self, entries: list[dict[str, str]], *, written: bool = False) -> int:
        """Reviewers' texts into the approved memory (each: source_language, target_language, source_text, text,
        lineage, workbook_key, sheet, cell). A text already known for its source keeps its date and place, unless
        `written`: a text a person wrote in this version (not one seen again) is the most recent one now, even
        when it was learned before (a reviewer going back to an earlier wording). Returns how many were new."""
        now = _now()
        rows = [
            {**entry, "lineage": entry["lineage"][:400], "source_hash": text_hash(entry["source_text"]),
             "text_hash": text_hash(entry["text"]), "created_at": now}
            for entry in entries
        ]  # fmt: skip
        table = approved_memory.c
        refresh = (
            approved_memory.update()
            .where(table.source_hash == sa.bindparam("b_source"), table.source_language == sa.bindparam("b_from"),
                   table.target_language == sa.bindparam("b_to"), table.text_hash == sa.bindparam("b_text"))
            .values(created_at=now, lineage=sa.bindparam("b_lineage"), workbook_key=sa.bindparam("b_key"),
                    sheet=sa.bindparam("b_sheet"), cell=sa.bindparam("b_cell"))
        )  # fmt: skip
        new = 0
        with self.engine.begin() as conn:
            for start in range(0, len(rows), 500):
                chunk = rows[start : start + 500]
                inserted = conn.execute(self._insert_ignore(approved_memory), chunk).rowcount
                new += max(inserted, 0)
                if written and inserted != len(chunk):  # some were known: they are the most recent now
                    conn.execute(refresh, [
                        {"b_source": r["source_hash"], "b_from": r["source_language"], "b_to": r["target_language"],
                         "b_text": r["text_hash"], "b_lineage": r["lineage"], "b_key": r["workbook_key"],
                         "b_sheet": r["sheet"], "b_cell": r["cell"]}
                        for r in chunk
                    ])  # fmt: skip
        return new

    def approved_entries(
        self, source_language: str, target_language: str, texts: list[str]
    ) -> dict[str, list[ApprovedEntry]]:
        """The approved texts of each source in `texts` (those that have any), oldest first: the last one wins."""
        found: dict[str, list[ApprovedEntry]] = {}
        table = approved_memory.c
        with self.engine.connect() as conn:
            for hashes in _hashed_chunks(list(dict.fromkeys(texts))):  # each source once: its entries once
                rows = conn.execute(
                    sa.select(table.source_hash, table.text, table.lineage, table.workbook_key, table.sheet,
                              table.cell, table.created_at)
                    .where(table.source_hash.in_(list(hashes)),
                           table.source_language == source_language, table.target_language == target_language)
                    .order_by(table.created_at, table.id)
                )  # fmt: skip
                for source_hash, text, lineage, key, sheet, cell, created in rows:
                    source = hashes[source_hash]
                    found.setdefault(source, []).append(ApprovedEntry(source, text, lineage, key, sheet, cell, created))
        return found

    def lookup_approved(self, source_language: str, target_language: str, texts: list[str]) -> dict[str, str]:
        """Reviewers' translations of `texts`: source text -> the most recent approved text."""
        entries = self.approved_entries(source_language, target_language, texts)
        return {source: found[-1].text for source, found in entries.items()}

    def dispose(self) -> None:
        self.engine.dispose()
