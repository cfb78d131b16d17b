"""The batch lane's records in the project store (tables `batch_jobs`, `batch_lines` in store.py).

A job row and its lines are written in one transaction before anything reaches the provider (status `intent`);
each later step (file uploaded, batch created, status polled, output read) updates the row as it happens, so a
process killed at any point leaves exactly what the next one needs to re-attach.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass

import sqlalchemy as sa

from translation_pipeline.localization.store import ProjectStore, _now, batch_jobs, batch_lines

OPEN = "collected"  # a job is open until its output was read; then its status is this


@dataclass(frozen=True)
class Job:
    job_key: str
    workbook_key: str
    cycle: int
    provider: str
    model: str
    status: str
    input_file_id: str | None
    batch_id: str | None
    lines: int
    completed: int
    failed: int
    note: str
    created_at: dt.datetime

    @property
    def open(self) -> bool:
        return self.status != OPEN


def jobs_markdown(jobs: list[Job]) -> str:
    """A Markdown table of jobs (batch id, status, line counts, job key), as the UI shows it in metadata."""
    header = "| batch | status | lines | completed | failed | job |\n|---|---|---|---|---|---|\n"
    return header + "".join(
        f"| {j.batch_id or '-'} | {j.status} | {j.lines} | {j.completed} | {j.failed} | {j.job_key} |\n" for j in jobs
    )


@dataclass(frozen=True)
class Line:
    job_key: str
    custom_id: str
    attempt: int
    request: str
    state: str  # sent, done
    failures: dict[str, tuple[str, bool]]  # item id -> (reason, whether sending it again may help)
    followed: str  # "", resent, final


def new_job_key() -> str:
    return f"tpj-{uuid.uuid4().hex[:20]}"


class BatchRecords:
    def __init__(self, store: ProjectStore) -> None:
        self.engine = store.engine

    def create_job(self, key: str, cycle: int, provider: str, model: str,
                   lines: list[tuple[str, int, str]]) -> str:  # fmt: skip
        """Record a job about to be submitted with its lines (custom_id, attempt, request JSON); returns its key."""
        job_key, now = new_job_key(), _now()
        with self.engine.begin() as conn:
            conn.execute(batch_jobs.insert(), [{
                "job_key": job_key, "workbook_key": key, "cycle": cycle, "provider": provider, "model": model,
                "status": "intent", "lines": len(lines), "completed": 0, "failed": 0, "created_at": now,
                "updated_at": now,
            }])  # fmt: skip
            conn.execute(batch_lines.insert(), [
                {"job_key": job_key, "custom_id": custom_id, "attempt": attempt, "request": request,
                 "state": "sent", "followed": ""}
                for custom_id, attempt, request in lines
            ])  # fmt: skip
        return job_key

    def update_job(self, job_key: str, **values: object) -> None:
        with self.engine.begin() as conn:
            conn.execute(batch_jobs.update().where(batch_jobs.c.job_key == job_key).values(updated_at=_now(), **values))

    def jobs(self, key: str | None = None, *, open_only: bool = False, limit: int | None = None) -> list[Job]:
        query = sa.select(*[batch_jobs.c[name] for name in Job.__dataclass_fields__]).order_by(batch_jobs.c.created_at)
        if key is not None:
            query = query.where(batch_jobs.c.workbook_key == key)
        if open_only:
            query = query.where(batch_jobs.c.status != OPEN)
        if limit:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [Job(**{**row._mapping, "note": row.note or ""}) for row in conn.execute(query)]

    def cycle_of(self, key: str) -> tuple[int, bool]:
        """(the workbook's current cycle, whether it is still going: a job open or failures not handed on)."""
        with self.engine.connect() as conn:
            latest = conn.scalar(sa.select(sa.func.max(batch_jobs.c.cycle)).where(batch_jobs.c.workbook_key == key))
            if latest is None:
                return 0, False
            jobs = sa.select(batch_jobs.c.job_key).where(batch_jobs.c.workbook_key == key,
                                                         batch_jobs.c.cycle == latest)  # fmt: skip
            in_cycle = (batch_jobs.c.workbook_key == key, batch_jobs.c.cycle == latest)
            open_jobs = conn.scalar(
                sa.select(sa.func.count()).select_from(batch_jobs).where(*in_cycle, batch_jobs.c.status != OPEN)
            )
            unfollowed = conn.scalar(sa.select(sa.func.count()).select_from(batch_lines).where(
                batch_lines.c.job_key.in_(jobs), batch_lines.c.failures.is_not(None),
                batch_lines.c.followed == ""))  # fmt: skip
        return int(latest), bool(open_jobs or unfollowed)

    def lines(self, key: str, cycle: int) -> list[Line]:
        jobs = sa.select(batch_jobs.c.job_key).where(batch_jobs.c.workbook_key == key, batch_jobs.c.cycle == cycle)
        query = sa.select(batch_lines).where(batch_lines.c.job_key.in_(jobs)).order_by(batch_lines.c.id)
        with self.engine.connect() as conn:
            return [
                Line(r.job_key, r.custom_id, r.attempt, r.request, r.state, json.loads(r.failures or "{}"), r.followed)
                for r in conn.execute(query)
            ]

    def job_lines(self, job_key: str) -> list[Line]:
        query = sa.select(batch_lines).where(batch_lines.c.job_key == job_key).order_by(batch_lines.c.id)
        with self.engine.connect() as conn:
            return [
                Line(r.job_key, r.custom_id, r.attempt, r.request, r.state, json.loads(r.failures or "{}"), r.followed)
                for r in conn.execute(query)
            ]

    def finish_line(self, job_key: str, custom_id: str, failures: dict[str, tuple[str, bool]]) -> None:
        """The line's answers are stored: it is done, with the failures of its items (none: nothing to follow)."""
        with self.engine.begin() as conn:
            conn.execute(
                batch_lines.update()
                .where(batch_lines.c.job_key == job_key, batch_lines.c.custom_id == custom_id)
                .values(state="done", failures=json.dumps(failures, ensure_ascii=False) if failures else None)
            )

    def follow(self, lines: list[Line], how: str) -> None:
        """Their failures were handed on (`resent`: to another line or the realtime lane) or settled (`final`)."""
        with self.engine.begin() as conn:
            for line in lines:
                conn.execute(
                    batch_lines.update()
                    .where(batch_lines.c.job_key == line.job_key, batch_lines.c.custom_id == line.custom_id)
                    .values(followed=how)
                )

    def open_workbooks(self, limit: int = 500) -> dict[str, list[Job]]:
        """Workbook key -> its open jobs, for the sensor."""
        found: dict[str, list[Job]] = {}
        for job in self.jobs(open_only=True, limit=limit):
            found.setdefault(job.workbook_key, []).append(job)
        return found
