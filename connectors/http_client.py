"""The one guarded HTTP client, for every request whose URL a user, an event or a model
supplied.

Each hop (the first request and every redirect) resolves the host once, refuses the
request if any address it resolves to is private, loopback, link-local (cloud
metadata), multicast, reserved or otherwise not global, or a tunnel or translation
address that can lead to one (6to4, Teredo, NAT64 to a private IPv4), and then connects
to the very address it checked, so a DNS answer cannot change between check and use.
Hosts and networks in OUTBOUND_ALLOWLIST are let through, on one port when the entry
names one (``127.0.0.1:11434``, ``[::1]:8080``, ``10.0.0.0/8:443``), else on every
port. Time and response size are capped.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import socket
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError

from connectors.base import ConnectorError

MAX_REDIRECTS = 5
_CHUNK = 64 * 1024

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Special-purpose ranges that Python's ipaddress counts as global, and tunnels whose
# relays would carry a request on to whatever IPv4 address the IPv6 one embeds.
_REFUSED_NETWORKS = (
    (ipaddress.ip_network("192.0.0.0/24"), "an IETF protocol assignment address"),
    (ipaddress.ip_network("2002::/16"), "a 6to4 address (a tunnel to an IPv4 address)"),
    (ipaddress.ip_network("2001::/32"), "a Teredo address (a tunnel to an IPv4 address)"),
    (ipaddress.ip_network("64:ff9b:1::/48"), "a local-use NAT64 address"),
)
# Well-known NAT64: the gateway connects to the IPv4 address in the last 32 bits, which
# is checked like any other (IPv6-only networks reach every IPv4 site this way).
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class OutboundRefused(ConnectorError):
    """A request the guard will not send. Never retryable."""

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(f"Refused to connect to {host}: {reason}.", retryable=False)
        self.host = host
        self.reason = reason


def address_refusal(address: IPAddress) -> str | None:
    """Why an address may not be reached, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if isinstance(address, ipaddress.IPv6Address) and address in _NAT64:
        embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        reason = address_refusal(embedded)
        return f"{address} is a NAT64 address for {embedded}, and {reason}" if reason else None
    for network, kind in _REFUSED_NETWORKS:
        if address.version == network.version and address in network:
            return f"{address} is {kind}"
    if address.is_loopback:
        return f"{address} is a loopback address"
    if address.is_link_local:
        return f"{address} is a link-local address (used for cloud metadata)"
    if address.is_multicast:
        return f"{address} is a multicast address"
    if address.is_unspecified:
        return f"{address} is an unspecified address"
    if address.is_reserved:
        return f"{address} is a reserved address"
    if address.is_private:
        return f"{address} is a private address"
    if not address.is_global:
        return f"{address} is not a public address"
    return None


@dataclass(frozen=True)
class _Allowed:
    """One OUTBOUND_ALLOWLIST entry: a host name or a network, on one port or on all."""

    host: str | None
    network: IPNetwork | None
    port: int | None

    def allows(self, host: str, address: IPAddress, port: int) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.host is not None:
            return self.host == host
        return address.version == self.network.version and address in self.network


def _allowed(entry: str) -> _Allowed:
    """Parse ``host``, ``host:port``, ``1.2.3.4[:port]``, ``::1``, ``[::1][:port]``,
    ``10.0.0.0/8[:port]``, ``fd00::/8[:port]`` or ``[fd00::/8][:port]``."""
    text, port = entry, None
    if text.startswith("["):
        inside, closed, rest = text[1:].partition("]")
        if not closed or (rest and not rest.startswith(":")):
            raise ImproperlyConfigured(f"OUTBOUND_ALLOWLIST: {entry!r} is not host[:port].")
        text, port = inside, rest[1:] if rest else None
    elif "/" in text:
        address, _, prefix = text.partition("/")
        prefix, colon, port = prefix.partition(":")
        text, port = f"{address}/{prefix}", port if colon else None
    elif text.count(":") == 1:
        text, _, port = text.partition(":")
    if port is not None and not (port.isdigit() and 0 < int(port) < 65536):
        raise ImproperlyConfigured(f"OUTBOUND_ALLOWLIST: {entry!r} has no valid port.")
    number = int(port) if port is not None else None
    try:
        return _Allowed(None, ipaddress.ip_network(text, strict=False), number)
    except ValueError:
        return _Allowed(text, None, number)


