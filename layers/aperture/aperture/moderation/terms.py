"""The moderators' term list: a comment whose words match a term is held for review, not shown.

Text and terms compare as words after Unicode folding (compatibility forms, case, accents), so
"BAD", "bád" and its fullwidth form all match the term "bad", while a term never matches inside a
longer word ("ass" leaves "class" alone). A term of several words matches them in sequence.
Each instance reads the list at most once a minute; the instance that adds a term sees it at once.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from typing import Any

from cachetools import TTLCache
from pydantic import BaseModel, ConfigDict, Field, field_validator

from aperture.core import clock
from aperture.core.identity import Caller, require_moderator
from aperture.core.tables import forget_on_rebind
from aperture.moderation.tables import Term

_WORD = re.compile(r"\w+")


def words(text: str) -> tuple[str, ...]:
    """``text``'s words, folded: NFKC, case-folded, then stripped of combining accents."""
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    return tuple(_WORD.findall("".join(c for c in folded if not unicodedata.combining(c))))


class NewTerm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    term: str = Field(min_length=1, max_length=100, description="a word or phrase; case and accents ignored")
    reason: str = Field(min_length=1, max_length=500)

    @field_validator("term")
    @classmethod
    def _has_words(cls, term: str) -> str:
        if not words(term):
            raise ValueError("a term needs at least one letter or digit")
        return term


def add_term(caller: Caller, new: NewTerm) -> dict[str, Any]:
    require_moderator(caller)
    added = Term(" ".join(words(new.term)), reason=new.reason, added_by=caller.user_id, added_at=clock.now())
    added.save()
    forget_terms()
    return added.to_dict()


_lock = threading.Lock()
_cache: TTLCache[str, dict[int, set[tuple[str, ...]]]] = TTLCache(maxsize=4, ttl=60)


def _terms_by_length() -> dict[int, set[tuple[str, ...]]]:
    name = Term.physical_name()
    with _lock:
        found = _cache.get(name)
    if found is None:
        found = {}
        for item in Term.scan(attributes_to_get=["term"]):
            phrase = tuple(item.term.split(" "))
            found.setdefault(len(phrase), set()).add(phrase)
        with _lock:
            _cache[name] = found
    return found


def forget_terms() -> None:
    with _lock:
        _cache.clear()


forget_on_rebind(forget_terms)


def matching_term(text: str) -> str | None:
    """The first term ``text`` contains, if any."""
    tokens = words(text)
    for length, phrases in _terms_by_length().items():
        for start in range(len(tokens) - length + 1):
            if (window := tokens[start : start + length]) in phrases:
                return " ".join(window)
    return None
