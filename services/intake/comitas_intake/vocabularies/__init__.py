"""Controlled vocabularies of a complaint, kept as data: pure lookups, no database, HTTP or clock.

- **Types of acts** (``data/types_of_acts.toml``): hierarchical codes structured like the HURIDOCS
  Micro-thesauri list 4, with attribution, deep enough to tell torture (``020101``) from ill-treatment
  (``020102``) and an arrest (``030101``) from an enforced disappearance (``03010301``).
- **Rights invoked** (``data/rights.toml``): instruments and their articles, each with the citation the
  admissibility engine reads and the mechanisms whose instruments they are.
- **States** (ISO 3166-1 from the maintained ``pycountry`` data, plus the user-assigned ``XK`` for
  Kosovo, plus the former states of ISO 3166-3 with the day their code was withdrawn) and
  **languages** (ISO 639 from ``pycountry``).

Usage::

    vocabularies = shipped()                  # loaded and validated once (cached)
    vocabularies.acts.get("020101")           # Term(code, label, source, ...)
    vocabularies.rights.article("ICCPR", "7") # Article(...), or None when unknown
    state("SU")                               # State(code="SU", kind="former", withdrawn_on=date(1992, 8, 30), ...)
    language("fr")                            # Language(alpha_3="fra", ...)

A malformed data file raises :class:`VocabularyFileError` naming the file and the field.
"""

from .catalogues import (
    ActVocabulary,
    Article,
    Instrument,
    RightsCatalogue,
    Term,
    Vocabularies,
    VocabularyFileError,
    load,
    shipped,
)
from .places import UN_OFFICIAL_LANGUAGES, Language, State, is_un_official_language, language, state

__all__ = [
    "UN_OFFICIAL_LANGUAGES",
    "ActVocabulary",
    "Article",
    "Instrument",
    "Language",
    "RightsCatalogue",
    "State",
    "Term",
    "Vocabularies",
    "VocabularyFileError",
    "is_un_official_language",
    "language",
    "load",
    "shipped",
    "state",
]
