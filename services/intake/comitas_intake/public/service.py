"""The public channel: a victim or a relative submits a complaint without an account, gets a receipt
code shown once, and with it reads the status, writes to the institution, adds evidence and withdraws
consent. Victims are never e-mailed: they come to look (GlobaLeaks' reasoning, peer-systems §5).

Everything goes through the features that own it: the complaint through ``complaints.service`` (channel
``public_form``, for the configured receiving institution), consents through ``consent.service``,
evidence through ``evidence.service.receive``, each with ``Actor.public``. Never commits.

Throttles are counted in their own short transactions (the shared :class:`Throttle`), so every throttle
call here comes before the request's first write (SQLite has a single writer).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared import randomness
from comitas_shared.app import Platform
from comitas_shared.auth import InstitutionId, Principal, institution_id_for_system
from comitas_shared.errors import NotFound, Problem, Unprocessable
from comitas_shared.events.catalogue import COMPLAINT_MESSAGE_RECEIVED, ComplaintMessageReceived
from comitas_shared.events.outbox import add_event
from comitas_shared.evidence import Actor as CustodyActor
from comitas_shared.pagination import Page, PageRequest
from comitas_shared.throttle import DatabaseStorage, Network, Throttle, TooManyRequests, parse_networks

from ..complaints import service as complaints
from ..complaints.schemas import ComplaintCreate, ComplaintUpdate
from ..consent import service as consent
from ..consent.schemas import ConsentCreate, ConsentOut, WithdrawalCreate
from ..evidence import service as evidence
from ..models import tables
from ..protection import service as protection
from ..protection.service import KeyRing
from ..settings import IntakeSettings
from . import domain, repository
from .models import PublicMessage, PublicReceipt
from .schemas import (
    ChallengeOut,
    MessageOut,
    PublicComplaintCreated,
    PublicComplaintFields,
    PublicStatusOut,
    SharingChoice,
    WithdrawalOut,
)

CHANNEL = "public_form"
"""The complaint's channel (comitas.complaint.submitted), and the public actor's name in audit and custody."""
CONSENT_CHANNEL = "public_channel"
ACTOR = protection.Actor.public(CHANNEL)
ALL_CATEGORIES = ["identity", "contact", "narrative", "evidence"]

# Each choice a person makes, as the consent records it stands for: (purposes, recipient type, recipient,
# categories). "institution" with value None is the receiving institution itself. No choice ever names a
# state authority.
SHARING: dict[SharingChoice, list[tuple[list[str], str, str | None, list[str]]]] = {
    "investigate": [(["investigate"], "institution", None, ALL_CATEGORIES)],
    "international_bodies": [(["file_with_mechanism", "interim_measures"], "institution_kind", kind,
                              ["identity", "narrative", "evidence"]) for kind in ("treaty_body", "regional_commission")],
    "other_institutions": [(["transfer", "legal_aid"], "institution_kind", kind, ALL_CATEGORIES)
                           for kind in ("ombudsperson", "nhri", "legal_aid_ngo")],
    "coordination": [(["coordination"], "institution_kind", kind, ["identity"])
                     for kind in ("ombudsperson", "nhri", "legal_aid_ngo", "ngo")],
}


class ChannelClosed(Problem):
    status, slug, title = 503, "public-channel-closed", "The public channel is not open"


class ReceiptNotFound(NotFound):
    slug, title = "receipt-not-found", "No complaint has this receipt code"


class ReceiptMissing(Problem):
    status, slug, title = 401, "receipt-required", "A receipt code is required"


class NonceSpent(Unprocessable):
    slug, title = "submission-refused", "Submission refused"


@dataclass(frozen=True)
class PublicChannel:
    """What the channel needs, built once in ``create_app``: its keys, throttles and limits."""

    settings: IntakeSettings
    lookup_key: bytes
    signing_key: bytes
    submissions: Throttle
    code_failures: Throttle
    requests: Throttle
    spent: Throttle
    trusted_proxies: Sequence[Network]

    @property
    def institution_id(self) -> InstitutionId:
        if not self.settings.public_receiving_institution_id:
            raise ChannelClosed("this service receives no complaints from the public: no receiving institution is "
                                "configured (COMITAS_INTAKE_PUBLIC_RECEIVING_INSTITUTION_ID)")
        return institution_id_for_system(self.settings.public_receiving_institution_id)


def _derive(secret: str, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"comitas-intake-public", info=info).derive(secret.encode())


def build_channel(settings: IntakeSettings, platform: Platform) -> PublicChannel:
    storage = DatabaseStorage(platform.database, platform.tables.throttle)
    pepper = _derive(settings.master_key.get_secret_value(), b"throttle-keys/v1")
    return PublicChannel(
        settings=settings,
        # From the blind-index secret, which a master-key rotation leaves alone: codes keep working.
        lookup_key=_derive(settings.blind_index_key.get_secret_value(), b"receipt-lookup/v1"),
        signing_key=_derive(settings.master_key.get_secret_value(), b"public-form-and-challenge/v1"),
        submissions=Throttle(storage, settings.public_submission_limit, name="public-submission", pepper=pepper),
        code_failures=Throttle(storage, settings.public_code_failure_limit, name="public-code", pepper=pepper),
        requests=Throttle(storage, settings.public_request_limit, name="public-request", pepper=pepper),
        # A form token's or a challenge's nonce is spent once: a second use finds its window full.
        spent=Throttle(storage, "1/day", name="public-spent", pepper=pepper),
        trusted_proxies=parse_networks(settings.trusted_proxies),
    )


def _principal(institution_id: InstitutionId) -> Principal:
    """The receiving institution, acting through its public channel: no token, no scope, no user."""
    return Principal(subject=ACTOR.subject, client_id=ACTOR.client_id, institution_id=institution_id,
                     scopes=frozenset(), token_id="", expires_at=0, issuer="comitas:public-channel")


def _custody_actor(institution_id: InstitutionId) -> CustodyActor:
    return CustodyActor(institution_id=str(institution_id), client_id=ACTOR.client_id, user_id=ACTOR.subject)


# --- abuse checks ------------------------------------------------------------------------------------


def new_form_token(channel: PublicChannel, *, now: datetime) -> str:
    return domain.form_token(channel.signing_key, nonce=randomness.token_urlsafe(12), issued_at=now)


def new_challenge(channel: PublicChannel, *, now: datetime) -> ChallengeOut:
    expires = now + timedelta(seconds=channel.settings.public_challenge_seconds)
    bits = channel.settings.public_pow_bits
    return ChallengeOut(challenge=domain.challenge_token(channel.signing_key, nonce=randomness.token_urlsafe(12),
                                                         bits=bits, expires_at=expires),
                        bits=bits, expires_at=expires)


async def _spend(channel: PublicChannel, kind: str, nonce: str) -> None:
    try:
        await channel.spent.hit(kind, nonce)
    except TooManyRequests:
        raise NonceSpent("this form or challenge was already used; load a new one",
                         errors=[{"pointer": "/form_token" if kind == "form" else "/proof_of_work/challenge",
                                  "detail": "already used"}]) from None


async def admit_form(channel: PublicChannel, *, address: str, token: str, honeypot: str, now: datetime) -> None:
    """The no-JavaScript form: honeypot, timing (``now`` is the wall clock), one use; then the address."""
    checked = domain.check_form(channel.signing_key, token=token, honeypot=honeypot, now=now,
                                min_seconds=channel.settings.public_form_min_seconds,
                                max_seconds=channel.settings.public_form_max_seconds)
    await channel.submissions.hit(address)
    await _spend(channel, "form", checked.nonce)


async def admit_api(channel: PublicChannel, *, address: str, challenge: str, nonce: str, now: datetime) -> None:
    """The JSON API: a proof-of-work on a fresh challenge of ours, one use; then the address."""
    challenge_nonce = domain.check_proof(channel.signing_key, challenge=challenge, nonce=nonce, now=now,
                                         min_bits=channel.settings.public_pow_bits)
    await channel.submissions.hit(address)
    await _spend(channel, "challenge", challenge_nonce)


# --- submitting --------------------------------------------------------------------------------------


def complaint_of(payload: PublicComplaintFields) -> ComplaintCreate:
    """The complaint a person's submission stands for, validated as any complaint is (422 with pointers)."""
    contacts = [payload.contact.model_dump()] if payload.contact else []
    person: dict[str, Any] = {"kind": "person"}
    if payload.victim_name:
        person["name"] = payload.victim_name
    data: dict[str, Any] = {
        "summary": payload.story,
        "respondent_states": payload.respondent_states,
        "filer": {"kind": "individual", "is_victim": payload.is_victim},
        "urgency": {"level": "urgent" if payload.detained or payload.threatened else "normal",
                    "detention": payload.detained, "threats": payload.threatened,
                    "reprisals_risk": payload.threatened},
        "disclosure": {"respondent_state": "allowed" if payload.identity_may_be_disclosed_to_state else "withheld",
                       "public": "withheld", "coordination": payload.sharing.coordination},
        "languages": {"submission": payload.language} if payload.language else {},
    }
    if payload.is_victim:
        person["contacts"] = contacts
    else:
        data["petitioner"] = {"kind": "relative", "relationship": payload.relationship, "contacts": contacts}
    if len(person) > 1:
        data["victims"] = [person]
    if payload.incident_date or payload.incident_place or payload.incident_country:
        data["incidents"] = [{"start": payload.incident_date, "place": payload.incident_place,
                              "country": payload.incident_country}]
    try:
        return ComplaintCreate.model_validate(data)
    except ValidationError as exc:
        raise Unprocessable("the complaint is not valid", slug="validation-error", title="Validation error",
                            errors=[{"pointer": "/" + "/".join(str(p) for p in e["loc"]), "detail": e["msg"]}
                                    for e in exc.errors()]) from None


