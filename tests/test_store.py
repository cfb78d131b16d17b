"""The project store on SQLite and on a real MariaDB server: memory, checkpoints, call log, concurrency."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from translation_pipeline.localization.store import MemoryScope, ProjectStore, llm_calls, translation_memory

SCOPE = MemoryScope("zh-CN", "en", "gpt-4o-mini", "p1")


@pytest.fixture(params=["sqlite", "mariadb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ProjectStore]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    else:
        url = request.getfixturevalue("mysql_database").url
    project_store = ProjectStore(url)
    yield project_store
    project_store.dispose()


def record(store: ProjectStore, answers: dict[str, str], batch_id: str = "b1", key: str = "wb-1") -> None:
    store.record_batch(
        key, batch_id, SCOPE, answers, provider="openai", items=len(answers), prompt_tokens=100,
        completion_tokens=40, latency_ms=850,
    )  # fmt: skip


def test_memory_round_trip_is_scoped_by_languages_model_and_prompt(store: ProjectStore) -> None:
    record(store, {"你好": "Hello", "勇者，欢迎！": "Welcome, hero! 🎉", "确定": "OK"})
    assert store.lookup(SCOPE, ["你好", "确定", "未知"]) == {"你好": "Hello", "确定": "OK"}
    assert store.lookup(SCOPE, ["勇者，欢迎！"]) == {"勇者，欢迎！": "Welcome, hero! 🎉"}
    for other in (
        MemoryScope("zh-CN", "ja", "gpt-4o-mini", "p1"),
        MemoryScope("zh-CN", "en", "qwen-plus", "p1"),
        MemoryScope("zh-CN", "en", "gpt-4o-mini", "p2"),
    ):
        assert store.lookup(other, ["你好"]) == {}


def test_writes_are_idempotent_and_the_first_answer_wins(store: ProjectStore) -> None:
    record(store, {"你好": "Hello"})
    record(store, {"你好": "Hi there"})  # a rerun that was paid for anyway must not break or flip the memory
    assert store.lookup(SCOPE, ["你好"]) == {"你好": "Hello"}
    with store.engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(translation_memory)) == 1
        calls = conn.execute(sa.select(llm_calls.c.prompt_tokens, llm_calls.c.latency_ms)).all()
    assert calls == [(100, 850), (100, 850)]  # the call log keeps every request


def test_long_texts_and_many_lookups(store: ProjectStore) -> None:
    long_text = "长" * 5000
    answers = {f"文本{i}": f"text {i}" for i in range(1200)} | {long_text: "long"}
    record(store, answers)
    found = store.lookup(SCOPE, [*answers, "missing"])
    assert len(found) == 1201 and found[long_text] == "long"


def test_concurrent_writers_of_overlapping_batches(store: ProjectStore) -> None:
    """Two runs at once on the same store: every answer lands once, nobody fails."""
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            for batch in range(20):
                record(store, {f"句子{batch * 5 + i}": f"{name} {batch * 5 + i}" for i in range(5)}, f"b{batch}", name)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(f"run{n}",)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    found = store.lookup(SCOPE, [f"句子{i}" for i in range(100)])
    assert len(found) == 100
    with store.engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(translation_memory)) == 100
        assert conn.scalar(sa.select(sa.func.count()).select_from(llm_calls)) == 60
