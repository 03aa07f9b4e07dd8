"""Article pages: the whole text of an item whose feed gives only a teaser.

``PageReader.read(url)`` fetches one page politely and safely and returns a ``PageResult``:

- only http and https; robots.txt honoured per host (protego, cached a day; a robots.txt that
  answers 4xx allows everything, one that cannot be read for a 5xx or a network error forbids
  everything for now: RFC 9309, 2.3.1);
- one request at a time per host and ``host_delay`` between two (``HostGate``), our
  User-Agent, conditional GET with the validators of an earlier read, ``max_bytes`` enforced
  while streaming;
- the host is resolved and a loopback, private, link-local, reserved or multicast address is
  refused, at every redirect, unless ``allow_private`` (or the host is in ``allow_hosts``); the
  request then goes to the address that was checked, so a second DNS answer cannot swap it;
- transient failures (a timeout, a 5xx, a connection error) are tried again ``retries`` times;
- trafilatura takes the main text (no comments, navigation or related links; JSON-LD too).

Outcomes (``PageResult.status``): ok, robots, refused, too_large, failed, short (the page says
less than the feed: a paywall or consent wall), skipped. Every one is a recorded outcome, never
an error of the feed.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import urljoin, urlsplit

import httpx
import trafilatura
from protego import Protego

from monitor.config import PagesConfig
from monitor.models import PageResult
from monitor.redact import redact_text
from monitor.text import decode_bytes

__all__ = ["HostGate", "PageReader", "PageResult"]

MAX_REDIRECTS = 5
MAX_TEXT = 200_000  # characters of main text kept
ROBOTS_TTL = 86400.0
ROBOTS_MAX_BYTES = 500_000  # Google reads the first 500 KiB of a robots.txt
HTML_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "")
Resolver = Callable[[str, int], list[str]]


class _Refused(Exception):
    """The page may not be read: robots, an address we do not fetch, a scheme, a size."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status


class _Transient(Exception):
    """A failure worth trying again: a timeout, a 5xx, a connection error."""


