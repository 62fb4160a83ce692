"""Chain of custody: who did what to an evidence item, when, each entry hashing the one before it.

Pure helpers: a service builds an entry with :func:`custody_entry` from the item's latest entry and
inserts ``entry.as_row()`` into its own custody table (:func:`~.tables.define_custody_table`) in the
same transaction as the action it records. The table's primary key (item id, sequence number) makes two
replicas appending to one item at once collide, and the loser retries on the new head, so the chain
never forks.

The chain makes an entry edited, removed or moved in the database show: :func:`verify_custody` names the
first entry that does not hold. The hash is plain SHA-256, not keyed, so partner institutions can check
a chain they are shown without any secret of ours; the price is that someone able to rewrite the table
could also recompute every later hash, and deleting the newest entries leaves a shorter chain that still
holds. Both are caught by comparing with a head hash kept elsewhere (``expected_head``): the service
records it where the table's writer cannot reach (a signed hand-over receipt, an event's digest).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    # For the annotation only: the custody helpers stay free of the HTTP stack auth brings in.
    from ..auth import Principal

GENESIS = "0" * 64
"""The ``prev_hash`` of an item's first entry."""

Json: TypeAlias = str | int | bool | None | list["Json"] | dict[str, "Json"]


class CustodyAction(StrEnum):
    RECEIVED = "received"
    VIEWED = "viewed"
    DOWNLOADED = "downloaded"
    SHARED = "shared"
    STRIPPED_COPY_MADE = "stripped_copy_made"
    DELETED = "deleted"


@dataclass(frozen=True)
class Actor:
    """Who acted: always an institution, and its client (machine) or user (liaison officer) or both.
    ``act`` is the token's RFC 8693 ``act`` claim when another party acted on their behalf (a service
    calling with an exchanged token), kept as the claim was."""

    institution_id: str
    client_id: str | None = None
    user_id: str | None = None
    act: dict[str, Json] | None = None

    def __post_init__(self) -> None:
        if not self.institution_id:
            raise ValueError("an actor belongs to an institution")
        if not self.client_id and not self.user_id:
            raise ValueError("an actor is a client or a user of its institution")

    @classmethod
    def from_principal(cls, principal: Principal) -> Actor:
        act = principal.claims.get("act")
        user = principal.subject if principal.subject != principal.client_id else None
        return cls(institution_id=str(principal.institution_id), client_id=principal.client_id, user_id=user,
                   act=_checked(act, "act") if isinstance(act, dict) else None)

    def as_json(self) -> dict[str, Json]:
        return {"institution_id": self.institution_id, "client_id": self.client_id, "user_id": self.user_id,
                "act": self.act}


