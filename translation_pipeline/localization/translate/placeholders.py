"""Placeholders and markup that a translation must keep exactly: `{0}`, `{name}`, `%s`, `%1$s`, `%.2f`,
`<color=#fff>`, `</b>`, and the escape sequences `\\n`, `\\t` written literally in the cell."""

from __future__ import annotations

import re
from collections import Counter

PLACEHOLDER_RE = re.compile(
    r"""
      \{\{[^{}\s]*\}\}                          # {{var}}
    | \{[A-Za-z0-9_.:\-]*\}                     # {0} {name} {0:N2}
    | %(?:\d+\$)?[-+ 0\#]*\d*(?:\.\d+)?[sdifuxXeEgGc@]  # %s %d %1$s %.2f %@
    | %%
    | </?[A-Za-z][A-Za-z0-9_-]*(?:[ =][^<>]*)?/?>  # <b> </b> <color=#fff> <br/>
    | \\[ntr]                                   # literal \n \t \r
    """,
    re.VERBOSE,
)


def find_placeholders(text: str) -> list[str]:
    """Placeholders of `text` in order of appearance."""
    return PLACEHOLDER_RE.findall(text)


def split_protected(text: str) -> list[tuple[bool, str]]:
    """`text` cut into (is_placeholder, part) runs, in order; joining the parts gives `text` back."""
    parts: list[tuple[bool, str]] = []
    position = 0
    for match in PLACEHOLDER_RE.finditer(text):
        if match.start() > position:
            parts.append((False, text[position : match.start()]))
        parts.append((True, match.group()))
        position = match.end()
    if position < len(text):
        parts.append((False, text[position:]))
    return parts


def placeholder_problems(source: str, translation: str) -> str | None:
    """None when the translation has the source's placeholders as a multiset, else what differs."""
    found_source, found_translation = find_placeholders(source), find_placeholders(translation)
    if found_source == found_translation:  # the common case, in the same order: nothing to count
        return None
    expected, actual = Counter(found_source), Counter(found_translation)
    if expected == actual:
        return None
    missing = sorted((expected - actual).elements())
    invented = sorted((actual - expected).elements())
    problems = []
    if missing:
        problems.append("lost " + ", ".join(missing))
    if invented:
        problems.append("invented " + ", ".join(invented))
    return "placeholders " + "; ".join(problems)
