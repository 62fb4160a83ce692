"""The scope catalogue: every OAuth scope a Comitas client can be granted, with what it allows.

Scopes are ``<resource>:<action>``. The README's scope table is generated from this mapping (and a
test keeps the two in step).
"""

from __future__ import annotations

SCOPES: dict[str, str] = {
    "complaints:submit": "submit complaints on behalf of the caller's institution",
    "complaints:read": "read the caller's complaints (victims' identities withheld)",
    "complaints:manage": "change, assess and close the caller's complaints, manage evidence and consent",
    "complaints:pii": "see victims' identifying data (with a stated purpose, written to the audit log)",
    "complaints:consent_override": "disclose or share a victim's data that consent does not cover, stating a "
                                   "reason (written to the audit log)",
    "referrals:read": "read referrals the caller sent or received",
    "referrals:write": "refer a case to another institution and write in its thread",
    "referrals:respond": "acknowledge, accept or refuse referrals received",
    "mla:read": "read mutual-legal-assistance requests the caller sent or received",
    "mla:write": "issue mutual-legal-assistance requests",
    "mla:respond": "acknowledge, clarify, execute or refuse requests received",
    "deadlines:read": "read the deadlines that concern the caller's institution",
    "subscriptions:manage": "create, list and delete webhook subscriptions; read and redeliver deliveries",
    "events:subscribe": "connect to the institution's own NATS feed",
    "directory:read": "read the institutions directory",
    "directory:manage": "keep the caller's own directory entry up to date (languages, mandate, referrals, periods, "
                        "closures, contact) and read its contact",
    "directory:contacts": "read every institution's notification contact (the platform's notification service only)",
    "admin": "administer the platform (institutions, clients, keys)",
}


def parse_scope(value: str | None) -> frozenset[str]:
    return frozenset(s for s in (value or "").split() if s)


def unknown_scopes(scopes: frozenset[str] | set[str]) -> set[str]:
    return set(scopes) - SCOPES.keys()
