"""The project glossary: source term -> target term per target language, from one .xlsx or .csv file.

The file has a header row naming four columns in any order: source term (`source`, `term`, `原文`, ...),
target language (`language`, `lang`, `语言`, ...), target term (`target`, `translation`, `译文`, ...) and
an optional note. Languages are written as codes or names (`en`, `English`, `日本語`). Rows without a
source or a target term are skipped (not decided yet); two different targets for the same source term
and language are an error.

`Glossary.terms_for(batch_texts, target_language)` gives the terms a request batch needs, ready for
`contract.user_message(batch, glossary=...)`. Source terms match case-sensitively as substrings.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from translation_pipeline.localization.read.languages import LanguageMatcher, normalize_header
from translation_pipeline.localization.translate.contract import GlossaryTerm

GLOSSARY_SUFFIXES = (".xlsx", ".xlsm", ".csv")

HEADERS: dict[str, tuple[str, ...]] = {
    "source": ("source", "source term", "source text", "term", "src", "原文", "术语", "源文", "词条"),
    "language": ("language", "lang", "target language", "target lang", "locale", "语言", "目标语言", "语种"),
    "target": ("target", "target term", "translation", "translated", "译文", "翻译", "目标术语"),
    "note": ("note", "notes", "comment", "comments", "remark", "备注", "说明", "注释"),
}
_HEADER_LOOKUP = {normalize_header(s): role for role, spellings in HEADERS.items() for s in spellings}


class GlossaryError(ValueError):
    """The glossary file cannot be used; the message names the file and the problem."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"glossary {path}: {problem}")
        self.path = path
        self.problem = problem


@dataclass(frozen=True)
class GlossaryEntry:
    source: str
    language: str  # canonical code, e.g. "en"
    target: str
    note: str = ""

    @property
    def term(self) -> GlossaryTerm:
        return GlossaryTerm(self.source, self.target)


@dataclass
class Glossary:
    entries: list[GlossaryEntry] = field(default_factory=list)
    path: Path | None = None

    def terms(self, target_language: str) -> list[GlossaryTerm]:
        """Every term of one target language, in file order."""
        return [entry.term for entry in self.entries if entry.language == target_language]

    def terms_for(self, texts: Iterable[str], target_language: str) -> list[GlossaryTerm]:
        """The terms of `target_language` whose source term occurs in any of `texts`."""
        joined = "\x00".join(texts)  # a term never holds NUL, so a match never spans two texts
        return [term for term in self.terms(target_language) if term.source in joined]


def _read_table(path: Path) -> pd.DataFrame:
    if path.suffix.lower() == ".csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig", sep=None, engine="python")
    return pd.read_excel(path, dtype=str, keep_default_na=False, sheet_name=0)


def load_glossary(path: Path, matcher: LanguageMatcher | None = None) -> Glossary:
    """Read the glossary at `path`; GlossaryError naming the file for anything unusable."""
    path = Path(path)
    matcher = matcher or LanguageMatcher()
    if not path.is_file():
        raise GlossaryError(path, "no such file")
    if path.suffix.lower() not in GLOSSARY_SUFFIXES:
        raise GlossaryError(path, "must be an .xlsx or .csv file")
    try:
        table = _read_table(path)
    except (ValueError, OSError, KeyError, UnicodeDecodeError, pd.errors.ParserError) as error:
        raise GlossaryError(path, f"cannot be read ({type(error).__name__}: {error})") from error
    roles: dict[str, str] = {}
    for column in table.columns:
        role = _HEADER_LOOKUP.get(normalize_header(str(column)))
        if role and role not in roles:
            roles[role] = column
    missing = [role for role in ("source", "language", "target") if role not in roles]
    if missing:
        found = ", ".join(repr(str(c)) for c in table.columns) or "none"
        raise GlossaryError(path, f"no {' / '.join(missing)} column (headers found: {found})")

    def column(role: str) -> pd.Series:
        return table[roles[role]].astype(str).str.strip() if role in roles else pd.Series("", index=table.index)

    rows = pd.DataFrame({role: column(role) for role in HEADERS})
    rows = rows[(rows["source"] != "") & (rows["target"] != "")]
    entries: dict[tuple[str, str], GlossaryEntry] = {}
    for number, source, language, target, note in rows.itertuples(name=None):
        row = number + 2  # the header is row 1
        code = matcher.code_for(language)
        if code is None:
            raise GlossaryError(path, f"row {row}: unknown target language {language!r}")
        entry = GlossaryEntry(source, code, target, note)
        previous = entries.setdefault((source, code), entry)
        if previous.target != target:
            raise GlossaryError(path, f"row {row}: {source!r} -> {code} is both {previous.target!r} and {target!r}")
    return Glossary(list(entries.values()), path)
