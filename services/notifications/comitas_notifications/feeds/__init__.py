"""Each member organisation's own NATS feed (DESIGN §4, ADR 0033): the events that concern it, minimised,
on ``feed.<institution_id>.<context>.<event>``, read through a platform-owned durable consumer with
credentials of an account that can read nothing else."""