def _consent_payloads(choice: SharingChoice, institution_id: str, expressed_by: str) -> list[ConsentCreate]:
    return [ConsentCreate.model_validate({
        "status": "given", "purposes": purposes, "recipient": {"type": kind, "value": value or institution_id},
        "categories": categories, "channel": CONSENT_CHANNEL, "expressed_by": expressed_by})
        for purposes, kind, value, categories in SHARING[choice]]


def new_code() -> str:
    return "".join(randomness.choice(domain.ALPHABET) for _ in range(domain.CODE_LENGTH))


async def submit(session: AsyncSession, platform: Platform, keyring: KeyRing, channel: PublicChannel, *,
                 payload: PublicComplaintFields, now: datetime) -> PublicComplaintCreated:
    """Creates the complaint for the receiving institution, records the person's consent choices, and
    returns the receipt code (the only time it exists in clear)."""
    institution_id = channel.institution_id
    create = complaint_of(payload)
    _status, body = await complaints.submit_complaint(
        session, platform, keyring, principal=_principal(institution_id), payload=create, idempotency_key=None,
        channel=CHANNEL, now=now)
    complaint_id = str(body["id"])
    expressed_by = "victim" if payload.is_victim else "next_of_kin"
    consents = [given for choice in SHARING if getattr(payload.sharing, choice)
                for given in _consent_payloads(choice, institution_id, expressed_by)]
    if consents:
        await consent.record_consents(session, platform, keyring, institution_id=institution_id,
                                      complaint_id=complaint_id, payloads=consents, actor=ACTOR, now=now)
    symbols = new_code()
    salt = randomness.token_bytes(16)
    log_n = channel.settings.public_receipt_scrypt_log_n
    code_hash = await asyncio.to_thread(domain.slow_hash, symbols, salt, log_n=log_n)
    await repository.add(session, PublicReceipt(
        id=str(uuid.uuid4()), institution_id=institution_id, complaint_id=complaint_id,
        lookup=domain.lookup_digest(channel.lookup_key, symbols), salt=salt, code_hash=code_hash, log_n=log_n,
        created_at=now))
    label, text = domain.plain_status(str(body["status"]))
    return PublicComplaintCreated(receipt_code=domain.format_code(symbols), reference=str(body["reference"]),
                                  status=label, status_text=text, submitted_at=now)


