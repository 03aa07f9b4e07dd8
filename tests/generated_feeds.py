"""Generated RSS feeds for load tests and the poll benchmark (no third-party text)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

PLATFORMS = ["WhatsApp", "YouTube", "TikTok", "Instagram", "Reddit", "Twitch", "Snapchat"]


def rss_feed(feed: int, items: int, host: str = "news.example") -> bytes:
    """An RSS 2.0 document with ``items`` distinct articles; feed and item numbers in every id."""
    start = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
    entries = []
    for n in range(items):
        platform = PLATFORMS[(feed + n) % len(PLATFORMS)]
        when = format_datetime(start + timedelta(minutes=feed * items + n))
        body = (
            f"<p>Feed {feed}, article {n}: {platform} updated its app and published quarterly "
            f"figures. Analysts expect more users &amp; more revenue in the coming months.</p>"
        )
        entries.append(
            f"<item><title>{escape(platform)} news {feed}-{n}</title>"
            f"<link>https://{host}/{feed}/{n}</link><guid>urn:feed{feed}:item{n}</guid>"
            f"<pubDate>{when}</pubDate><description>{escape(body)}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Feed {feed}</title><link>https://{host}/{feed}</link><language>en</language>"
        f"<description>generated</description>{''.join(entries)}</channel></rss>"
    ).encode()
