"""gunicorn's threaded worker with requests read in full before a thread takes them.

gunicorn's gthread worker hands a connection to one of its threads as soon as the first bytes
arrive; the thread then blocks on the socket until the whole request is in. A dozen senders that
send their headers and then trickle the body (or never send it) hold every thread
(`make run`: 2 processes x 4 threads), and everyone else waits: a slowloris, or only a few tools
on bad networks. This worker reads each request in the event loop (non-blocking, as the
connection is polled anyway) and hands it to a thread only once its headers and its
Content-Length's worth of body (or a chunked body's last chunk) are in, so a stalled connection
costs a socket and a buffer, never a thread. A request not complete within READ_TIMEOUT seconds
of its first byte (of the connection's accept for a new one) is answered 408 and closed.

A thread's own reads and writes also time out after READ_TIMEOUT (the stock worker blocks forever),
which bounds what remains: a request this worker could not judge complete (an `Expect:
100-continue` is answered here and then read as usual), a client that does not read its answer.
TLS terminated by gunicorn itself (certfile) keeps the stock behaviour.

Used by `make run` (config.embedded) and the production web process (config/gunicorn.py);
GUNICORN_READ_TIMEOUT sets the timeout (default 10 s)."""

from __future__ import annotations

import os
import re
import selectors
import time
from functools import partial

from gunicorn import http
from gunicorn.workers.gthread import TConn, ThreadWorker

READ_TIMEOUT = float(os.environ.get("GUNICORN_READ_TIMEOUT") or 10)
HEADERS_LIMIT = 64 * 1024  # beyond this without the blank line, the parser answers its own error
READ_SIZE = 64 * 1024
_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)[ \t]*(?=\r\n|$)", re.IGNORECASE)
_CHUNKED = re.compile(rb"\r\ntransfer-encoding:[^\r\n]*chunked", re.IGNORECASE)
_EXPECT = re.compile(rb"\r\nexpect:[ \t]*100-continue[ \t]*(?=\r\n|$)", re.IGNORECASE)
TIMED_OUT = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"


class _ReadAhead:
    """What the request parser reads from: the bytes the event loop read ahead, then the socket."""

    def __init__(self, conn: BufferedConn):
        self.conn = conn

    def recv(self, size: int) -> bytes:
        if self.conn.ahead:
            data, self.conn.ahead = self.conn.ahead[:size], self.conn.ahead[size:]
            return data
        return self.conn.sock.recv(size)


class BufferedConn(TConn):
    def __init__(self, cfg, sock, client, server):
        super().__init__(cfg, sock, client, server)
        self.ahead = b""
        self.deadline: float | None = None
        self.answered_continue = False

    def init(self):
        self.initialized = True
        self.sock.settimeout(READ_TIMEOUT)  # blocking, but never forever
        if self.parser is None:
            self.parser = http.RequestParser(self.cfg, _ReadAhead(self), self.client)


def request_complete(data: bytes, max_body: int) -> bool | None:
    """Whether `data` holds a whole request: True, False (wait for more) or None (headers in,
    body awaited after an `Expect: 100-continue`)."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return len(data) > HEADERS_LIMIT
    head, body = data[:end], data[end + 4:]
    if _CHUNKED.search(head):
        return body.endswith(b"0\r\n\r\n")
    match = _CONTENT_LENGTH.search(head)
    length = int(match.group(1)) if match else 0
    if len(body) >= length or length > max_body:  # too large: answered (413) without being read
        return True
    return None if _EXPECT.search(head) else False


class BufferedThreadWorker(ThreadWorker):
    """ThreadWorker that hands a connection to a thread only when its request is all in."""

    def init_process(self):
        self._reading: set[BufferedConn] = set()
        self._max_body: int | None = None
        super().init_process()  # loads the app, then runs the worker's loop until it stops

    @property
    def max_body(self) -> int:
        """The largest body Django reads (a larger one is answered 413 unread): no need to wait for it."""
        if self._max_body is None:
            from django.conf import settings

            self._max_body = getattr(settings, "DATA_UPLOAD_MAX_MEMORY_SIZE", None) or 2**31
        return self._max_body

    def accept(self, server, listener):
        try:
            sock, client = listener.accept()
        except OSError:
            return
        conn = BufferedConn(self.cfg, sock, client, server)
        conn.deadline = time.monotonic() + READ_TIMEOUT
        self.nr_conns += 1
        with self._lock:
            self._reading.add(conn)
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.on_client_socket_readable, conn))

    def on_client_socket_readable(self, conn, client):
        if self.cfg.is_ssl:
            self._reading.discard(conn)
            return super().on_client_socket_readable(conn, client)
        try:
            chunk = conn.sock.recv(READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:  # the sender went away
            self._drop(conn)
            return
        conn.ahead += chunk
        with self._lock:
            if conn.initialized and conn in self._keep:  # a kept-alive connection's next request
                self._keep.remove(conn)
                conn.deadline = time.monotonic() + READ_TIMEOUT
                self._reading.add(conn)
        complete = request_complete(conn.ahead, self.max_body)
        if complete is None and not conn.answered_continue:
            self._continue(conn)
        if not complete:
            return
        with self._lock:
            self.poller.unregister(client)
            self._reading.discard(conn)
        conn.deadline = None
        conn.answered_continue = False
        self.enqueue_req(conn)

    def _continue(self, conn: BufferedConn) -> None:
        """Answer `Expect: 100-continue` here (the sender waits for it before sending the body)
        and take the header out, so the thread does not answer it a second time."""
        conn.answered_continue = True
        try:
            conn.sock.send(b"HTTP/1.1 100 Continue\r\n\r\n")
        except OSError:
            return
        conn.ahead = _EXPECT.sub(b"", conn.ahead, count=1)

    def murder_keepalived(self):
        super().murder_keepalived()
        now = time.monotonic()
        with self._lock:
            expired = [conn for conn in self._reading if conn.deadline is not None and conn.deadline <= now]
        for conn in expired:
            try:
                conn.sock.send(TIMED_OUT)
            except OSError:
                pass
            self._drop(conn)

    def _drop(self, conn: BufferedConn) -> None:
        with self._lock:
            self._reading.discard(conn)
            try:
                self._keep.remove(conn)
            except ValueError:
                pass
            try:
                self.poller.unregister(conn.sock)
            except (KeyError, ValueError, OSError):
                pass
        self.nr_conns -= 1
        conn.close()