# --- the receipt code ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Holder:
    """Whoever holds a valid receipt code: the complaint that holds the case now, of the institution that
    holds it (after a transfer, the recipient's: the person follows their case, and writes, adds evidence
    and withdraws consent there). ``transferred``: the case is no longer with the institution the person
    first wrote to."""

    institution_id: InstitutionId
    complaint_id: str
    transferred: bool = False
    # The complaints the case was held in before (institution, complaint), first the one the code was given
    # for: a withdrawal of consent reaches what their institutions disclosed too.
    earlier: tuple[tuple[InstitutionId, str], ...] = ()


async def authenticate(session: AsyncSession, channel: PublicChannel, *, code: str | None, address: str) -> Holder:
    """The complaint a receipt code opens. A full window of wrong codes from the address answers 429
    before the code is looked at; a wrong code is 404 and counts."""
    channel.institution_id  # noqa: B018 - a closed channel answers 503 before anything else
    await channel.requests.hit(address)
    if not code:
        raise ReceiptMissing("send the receipt code in the Authorization header: `Receipt <code>`",
                             headers={"WWW-Authenticate": "Receipt"})
    await channel.code_failures.check(address)
    row = await _find(session, channel, code)
    if row is None:
        await channel.code_failures.hit(address)
        raise ReceiptNotFound("no complaint has this receipt code; check it and try again")
    chain = await complaints.case_chain(session, institution_id=institution_id_for_system(row.institution_id),
                                        complaint_id=row.complaint_id)
    current = chain[-1]
    return Holder(institution_id=institution_id_for_system(current.institution_id), complaint_id=current.id,
                  transferred=len(chain) > 1,
                  earlier=tuple((institution_id_for_system(c.institution_id), c.id) for c in chain[:-1]))


