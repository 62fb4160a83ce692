"""A service's NATS client is given every node of the cluster (issue 14, ADR 0042): ``nats_servers``
(comma-separated, as compose, Kubernetes and run-cluster set it) reaches nats-py as a list, so a replica
starts while the first node it is given is down. ``nats_url`` alone works as before."""

from __future__ import annotations

import pytest

from comitas_shared.events.nats import NatsHandle
from comitas_shared.settings import ServiceSettings
from comitas_shared.testing import NatsServer, free_ports


def test_nats_servers_are_read_comma_separated_and_nats_url_stays_the_one_address() -> None:
    listed = ServiceSettings(nats_servers="nats://n1:4222, nats://n2:4222,nats://n3:4222")
    assert listed.nats_server_urls == ["nats://n1:4222", "nats://n2:4222", "nats://n3:4222"]
    assert listed.nats_url == "nats://n1:4222"  # for the code that wants one address
    both = ServiceSettings(nats_url="nats://nats:4222", nats_servers=["nats://n1:4222", "nats://n2:4222"])
    assert both.nats_url == "nats://nats:4222" and both.nats_server_urls == ["nats://n1:4222", "nats://n2:4222"]
    alone = ServiceSettings(nats_url="nats://127.0.0.1:14222")
    assert alone.nats_server_urls == ["nats://127.0.0.1:14222"]


@pytest.mark.timeout(120)
async def test_a_replica_whose_first_node_is_down_connects_to_another(nats_server: NatsServer) -> None:
    dead = [f"nats://127.0.0.1:{port}" for port in free_ports(2)]  # nothing listens there
    settings = ServiceSettings(nats_servers=",".join([*dead, nats_server.url]))
    handle = NatsHandle(settings.nats_server_urls, name="cluster-clients-test")
    await handle.start(wait=0)
    try:
        await handle.wait_ready(timeout=60)
        assert handle.connected
        assert handle.client.connected_url is not None and handle.client.connected_url.port == nats_server.port
        await handle.client.publish("cluster.clients.test", b"reached")  # a working connection
        await handle.client.flush(timeout=10)
    finally:
        await handle.close()
