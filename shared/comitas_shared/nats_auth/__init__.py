"""NATS decentralised authentication for the member organisations' feeds (ADR 0033): nkeys, the JWTs of
the operator, accounts and users, the operator's material (``bundle``), and institutions' accounts
pushed to running servers through the system account."""

from .accounts import (
    ClaimsRefused,
    feed_user_creds,
    feed_user_permissions,
    institution_account,
    institution_account_jwt,
    push_account_jwt,
    push_claims,
)
from .bundle import OperatorBundle, create, load, server_config, write_server_config
from .platform import (
    FEEDS_STREAM,
    ack_subjects,
    consumer_name,
    deliver_subject,
    feed_subjects,
    usable_institution_id,
)

__all__ = ["FEEDS_STREAM", "ClaimsRefused", "OperatorBundle", "ack_subjects", "consumer_name", "create",
           "deliver_subject", "feed_subjects", "feed_user_creds", "feed_user_permissions", "institution_account",
           "institution_account_jwt", "load", "push_account_jwt", "push_claims", "server_config",
           "usable_institution_id", "write_server_config"]
