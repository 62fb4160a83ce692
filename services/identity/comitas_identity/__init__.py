"""Comitas identity: institutions directory, OAuth 2.0 authorization server and liaison officers."""
