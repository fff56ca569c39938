"""The outbound guard: tunnel and special-purpose addresses are refused, and an
OUTBOUND_ALLOWLIST entry may open one port of a host or network rather than all."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from connectors.http_client import OutboundRefused, address_refusal, fetch, sdk_http_client
from tests.automations.factories import make_project
from tests.standins.server import Reply, Routes
from tests.support.flows import Status, http_automation, run_now

# Literal addresses: the guard refuses them before any DNS lookup or connection.
REFUSED = [
    ("http://[2002:7f00:1::1]/", "6to4"),  # 6to4 for 127.0.0.1
    ("http://[2002:a9fe:a9fe::1]/", "6to4"),  # 6to4 for 169.254.169.254
    ("http://[2002:808:808::1]/", "6to4"),  # 6to4 for a public address: the whole range
    ("http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/", "Teredo"),  # Teredo for 127.0.0.1
    ("http://[64:ff9b::7f00:1]/", "NAT64 address for 127.0.0.1"),
    ("http://[64:ff9b::a00:1]/", "NAT64 address for 10.0.0.1"),
    ("http://[64:ff9b::a9fe:a9fe]/", "NAT64 address for 169.254.169.254"),
    ("http://[64:ff9b:1::a00:1]/", "local-use NAT64"),
    ("http://192.0.0.8/", "IETF protocol assignment"),
    ("http://192.0.0.100/", "IETF protocol assignment"),
]


@pytest.mark.parametrize("url, reason", REFUSED)
def test_it_refuses_tunnel_and_special_purpose_addresses(url, reason):
    with pytest.raises(OutboundRefused, match=reason):
        fetch("GET", url, timeout=2)


@pytest.mark.parametrize("url, reason", REFUSED)
def test_it_refuses_them_in_the_sdk_client_too(url, reason):
    with pytest.raises(OutboundRefused, match=reason):
        sdk_http_client().get(url, timeout=2)


def test_it_lets_nat64_reach_a_public_ipv4_address():
    # An IPv6-only network reaches every IPv4 site through 64:ff9b::/96.
    assert address_refusal(ipaddress.ip_address("64:ff9b::808:808")) is None


@pytest.mark.django_db
def test_it_fails_a_run_whose_http_request_goes_to_a_6to4_address(team):
    step = {"key": "call", "connector": "http", "action": "request",
            "config": {"method": "GET", "url": "http://[2002:7f00:1::1]:8000/"}}  # fmt: skip
    execution = run_now(http_automation(make_project(team), "Flow", [step]))
    assert execution.status == Status.FAILED
    assert "is a 6to4 address" in execution.error


# -- allow-list entries with a port -------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def local_model():
    """A server on a loopback port, as a local model server would be."""
    with Routes({("GET", "/v1/models"): Reply(200, {"data": []})}) as server:
        yield server


@pytest.mark.parametrize("entry", ["127.0.0.1:{port}", "127.0.0.0/8:{port}", "localhost:{port}"])
def test_it_reaches_the_allow_listed_port(settings, local_model, entry):
    settings.OUTBOUND_ALLOWLIST = [entry.format(port=local_model.port)]
    host = "localhost" if entry.startswith("localhost") else "127.0.0.1"
    assert fetch("GET", f"http://{host}:{local_model.port}/v1/models").json() == {"data": []}


@pytest.mark.parametrize("entry", ["127.0.0.1:{port}", "127.0.0.0/8:{port}"])
@pytest.mark.parametrize("other", [5432, 6379])
def test_it_refuses_other_ports_of_an_allow_listed_host(settings, local_model, entry, other):
    settings.OUTBOUND_ALLOWLIST = [entry.format(port=local_model.port)]
    with pytest.raises(OutboundRefused, match="127.0.0.1 is a loopback address"):
        fetch("GET", f"http://127.0.0.1:{other}/", timeout=2)
    with pytest.raises(OutboundRefused, match="127.0.0.1 is a loopback address"):
        sdk_http_client().get(f"http://127.0.0.1:{other}/", timeout=2)


def test_a_bare_entry_still_allows_every_port(settings, local_model):
    settings.OUTBOUND_ALLOWLIST = ["127.0.0.1"]
    assert fetch("GET", f"{local_model.url}/v1/models").status_code == 200


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="no IPv6 loopback on this machine")
def test_it_reads_a_bracketed_ipv6_entry_with_a_port(settings):
    with Routes({("GET", "/"): Reply(200, "ok")}, host="::1") as server:
        settings.OUTBOUND_ALLOWLIST = [f"[::1]:{server.port}"]
        assert fetch("GET", f"http://[::1]:{server.port}/").text == "ok"
        with pytest.raises(OutboundRefused, match="loopback"):
            fetch("GET", f"http://[::1]:{_closed_port()}/", timeout=2)


@pytest.mark.django_db
def test_it_fails_a_run_whose_http_request_goes_to_a_port_the_allow_list_does_not_open(
    settings, team, local_model
):
    settings.OUTBOUND_ALLOWLIST = [f"127.0.0.1:{local_model.port}"]
    steps = [
        {"key": "models", "connector": "http", "action": "request",
         "config": {"method": "GET", "url": f"{local_model.url}/v1/models"}},
        {"key": "redis", "connector": "http", "action": "request",
         "config": {"method": "GET", "url": "http://127.0.0.1:6379/"}},
    ]  # fmt: skip
    execution = run_now(http_automation(make_project(team), "Flow", steps))
    models, redis = execution.step_runs.order_by("position")
    assert models.status == Status.SUCCEEDED
    assert redis.status == Status.FAILED
    assert "Refused to connect to 127.0.0.1: 127.0.0.1 is a loopback address" in redis.error