def system_resolver(host: str, port: int) -> list[str]:
    """Every address of ``host`` (IPv4 and IPv6), as the system resolver gives them."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def address_problem(ip: str) -> str | None:
    """Why an address is not fetched from: loopback, private, link-local, ...; None if public."""
    address = ipaddress.ip_address(ip.split("%", 1)[0])
    mapped = getattr(address, "ipv4_mapped", None)
    address = mapped or address
    for kind in ("loopback", "link_local", "multicast", "unspecified", "reserved", "private"):
        if getattr(address, f"is_{kind}"):
            return kind.replace("_", "-")
    return None


class HostGate:
    """One request at a time per host, and at least ``delay`` seconds between two."""

    def __init__(self, delay: float, clock=time.monotonic, sleep=time.sleep) -> None:
        self.delay, self.clock, self.sleep = delay, clock, sleep
        self._locks: dict[str, threading.Lock] = {}
        self._last: dict[str, float] = {}
        self._guard = threading.Lock()

    @contextmanager
    def turn(self, host: str) -> Iterator[None]:
        with self._guard:
            lock = self._locks.setdefault(host, threading.Lock())
        with lock:
            last = self._last.get(host)
            if last is not None:
                wait = last + self.delay - self.clock()
                if wait > 0:
                    self.sleep(wait)
            try:
                yield
            finally:
                self._last[host] = self.clock()


class PageReader:
    """Reads article pages (thread-safe: the reading of one host is serialised by its gate)."""

    def __init__(
        self,
        settings: PagesConfig,
        user_agent: str,
        resolver: Resolver = system_resolver,
        clock=time.monotonic,
        sleep=time.sleep,
        retry_pause: float = 1.0,
    ) -> None:
        self.settings, self.user_agent = settings, user_agent
        self.resolver, self.clock, self.sleep = resolver, clock, sleep
        self.retry_pause = retry_pause
        self.gate = HostGate(settings.host_delay, clock, sleep)
        self._robots: dict[str, tuple[float, Protego | None]] = {}
        self._robots_locks: dict[str, threading.Lock] = {}
        self._robots_lock = threading.Lock()
        self.client = httpx.Client(
            headers={"User-Agent": user_agent},
            follow_redirects=False,  # each hop is checked here
            timeout=httpx.Timeout(settings.timeout),
            trust_env=False,
        )

    def close(self) -> None:
        self.client.close()

    def read(
        self,
        url: str,
        feed_text: str = "",
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> PageResult:
        """The main text of the page at ``url``; a feed text at least as long wins ("short")."""
        attempts = self.settings.retries + 1
        for attempt in range(attempts):
            try:
                return self._read_once(url, feed_text, etag, last_modified)
            except _Refused as exc:
                return PageResult(exc.status, url=url, error=self._clean(str(exc), url))
            except _Transient as exc:
                if attempt + 1 == attempts:
                    message = f"{exc} (after {attempts} attempts)"
                    return PageResult("failed", url=url, error=self._clean(message, url))
                self.sleep(self.retry_pause * (attempt + 1))
            except Exception as exc:  # an unexpected answer: this page fails, nothing else
                return PageResult("failed", url=url, error=self._clean(_describe(exc), url))
        raise AssertionError("unreachable")

    def _clean(self, message: str, url: str) -> str:
        return redact_text(" ".join(message.split()), [url])[:500]

    def _read_once(
        self, url: str, feed_text: str, etag: str | None, last_modified: str | None
    ) -> PageResult:
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = url
        for _hop in range(MAX_REDIRECTS + 1):
            if urlsplit(current).scheme not in ("http", "https"):
                raise _Refused("refused", f"not an http(s) URL: {current}")
            self._check_robots(current)
            with self._get(current, headers, self.settings.max_bytes) as (response, body):
                status = response.status_code
                if status in (301, 302, 303, 307, 308) and "location" in response.headers:
                    current = urljoin(current, response.headers["location"])
                    continue
                if status == 304:
                    return PageResult("ok", None, current, etag, last_modified, None, True)
                if status >= 500 or status == 429:
                    raise _Transient(f"HTTP {status}")
                if status >= 400:
                    raise _Refused("failed", f"HTTP {status}")
                kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
                if kind not in HTML_TYPES:
                    raise _Refused("failed", f"not an HTML page ({kind})")
                html = decode_bytes(body(), _charset(response))
                text = _main_text(html, current)
                validators = response.headers.get("etag"), response.headers.get("last-modified")
                if not text or len(text) <= len(feed_text.strip()):
                    said = f"main text of {len(text or '')} characters, the feed's has "
                    said += str(len(feed_text.strip()))
                    return PageResult("short", None, current, *validators, said)
                return PageResult("ok", text, current, *validators)
        raise _Refused("failed", f"more than {MAX_REDIRECTS} redirects")

    @contextmanager
    def _get(self, url: str, headers: dict[str, str], limit: int):
        """GET ``url`` through the host's gate, from an address that passed the check; yields
        the response and a function that reads its body up to ``limit`` bytes."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise _Refused("refused", f"not an http(s) URL: {url}")
        host = parts.hostname.lower()
        port = parts.port or (443 if parts.scheme == "https" else 80)
        target, extensions, request_headers = url, {}, dict(headers)
        if not (self.settings.allow_private or host in self.settings.allow_hosts):
            address = self._checked_address(host, port)
            ip = f"[{address}]" if ":" in address else address
            target = parts._replace(netloc=f"{ip}:{port}").geturl()
            request_headers["Host"] = parts.netloc.rpartition("@")[2]
            extensions = {"sni_hostname": host}
        deadline = self.clock() + self.settings.timeout * 3
        with self.gate.turn(host):
            try:
                request = self.client.build_request(
                    "GET", target, headers=request_headers, extensions=extensions
                )
                response = self.client.send(request, stream=True)
            except httpx.TimeoutException as exc:
                raise _Transient(f"timed out after {self.settings.timeout:g}s") from exc
            except httpx.TransportError as exc:
                raise _Transient(f"cannot connect: {_describe(exc)}") from exc
            try:
                yield response, lambda: _read_body(response, limit, deadline, self.clock)
            except httpx.TimeoutException as exc:
                raise _Transient(f"timed out after {self.settings.timeout:g}s") from exc
            except httpx.TransportError as exc:
                raise _Transient(f"connection broke off: {_describe(exc)}") from exc
            finally:
                response.close()

    def _checked_address(self, host: str, port: int) -> str:
        try:
            addresses = self.resolver(host, port)
        except socket.gaierror as exc:
            if exc.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", -5)):
                raise _Refused("failed", f"{host} does not exist (DNS)") from exc
            raise _Transient(f"cannot resolve {host}: {_describe(exc)}") from exc
        except (OSError, UnicodeError) as exc:
            raise _Transient(f"cannot resolve {host}: {_describe(exc)}") from exc
        if not addresses:
            raise _Transient(f"cannot resolve {host}")
        for address in addresses:
            problem = address_problem(address)
            if problem:
                raise _Refused("refused", f"{host} resolves to {address}, a {problem} address")
        return addresses[0]

    def _check_robots(self, url: str) -> None:
        parts = urlsplit(url)
        site = f"{parts.scheme}://{parts.netloc}"
        with self._robots_lock:
            site_lock = self._robots_locks.setdefault(site, threading.Lock())
        with site_lock:  # readers of one site wait for its one fetch of robots.txt
            cached = self._robots.get(site)
            if cached is None or self.clock() - cached[0] > ROBOTS_TTL:
                cached = self._robots[site] = (self.clock(), self._fetch_robots(site))
        rules = cached[1]
        if rules is None:
            raise _Refused("robots", f"robots.txt of {parts.hostname} cannot be read: not fetched")
        if not rules.can_fetch(url, self.user_agent):
            raise _Refused("robots", f"robots.txt of {parts.hostname} disallows {parts.path}")

    def _fetch_robots(self, site: str) -> Protego | None:
        """The rules of a site; an empty rule set when it has none (4xx); None when the server
        cannot answer it now (5xx), which forbids all (RFC 9309). A network error is raised:
        the page read fails (and is tried again) as if the page itself did not answer."""
        url = f"{site}/robots.txt"
        for _hop in range(MAX_REDIRECTS + 1):
            try:
                with self._get(url, {}, ROBOTS_MAX_BYTES) as (response, body):
                    status = response.status_code
                    if status in (301, 302, 303, 307, 308) and "location" in response.headers:
                        url = urljoin(url, response.headers["location"])
                        continue
                    if 400 <= status < 500:
                        return Protego.parse("")
                    if status >= 300:
                        return None
                    try:
                        data = body()
                    except _Refused:  # larger than we read: the first part counts
                        return None
                    return Protego.parse(decode_bytes(data))
            except _Refused as exc:
                if exc.status == "refused":  # the site's address is refused: its pages too
                    raise
                return None
        return None


def _read_body(response: httpx.Response, limit: int, deadline: float, clock) -> bytes:
    length = response.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise _Refused("too_large", f"Content-Length {length} bytes exceeds max_bytes ({limit})")
    body = bytearray()
    for chunk in response.iter_bytes(64 * 1024):
        body += chunk
        if len(body) > limit:
            raise _Refused("too_large", f"body exceeds max_bytes ({limit})")
        if clock() > deadline:
            raise _Transient("took too long in all")
    return bytes(body)


def _charset(response: httpx.Response) -> str | None:
    for part in response.headers.get("content-type", "").split(";")[1:]:
        name, _, value = part.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip("\"'") or None
    return None


def _main_text(html: str, url: str) -> str | None:
    text = trafilatura.extract(
        html,
        url=url,
        include_comments=False,
        include_tables=False,
        include_links=False,
        include_images=False,
        deduplicate=False,  # its cache spans calls: a page read twice would come out empty
    )
    return text[:MAX_TEXT] if text else None


def _describe(exc: BaseException) -> str:
    message = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__
