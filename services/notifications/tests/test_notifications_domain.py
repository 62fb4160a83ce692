"""The pure parts, with no I/O: matching, backoff, the delivery state machine, signatures, secrets, and
which addresses a webhook may reach. Deadlines' pure parts: test_notifications_deadlines_domain.py."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
from datetime import UTC, datetime, timedelta

import pytest

from comitas_notifications.deliveries.domain import (
    DeliveryState,
    after_attempt,
    backoff_ceiling,
    can_redeliver,
    is_success,
    retry_delay,
)
from comitas_notifications.deliveries.signing import sign, webhook_headers
from comitas_notifications.signing_secrets import (
    SecretBox,
    binding_for,
    new_signing_secret,
    signing_key,
)
from comitas_notifications.subscriptions.domain import matches, normalise_event_types
from comitas_notifications.webhook_targets import TargetNotAllowed, address_is_public, check_target

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
EXTERNAL = ["comitas.complaint.submitted", "comitas.complaint.assessed", "comitas.deadline.requested"]


# --- subscriptions -------------------------------------------------------------------------------

@pytest.mark.parametrize(("patterns", "event_type", "expected"), [
    (["*"], "comitas.complaint.submitted", True),
    (["comitas.complaint.*"], "comitas.complaint.assessed", True),
    (["comitas.complaint.*"], "comitas.deadline.requested", False),
    (["comitas.complaint.submitted"], "comitas.complaint.submitted", True),
    (["comitas.complaint.submitted"], "comitas.complaint.submitted.v2", False),
    ([], "comitas.complaint.submitted", False),
])
def test_patterns_match_exact_context_and_everything(patterns, event_type, expected):
    assert matches(patterns, event_type) is expected


def test_event_types_are_deduplicated_and_unknown_ones_reported():
    kept, unknown = normalise_event_types(
        ["comitas.complaint.submitted", "comitas.complaint.submitted", "comitas.complaint.*", "*",
         "comitas.identity.token_revoked", "comitas.nothing.*", "complaint.submitted"], EXTERNAL)
    assert kept == ["comitas.complaint.submitted", "comitas.complaint.*", "*"]
    assert unknown == ["comitas.identity.token_revoked", "comitas.nothing.*", "complaint.submitted"]


# --- deliveries ----------------------------------------------------------------------------------

def test_backoff_doubles_from_base_and_stops_at_the_cap():
    assert [backoff_ceiling(n, base=5, cap=60) for n in range(1, 7)] == [5, 10, 20, 40, 60, 60]


def test_full_jitter_spreads_between_zero_and_the_ceiling():
    assert retry_delay(3, base=5, cap=3600, draw=0.0) == 0
    assert retry_delay(3, base=5, cap=3600, draw=0.5) == 10
    assert retry_delay(3, base=5, cap=3600, draw=0.999) < 20


def test_success_is_2xx_only():
    assert [is_success(c) for c in (200, 204, 299, 300, 301, 404, 500, None)] == [True] * 3 + [False] * 5


def test_a_failed_attempt_schedules_the_next_one_until_the_last_makes_it_dead():
    retry = after_attempt(attempt_count=0, succeeded=False, max_attempts=3, now=NOW, delay_seconds=4)
    assert retry.state is DeliveryState.PENDING and retry.attempt_count == 1
    assert retry.next_attempt_at == NOW + timedelta(seconds=4)
    dead = after_attempt(attempt_count=2, succeeded=False, max_attempts=3, now=NOW, delay_seconds=4)
    assert dead.state is DeliveryState.DEAD and dead.next_attempt_at is None and dead.attempt_count == 3


def test_a_successful_attempt_delivers():
    done = after_attempt(attempt_count=2, succeeded=True, max_attempts=3, now=NOW, delay_seconds=4)
    assert done.state is DeliveryState.DELIVERED and done.delivered_at == NOW and done.next_attempt_at is None


@pytest.mark.parametrize(("state", "allowed"), [("delivered", True), ("dead", True), ("pending", False),
                                                ("cancelled", False)])
def test_only_finished_deliveries_are_redelivered(state, allowed):
    assert can_redeliver(state) is allowed


def test_signature_is_standard_webhooks_hmac_over_id_timestamp_body():
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    body = b'{"a":1}'
    expected = base64.b64encode(hmac.new(b"k" * 32, b'msg_1.1700000000.{"a":1}', hashlib.sha256).digest()).decode()
    assert sign(secret, "msg_1", 1700000000, body) == f"v1,{expected}"
    headers = webhook_headers(secret, "msg_1", 1700000000, body)
    assert headers["webhook-id"] == "msg_1" and headers["webhook-timestamp"] == "1700000000"


# --- secrets -------------------------------------------------------------------------------------

def test_signing_secret_format():
    secret = new_signing_secret()
    assert secret.startswith("whsec_")
    assert 24 <= len(signing_key(secret)) <= 64
    assert new_signing_secret() != secret


def test_secrets_are_sealed_bound_to_their_subscription_and_key():
    box = SecretBox("a-master-key-for-tests-only-0000000000000")
    secret = new_signing_secret()
    sealed = box.seal(secret, binding=binding_for("inst-a", "sub-1"))
    assert secret not in sealed and secret.removeprefix("whsec_") not in sealed
    assert box.open(sealed, binding=binding_for("inst-a", "sub-1")) == secret
    with pytest.raises(ValueError):
        box.open(sealed, binding=binding_for("inst-b", "sub-1"))
    with pytest.raises(ValueError):
        SecretBox("another-master-key-000000000000000000000").open(sealed, binding=binding_for("inst-a", "sub-1"))
    assert box.seal(secret, binding="x") != box.seal(secret, binding="x")  # fresh nonce each time


# --- targets -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("address", "public"), [
    ("93.184.215.14", True), ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", True),
    ("127.0.0.1", False), ("10.0.0.8", False), ("172.16.4.4", False), ("192.168.1.1", False),
    ("169.254.169.254", False), ("100.64.0.1", False), ("0.0.0.0", False), ("224.0.0.1", False),
    ("240.0.0.1", False), ("192.0.2.10", False), ("::1", False), ("fe80::1", False), ("fc00::1", False),
    ("ff02::1", False), ("::", False), ("::ffff:127.0.0.1", False), ("::ffff:10.0.0.1", False),
])
def test_only_public_addresses_are_reachable(address, public):
    assert address_is_public(ipaddress.ip_address(address)) is public


def resolver_of(answers):
    async def resolve(host, port):
        if host not in answers:
            raise OSError("no such host")
        return answers[host]
    return resolve


async def test_a_public_host_is_pinned_to_the_address_that_was_checked():
    target = await check_target("https://hooks.example.org:8443/in?x=1", allow_private=False,
                                resolver=resolver_of({"hooks.example.org": ["93.184.215.14"]}))
    assert str(target.request_url()) == "https://93.184.215.14:8443/in?x=1"
    assert target.headers() == {"Host": "hooks.example.org:8443"}
    assert target.extensions() == {"sni_hostname": "hooks.example.org"}


async def test_an_ipv6_target_is_bracketed():
    target = await check_target("https://v6.example.org/in", allow_private=False,
                                resolver=resolver_of({"v6.example.org": ["2606:2800:21f:cb07:6820:80da:af6b:8b2c"]}))
    assert target.request_url().host == "2606:2800:21f:cb07:6820:80da:af6b:8b2c"
    assert target.headers() == {"Host": "v6.example.org"}


@pytest.mark.parametrize("url", [
    "http://hooks.example.org/in",  # not https
    "https://mixed.example.org/in",  # one of its addresses is private (a rebinding set-up)
    "https://nowhere.example.org/in",  # does not resolve
    "https://user:pass@hooks.example.org/in",  # credentials in the URL
    "https://10.1.2.3/in", "https://[::1]/in", "https://169.254.169.254/latest/meta-data",
    "ftp://hooks.example.org/in", "not a url",
])
async def test_targets_that_are_refused(url):
    resolver = resolver_of({"hooks.example.org": ["93.184.215.14"], "mixed.example.org": ["93.184.215.14", "10.0.0.1"]})
    with pytest.raises(TargetNotAllowed):
        await check_target(url, allow_private=False, resolver=resolver)


async def test_private_targets_are_allowed_in_development_and_not_pinned():
    target = await check_target("http://127.0.0.1:9000/hook", allow_private=True)
    assert target.address is None and str(target.request_url()) == "http://127.0.0.1:9000/hook"
