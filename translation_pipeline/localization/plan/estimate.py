"""A dry run of one workbook: what translating it would request and cost, without sending anything.

The workbook is read and split exactly as the pipeline does, as a version of its lineage (`localization/versions`:
stale machine text is work too, its reviewers' text is approved memory), without registering or learning
anything; tasks with a reviewer's approved text, or whose translation is already in the project store (for any of
the given models, current `PROMPT_VERSION`), are memory hits, as in the `translations` asset.
The rest is cut into request batches with the configured limits (as the engine does), and the messages are built
with `system_prompt` and `user_message` (glossary terms included) exactly as they would be sent.

Tokens:
- input: the system and user message of every request, plus `MESSAGE_OVERHEAD_TOKENS` per message (the chat
  format's role markers). Counted with tiktoken's `cl100k_base` when it loads without the network (its BPE file
  already cached), otherwise with `heuristic_tokens`. Both approximate other vendors' tokenizers (Qwen).
- output: per item, `OUTPUT_RATIO_LOW` to `OUTPUT_RATIO_HIGH` times the tokens of its source text (translations
  into another script run from about as long to twice as long), plus `ITEM_JSON_TOKENS` for its
  `{"id": ..., "text": ...}` entry, plus `REPLY_JSON_TOKENS` per reply for `{"translations": [...]}`.

Cost is low/high per model from the price table (list prices with the settings' overrides); a model without a
price has an unknown cost (None). Retries and re-sent items are not counted: they only add to the high end.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pandas as pd

from translation_pipeline.localization.check.glossary import load_glossary
from translation_pipeline.localization.inbox.keys import workbook_key
from translation_pipeline.localization.plan.tasks import assign_batches, plan_tasks, request_batches
from translation_pipeline.localization.read.languages import LanguageMatcher
from translation_pipeline.localization.read.layout import ExplicitLayout, parse_layouts
from translation_pipeline.localization.read.workbook import read_workbook, to_translate
from translation_pipeline.localization.store import MemoryScope, ProjectStore
from translation_pipeline.localization.translate.contract import user_message
from translation_pipeline.localization.translate.pricing import LANES, PriceTable
from translation_pipeline.localization.translate.prompt import PROMPT_VERSION, GameInfo, system_prompt
from translation_pipeline.localization.versions.classify import HUMAN
from translation_pipeline.localization.versions.lineage import lineage_of
from translation_pipeline.localization.versions.plan import preview_version
from translation_pipeline.settings import ConfigError, Settings

TIKTOKEN_ENCODING = "cl100k_base"
HEURISTIC = "heuristic"
CHARS_PER_TOKEN = 4  # heuristic for Latin-script text, JSON and markup
MESSAGE_OVERHEAD_TOKENS = 4  # role markers around each chat message
OUTPUT_RATIO_LOW = 1.0
OUTPUT_RATIO_HIGH = 2.0
ITEM_JSON_TOKENS = 10  # {"id": "t12", "text": "..."}, per item of a reply
REPLY_JSON_TOKENS = 6  # {"translations": [...]}, per reply

# CJK ideographs, kana, Hangul and full-width forms: about one token per character in BPE tokenizers
_WIDE = re.compile(
    "[\u1100-\u11ff\u2e80-\u2fff\u3000-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff"
    "\ua960-\ua97f\uac00-\ud7ff\uf900-\ufaff\uff00-\uffef\U00020000-\U0003ffff]"
)


def heuristic_tokens(text: str) -> int:
    """CJK, kana and Hangul characters count one token each; other text one token per 4 characters."""
    wide = len(_WIDE.findall(text))
    return wide + math.ceil((len(text) - wide) / CHARS_PER_TOKEN)


@cache
def token_counter() -> tuple[str, Callable[[str], int]]:
    """(method name, counter): tiktoken `cl100k_base` when its BPE file is cached locally, else the heuristic.
    tiktoken would download a missing file: the download is refused here, so this never touches the network."""
    try:
        import tiktoken
        import tiktoken.load
    except ImportError:
        return HEURISTIC, heuristic_tokens

    def refuse_download(blobpath: str) -> bytes:
        raise OSError(f"{blobpath} is not cached and nothing is downloaded")

    original = tiktoken.load.read_file
    tiktoken.load.read_file = refuse_download
    try:
        encoding = tiktoken.get_encoding(TIKTOKEN_ENCODING)
    except Exception:  # any failure to load the encoding (not cached, damaged, changed API): use the heuristic
        return HEURISTIC, heuristic_tokens
    finally:
        tiktoken.load.read_file = original
    return f"tiktoken {TIKTOKEN_ENCODING}", lambda text: len(encoding.encode(text, disallowed_special=()))


@dataclass(frozen=True)
class Estimate:
    """What translating one workbook would take. `cost_usd`: model -> (low, high) USD, None without a price."""

    file: str
    cells_to_fill: int
    stale_cells: int  # the project's text whose source changed since the version before: translated again
    tasks: int
    memory_hits: int
    tasks_to_request: int
    requests: int
    input_tokens: int
    output_tokens_low: int
    output_tokens_high: int
    tokenizer: str
    cost_usd: dict[str, tuple[float, float] | None] = field(default_factory=dict)
    batch_cost_usd: dict[str, tuple[float, float] | None] = field(default_factory=dict)  # the Batch API lane


def _memory_hits(
    store: ProjectStore, tasks: pd.DataFrame, models: list[str], learned: pd.DataFrame | None = None
) -> set[str]:
    """Task ids whose source text has a reviewer's approved text (in the store, or `learned` from this version:
    classified cells), or is stored for any of `models` (as the `translations` asset reuses them)."""
    hits: set[str] = set()
    human = learned[learned["status"] == HUMAN] if learned is not None else None
    for (source, target), group in tasks.groupby(["source_language", "target_language"]):
        approved = set(store.lookup_approved(source, target, group["source_text"].tolist()))
        if human is not None:
            mine = human[(human["source_language"] == source) & (human["target_language"] == target)]
            approved |= set(mine["source_text"])
        hits.update(group.loc[group["source_text"].isin(approved), "task_id"])
        for model in models:
            wanted = group[~group["task_id"].isin(hits)]
            stored = store.lookup(MemoryScope(source, target, model, PROMPT_VERSION), wanted["source_text"].tolist())
            hits.update(wanted.loc[wanted["source_text"].isin(stored), "task_id"])
    return hits


def estimate_workbook(
    path: Path, settings: Settings, store: ProjectStore, models: list[str], layouts: list[ExplicitLayout] | None = None
) -> Estimate:
    """Estimate one workbook; WorkbookError when it cannot be read, GlossaryError for a broken glossary.
    `layouts` win over the configured ones."""
    try:
        prices = PriceTable.from_settings(settings.prices)
    except ValueError as error:
        raise ConfigError(str(error)) from error
    glossary = load_glossary(Path(settings.glossary_file)) if settings.glossary_file else None
    cells = read_workbook(
        path,
        source_language=settings.source_language,
        target_languages=settings.target_language_list,
        matcher=LanguageMatcher(settings.language_aliases),
        layouts=[*(layouts or []), *parse_layouts(settings.layouts)],
        include_hidden=settings.include_hidden_sheets,
        limits=settings.package_limits,
    ).cells
    lineage = lineage_of(path.name, settings.lineages)
    version = preview_version(store, lineage, workbook_key(path), cells, retranslate_stale=settings.retranslate_stale)
    tasks = plan_tasks(cells, settings.batch_max_items, settings.batch_max_chars, also=version.stale).tasks
    hits = _memory_hits(store, tasks, models, version.classified)
    pending = tasks[~tasks["task_id"].isin(hits)]
    # the engine cuts the pending items into batches with the same limits
    pending = pending.assign(batch_id=assign_batches(pending, settings.batch_max_items, settings.batch_max_chars))
    batches = request_batches(pending)

    method, count = token_counter()
    game = GameInfo.from_mapping(settings.game)
    input_tokens = item_tokens = 0
    for batch in batches:
        texts = [item.text for item in batch.items]
        terms = glossary.terms_for(texts, batch.target_language) if glossary else None
        input_tokens += count(system_prompt(batch.source_language, batch.target_language, game))
        input_tokens += count(user_message(batch, terms)) + 2 * MESSAGE_OVERHEAD_TOKENS
        item_tokens += sum(count(text) for text in texts)
    overhead = len(pending) * ITEM_JSON_TOKENS + len(batches) * REPLY_JSON_TOKENS
    output_low = math.ceil(item_tokens * OUTPUT_RATIO_LOW) + overhead
    output_high = math.ceil(item_tokens * OUTPUT_RATIO_HIGH) + overhead

    costs: dict[str, dict[str, tuple[float, float] | None]] = {lane: {} for lane in LANES}
    for lane, model in itertools.product(LANES, models):
        low = prices.cost_usd(model, input_tokens, output_low, lane)
        high = prices.cost_usd(model, input_tokens, output_high, lane)
        costs[lane][model] = None if low is None or high is None else (low, high)
    return Estimate(
        file=str(path),
        cells_to_fill=int(to_translate(cells).sum()),
        stale_cells=len(version.stale),
        tasks=len(tasks),
        memory_hits=len(hits),
        tasks_to_request=len(pending),
        requests=len(batches),
        input_tokens=input_tokens,
        output_tokens_low=output_low,
        output_tokens_high=output_high,
        tokenizer=method,
        cost_usd=costs["realtime"],
        batch_cost_usd=costs["batch"],
    )
