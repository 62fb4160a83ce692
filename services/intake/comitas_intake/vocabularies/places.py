"""States and languages, from the maintained ISO data of ``pycountry`` (not a hand-made list).

A respondent state is an ISO 3166-1 alpha-2 code, the user-assigned ``XK`` (Kosovo, used by the
European Commission and the Council of Europe pending an ISO code), or a former state of ISO 3166-3
(the USSR ``SU``, Yugoslavia ``YU``...), which is valid only for facts before its code was withdrawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Literal

import pycountry

USER_ASSIGNED = {"XK": "Kosovo"}
UN_OFFICIAL_LANGUAGES = frozenset({"ara", "zho", "eng", "fra", "rus", "spa"})


@dataclass(frozen=True)
class State:
    code: str
    name: str
    kind: Literal["current", "user_assigned", "former"]
    # For a former state: the last day its code was in use (the latest, when ISO 3166-3 lists the
    # same alpha-2 code twice, as for CS: Czechoslovakia until 1993, Serbia and Montenegro until 2006).
    withdrawn_on: date | None = None


@cache
def state(code: str) -> State | None:
    """The state an upper-case alpha-2 code names, or None when ISO 3166 has no such code."""
    if len(code) != 2 or not code.isascii() or not code.isalpha() or not code.isupper():
        return None
    if code in USER_ASSIGNED:
        return State(code=code, name=USER_ASSIGNED[code], kind="user_assigned")
    current = pycountry.countries.get(alpha_2=code)
    if current is not None:
        return State(code=code, name=current.name, kind="current")
    former = [c for c in pycountry.historic_countries if getattr(c, "alpha_2", None) == code]
    if not former:
        return None
    withdrawn = max(_withdrawal_day(str(c.withdrawal_date)) for c in former)
    return State(code=code, name=" / ".join(str(c.name) for c in former), kind="former", withdrawn_on=withdrawn)


def _withdrawal_day(text: str) -> date:
    """ISO 3166-3 gives some withdrawals as a year only (Southern Rhodesia: "1980"): the code was valid
    until that year's end at the latest, which is the safe reading for facts dated before it."""
    if len(text) == 4 and text.isdigit():
        return date(int(text), 12, 31)
    return date.fromisoformat(text)


@dataclass(frozen=True)
class Language:
    code: str
    alpha_3: str
    name: str


@cache
def language(code: str) -> Language | None:
    """An ISO 639-1 (two letters) or ISO 639-3 (three letters) code, lower case; None if unknown."""
    if not code.isascii() or not code.isalpha() or not code.islower() or len(code) not in (2, 3):
        return None
    found = pycountry.languages.get(alpha_2=code) if len(code) == 2 else pycountry.languages.get(alpha_3=code)
    if found is None:
        return None
    return Language(code=code, alpha_3=str(found.alpha_3), name=str(found.name))


def is_un_official_language(code: str) -> bool:
    found = language(code)
    return found is not None and found.alpha_3 in UN_OFFICIAL_LANGUAGES
