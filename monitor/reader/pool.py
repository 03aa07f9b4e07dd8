"""Reading feeds in worker processes, each process fetching and parsing several feeds at once.

A feed read has two costs. Waiting on the network wants many reads at once, which threads give.
Parsing (feedparser) and each request's own Python work (httpx: about 0.4 ms of CPU per 304)
want CPU, which one Python process gets from one core only. ``ProcessPoolExecutor`` runs one
task per worker at a time, so a slow feed (up to three times its timeout) would hold a whole
process and, with one worker per core, soon every worker. Here each worker runs ``threads``
reads at once with its own httpx client: the processes use the cores, the threads keep a slow
feed from holding up the others, and the parent keeps the database. Only the parsed items
travel back; the request and a 304's answer are a few hundred bytes each.

A worker that dies (out of memory on a hostile document, a crash in C code) fails the reads it
had in flight with a ParseError; the next submit starts a fresh one. Workers leave when their
pipe closes, so a parent killed with SIGKILL leaves none behind.
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import signal
import threading
import traceback
from concurrent.futures import Future
from multiprocessing.connection import Connection

from monitor.errors import FetchError, ParseError
from monitor.models import FeedConfig, FeedState
from monitor.reader import read_feed
from monitor.reader.fetcher import make_client

__all__ = ["ReaderDied", "ReaderPool"]

DIED = "the reader process died while reading this feed (too large or malformed?)"


class ReaderDied(ParseError):
    """The worker process exited with this read in flight: this feed, or another one it was
    reading at the time, killed it."""


STOP_WAIT = 2.0  # seconds that close() gives workers to finish the reads they are in
START_TIMEOUT = 60.0  # seconds for a worker to import its modules (a cold disk can be slow)


class ReaderPool:
    """``processes`` worker processes, each reading up to ``threads`` feeds at once.

    Thread-safe: ``submit`` may be called from any thread. The workers start here, and the
    constructor returns once each has imported its modules and built its client. Each worker
    answers every read: by the feed's own deadline, or with DIED when it exits.
    """

    def __init__(self, processes: int, threads: int, user_agent: str) -> None:
        if processes < 1 or threads < 1:
            raise ValueError("a reader pool needs at least one process and one thread")
        self._processes = processes
        self._threads = threads
        self._user_agent = user_agent
        self._context = multiprocessing.get_context("spawn")
        self._lock = threading.Lock()  # guards _workers and every worker's pending futures
        self._workers: list[_Worker] = []
        self._ids = itertools.count()
        self._closed = False
        with self._lock:
            self._fill()
        try:
            for worker in self._workers:
                worker.wait_ready()
        except BaseException:
            self.close()
            raise

    def submit(self, feed: FeedConfig, state: FeedState, seen_at: str) -> Future:
        """Start reading ``feed`` in the least busy worker: a Future of ``Read``, which fails
        with FetchError or ParseError as ``read_feed`` would."""
        future: Future = Future()
        with self._lock:
            if self._closed:
                raise FetchError("stopping: the reader processes are closed")
            worker = self._least_busy()
            task_id = next(self._ids)
            worker.pending[task_id] = future
        try:  # outside the pool's lock: a full pipe must not stop the answers coming back
            with worker.sending:
                worker.conn.send((task_id, feed, state, seen_at))
        except OSError:  # it died since we picked it
            with self._lock:
                lost = worker.pending.pop(task_id, None)
            if lost is not None:  # (else its receiver has failed it already)
                future.set_exception(ReaderDied(DIED))
        return future

    @property
    def pids(self) -> list[int]:
        """The worker processes' ids (for logs and tests)."""
        with self._lock:
            return [w.process.pid for w in self._workers if w.alive]

    def close(self) -> None:
        """Ask every worker to leave; reads still running after STOP_WAIT seconds are cut off."""
        with self._lock:
            self._closed = True
            workers, self._workers = self._workers, []
        for worker in workers:
            worker.leave()
        for worker in workers:
            worker.join(STOP_WAIT)

    def _fill(self) -> None:
        """Drop the workers that died, start new ones up to ``processes`` (lock held)."""
        self._workers = [w for w in self._workers if w.alive]
        while len(self._workers) < self._processes:
            worker = _Worker(self._context, self._lock, self._threads, self._user_agent)
            self._workers.append(worker)

    def _least_busy(self) -> _Worker:
        self._fill()
        return min(self._workers, key=lambda w: len(w.pending))


