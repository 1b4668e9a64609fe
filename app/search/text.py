"""Text helpers shared by indexing and querying: folding, hashtags, language, French stems,
trigram similarity (the same measure as pg_trgm's ``word_similarity``, used on SQLite)."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

HASHTAG_RE = re.compile(r"#(\w{1,64})", re.UNICODE)
WORD_RE = re.compile(r"\w+", re.UNICODE)
MAX_QUERY_WORDS = 12

_FRENCH_MARKERS = frozenset(
    [
        "le",
        "la",
        "les",
        "un",
        "une",
        "des",
        "du",
        "de",
        "et",
        "est",
        "pour",
        "avec",
        "mon",
        "ma",
        "mes",
        "ton",
        "ta",
        "tes",
        "son",
        "sa",
        "ses",
        "sur",
        "dans",
        "au",
        "aux",
        "qui",
        "que",
        "ne",
        "pas",
        "plus",
        "très",
        "tres",
        "ce",
        "cette",
        "ces",
        "je",
        "tu",
        "il",
        "elle",
        "nous",
        "vous",
        "ils",
        "elles",
        "mais",
        "ou",
        "où",
        "donc",
        "peau",
        "crème",
        "creme",
        "cheveux",
        "routine",
        "beauté",
        "beaute",
        "nouveau",
        "nouvelle",
        "été",
        "ete",
    ]
)
_ENGLISH_MARKERS = frozenset(
    [
        "the",
        "a",
        "an",
        "and",
        "is",
        "for",
        "with",
        "my",
        "your",
        "his",
        "her",
        "our",
        "their",
        "on",
        "in",
        "at",
        "to",
        "of",
        "that",
        "this",
        "these",
        "not",
        "more",
        "very",
        "i",
        "you",
        "he",
        "she",
        "we",
        "they",
        "but",
        "or",
        "so",
        "new",
    ]
)


def fold(text: str) -> str:
    """Lower case without accents (``Crème`` -> ``creme``)."""
    decomposed = unicodedata.normalize("NFKD", text).casefold()
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    return WORD_RE.findall(fold(text))


def hashtags(text: str) -> list[str]:
    """Distinct hashtags of a caption, folded, in order of appearance."""
    seen: dict[str, None] = {}
    for tag in HASHTAG_RE.findall(text or ""):
        seen.setdefault(normalise_tag(tag), None)
    return [t for t in seen if t]


def normalise_tag(tag: str) -> str:
    return "".join(WORD_RE.findall(fold(tag.lstrip("#"))))[:64]


def detect_language(text: str) -> str:
    """``french`` or ``english`` (the default), from common function words and accents."""
    tokens = WORD_RE.findall((text or "").lower())
    if not tokens:
        return "english"
    french = sum(1 for t in tokens if t in _FRENCH_MARKERS)
    english = sum(1 for t in tokens if t in _ENGLISH_MARKERS)
    accents = sum(1 for ch in text if ch in "éèêàùçôîûëïœ")
    return "french" if french + min(accents, 3) > english else "english"


_FRENCH_SUFFIXES = (
    "issements", "issement", "atrices", "ateurs", "ations", "atrice", "ateur", "ation", "ements",
    "ement", "ances", "ences", "ismes", "istes", "ance", "ence", "isme", "iste", "ites", "ite",
    "euses", "euse", "eux", "antes", "ante", "ants", "ant", "ives", "ive", "ifs", "if", "ees",
    "ee", "es", "er", "ez", "e", "s", "x",
)  # fmt: skip


def french_stem(word: str) -> str:
    """A light French stemmer (after Savoy's): strips plural, feminine and common derivational
    endings so ``hydratante``, ``hydratantes`` and ``hydratant`` share ``hydrat``. Used where
    the database has no French stemmer (SQLite FTS5); PostgreSQL uses its ``french`` Snowball
    configuration."""
    w = fold(word)
    if len(w) <= 4:
        return w
    for suffix in _FRENCH_SUFFIXES:
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            return w[: -len(suffix)]
    return w


def french_stems(text: str) -> str:
    return " ".join(french_stem(w) for w in words(text))


@lru_cache(maxsize=200_000)
def trigrams(word: str) -> frozenset[str]:
    """pg_trgm's trigrams of one word: padded with two spaces before and one after."""
    padded = f"  {word} "
    return frozenset(padded[i : i + 3] for i in range(len(padded) - 2))


def word_similarity(query: str, text: str) -> float:
    """Best match of the query's words against the text's words: the mean, over the query's
    words, of the share of the word's trigrams found in the closest word of the text (pg_trgm's
    ``word_similarity`` for one-word queries; one typo in a word of 5+ letters keeps > 0.5)."""
    query_words = words(query)
    text_words = set(words(text))
    if not query_words or not text_words:
        return 0.0
    text_grams = [(trigrams(w), w) for w in text_words]
    total = 0.0
    for qw in query_words:
        qg = trigrams(qw)
        best = 0.0
        for grams, tw in text_grams:
            if tw.startswith(qw):  # a prefix of a word matches fully (as-you-type)
                best = 1.0
                break
            shared = len(qg & grams)
            if shared:
                best = max(best, shared / len(qg))
        total += best
    return total / len(query_words)


class QuerySimilarity:
    """``word_similarity(query, text)`` for one query against many already folded texts (the
    documents' ``names``): the query's trigrams computed once."""

    def __init__(self, query: str) -> None:
        self.words = [(w, trigrams(w)) for w in words(query)]

    def __call__(self, folded_text: str) -> float:
        if not self.words:
            return 0.0
        text_words = set(WORD_RE.findall(folded_text))
        if not text_words:
            return 0.0
        text_grams: list[frozenset[str]] | None = None
        total = 0.0
        for qw, qg in self.words:
            if any(tw.startswith(qw) for tw in text_words):
                total += 1.0
                continue
            if text_grams is None:
                text_grams = [trigrams(tw) for tw in text_words]
            total += max((len(qg & g) / len(qg) for g in text_grams), default=0.0)
        return total / len(self.words)


def query_words(q: str) -> list[str]:
    return words(q)[:MAX_QUERY_WORDS]