def _checked(value: Any, where: str) -> Any:
    """JSON values whose text is the same after a trip through any database: no floats (their decimal
    form differs between drivers), string keys only."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, list | tuple):
        return [_checked(v, where) for v in value]
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise ValueError(f"{where}: JSON object keys are strings")
        return {k: _checked(v, where) for k, v in value.items()}
    raise ValueError(f"{where}: {type(value).__name__} is not allowed in a custody entry (use int or str)")


def _at_text(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("custody times are timezone-aware")
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def entry_hash(*, item_id: str, institution_id: str, seq: int, action: str, actor: Actor, at: datetime,
               details: Mapping[str, Any], prev_hash: str) -> str:
    """SHA-256 of the entry's canonical JSON (sorted keys, no spaces, UTF-8), previous hash included."""
    payload = {
        "v": 1, "item_id": item_id, "institution_id": institution_id, "seq": seq, "action": action,
        "actor": actor.as_json(), "at": _at_text(at), "details": _checked(dict(details), "details"),
        "prev_hash": prev_hash,
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class CustodyEntry:
    item_id: str
    institution_id: str
    seq: int
    action: CustodyAction
    actor: Actor
    at: datetime
    details: dict[str, Json] = field(hash=False)
    prev_hash: str
    entry_hash: str

    def computed_hash(self) -> str:
        return entry_hash(item_id=self.item_id, institution_id=self.institution_id, seq=self.seq,
                          action=self.action.value, actor=self.actor, at=self.at, details=self.details,
                          prev_hash=self.prev_hash)

    def as_row(self) -> dict[str, Any]:
        """Column values for the table of :func:`~.tables.define_custody_table`."""
        return {
            "item_id": self.item_id, "seq": self.seq, "institution_id": self.institution_id,
            "action": self.action.value, "actor_institution_id": self.actor.institution_id,
            "actor_client_id": self.actor.client_id, "actor_user_id": self.actor.user_id,
            "actor_act": self.actor.act, "at": self.at, "details": self.details,
            "prev_hash": self.prev_hash, "entry_hash": self.entry_hash,
        }

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> CustodyEntry:
        return cls(
            item_id=row["item_id"], institution_id=row["institution_id"], seq=int(row["seq"]),
            action=CustodyAction(row["action"]),
            actor=Actor(institution_id=row["actor_institution_id"], client_id=row["actor_client_id"],
                        user_id=row["actor_user_id"], act=row["actor_act"]),
            at=row["at"], details=dict(row["details"] or {}), prev_hash=row["prev_hash"],
            entry_hash=row["entry_hash"],
        )


def custody_entry(previous: CustodyEntry | None, *, item_id: str, institution_id: str,
                  action: CustodyAction, actor: Actor, at: datetime,
                  details: Mapping[str, Any] | None = None) -> CustodyEntry:
    """The next entry of an item's chain (``previous`` is its latest entry, None for the first)."""
    if previous is not None and (previous.item_id != item_id or previous.institution_id != institution_id):
        raise ValueError("the previous entry belongs to another item")
    seq = 0 if previous is None else previous.seq + 1
    prev_hash = GENESIS if previous is None else previous.entry_hash
    clean: dict[str, Json] = _checked(dict(details or {}), "details")
    digest = entry_hash(item_id=item_id, institution_id=institution_id, seq=seq, action=action.value,
                        actor=actor, at=at, details=clean, prev_hash=prev_hash)
    return CustodyEntry(item_id=item_id, institution_id=institution_id, seq=seq, action=action, actor=actor,
                        at=at, details=clean, prev_hash=prev_hash, entry_hash=digest)


@dataclass(frozen=True)
class CustodyCheck:
    """The verdict on a chain. When broken, ``bad_seq`` is the sequence number of the first entry that
    does not hold (or, for entries missing at the end, of the first missing one), ``bad_index`` its
    position in the list checked, and ``reason`` says what is wrong."""

    ok: bool
    bad_seq: int | None = None
    bad_index: int | None = None
    reason: str = ""

    def __bool__(self) -> bool:
        return self.ok


def verify_custody(entries: Sequence[CustodyEntry], *, expected_head: str | None = None) -> CustodyCheck:
    """Check one item's entries, in the order they are given (read them ``ORDER BY seq``)."""
    if not entries:
        if expected_head is not None and expected_head != GENESIS:
            return CustodyCheck(False, 0, 0, "the chain is empty but a head was recorded: every entry is missing")
        return CustodyCheck(True)
    item_id = entries[0].item_id
    for index, entry in enumerate(entries):
        name = f"entry seq {entry.seq} (position {index})"
        if entry.item_id != item_id:
            return CustodyCheck(False, entry.seq, index, f"{name} belongs to another item")
        if entry.computed_hash() != entry.entry_hash:
            return CustodyCheck(False, entry.seq, index, f"{name} does not match its hash: it was altered")
        expected_seq = 0 if index == 0 else entries[index - 1].seq + 1
        expected_prev = GENESIS if index == 0 else entries[index - 1].entry_hash
        if entry.seq == expected_seq and entry.prev_hash == expected_prev:
            continue
        later = {e.seq for e in entries[index + 1:]}
        if entry.seq != expected_seq and expected_seq in later:
            reason = f"{name} is out of order: entry seq {expected_seq} comes after it"
        elif entry.seq > expected_seq:
            missing = f"seq {expected_seq}" if entry.seq == expected_seq + 1 else \
                f"seq {expected_seq} to {entry.seq - 1}"
            reason = f"{name}: the entry before it is missing ({missing} deleted)"
        elif entry.seq < expected_seq:
            reason = f"{name} repeats or precedes the entry before it"
        else:
            reason = (f"{name} does not chain to the entry before it: that entry was replaced, or one of "
                      "the two was altered and re-hashed")
        return CustodyCheck(False, entry.seq, index, reason)
    last = entries[-1]
    if expected_head is not None and last.entry_hash != expected_head:
        return CustodyCheck(False, last.seq + 1, len(entries),
                            f"the last entry (seq {last.seq}) is not the recorded head: later entries were "
                            "deleted or the chain was rewritten")
    return CustodyCheck(True)
