"""The OAuth 2.0 authorization server: clients, tokens, introspection, revocation, sign-in."""