def _allowlist() -> tuple[_Allowed, ...]:
    return _parsed_allowlist(tuple(settings.OUTBOUND_ALLOWLIST))


# Parsed once per distinct setting instead of at every request: the key is the entries
# themselves, so a changed setting (a test's override) is parsed afresh.
@functools.lru_cache(maxsize=4)
def _parsed_allowlist(entries: tuple[str, ...]) -> tuple[_Allowed, ...]:
    cleaned = (entry.strip().lower() for entry in entries)
    return tuple(_allowed(entry) for entry in cleaned if entry)


def resolve_checked(host: str, port: int) -> str:
    """Resolve ``host`` and return one address to connect to, or raise OutboundRefused."""
    host = host.strip("[]").lower()
    allowed = _allowlist()
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ConnectorError(
            f"Could not resolve the host {host}: {exc.strerror}.", retryable=True
        ) from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise ConnectorError(f"The host {host} has no address.", retryable=True)
    for raw in addresses:
        address = ipaddress.ip_address(raw.split("%")[0])
        if any(rule.allows(host, address, port) for rule in allowed):
            continue
        reason = address_refusal(address)
        if reason:
            raise OutboundRefused(host, reason)
    return addresses[0]


# A kept connection idle for longer than this is closed rather than used again: servers
# close idle connections after a few seconds (gunicorn after 2), and one that closed
# just as a request went out would leave a POST unanswered and unsafe to repeat.
IDLE_SECONDS = 1.0


class _IdleCapped:
    def _get_conn(self, timeout=None):
        conn = super()._get_conn(timeout)
        since = getattr(conn, "idle_since", None)
        if since is not None and time.monotonic() - since > IDLE_SECONDS:
            conn.close()  # urllib3 connects a closed connection again when it is used
        return conn

    def _put_conn(self, conn) -> None:
        if conn is not None:
            conn.idle_since = time.monotonic()
        super()._put_conn(conn)


class _HTTPPool(_IdleCapped, HTTPConnectionPool):
    pass


class _HTTPSPool(_IdleCapped, HTTPSConnectionPool):
    pass


