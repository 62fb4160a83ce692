"""Legal bases for mutual legal assistance, as data, and the pure choice of a basis between two states.

Loading (at start-up, once; raises :class:`BasisFileError` naming the file and the field path)::

    bases = load_legal_bases()            # or load_legal_bases(Path("a/data/dir"))
    bases.version                         # "<latest version date>+sha256.<12 hex>"

Choosing::

    offering = offer(bases, "FR", "BR", AssistanceType.BANK_RECORDS)
    [o.code for o in offering.offers]     # best first: available, conditional, then "unknown: check"

Other features use this package through :mod:`.service` and :mod:`.schemas`.
"""
