"""Pure rules, no I/O: secrets, passwords, scopes, clients, institutions, key encryption."""

from __future__ import annotations

import pytest
from joserfc.jwk import RSAKey

from comitas_identity.institutions.domain import check_institution
from comitas_identity.keys import crypto
from comitas_identity.oauth import domain
from comitas_identity.settings import IdentitySettings
from comitas_identity.users.passwords import hash_password, verify_password


def test_client_secrets_hash_and_verify() -> None:
    secret = domain.new_client_secret()
    stored = domain.hash_secret(secret)
    assert domain.verify_secret(stored, secret)
    assert not domain.verify_secret(stored, secret + "x")
    assert not domain.verify_secret(None, secret)
    assert not domain.verify_secret("plaintext", "plaintext")


def test_passwords_hash_with_salt_and_verify() -> None:
    first, second = hash_password("a long passphrase"), hash_password("a long passphrase")
    assert first != second
    assert verify_password("a long passphrase", first) and verify_password("a long passphrase", second)
    assert not verify_password("a long passphrasE", first)
    assert not verify_password("anything", "bcrypt$nonsense")


@pytest.mark.parametrize(
    ("requested", "granted", "allowed"),
    [
        (None, ["b", "a"], "a b"),
        ([], ["a"], "a"),
        (["a"], ["a", "b"], "a"),
        (["a", "c"], ["a", "b"], "a"),
        (["c"], ["a", "b"], None),
    ],
)
def test_allowed_scope(requested: list[str] | None, granted: list[str], allowed: str | None) -> None:
    assert domain.allowed_scope(requested, granted) == allowed


def test_grant_types_follow_the_kind_of_client() -> None:
    assert domain.grant_types_for("client_secret_basic", []) == ["client_credentials"]
    assert domain.grant_types_for("private_key_jwt", []) == ["client_credentials"]
    # A confidential web client may refresh its officers' tokens; a public one never (ADR 0071).
    assert domain.grant_types_for("client_secret_basic", ["https://x.example.org/cb"]) == [
        "authorization_code", "refresh_token"
    ]
    assert domain.grant_types_for("client_secret_basic", ["https://x.example.org/cb"], refresh_tokens=False) == [
        "authorization_code"
    ]
    assert domain.grant_types_for("none", ["https://x.example.org/cb"]) == ["authorization_code"]


def test_a_refresh_narrows_the_scope_and_never_widens_it() -> None:
    granted = "complaints:read directory:read openid"
    officer = {"complaints:read", "directory:read"}
    assert domain.refreshed_scope(requested=None, granted=granted, officer_scopes=officer) == granted
    assert domain.refreshed_scope(requested=["directory:read"], granted=granted,
                                  officer_scopes=officer) == "directory:read"
    assert domain.refreshed_scope(requested=["mla:read"], granted=granted, officer_scopes=officer | {"mla:read"}) is None
    # A scope the officer lost since signing in is not carried on.
    assert domain.refreshed_scope(requested=None, granted=granted,
                                  officer_scopes={"directory:read"}) == "directory:read openid"
    assert domain.refresh_token_expiry(now=100, lifetime=50, family_expires_at=1000) == 150
    assert domain.refresh_token_expiry(now=100, lifetime=5000, family_expires_at=1000) == 1000


def test_client_jwks_keep_public_keys_only() -> None:
    key = RSAKey.generate_key(2048, private=True)
    key.ensure_kid()
    public = domain.check_client_jwks({"keys": [key.as_dict(private=False) | {"kid": key.kid}]})
    assert public["keys"][0]["kid"] == key.kid and "d" not in public["keys"][0]
    with pytest.raises(ValueError, match="private"):
        domain.check_client_jwks({"keys": [key.as_dict(private=True)]})
    with pytest.raises(ValueError, match="symmetric"):
        domain.check_client_jwks({"keys": [{"kty": "oct", "k": "c2VjcmV0c2VjcmV0c2VjcmV0"}]})
    with pytest.raises(ValueError):
        domain.check_client_jwks({"keys": []})


def test_institutions_are_normalised_and_checked() -> None:
    assert check_institution(name=" Ombudsman ", kind="ombudsperson", country="ie", institution_id=None) == (
        "Ombudsman",
        "ombudsperson",
        "IE",
    )
    assert check_institution(name="K", kind="nhri", country="XK", institution_id="inst_k-1")[2] == "XK"
    for bad in ({"kind": "club"}, {"country": "UK"}, {"institution_id": "a b"}, {"institution_id": "feed.>"}):
        with pytest.raises(ValueError):
            check_institution(**{"name": "N", "kind": "ngo", "country": "BE", "institution_id": None, **bad})


def test_signing_keys_encrypt_under_the_master_key_and_bind_their_kid() -> None:
    key = crypto.new_signing_key()
    stored = crypto.encrypt_private_key("master-" * 6, key)
    assert b"PRIVATE KEY" not in stored.encode()
    opened = crypto.decrypt_private_key("master-" * 6, key.kid, stored)
    assert opened.as_dict(private=True)["d"] == key.as_dict(private=True)["d"]
    with pytest.raises(crypto.KeyDecryptionError):
        crypto.decrypt_private_key("another master key, long enough", key.kid, stored)
    with pytest.raises(crypto.KeyDecryptionError):
        crypto.decrypt_private_key("master-" * 6, "another-kid", stored)
    assert crypto.public_jwk(key)["kid"] == key.kid and "d" not in crypto.public_jwk(key)


def test_settings_refuse_unsafe_public_urls() -> None:
    assert IdentitySettings(public_url="http://localhost:8000").public_url == "http://localhost:8000"
    with pytest.raises(ValueError):
        IdentitySettings(public_url="http://identity.internal:8000")
    with pytest.raises(ValueError):
        IdentitySettings(
            environment="production",
            public_url="http://127.0.0.1:8000",
            issuer="https://id.example.org",
            master_key="a-real-master-key-for-production-0001",
        )
    production = IdentitySettings(
        environment="production",
        public_url="https://id.example.org",
        issuer="https://id.example.org",
        master_key="a-real-master-key-for-production-0001",
    )
    assert production.token_endpoint == "https://id.example.org/oauth/token"
