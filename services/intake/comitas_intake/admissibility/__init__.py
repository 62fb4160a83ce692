"""Admissibility of a complaint before every international mechanism: the pure domain part.

No database, HTTP, NATS, clock or environment: every function takes what it needs and returns a
value. The rules are data (one TOML file per mechanism, one per acceptance list, in ``data/``),
so a change of rules is a reviewed data change with its source and a new version, not a code change.

Public interface
----------------

Loading (at start-up, once; both raise :class:`RuleFileError` naming the file and field path)::

    catalogue = load_catalogue()                 # or load_catalogue(Path("a/rules/dir"))
    acceptances = load_acceptances()             # or load_acceptances(Path("a/lists/dir"))
    catalogue.version, acceptances.version       # "<latest version date>+sha256.<12 hex>"

Assessing::

    assessment = assess(facts, catalogue=catalogue, acceptances=acceptances, today=date(2026, 11, 21))
    assessment.model_dump(mode="json")           # store it: it records rules_version and acceptances_version

``facts`` is a :class:`ComplaintFacts` (frozen): respondent states (ISO 3166-1 alpha-2), domestic
remedies (:class:`DomesticRemedy`), the same matter before other bodies (:class:`OtherProcedure`),
rights invoked (free text), :class:`Urgency` (level and situation flags), filer kind, whether the
victim files, the date of the events (and whether they continue) and the filing date the answers are
given for. Each remedy may say its :class:`RemedyNature` (ordinary, extraordinary, ineffective, or
the ICERD Art 14(2) national body); an extraordinary or ineffective one never starts a time limit. ``today`` should be the date in the counting body's
zone; each deadline also carries the exact instant it ends (``ends_at_utc``).

The :class:`Assessment` holds, per mechanism, a :class:`MechanismFinding`: ``availability.available``
(yes/no/unknown, per state, with reasons), ``standing``, ``exhaustion``, ``time_limits`` (and
``time_limit``, the one that governs), ``duplication_conflicts`` (severity "bars" or "check"),
``interim_measures`` and a ``verdict`` (candidate … unavailable) with its reasons; plus
the ranked :class:`Recommendation` list, :class:`CandidateConflict` items (filing with X bars Y),
the :class:`InterimMeasuresRoute` list for urgent complaints, and :class:`FilingDeadline` items to
turn into deadline-request events. Every finding carries :class:`Citation` objects (mechanism,
provision, source, status confirmed | partial | unconfirmed).

Date arithmetic lives in :mod:`.dates` (``add_period``, ``add_months``, ``last_day_of_period``,
``end_of_day_utc``), usable on its own.
"""

from .acceptances import AcceptanceAnswer, AcceptanceDataset, AcceptanceList, Tri
from .catalogue import (
    Catalogue,
    RuleFileError,
    load_acceptances,
    load_catalogue,
    procedure_codes,
    shipped_procedure_codes,
)
from .dates import LastDay, NoFixedLimit, Unit, add_months, add_period, end_of_day_utc, last_day_of_period
from .engine import assess
from .facts import ComplaintFacts, DomesticRemedy, OtherProcedure, ProcedureStatus, RemedyNature, Urgency
from .findings import (
    Assessment,
    Availability,
    CandidateConflict,
    Citation,
    DuplicationConflict,
    Exhaustion,
    ExhaustionOutcome,
    FilingDeadline,
    InterimMeasuresRoute,
    MechanismFinding,
    Recommendation,
    Standing,
    StandingOutcome,
    StateAcceptance,
    TimeLimit,
    TimeLimitStatus,
    Verdict,
)
from .rules import ExhaustionException, FilerKind, MechanismRules, RuleStatus, SituationFlag

__all__ = [
    "AcceptanceAnswer",
    "AcceptanceDataset",
    "AcceptanceList",
    "Assessment",
    "Availability",
    "CandidateConflict",
    "Catalogue",
    "Citation",
    "ComplaintFacts",
    "DomesticRemedy",
    "DuplicationConflict",
    "Exhaustion",
    "ExhaustionException",
    "ExhaustionOutcome",
    "FilerKind",
    "FilingDeadline",
    "InterimMeasuresRoute",
    "LastDay",
    "MechanismFinding",
    "MechanismRules",
    "NoFixedLimit",
    "OtherProcedure",
    "ProcedureStatus",
    "procedure_codes",
    "shipped_procedure_codes",
    "Recommendation",
    "RemedyNature",
    "RuleFileError",
    "RuleStatus",
    "SituationFlag",
    "Standing",
    "StandingOutcome",
    "StateAcceptance",
    "TimeLimit",
    "TimeLimitStatus",
    "Tri",
    "Unit",
    "Urgency",
    "Verdict",
    "add_months",
    "add_period",
    "assess",
    "end_of_day_utc",
    "last_day_of_period",
    "load_acceptances",
    "load_catalogue",
]