async def _find(session: AsyncSession, channel: PublicChannel, code: str) -> PublicReceipt | None:
    symbols = domain.normalise_code(code)
    if symbols is None:
        return None
    row = await repository.receipt_by_lookup(session, domain.lookup_digest(channel.lookup_key, symbols))
    if row is None:
        return None
    valid = await asyncio.to_thread(domain.verify_slow_hash, symbols, row.salt, row.code_hash, log_n=row.log_n)
    return row if valid else None


# --- status ---------------------------------------------------------------------------------------------


def _withdrawn(records: list[ConsentOut]) -> set[str]:
    return {r.withdraws for r in records if r.withdraws}


def _in_force(records: list[ConsentOut], choice: SharingChoice, institution_id: str) -> list[ConsentOut]:
    """The given records of a choice not withdrawn since."""
    wanted = {(tuple(sorted(purposes)), kind, value or institution_id)
              for purposes, kind, value, _categories in SHARING[choice]}
    gone = _withdrawn(records)
    return [r for r in records if r.status == "given" and r.id not in gone
            and (tuple(sorted(p.value for p in r.purposes)), r.recipient.type.value, r.recipient.value) in wanted]


async def _consents(session: AsyncSession, keyring: KeyRing, holder: Holder) -> list[ConsentOut]:
    page = await consent.list_consents(session, keyring, institution_id=holder.institution_id,
                                       complaint_id=holder.complaint_id, page=PageRequest(limit=1000, after=None))
    return page.items


def _sharing(records: list[ConsentOut], institution_id: str) -> dict[SharingChoice, bool]:
    return {choice: bool(_in_force(records, choice, institution_id)) for choice in SHARING}