class _Worker:
    """One worker process, its end of the pipe, and the thread that takes its answers."""

    def __init__(self, context, lock: threading.Lock, threads: int, user_agent: str) -> None:
        self._lock = lock  # the pool's: it guards ``pending``
        self.pending: dict[int, Future] = {}
        self.alive = True
        self.sending = threading.Lock()  # one message at a time on the pipe
        self._ready = threading.Event()
        self.conn, child = context.Pipe()
        self.process = context.Process(
            target=_serve,
            args=(child, threads, user_agent),
            name="policy-monitor reader",
            daemon=True,
        )
        self.process.start()
        child.close()  # the child holds its end now: our recv sees EOF when it exits
        self._receiver = threading.Thread(target=self._receive, name="reader-answers", daemon=True)
        self._receiver.start()

    def _receive(self) -> None:
        while True:
            try:
                task_id, kind, payload = self.conn.recv()
            except (EOFError, OSError):
                break
            if kind == "ready":
                self._ready.set()
                continue
            with self._lock:
                future = self.pending.pop(task_id, None)
            if future is not None:
                _settle(future, kind, payload)
        with self._lock:
            self.alive = False
            orphans, self.pending = list(self.pending.values()), {}
        self._ready.set()
        for future in orphans:
            future.set_exception(ReaderDied(DIED))

    def wait_ready(self) -> None:
        if not self._ready.wait(START_TIMEOUT) or not self.alive:
            raise RuntimeError(
                f"the reader process did not start (exit code {self.process.exitcode})"
            )

    def leave(self) -> None:
        """Ask the worker to finish; join() ends it anyway if the pipe is stuck."""
        if self.sending.acquire(timeout=STOP_WAIT):
            try:
                with contextlib.suppress(OSError):
                    self.conn.send(None)
            finally:
                self.sending.release()

    def join(self, timeout: float) -> None:
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join()
        self._receiver.join()
        self.conn.close()


def _settle(future: Future, kind: str, payload) -> None:
    if kind == "ok":
        future.set_result(payload)
    elif kind == "fetch":
        message, status = payload
        future.set_exception(FetchError(message, status=status))
    elif kind == "parse":
        future.set_exception(ParseError(payload))
    else:  # a bug in the worker: raise it here with the worker's traceback as its cause
        error = RuntimeError(f"reader process: {payload.splitlines()[-1]}")
        error.__cause__ = _RemoteTraceback(payload)
        future.set_exception(error)


class _RemoteTraceback(Exception):
    def __str__(self) -> str:
        return "\n" + self.args[0]


def _serve(conn: Connection, threads: int, user_agent: str) -> None:
    """A worker process: ``threads`` threads take feeds from ``conn`` and read them, until the
    parent says stop (None) or goes away (end of file)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    client = make_client(user_agent, concurrency=threads)
    receiving, sending = threading.Lock(), threading.Lock()
    leaving = threading.Event()

    def reader() -> None:
        while True:
            with receiving:
                if leaving.is_set():
                    return
                try:
                    task = conn.recv()
                except (EOFError, OSError):
                    task = None
                if task is None:
                    leaving.set()
                    return
            reply = _answer(task, client)
            with sending:
                try:
                    conn.send(reply)
                except OSError:  # the parent is gone
                    leaving.set()
                except Exception:  # the answer could not be pickled: say so rather than hang
                    conn.send((task[0], "bug", traceback.format_exc()))

    conn.send((None, "ready", None))
    workers = [threading.Thread(target=reader, name=f"read-{n}") for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    client.close()
    conn.close()


def _answer(task: tuple, client) -> tuple:
    task_id, feed, state, seen_at = task
    try:
        return (task_id, "ok", read_feed(feed, state, seen_at, client))
    except FetchError as exc:
        return (task_id, "fetch", (str(exc), exc.status))
    except ParseError as exc:
        return (task_id, "parse", str(exc))
    except BaseException:
        return (task_id, "bug", traceback.format_exc())
