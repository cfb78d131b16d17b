"""Hostile replies, item by item: every reply fault of the fake server through the real engine, the real
OpenAI SDK and the real project store, then the export and the QA report. One bad item never costs the
others of its batch, nothing raises, and the bad item ends valid or reported."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils.escape import unescape

from tests.fake_llm_server import (
    CONTROL_TEXT,
    EXCEL_ESCAPE_TEXT,
    FORMULA_TEXT,
    SURROGATE_TEXT,
    XML_MARKUP_TEXT,
    XML_TEXT,
    FakeLLMServer,
)
from tests.test_engine import Scripted, batch, good, reply
from tests.test_qa import outcomes
from translation_pipeline.localization.check.qa import findings, read_report, summarize, write_report
from translation_pipeline.localization.refs import code_of
from translation_pipeline.localization.store import MemoryScope, ProjectStore
from translation_pipeline.localization.translate.contract import (
    FORMULA_STARTS,
    BatchItem,
    ProviderReply,
    RequestBatch,
    Usage,
)
from translation_pipeline.localization.translate.engine import Engine, EngineResult, RequestRecord
from translation_pipeline.localization.translate.prompt import PROMPT_VERSION
from translation_pipeline.localization.translate.providers.openai_provider import OpenAIProvider
from translation_pipeline.localization.write.export import CellFill, export_workbook

MODEL = "gpt-4o-mini"
MAX_ATTEMPTS = 4
SCOPE = MemoryScope("zh-CN", "en", MODEL, PROMPT_VERSION)
# id -> (source, what the fake model answers); t4 and t5 share their (lack of) placeholders, t1 and t2 do not
ROWS = {
    "t1": ("勇者，欢迎来到晨曦村！", "Hero, welcome to Dawn Village!"),
    "t2": ("你的名字是{name}吗？", "Is your name {name}?"),
    "t3": ("修理需要%d金币。", "Repairs cost %d gold."),
    "t4": ("确定", "OK"),
    "t5": ("取消", "Cancel"),
    "t6": ("<color=#ffcc00>传说之剑</color>已经锻造完成。", "<color=#ffcc00>The Legendary Sword</color> is forged."),
}
ENGLISH = dict(ROWS.values())
CELLS = {item_id: f"C{row}" for row, item_id in enumerate(ROWS, start=2)}


@pytest.fixture
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(retry_after="0", answer=lambda target, text: ENGLISH[text]) as fake:
        yield fake


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ProjectStore]:
    project_store = ProjectStore(f"sqlite:///{tmp_path / 'store.db'}")
    yield project_store
    project_store.dispose()


@dataclass
class Translated:
    result: EngineResult
    checkpoints: list[dict[str, str]]  # the answers of each write, in order


def translate(server: FakeLLMServer, store: ProjectStore, rows: dict[str, tuple[str, str]] = ROWS) -> Translated:
    """One batch of `rows` through the engine and the OpenAI SDK, every answer checkpointed in `store`."""
    sources = {item_id: source for item_id, (source, _) in rows.items()}
    checkpoints: list[dict[str, str]] = []

    def checkpoint(b: RequestBatch, answers: dict[str, str], r: ProviderReply, record: RequestRecord) -> None:
        store.record_batch(
            "wb",
            b.batch_id,
            SCOPE,
            {sources[i]: t for i, t in answers.items()},
            provider="openai",
            items=len(b.items),
            prompt_tokens=r.usage.prompt_tokens,
            completion_tokens=r.usage.completion_tokens,
            latency_ms=1,
            cost_usd=record.cost_usd,
        )
        checkpoints.append(answers)

    provider = OpenAIProvider(MODEL, api_key="sk-test", base_url=server.base_url_openai, timeout=5)
    engine = Engine(provider, max_attempts=MAX_ATTEMPTS, backoff_base=0.001, on_answer=checkpoint)
    items = tuple(BatchItem(item_id, source) for item_id, source in sources.items())
    return Translated(engine.run([RequestBatch("b1", "zh-CN", "en", items)]), checkpoints)


def as_excel_reads(value: object) -> object:
    """A cell value as Excel shows it: openpyxl leaves `_xHHHH_` undecoded, Excel decodes it."""
    return unescape(value) if isinstance(value, str) else value


def source_workbook(path: Path, rows: dict[str, tuple[str, str]] = ROWS) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Strings"
    sheet.append(["Key", "中文", "English"])
    for item_id, (source, _) in rows.items():
        sheet.append([item_id, source, None])
    workbook.save(path)
    return path


def qa_outcomes(result: EngineResult, rows: dict[str, tuple[str, str]] = ROWS) -> pd.DataFrame:
    return outcomes([("Strings", f"C{row}", "en", source, result.translations.get(item_id), None)
                     for row, (item_id, (source, _)) in enumerate(rows.items(), start=2)])  # fmt: skip


ALWAYS = None  # the fault on every attempt
# (fault, times) -> (what t1 ends as: its text, or its failure reason; requests sent; QA rules on t1's cell)
OUTCOMES: dict[tuple[str, int | None], tuple[str, int, set[str]]] = {
    ("control_chars", ALWAYS): (ENGLISH["勇者，欢迎来到晨曦村！"] + CONTROL_TEXT, 1, {"control_characters"}),
    ("excel_escape", ALWAYS): (ENGLISH["勇者，欢迎来到晨曦村！"] + EXCEL_ESCAPE_TEXT, 1, set()),
    ("xml_text", ALWAYS): (ENGLISH["勇者，欢迎来到晨曦村！"] + XML_TEXT, 1, set()),
    ("xml_markup", 1): (ENGLISH["勇者，欢迎来到晨曦村！"], 2, set()),
    ("xml_markup", ALWAYS): ("placeholders invented </si>, </t>, <si>, <t> (after 4 tries)", 4, {"translation"}),
    ("long_text", 1): (ENGLISH["勇者，欢迎来到晨曦村！"], 2, set()),
    ("long_text", ALWAYS): (
        "reply longer than a cell holds (100000 characters, max 32767) (after 4 tries)",
        4,
        {"translation"},
    ),
    ("lone_surrogate", 1): (ENGLISH["勇者，欢迎来到晨曦村！"], 2, set()),
    ("lone_surrogate", ALWAYS): (SURROGATE_TEXT.replace("\ud800", "\ufffd"), 4, {"control_characters"}),
    ("formula", 1): (ENGLISH["勇者，欢迎来到晨曦村！"], 2, set()),
    ("formula", ALWAYS): (FORMULA_TEXT, 4, {"formula_like"}),
    # t1 and t2 swapped: placeholders differ, both fail and are re-sent alone, where nothing can be swapped
    ("swapped_ids", ALWAYS): (ENGLISH["勇者，欢迎来到晨曦村！"], 3, set()),
}


@pytest.mark.parametrize(("fault", "times"), list(OUTCOMES))
def test_a_hostile_reply_costs_its_item_alone_through_store_export_and_report(
    server: FakeLLMServer, store: ProjectStore, tmp_path: Path, fault: str, times: int | None
) -> None:
    ends_as, requests, rules = OUTCOMES[fault, times]
    server.fault_for_item("晨曦村", fault, times=times)  # t1
    run = translate(server, store)  # nothing raises
    result = run.result
    assert server.requests[0]["fault"] == fault and server.request_count == requests

    hit = {"t1", "t2"} if fault == "swapped_ids" else {"t1"}
    others = {item_id: english for item_id, (_, english) in ROWS.items() if item_id not in hit}
    assert run.checkpoints[0].items() >= others.items()  # stored with the first reply, whatever t1 did
    if "after 4 tries" in ends_as:
        assert result.failures == {"t1": ends_as} and "t1" not in result.translations
    else:
        assert not result.failures and result.translations["t1"] == ends_as
    assert {k: v for k, v in result.translations.items() if k != "t1"} == {
        item_id: english for item_id, (_, english) in ROWS.items() if item_id != "t1"
    }
    stored = store.lookup(SCOPE, [source for source, _ in ROWS.values()])
    assert stored == {ROWS[item_id][0]: text for item_id, text in result.translations.items()}

    fills = [CellFill("Strings", CELLS[item_id], text) for item_id, text in result.translations.items()]
    output = tmp_path / "out.xlsx"
    summary = export_workbook(source_workbook(tmp_path / "in.xlsx"), output, fills)
    assert summary.written == len(fills) and not summary.skipped
    sheet = load_workbook(output)["Strings"]
    for item_id, text in result.translations.items():  # exactly what was written, as Excel reads it back
        cell = sheet[CELLS[item_id]]
        assert as_excel_reads(cell.value) == ILLEGAL_CHARACTERS_RE.sub("", text) and cell.data_type == "s"
    assert summary.cleaned == (fault == "control_chars")

    data = qa_outcomes(result)
    issues = findings(data, {})
    assert set(issues.loc[issues["cell"] == "C2", "rule"]) == rules
    assert set(issues["cell"]) <= {"C2"}  # no other cell has a finding
    write_report(tmp_path / "qa.xlsx", issues, summarize(data, issues))
    assert read_report(tmp_path / "qa.xlsx")[0]["rule"].tolist() == issues["rule"].tolist()


WRITTEN_AS_IS = [
    "OK" + EXCEL_ESCAPE_TEXT,
    "a_x00e9_b _x41_ _xZZZZ_",
    "OK" + XML_MARKUP_TEXT,
    "OK" + XML_TEXT,
    "]]><!-- --><?xml version='1.0'?>&#0;",
]
OVERLAPPING = "_x005F_x0041_"  # `_x005F_` and `_x0041_` share an underscore: Excel reads it as `_x0041_`


def exported(tmp_path: Path, texts: list[str]) -> dict[str, object]:
    """The cells C2, C3... of a workbook exported with `texts`, as Excel reads them."""
    written = {f"C{row}": text for row, text in enumerate(texts, start=2)}
    rows = {f"t{row}": (f"原文{row}", text) for row, text in enumerate(texts, start=2)}
    output = tmp_path / "out.xlsx"
    fills = [CellFill("Strings", cell, text) for cell, text in written.items()]
    assert export_workbook(source_workbook(tmp_path / "in.xlsx", rows), output, fills).written == len(texts)
    sheet = load_workbook(output)["Strings"]
    return {cell: as_excel_reads(sheet[cell].value) for cell in written}


def test_text_excel_would_decode_and_xml_fragments_read_back_exactly_in_the_workbook(tmp_path: Path) -> None:
    assert exported(tmp_path, WRITTEN_AS_IS) == {f"C{row}": t for row, t in enumerate(WRITTEN_AS_IS, start=2)}


def test_overlapping_excel_escapes_read_back_exactly_in_the_workbook(tmp_path: Path) -> None:
    assert exported(tmp_path, [OVERLAPPING]) == {"C2": OVERLAPPING}


def test_text_excel_would_decode_and_xml_fragments_read_back_exactly_in_the_report(tmp_path: Path) -> None:
    texts = [*WRITTEN_AS_IS, OVERLAPPING]
    written = {f"C{row}": text for row, text in enumerate(texts, start=2)}
    rows = {f"t{row}": (f"原文{row}", text) for row, text in enumerate(texts, start=2)}
    data = outcomes([("Strings", f"C{row}", "en", source, text, 1) for row, (source, text) in enumerate(
        rows.values(), start=2)])  # fmt: skip
    issues = findings(data, {})  # max length 1: every cell has a finding, its translation in the report
    write_report(tmp_path / "qa.xlsx", issues, summarize(data, issues))
    report = load_workbook(tmp_path / "qa.xlsx")["findings"]
    assert {row[1].value: as_excel_reads(row[5].value) for row in report.iter_rows(min_row=2)} == written
    raw = {row[1].value: row[5].value for row in report.iter_rows(min_row=2)}
    assert raw["C7"] == "_x005F_x005F_x005F_x0041_"  # every `_` Excel would decode is escaped
    read = read_report(tmp_path / "qa.xlsx")[0]
    assert dict(zip(read["cell"], read["translation"], strict=True)) == written


def test_the_qa_report_writes_any_text(tmp_path: Path) -> None:
    """What no cell can hold is shown as an escape, in every column; a text over a cell's limit is cut."""
    texts = {
        "C2": ("lone \ud800 and \udfff", "lone \\ud800 and \\udfff"),
        "C3": ("not a character \ufffe \uffff", "not a character \\ufffe \\uffff"),
        "C4": ("Ring\x07 \x1b[31m", "Ring\\x07 \\x1b[31m"),
        "C5": ('=HYPERLINK("http://evil","click")', '=HYPERLINK("http://evil","click")'),
        "C6": ("x" * 40_000, "x" * 32_766 + "\u2026"),
    }
    data = outcomes([("S\ud800", cell, "en", "源\ufffe", text, 1) for cell, (text, _) in texts.items()]
                    + [("S\ud800", "C7", "en", "源", None, None)])  # fmt: skip
    data.loc[data["cell"] == code_of("C7"), "error"] = "placeholders invented <b \ud800> (after 4 tries)"
    issues = findings(data, {})
    path = tmp_path / "qa.xlsx"
    write_report(path, issues, summarize(data, issues))

    rows = {row[1].value: row for row in load_workbook(path)["findings"].iter_rows(min_row=2)}
    assert {cell: row[5].value for cell, row in rows.items() if cell != "C7"} == {
        cell: shown for cell, (_, shown) in texts.items()
    }
    assert rows["C5"][5].data_type == "s"  # text, never a formula
    assert {row[0].value for row in rows.values()} == {"S\\ud800"} and rows["C2"][4].value == "源\\ufffe"
    assert rows["C7"][8].value == "placeholders invented <b \\ud800> (after 4 tries)"
    assert load_workbook(path)["summary"]["A2"].value == "S\\ud800"