async def status(session: AsyncSession, keyring: KeyRing, *, holder: Holder) -> PublicStatusOut:
    complaint = complaints.to_out(await complaints.get_complaint(
        session, institution_id=holder.institution_id, complaint_id=holder.complaint_id))
    label, text = domain.plain_status(complaint.status.value, transferred=holder.transferred)
    records = await _consents(session, keyring, holder) if complaint.erased_at is None else []
    return PublicStatusOut(
        reference=complaint.reference, status=complaint.status.value, status_label=label, status_text=text,
        submitted_at=complaint.created_at, updated_at=complaint.updated_at,
        messages=await repository.count_messages(session, holder.institution_id, holder.complaint_id),
        evidence=await evidence.count_items(session, institution_id=holder.institution_id,
                                            complaint_id=holder.complaint_id),
        sharing=_sharing(records, holder.institution_id), transferred=holder.transferred)


# --- messages -------------------------------------------------------------------------------------------


def _message_out(row: PublicMessage, cipher: protection.ComplaintCipher | None) -> MessageOut:
    body = cipher.open(row.body_sealed, field=f"public-message/{row.id}") if cipher else None
    return MessageOut(id=row.id, sender=row.sender, body=body, created_at=row.created_at)


async def _cipher_or_none(session: AsyncSession, keyring: KeyRing, institution_id: InstitutionId,
                          complaint_id: str) -> protection.ComplaintCipher | None:
    try:
        return await protection.cipher_for(session, keyring, institution_id=institution_id, complaint_id=complaint_id)
    except protection.ComplaintErased:
        return None


async def post_message(session: AsyncSession, keyring: KeyRing, *, institution_id: InstitutionId, complaint_id: str,
                       sender: str, body: str, author: dict[str, Any], now: datetime) -> MessageOut:
    """A message on the complaint's public thread, sealed with the complaint's key (410 once erased)."""
    cipher = await complaints.cipher_of(session, keyring, institution_id=institution_id, complaint_id=complaint_id)
    message_id = str(uuid.uuid4())
    row = PublicMessage(id=message_id, institution_id=institution_id, complaint_id=complaint_id, sender=sender,
                        body_sealed=cipher.seal(body, field=f"public-message/{message_id}"), author=author,
                        created_at=now)
    await repository.add(session, row)
    return _message_out(row, cipher)


async def receive_message(session: AsyncSession, platform: Platform, keyring: KeyRing, *, holder: Holder, body: str,
                          now: datetime) -> MessageOut:
    """The person writes, with the receipt code: the message goes on the thread of the complaint that holds
    the case, and the institution holding it is told (``comitas.complaint.message_received``: that it
    arrived, never what it says)."""
    message = await post_message(session, keyring, institution_id=holder.institution_id,
                                 complaint_id=holder.complaint_id, sender="person", body=body,
                                 author=ACTOR.as_json(), now=now)
    await add_event(session, tables, COMPLAINT_MESSAGE_RECEIVED.build(
        source=platform.source, subject=holder.complaint_id, institution_id=holder.institution_id, time=now,
        data=ComplaintMessageReceived(complaint_id=holder.complaint_id, institution_id=holder.institution_id,
                                      message_id=message.id, received_at=now)))
    return message


async def list_messages(session: AsyncSession, keyring: KeyRing, *, institution_id: InstitutionId, complaint_id: str,
                        page: PageRequest) -> Page[MessageOut]:
    """Oldest first, as a conversation reads."""
    await complaints.get_complaint(session, institution_id=institution_id, complaint_id=complaint_id)
    cipher = await _cipher_or_none(session, keyring, institution_id, complaint_id)
    rows = await repository.messages_page(session, institution_id, complaint_id, page)
    return repository.OLDEST_FIRST.cut(rows, page, lambda row: _message_out(row, cipher))


