"""A small threaded HTTP server on loopback that serves documents with ETag/Last-Modified and
answers conditional requests with 304, like a well-behaved news site. Used by the daemon tests
and by bench/poll.py."""

from __future__ import annotations

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LAST_MODIFIED = "Fri, 01 Mar 2024 08:00:00 GMT"


class FeedServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, documents: dict[str, bytes]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.documents = documents
        # Validators computed once, as a web server keeps them with the file: hashing every
        # body at every request made this stand-in spend CPU the measured client needs.
        self.etags = {
            path: '"' + hashlib.sha1(body).hexdigest() + '"' for path, body in documents.items()
        }
        self.requests = 0
        self.not_modified = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> FeedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()

    def count(self, not_modified: bool) -> None:
        with self._lock:
            self.requests += 1
            self.not_modified += not_modified


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: don't delay the body
    server: FeedServer

    def do_GET(self) -> None:
        body = self.server.documents.get(self.path)
        if body is None:
            self.send_error(404)
            return
        etag = self.server.etags[self.path]
        if self.headers.get("If-None-Match") == etag:
            self.server.count(True)
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.server.count(False)
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", LAST_MODIFIED)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass
