"""Credentials in URLs: used to fetch, never shown.

A feed URL may carry a user and password (``http://user:pass@host/``) or a secret in its query
(``?token=…``, ``?api_key=…``). What the database, the log, an error message or Datasette shows
is the redacted form, ``http://***@host/feed.xml?token=***``; ``redact_text`` scrubs the
secrets of known URLs out of any message (an HTTP library's error may quote the URL).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit, urlunsplit

__all__ = ["MASK", "RedactingFormatter", "redact_text", "redact_url", "url_secrets"]

MASK = "***"
SECRET_PARAMS = frozenset(
    {
        *("token", "key", "api_key", "apikey", "api-key", "secret", "password", "passwd", "pass"),
        *("pwd", "auth", "sig", "signature", "access_token", "auth_token", "client_secret"),
        *("private_token", "sessionid", "jwt", "x-amz-signature"),
    }
)
SECRET_SUFFIXES = ("_token", "-token", "_key", "-key", "_secret", "-secret", "_sig", "_password")
MIN_SECRET = 3  # shorter values are not scrubbed from free text: they would mangle words


def is_secret_param(name: str) -> bool:
    lowered = unquote(name).strip().lower()
    return lowered in SECRET_PARAMS or lowered.endswith(SECRET_SUFFIXES)


def redact_url(url: str) -> str:
    """The URL with its user part and the values of secret query parameters masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rpartition('@')[2]}"
    query = "&".join(_redact_pair(pair) for pair in parts.query.split("&")) if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _redact_pair(pair: str) -> str:
    name, sep, value = pair.partition("=")
    return f"{name}={MASK}" if sep and value and is_secret_param(name) else pair


def url_secrets(url: str) -> tuple[str, ...]:
    """The substrings of ``url`` that must not be shown: the user part (and its password) and
    the values of secret parameters, as written and percent-decoded. Longest first."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return (url,)
    found: set[str] = set()
    if "@" in parts.netloc:
        userinfo = parts.netloc.rpartition("@")[0]
        user, _, password = userinfo.partition(":")
        found |= {userinfo, password, user}
    for pair in parts.query.split("&"):
        name, sep, value = pair.partition("=")
        if sep and is_secret_param(name):
            found.add(value)
    found |= {unquote(value) for value in found}
    return tuple(sorted((s for s in found if len(s) >= MIN_SECRET), key=lambda s: (-len(s), s)))


def redact_text(text: str, urls: Iterable[str]) -> str:
    """``text`` with every secret of ``urls`` masked (the URLs themselves first, as wholes)."""
    urls = [u for u in urls if u]
    for url in sorted(urls, key=len, reverse=True):
        if url in text:
            text = text.replace(url, redact_url(url))
    secrets = sorted({s for url in urls for s in url_secrets(url)}, key=len, reverse=True)
    if not secrets:
        return text
    return re.sub("|".join(map(re.escape, secrets)), MASK, text)


class RedactingFormatter(logging.Formatter):
    """A log formatter that masks the secrets of the given URLs in every line it writes,
    tracebacks included: the last guard, behind messages that are redacted where they are made."""

    def __init__(self, fmt: str, urls: Iterable[str] = ()) -> None:
        super().__init__(fmt)
        self.urls = tuple(urls)

    def format(self, record: logging.LogRecord) -> str:
        return redact_text(super().format(record), self.urls)
