"""Titles of feature requests: the grouping key and when two titles ask for the same
thing (pure).

The key folds case, makes runs of whitespace one space and drops surrounding quotes and
final punctuation (``"  Export to  CSV!"`` -> ``"export to csv"``). Two titles are
similar when their keys are equal, hold the same words in another order once filler
words are dropped (``"CSV export"`` ~ ``"export to CSV"``), or differ by a typo or a
plural (characters alike at :data:`SIMILARITY` or more, difflib's ratio).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from difflib import SequenceMatcher

_SPACES = re.compile(r"\s+")
_WORDS = re.compile(r"\w+")
_QUOTES = "\"'`“”‘’"
#: Words that do not change what is asked for.
FILLER = frozenset(
    {"a", "an", "the", "to", "for", "of", "in", "on", "with", "and", "into", "from", "please",
     "support", "add", "allow", "option", "ability", "feature", "request", "we", "need"}
)  # fmt: skip
#: difflib ratio from which two keys are the same request.
SIMILARITY = 0.88


def normalize_request(text: str) -> str:
    """The grouping key of a request: ``"  Export to  CSV!"`` -> ``"export to csv"``."""
    folded = _SPACES.sub(" ", text).strip().casefold()
    return folded.rstrip(_QUOTES + ".!?;:,").lstrip(_QUOTES).strip()


def _words(key: str) -> frozenset[str]:
    words = {w.rstrip("s") if len(w) > 3 else w for w in _WORDS.findall(key)}
    return frozenset(words - FILLER)


def similar(a: str, b: str) -> bool:
    """Whether titles ``a`` and ``b`` ask for the same thing (see the module)."""
    ka, kb = normalize_request(a), normalize_request(b)
    if not ka or not kb:
        return False
    if ka == kb:
        return True
    wa, wb = _words(ka), _words(kb)
    if wa and wa == wb:
        return True
    return SequenceMatcher(None, ka, kb).ratio() >= SIMILARITY


def best_match(title: str, candidates: Iterable[tuple[int, str]]) -> int | None:
    """The id of the candidate ``(id, title)`` that ``title`` is :func:`similar` to,
    preferring an equal key, then the closest; None when none is."""
    key = normalize_request(title)
    best: tuple[float, int] | None = None
    for ident, other in candidates:
        if not similar(title, other):
            continue
        other_key = normalize_request(other)
        score = 2.0 if other_key == key else SequenceMatcher(None, key, other_key).ratio()
        if best is None or score > best[0] or (score == best[0] and ident < best[1]):
            best = (score, ident)
    return None if best is None else best[1]
