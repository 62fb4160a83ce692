"""Comitas shared library: contracts and plumbing only (settings, database, auth, events, errors)."""