def test_swapped_ids_with_the_same_placeholders_cannot_be_told_apart(
    server: FakeLLMServer, store: ProjectStore
) -> None:
    """Replies are matched by id only (DESIGN.md section 2): two texts swapped between items whose sources have
    the same placeholders and markup are two plausible translations, so they land on each other's item. Only
    a swap between sources with different placeholders (see `swapped_ids` above) is caught."""
    server.fault_for_item("确定", "swapped_ids", times=ALWAYS)  # t4 "OK" and t5 "Cancel"
    result = translate(server, store).result
    assert server.request_count == 1 and not result.failures
    assert (result.translations["t4"], result.translations["t5"]) == ("Cancel", "OK")


FORMULAS = ["={}", "+{}", "-{}", "@{}", '=HYPERLINK("http://evil","{}")']


class FormulaFirst:
    """The fake model's answer: formula-like (keeping the placeholders) the first `times[source]` times it is
    asked for a source (None: every time), then the real translation."""

    def __init__(self, times: dict[str, int | None]) -> None:
        self.times = times
        self.asked: Counter[str] = Counter()
        self.lock = threading.Lock()

    def __call__(self, target: str, source: str) -> str:
        with self.lock:
            asked = self.asked[source]
            self.asked[source] += 1
        times = self.times.get(source, 0)
        real = STORM[source]
        return FORMULAS[asked % len(FORMULAS)].format(real) if times is None or asked < times else real


