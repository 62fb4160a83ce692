"""Attested receipts of a referral's hand-overs: signed (JWS) by the referral service, chained by hash,
published with their keys (JWKS) so that either institution, or anyone they show them to, can check them
offline (docs/adr/0061-referral-receipts.md). Other features use ``service`` and ``schemas``."""