async def institution_reads_messages(session: AsyncSession, keyring: KeyRing, *, principal: Principal,
                                     complaint_id: str, page: PageRequest, now: datetime) -> Page[MessageOut]:
    """The receiving institution reads the thread (what the person wrote may name people): audited."""
    found = await list_messages(session, keyring, institution_id=principal.institution_id,
                                complaint_id=complaint_id, page=page)
    await protection.record(session, institution_id=principal.institution_id, actor=protection.Actor.of(principal),
                            action="public_messages.read", subject_kind="complaint", subject_id=complaint_id,
                            now=now, details={"messages": [m.id for m in found.items]})
    return found


# --- evidence and consent -------------------------------------------------------------------------------


async def add_evidence(platform: Platform, store: Any, keyring: KeyRing, *, holder: Holder,
                       upload: evidence.Upload, now: datetime) -> dict[str, Any]:
    _status, body = await evidence.receive(
        platform, store, keyring, institution_id=holder.institution_id, complaint_id=holder.complaint_id,
        upload=upload, actor=_custody_actor(holder.institution_id), audit_actor=ACTOR, idempotency_key=None, now=now)
    return body


def new_upload_token(channel: PublicChannel, *, holder: Holder, now: datetime) -> str:
    return domain.upload_token(channel.signing_key, complaint_id=holder.complaint_id, issued_at=now)


def check_upload_token(channel: PublicChannel, *, holder: Holder, token: str, now: datetime) -> None:
    """The HTML evidence form's token (``now`` is the wall clock); it lives as long as the complaint form's."""
    domain.check_upload_token(channel.signing_key, token=token, complaint_id=holder.complaint_id, now=now,
                              max_seconds=channel.settings.public_form_max_seconds)


async def withdraw(session: AsyncSession, platform: Platform, keyring: KeyRing, *, holder: Holder,
                   choices: Sequence[str], now: datetime) -> WithdrawalOut:
    """Withdraws, from now, every consent the choices stand for (each through ``consent.service``, which
    revokes the disclosures it touched and tells their recipients)."""
    wanted: list[SharingChoice] = list(SHARING) if "all" in choices else [c for c in SHARING if c in choices]
    withdrawn: list[str] = []
    # Where the case was held before a transfer too: what those institutions disclosed under the same
    # choices must stop at once as well (their erased complaints have nothing left to withdraw).
    for institution_id, complaint_id in (*holder.earlier, (holder.institution_id, holder.complaint_id)):
        complaint = await complaints.get_complaint(session, institution_id=institution_id, complaint_id=complaint_id)
        if complaint.erased_at is not None and complaint_id != holder.complaint_id:
            continue
        records = await _consents(session, keyring, Holder(institution_id=institution_id, complaint_id=complaint_id))
        for choice in wanted:
            for record in _in_force(records, choice, institution_id):
                await consent.withdraw(session, platform, keyring, institution_id=institution_id,
                                       complaint_id=complaint_id, consent_id=record.id,
                                       payload=WithdrawalCreate.model_validate({"channel": CONSENT_CHANNEL,
                                                                         "expressed_by": record.expressed_by}),
                                       actor=ACTOR, now=now)
                if complaint_id == holder.complaint_id:
                    withdrawn.append(record.id)
    if "coordination" in wanted:
        complaint = await complaints.get_complaint(session, institution_id=holder.institution_id,
                                                   complaint_id=holder.complaint_id)
        # Only a disclosure with nothing sealed (as this channel writes it) is rewritten here.
        if (complaint.disclosure or {}).get("coordination") and "disclosure" not in complaint.sealed:
            await complaints.update_complaint(
                session, keyring, principal=_principal(holder.institution_id), complaint_id=holder.complaint_id,
                changes=ComplaintUpdate(disclosure={**complaint.disclosure, "coordination": False}), now=now)
    return WithdrawalOut(withdrawn=withdrawn, sharing=_sharing(await _consents(session, keyring, holder),
                                                               holder.institution_id))
