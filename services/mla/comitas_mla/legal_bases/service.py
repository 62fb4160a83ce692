"""The legal bases as other features and the router use them: pure answers over the loaded data."""

from __future__ import annotations

from collections.abc import Sequence

from comitas_shared.errors import NotFound

from . import domain
from .catalogue import LegalBases
from .rules import AssistanceType, BasisRules
from .schemas import BasisOut, CatalogueOut, OfferingOut, PartyListOut


def offering(bases: LegalBases, *, requesting: str, requested: str,
             assistance: AssistanceType | None) -> OfferingOut:
    return OfferingOut.of(domain.offer(bases, requesting, requested, assistance))


def basis(bases: LegalBases, code: str) -> BasisRules:
    if code not in bases:
        raise NotFound(f"no legal basis {code!r}", slug="legal-basis-not-found", title="Legal basis not found")
    return bases[code]


def basis_out(bases: LegalBases, code: str) -> BasisOut:
    rules = basis(bases, code)
    return BasisOut(code=code, version=rules.version, data_version=bases.version, rules=rules.model_dump(mode="json"))


def catalogue_out(bases: LegalBases) -> CatalogueOut:
    return CatalogueOut(
        version=bases.version,
        bases=[basis_out(bases, code) for code in sorted(bases.bases)],
        party_lists=[PartyListOut(key=p.key, title=p.title, as_of=p.as_of.isoformat(), complete=p.complete,
                                  status=p.status, source=p.source, note=p.note, states=list(p.states),
                                  not_parties=list(p.not_parties),
                                  doubtful=[{"state": d.state, "note": d.note} for d in p.doubtful])
                     for p in sorted(bases.parties.values(), key=lambda p: p.key)],
    )


def suitability(bases: LegalBases, *, code: str, requesting: str, requested: str,
                assistance: Sequence[AssistanceType]) -> domain.Suitability:
    return domain.suitability(bases, code, requesting, requested, assistance)
