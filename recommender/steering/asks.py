"""What the deal notes ask for: "the customer wants to compute the payback" asks for an ROI
calculator, whatever the stage's playbook or the usage logs would rank first.

Semantic similarity alone does not answer such a request: multilingual e5 scores a note
against every document of the same product and industry within a few hundredths (an ROI
workbook 0.872, a presentation 0.858), so the kind of document the note names is lost in the
relevance of everything else. A request is different from a topic: it names a kind of
document, and a partner who asks for one expects to see it.

The playbook's `asks` section (recommender.steering.playbook) lists the requests the engine
recognises: each names the asset types that answer it, a label for the reason ("a payback
calculation") and its phrases in any language. A phrase is one or more word beginnings that
must appear in the notes as consecutive words: `окупн` matches "окупність" and "окупності",
`return on invest` matches "return on investment". Each request's phrases are one compiled
expression over the lower-cased notes (~12 us per note with the default playbook), and a vendor
adds a phrase without retraining anything.

For each request found (in the order of the playbook), the best-ranked candidate of an
answering type moves to the head of the list, after the pins: best by the ranking it is in,
so the scorer still picks which ROI calculator (product, industry, language, what similar
partners won with). Answering assets of an eligible type join the candidates. The moved items
are steered like pins: diversity and exploration leave them in place. The ranking they come
from already puts unreadable assets after comparable readable ones
(recommender.ranking.languages), so an answer in a language the partner does not read leads
only when no readable answer is comparable to it; it may then be one unreadable asset more
ahead of readable ones than the playbook's `unreadable_per_list`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Ask:
    """A request the notes can make: its name (the playbook's key), the asset types (TYPES
    codes) that answer it, the reason's label and its phrases (tuples of word beginnings)."""

    name: str
    types: tuple[int, ...]
    label: str
    phrases: tuple[tuple[str, ...], ...]

    @functools.cached_property
    def pattern(self) -> re.Pattern[str]:
        """One expression for all the phrases: each word at the start of a word of the
        text, the next one at the start of the following word (a tenth of the cost of
        comparing word lists, on the request path)."""
        alternatives = [
            r"\w*\W+".join(re.escape(word) for word in phrase) for phrase in self.phrases
        ]
        return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + ")")

    def found_in(self, text: str) -> bool:
        """Whether one of the phrases occurs in `text` (lower-cased)."""
        return bool(self.phrases) and self.pattern.search(text) is not None


def phrase_words(phrase: str) -> tuple[str, ...]:
    """A phrase as the playbook writes it ("return on invest") as its word beginnings."""
    return tuple(w.lower() for w in _WORD.findall(phrase))


def asked(text: str | None, asks: Sequence[Ask]) -> tuple[Ask, ...]:
    """The asks whose phrases occur in `text`, in the playbook's order."""
    if not text or not asks:
        return ()
    lowered = text.lower()
    return tuple(a for a in asks if a.found_in(lowered))


def answering(type_code: np.ndarray, found: Sequence[Ask]) -> np.ndarray:
    """Which assets (TYPES codes) answer one of the `found` asks."""
    codes = sorted({t for a in found for t in a.types})
    return np.isin(type_code, np.asarray(codes, dtype=type_code.dtype))


def answers_first(
    order: list[int], type_code: np.ndarray, found: Sequence[Ask], *, head: int
) -> tuple[list[int], int]:
    """`order` (candidate indexes; `type_code` their TYPES codes) with, for each ask in
    `found`, its best-ranked answer moved to just after the first `head` items (the pins),
    and how many items now lead the list by steering (pins and moved answers). An ask that a
    pin or an earlier move already answers moves nothing."""
    out = list(order)
    steered = min(head, len(out))
    for ask in found:
        types = set(ask.types)
        if any(int(type_code[i]) in types for i in out[:steered]):
            continue
        k = next((k for k in range(steered, len(out)) if int(type_code[out[k]]) in types), None)
        if k is None:
            continue
        out.insert(steered, out.pop(k))
        steered += 1
    return out, steered