class _PinnedAdapter(HTTPAdapter):
    """Connects to the address checked for this hop while speaking to the host by name
    (Host header, TLS SNI and certificate check)."""

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}

    def send(self, request, **kwargs):
        parts = urlsplit(request.url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        request._pinned_address = resolve_checked(parts.hostname, port)
        request.headers["Host"] = parts.netloc.rpartition("@")[2]
        return super().send(request, **kwargs)

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        hostname = host_params["host"]
        host_params["host"] = request._pinned_address
        if host_params["scheme"] == "https":
            pool_kwargs["server_hostname"] = hostname
            pool_kwargs["assert_hostname"] = hostname
        return host_params, pool_kwargs


# Connections kept open between requests, one pool per process (a forked worker makes its
# own): a new connection, and for HTTPS its handshake, for every request was most of a
# step's own CPU. A connection is reused only for the address this request's hop was
# checked to (the pool's key is the pinned address, and for HTTPS the host name too), so
# every request is still resolved and checked first. Only connections are shared:
# each session keeps its own cookies and headers.
POOLED_HOSTS = 32


@functools.cache
def _shared_adapter(pid: int) -> _PinnedAdapter:
    return _PinnedAdapter(max_retries=0, pool_connections=POOLED_HOSTS)


class GuardedSession(requests.Session):
    """A requests Session that follows redirects itself (checking each hop) and reads at
    most ``max_bytes`` of a body within ``timeout`` seconds in all."""

    def __init__(self, *, timeout: float | None = None, max_bytes: int | None = None) -> None:
        super().__init__()
        # Environment proxies would bypass the pinned address.
        self.trust_env = False
        self.timeout = timeout if timeout is not None else settings.OUTBOUND_TIMEOUT
        self.max_bytes = max_bytes if max_bytes is not None else settings.OUTBOUND_MAX_BYTES
        adapter = _shared_adapter(os.getpid())
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def close(self) -> None:
        # The shared adapter's connections outlive this session (``_shared_adapter``).
        for adapter in self.adapters.values():
            if adapter is not _shared_adapter(os.getpid()):
                adapter.close()

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        timeout = kwargs.pop("timeout", None) or self.timeout
        max_bytes = kwargs.pop("max_bytes", None) or self.max_bytes
        kwargs.pop("allow_redirects", None)
        kwargs.pop("stream", None)
        deadline = time.monotonic() + timeout
        for _ in range(MAX_REDIRECTS + 1):
            parts = urlsplit(url)
            host = parts.hostname or url
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise OutboundRefused(host, "only http and https URLs can be fetched")
            try:
                response = super().request(
                    method, url, allow_redirects=False, stream=True,
                    timeout=(min(10.0, timeout), timeout), **kwargs,
                )  # fmt: skip
            except requests.ConnectTimeout:
                raise ConnectorError(
                    f"Could not connect to {host} in time.", retryable=True
                ) from None
            except requests.Timeout:
                # The request was sent; the service may have acted on it.
                raise ConnectorError(
                    f"{host} did not answer in time.", retryable=True, sent=True
                ) from None
            except requests.ConnectionError as exc:
                raise ConnectorError(
                    f"Could not connect to {host}: {_short(exc)}",
                    retryable=True,
                    sent=_maybe_sent(exc),
                ) from None
            if response.is_redirect and "location" in response.headers:
                response.close()
                url = urljoin(url, response.headers["location"])
                if response.status_code == 303 or (
                    response.status_code in (301, 302) and method.upper() == "POST"
                ):
                    method = "GET"
                    for key in ("data", "files", "json"):
                        kwargs.pop(key, None)
                continue
            _read_capped(response, host, max_bytes, deadline)
            return response
        raise ConnectorError(f"Too many redirects (more than {MAX_REDIRECTS}) from {host}.")


def _read_capped(response: requests.Response, host: str, max_bytes: int, deadline: float) -> None:
    body = bytearray()
    try:
        for chunk in response.iter_content(_CHUNK):
            body.extend(chunk)
            if len(body) > max_bytes:
                raise ConnectorError(
                    f"The response from {host} is larger than {max_bytes} bytes.",
                    retryable=False,
                )
            if time.monotonic() > deadline:
                raise ConnectorError(
                    f"{host} took too long to send its answer.", retryable=True, sent=True
                )
    except requests.RequestException as exc:
        raise ConnectorError(
            f"Reading from {host} failed: {_short(exc)}", retryable=True, sent=True
        ) from None
    finally:
        response.close()
    response._content = bytes(body)


def _maybe_sent(exc: requests.ConnectionError) -> bool:
    """Whether the request may have reached the server: anything but a connection that
    was never made (refused, unreachable, TLS handshake failed)."""
    if isinstance(exc, requests.exceptions.SSLError):
        return False
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return not isinstance(reason, ConnectTimeoutError)  # NewConnectionError is one


def _short(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) < 200 else text[:200] + "…"


def guarded_session(
    *, timeout: float | None = None, max_bytes: int | None = None
) -> GuardedSession:
    return GuardedSession(timeout=timeout, max_bytes=max_bytes)


def fetch(method: str, url: str, **kwargs: Any) -> requests.Response:
    """One guarded request: ``fetch("GET", url, timeout=..., max_bytes=...)``."""
    with guarded_session() as session:
        return session.request(method, url, **kwargs)


# -- the same guard for SDKs that talk through httpx2 (the openai SDK) ------------------


@functools.cache
def sdk_http_client():
    """An httpx2 client for an SDK whose base URL a user chose: every request (redirects
    included) is checked and pinned exactly like the requests-based client above.

    One per process, shared: building a client builds a TLS context, which cost more
    than a whole ChatGPT call to a nearby server. SDKs pass their timeouts per request,
    and nothing about the caller (keys, organization) lives in it.
    """
    import httpx2

    class GuardedTransport(httpx2.HTTPTransport):
        def handle_request(self, request: httpx2.Request) -> httpx2.Response:
            url = request.url
            if url.scheme not in ("http", "https") or not url.host:
                raise OutboundRefused(url.host or str(url), "only http and https URLs")
            address = resolve_checked(url.host, url.port or (443 if url.scheme == "https" else 80))
            pinned = url.copy_with(host=address)
            extensions = dict(request.extensions)
            if url.scheme == "https":
                extensions["sni_hostname"] = url.host
            request = httpx2.Request(
                request.method, pinned, headers=request.headers, stream=request.stream,
                extensions=extensions,
            )  # fmt: skip
            return super().handle_request(request)

    return httpx2.Client(transport=GuardedTransport(), trust_env=False)