STORM = {f"道具{i:02d}号{'：{0}' if i % 3 == 0 else ''}": f"Item {i:02d}{': {0}' if i % 3 == 0 else ''}"
         for i in range(40)}  # fmt: skip
SCHEDULE = [1, 2, 3, None, 1, 0, 2, 4]  # formula-like on the first n attempts of a source, by its number


def test_a_storm_of_formula_like_first_replies_ends_in_real_translations_or_flags(
    store: ProjectStore, tmp_path: Path
) -> None:
    """Formula-like replies for most items on their first attempts (many in the same reply), and the fake
    server's own formula fault on top: every cell ends as its real translation, or, only when its last attempt
    was answered formula-like too, is flagged: written as text (`formula_like`), or failed where that text
    also lost a placeholder."""
    times = {source: SCHEDULE[i % len(SCHEDULE)] for i, source in enumerate(STORM)}
    rows = {f"t{i:02d}": (source, STORM[source]) for i, source in enumerate(STORM)}
    with FakeLLMServer(answer=FormulaFirst(times)) as server:
        server.random_faults(0.3, seed=11, kinds=["formula"])
        sources = {item_id: source for item_id, (source, _) in rows.items()}
        provider = OpenAIProvider(MODEL, api_key="sk-test", base_url=server.base_url_openai, timeout=5)
        engine = Engine(provider, concurrency=4, max_attempts=MAX_ATTEMPTS, backoff_base=0.001,
                        on_answer=lambda b, answers, r, record: store.record_batch(
                            "wb", b.batch_id, SCOPE, {sources[i]: t for i, t in answers.items()}, provider="openai",
                            items=len(b.items), prompt_tokens=0, completion_tokens=0, latency_ms=1))  # fmt: skip
        batches = [RequestBatch(f"b{n}", "zh-CN", "en", tuple(BatchItem(i, sources[i]) for i in ids))
                   for n, ids in enumerate(zip(*[iter(rows)] * 8, strict=True))]  # fmt: skip
        result = engine.run(batches)
        served = server.requests
    hit_first = [item_id for item_id, source in sources.items() if times[source] != 0]
    assert len(hit_first) == 35 and all(result.attempts[item_id] >= 2 for item_id in hit_first)  # all re-sent
    assert sum(r["fault"] == "formula" for r in served) >= 3  # and the server's own fault struck too

    output = tmp_path / "out.xlsx"
    fills = [CellFill("Strings", f"C{row}", result.translations[i]) for row, i in enumerate(rows, start=2)
             if i in result.translations]  # fmt: skip
    export_workbook(source_workbook(tmp_path / "in.xlsx", rows), output, fills)
    sheet = load_workbook(output)["Strings"]
    data = qa_outcomes(result, rows)
    issues = findings(data, {})
    flagged = set(issues.loc[issues["rule"] == "formula_like", "cell"])
    failed = set(issues.loc[issues["rule"] == "translation", "cell"])
    never_real = {source for source, n in times.items() if n is None or n >= MAX_ATTEMPTS}
    real = 0
    for row, (item_id, (source, english)) in enumerate(rows.items(), start=2):
        cell, text = f"C{row}", result.translations.get(item_id)
        if text == english:
            real += 1
            assert cell not in flagged | failed and sheet[cell].value == english
            assert source not in never_real
        elif text is not None and text.startswith(FORMULA_STARTS):
            assert cell in flagged and result.attempts[item_id] == MAX_ATTEMPTS, (item_id, text)
            assert sheet[cell].value == text and sheet[cell].data_type == "s"
        else:  # the server's formula fault drops placeholders: on the last attempt that fails the item
            assert cell in failed and result.attempts[item_id] == MAX_ATTEMPTS, (item_id, text)
            assert "(after 4 tries)" in result.failures[item_id] and sheet[cell].value is None
    last_request = {item_id: request for request in served for item_id in request["item_ids"]}
    struck_last = {
        i for i, request in last_request.items() if request["fault"] == "formula" and request["item_ids"][0] == i
    }
    never_real_ids = {item_id for item_id, source in sources.items() if source in never_real}
    assert len(rows) - real == len(never_real_ids | struck_last) and len(never_real_ids) == 10
    assert len(store.lookup(SCOPE, list(STORM))) == len(result.translations)


