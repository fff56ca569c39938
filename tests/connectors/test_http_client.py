from __future__ import annotations

import ipaddress
import socket
import time

import pytest

from connectors import http_client
from connectors.base import ConnectorError
from connectors.http_client import OutboundRefused, address_refusal, fetch
from tests.standins.server import Reply, Routes


@pytest.mark.parametrize(
    "address, reason",
    [
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("127.0.0.1", "loopback"),
        ("fd00::1", "private"),
        ("fe80::1", "link-local"),
        ("::1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:169.254.169.254", "link-local"),
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("100.64.0.1", "not a public"),
        ("240.0.0.1", "reserved"),
    ],
)
def test_it_refuses_non_public_addresses(address, reason):
    # The address check alone: no packet is sent to any of these.
    refusal = address_refusal(ipaddress.ip_address(address))
    assert refusal is not None and reason in refusal


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"])
def test_it_lets_public_addresses_through(address):
    assert address_refusal(ipaddress.ip_address(address)) is None


def test_it_fetches_from_an_allow_listed_address():
    with Routes({("GET", "/hello"): Reply(200, {"ok": True})}) as server:
        response = fetch("GET", server.url + "/hello")
    assert response.status_code == 200 and response.json() == {"ok": True}
    assert server.received[0].headers["host"] == f"127.0.0.1:{server.port}"


def test_it_refuses_a_loopback_address_outside_the_allow_list():
    with Routes({("GET", "/"): Reply(200, "secret")}, host="127.0.0.2") as bystander:
        with pytest.raises(OutboundRefused, match="127.0.0.2 is a loopback address"):
            fetch("GET", bystander.url + "/")
    assert bystander.received == []


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="no IPv6 loopback on this machine")
def test_it_refuses_the_ipv6_loopback():
    with Routes({("GET", "/"): Reply(200, "secret")}, host="::1") as bystander:
        with pytest.raises(OutboundRefused, match="loopback"):
            fetch("GET", bystander.url + "/")
    assert bystander.received == []


def test_it_refuses_a_redirect_to_a_refused_address():
    with Routes({("GET", "/"): Reply(200, "secret")}, host="127.0.0.2") as bystander:
        redirect = Reply(302, "", headers={"Location": bystander.url + "/"})
        with Routes({("GET", "/go"): redirect}) as server:
            with pytest.raises(OutboundRefused, match="127.0.0.2"):
                fetch("GET", server.url + "/go")
    assert bystander.received == []


def test_it_follows_redirects_it_may_follow():
    with Routes(
        {
            ("GET", "/a"): Reply(301, "", headers={"Location": "/b"}),
            ("GET", "/b"): Reply(200, "here"),
        }
    ) as server:
        assert fetch("GET", server.url + "/a").text == "here"


def test_it_refuses_other_schemes():
    with pytest.raises(OutboundRefused, match="only http and https"):
        fetch("GET", "file:///etc/passwd")


def test_it_caps_the_response_size():
    with Routes({("GET", "/big"): Reply(200, b"x" * 5000)}) as server:
        with pytest.raises(ConnectorError, match="larger than 1000 bytes") as caught:
            fetch("GET", server.url + "/big", max_bytes=1000)
    assert not caught.value.retryable


def test_it_caps_the_time():
    with Routes({("GET", "/slow"): Reply(200, "late", delay=1.0)}) as server:
        with pytest.raises(ConnectorError, match="did not answer in time") as caught:
            fetch("GET", server.url + "/slow", timeout=0.2)
    assert caught.value.retryable


def test_it_names_an_unresolvable_host():
    with pytest.raises(ConnectorError, match="Could not resolve the host no-such-host.invalid"):
        fetch("GET", "http://no-such-host.invalid/")


def test_it_names_an_allow_listed_host(settings):
    settings.OUTBOUND_ALLOWLIST = ["localhost"]
    with Routes({("GET", "/"): Reply(200, "ok")}) as server:
        assert fetch("GET", f"http://localhost:{server.port}/").text == "ok"


def test_it_keeps_a_connection_open_for_the_next_request_to_that_address():
    with Routes({("POST", "/hook"): Reply(200, {"ok": True})}) as server:
        for n in range(3):
            assert fetch("POST", server.url + "/hook", json={"n": n}).json() == {"ok": True}
    assert len(server.received) == 3 and server.connections == 1


def test_a_connection_idle_for_too_long_is_not_used_again(monkeypatch):
    monkeypatch.setattr(http_client, "IDLE_SECONDS", 0.05)
    with Routes({("GET", "/"): Reply(200, "ok")}) as server:
        fetch("GET", server.url + "/")
        time.sleep(0.1)
        fetch("GET", server.url + "/")
    assert server.connections == 2


def test_a_kept_connection_is_used_only_after_the_address_is_checked_again(settings):
    with Routes({("GET", "/"): Reply(200, "ok")}) as server:
        assert fetch("GET", server.url + "/").text == "ok"
        settings.OUTBOUND_ALLOWLIST = []
        with pytest.raises(OutboundRefused, match="loopback"):
            fetch("GET", server.url + "/")
    assert len(server.received) == 1


def test_requests_share_connections_but_never_cookies():
    set_cookie = Reply(200, "hi", headers={"Set-Cookie": "session=team-a; Path=/"})
    with Routes({("GET", "/login"): set_cookie, ("GET", "/next"): Reply(200, "ok")}) as server:
        fetch("GET", server.url + "/login")
        fetch("GET", server.url + "/next")
    assert server.connections == 1
    assert "cookie" not in server.received[1].headers
