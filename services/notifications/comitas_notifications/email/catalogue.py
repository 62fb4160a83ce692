"""The e-mails' message catalogues: gettext ``.po`` files per language, compiled when first needed.

The sentences live in ``locales/<language>/LC_MESSAGES/comitas.po`` (msgids are the English text,
extracted from ``render.py`` and ``templates/`` into ``locales/comitas.pot`` with Babel, see the
README). Nothing is compiled ahead: each catalogue is read with Babel and compiled to a ``.mo`` in
memory the first time a message in its language is rendered, so a ``.po`` edited is what is sent, and
no compiled file can go stale. Fuzzy entries are left out (they fall back to English).
"""

from __future__ import annotations

import io
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

DOMAIN = "comitas"
SOURCE_LANGUAGE = "en"
# English is the msgids themselves; French and Spanish are catalogues.
LANGUAGES = ("en", "fr", "es")


def locales_dir() -> Traversable:
    return resources.files(__package__) / "locales"


def po_file(language: str) -> Traversable:
    return locales_dir() / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(language: str) -> NullTranslations:
    """The compiled catalogue of ``language`` (English: the msgids as they are)."""
    if language not in LANGUAGES:
        raise ValueError(f"no e-mail messages in {language!r}")
    if language == SOURCE_LANGUAGE:
        return NullTranslations()
    with po_file(language).open("rb") as source:
        catalog = read_po(source, locale=language, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)