def test_an_unexpected_error_reaches_the_caller_as_itself() -> None:
    """A bug or an SDK exception in one request is raised with its own type, message and cause, never as an
    `ExceptionGroup` of the engine's task group."""

    class SDKBug(Exception):
        pass

    def broken(b: RequestBatch, call: int) -> ProviderReply:
        if b.batch_id == "b3":
            raise SDKBug("unexpected reply shape") from KeyError("choices")
        return good(b, call)

    with pytest.raises(SDKBug, match=r"^unexpected reply shape$") as raised:
        Engine(Scripted(broken), concurrency=2, backoff_base=0.001).run(
            [batch("一", batch_id=f"b{i}") for i in range(6)]
        )
    assert isinstance(raised.value.__cause__, KeyError)
    assert not isinstance(raised.value, BaseExceptionGroup)


def test_an_answer_the_store_refuses_fails_its_item_alone_and_usage_is_stored_once() -> None:
    saved: list[tuple[dict[str, str], Usage, float | None]] = []

    def picky_store(b: RequestBatch, answers: dict[str, str], r: ProviderReply, record: RequestRecord) -> None:
        if any("二" in text for text in answers.values()):
            raise ValueError("Data too long for column 'text' at row 2\n[SQL: INSERT INTO translation_memory ...]")
        saved.append((answers, r.usage, record.cost_usd))

    provider = Scripted(good)
    provider.model = MODEL  # a priced model
    result = Engine(provider, backoff_base=0.001, on_answer=picky_store).run([batch("一", "二", "三")])
    assert result.translations == {"t1": "EN 一", "t3": "EN 三"}
    assert result.failures == {"t2": "answer not stored: ValueError: Data too long for column 'text' at row 2"}
    assert [answers for answers, _, _ in saved] == [{"t1": "EN 一"}, {"t3": "EN 三"}]
    assert [usage for _, usage, _ in saved] == [Usage(10, 5), Usage()]  # the request's usage and cost, once
    assert saved[0][2] == result.stats.cost_usd > 0 and saved[1][2] == 0.0


def test_a_store_that_refuses_every_answer_stops_the_run_with_its_own_error() -> None:
    def store_down(b: RequestBatch, answers: dict[str, str], r: ProviderReply, record: RequestRecord) -> None:
        raise OSError("disk I/O error")

    engine = Engine(Scripted(good), backoff_base=0.001, on_answer=store_down)
    with pytest.raises(OSError, match=r"^disk I/O error$"):
        engine.run([batch("一", "二")])
    single = Engine(Scripted(good), backoff_base=0.001, on_answer=store_down).run([batch("一")])
    assert single.failures == {"t1": "answer not stored: OSError: disk I/O error"}  # may be the item's fault


def test_a_reply_longer_than_a_cell_holds_fails_its_item_alone() -> None:
    provider = Scripted(lambda b, _: reply([(i.id, "x" * 32_768 if i.id == "t1" else "OK") for i in b.items]))
    result = Engine(provider, max_attempts=2, backoff_base=0.001).run([batch("一", "二")])
    assert result.translations == {"t2": "OK"}
    assert result.failures == {"t1": "reply longer than a cell holds (32768 characters, max 32767) (after 2 tries)"}
    assert provider.sent == [["t1", "t2"], ["t1"]]
