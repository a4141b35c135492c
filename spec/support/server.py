#!/usr/bin/env python3
# spec/support/server.py -- the test-side HTTP server of medusa-lua.
#
# Owns: a scriptable HTTP/1.1 server for the specs (exact request recording and
# fault injection over raw sockets) and, in --mode store, an in-memory stand-in
# for the Medusa v1 store API (payment collections + store auth) used by the
# specs, the demo and the examples.  Python 3.9+, standard library only.
# Listens on 127.0.0.1 only.  Driven from Lua by spec/support/server.lua.
#
# Usage:
#   python3 spec/support/server.py --port 0 [--port-file FILE] [--mode script|store]
#           [--tls-cert F --tls-key F] [--keepalive-timeout S] [--parent-pid PID] [--banner]
#   Binds 127.0.0.1:PORT (0 = any free port), writes the port number to
#   --port-file (tmp file + rename) once listening, serves until SIGTERM/SIGINT
#   (or until --parent-pid disappears), then exits 0.
#   --keepalive-timeout S: close a keep-alive connection idle for S seconds
#   (default: 5 in store mode, like Node's http server; 0 = never in script mode).
#   --banner (store mode): once listening, print to stdout the base URL, the seeded
#   ids (payment collections, region, demo customer with its password) and the pid,
#   for a person trying the README's examples by hand (`make store`).
#
# Every request whose path does not start with /__ctl/ is recorded:
#   {"index", "conn", "t_ms" (ms since start, taken when the head is complete),
#    "method", "target", "path", "query" (null if no '?'), "version",
#    "headers": [[name, value], ...] (as received: order and case kept),
#    "body" (UTF-8 text, null if not valid UTF-8), "body_b64", "body_len",
#    "raw_head" (request line + header lines + the empty line, latin-1),
#    "scripted" (true if a scripted step answered it),
#    "t_done_ms" (ms since start when the server was done with it: right before the
#    last byte of its response went to the kernel -- so the client cannot have had the
#    whole response earlier -- or when an action, a stall or the client going away
#    ended it; null while it is still in flight),
#    "in_flight" (requests in flight, this one included, when its head completed: a
#    request is in flight from its head until its t_done_ms),
#    "open_conns" (client connections open at that moment, this one included)}
#   plus "incomplete": true if the client went away before the whole body came,
#   and "error": "..." for a malformed request (answered 400 and closed; such a
#   record may have null method/target; it never consumes a step).
#   A "client connection" is one that has carried a non-control request; it counts
#   as open until the server closes it (action, after, idle timeout, or the client's
#   close seen).  Control-only connections (server.lua's curl calls) never count.
#   The server only learns that a client gave up on a hang/stall when it sees the
#   close, so such a request (and its connection) stays counted until then.
#   Request bodies: Content-Length or Transfer-Encoding: chunked.
#   "Expect: 100-continue" is answered with "100 Continue" before reading a body.
#
# Control plane (same port, JSON, never recorded, never consumes a step):
#   GET  /__ctl/health            -> {"ok": true}
#   POST /__ctl/script  {"steps"} -> replaces the FIFO queue of scripted steps
#   POST /__ctl/append  {"steps"} -> appends to the queue
#   GET  /__ctl/queue             -> {"remaining": n}
#   GET  /__ctl/log[?since=N]     -> array of records (index > N)
#   GET  /__ctl/stats             -> {"max_in_flight", "max_open_conns": the highest
#                                     in_flight / open_conns of a request head,
#                                     "conns_total": client connections that carried a
#                                     request, "requests": request heads (recorded or
#                                     not, e.g. when 100 Continue could not be sent)}
#                                     since start or the last reset (0 if none), plus
#                                     the gauges "in_flight" and "open_conns" now
#   POST /__ctl/reset             -> clears log, queue and stats (not the gauges: a
#                                     request still in flight stays counted), re-seeds
#                                     the store
#   GET  /__ctl/store             -> {"collections": [...], "ids": [...seeded ids],
#                                     "region": {...}, "customer": {...}}
#   POST /__ctl/store/collections {"amount"?, "id"?, "description"?}
#                                 -> {"payment_collection": {...}} (fresh, not_paid)
#   Bad control input -> 400 {"error": "..."}; unknown /__ctl/ path -> 404.
#
# STEP LANGUAGE.  Each non-control request consumes the first queued step that has
# no "match" or whose "match" it satisfies (steps without match: plain FIFO); with no
# such step the mode's default answers (script: 200
# {"payment_collection":{"id":"paycol_default","amount":5000}}; store: the
# stand-in Medusa).  All step fields are optional; unknown fields are rejected.
#   match         non-empty string: only a request whose target (path + query, as
#                 received) contains it (plain substring) takes this step; so
#                 concurrent requests for different ids get their own answers
#                 whatever order they arrive in
#   status        int, default 200
#   reason        reason phrase, default the standard one (sent UTF-8 encoded, as are
#                 header names and values)
#   headers       [[name, value], ...]; default [["Content-Type",
#                 "application/json; charset=utf-8"]].  Content-Length is added
#                 unless given here or chunked/http10 is set (and never for
#                 1xx/204/304).  Transfer-Encoding: chunked is added for chunked.
#   body          string (sent UTF-8 encoded)
#   body_b64      exact body bytes (base64); wins over json and body
#   json          any JSON value; body = compact json.dumps(ensure_ascii=False)
#   body_repeat   N: the body is repeated N times (multi-MB bodies)
#   delay_ms      wait before sending anything (no lock held: 100 connections can
#                 each be delayed at the same time)
#   chunked       true: chunked response body, chunks of chunk_size (default 1024)
#   cut_chunked   true (with chunked): send all chunks but the last and no
#                 terminating 0-chunk, then close
#   http10        true: "HTTP/1.0" status line, no Content-Length, body, close
#   raw / raw_b64 send exactly these bytes (raw: latin-1) instead of a built response
#   drip          {"bytes": n, "interval_ms": m}: send the response in n-byte
#                 pieces, m ms apart
#   stall_after_headers  true: send status line + headers (for raw: up to the
#                 first empty line), then nothing until the client closes or 60 s
#   after         "keep" (default) | "close" (graceful FIN: shutdown, drain, close)
#                 | "reset" (SO_LINGER {1,0} + close -> RST)
#   action        instead of answering: "reset" (RST right after the head; the
#                 body is not read, recorded with body_len 0) | "close" (read the
#                 body, FIN without answering) | "hang" (read the body, never
#                 answer, keep the socket open until the client closes or 60 s)
#   read_body     "full" (default) | "half": read only half of a Content-Length
#                 body (nothing of a chunked one), answer, then close
#   partial_body  {"declared": N}: Content-Length N but only the given body
#                 bytes, then close (RST if after = "reset")
#   expect_continue  false: do not answer "Expect: 100-continue"
#   idle_close_ms close the connection if no next request starts within this
#                 many ms after the response
#   default       true: answer as with an empty queue (the mode's default: in store
#                 mode the stand-in Medusa), after delay_ms; only delay_ms may go with it
#   comment       ignored (for documentation)
#   The connection is closed after a response if: after != "keep", http10,
#   cut_chunked, partial_body, read_body "half", or the request asked for it
#   (Connection: close, or HTTP/1.0 without keep-alive).
import argparse
import base64
import datetime
import email.utils
import hashlib
import hmac
import json
import os
import random
import re
import signal
import socket
import ssl
import struct
import sys
import threading
import time
from http import HTTPStatus
from urllib.parse import quote

START = time.monotonic()
STOP = threading.Event()
MAX_HEAD = 8 * 1024 * 1024
READ_TIMEOUT = 120.0  # mid-request read deadline (seconds)
TOKEN_RE = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
VERSION_RE = re.compile(r"^HTTP/[0-9]\.[0-9]$")

STEP_KEYS = {
    "status", "reason", "headers", "body", "body_b64", "body_repeat", "json",
    "delay_ms", "chunked", "chunk_size", "cut_chunked", "http10", "raw", "raw_b64",
    "drip", "stall_after_headers", "after", "action", "read_body", "partial_body",
    "expect_continue", "idle_close_ms", "comment", "match", "default",
}
DEFAULT_SCRIPT_BODY = {"payment_collection": {"id": "paycol_default", "amount": 5000}}


def log(msg):
    try:
        sys.stderr.write("[server.py] %s\n" % msg)
        sys.stderr.flush()
    except Exception:
        pass


def now_ms():
    return (time.monotonic() - START) * 1000.0


def reason_phrase(status):
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def jdump(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class ClientGone(Exception):
    pass


class IdleTimeout(Exception):
    pass


class BadRequest(Exception):
    pass


# ---------------------------------------------------------------- socket I/O

class Reader:
    """Buffered reads on a (possibly TLS) socket with deadlines and stop checks."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()

    def fill(self, deadline):
        while True:
            if STOP.is_set():
                raise ClientGone()
            wait = 0.5
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise IdleTimeout()
                wait = min(wait, remaining)
            try:
                self.sock.settimeout(wait)
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except (OSError, ValueError):
                raise ClientGone()
            if not data:
                raise ClientGone()
            self.buf += data
            return

    def read_head(self, idle_deadline):
        """Returns the head bytes (through the empty line) or None on clean EOF."""
        started = False
        while True:
            # Leading empty lines before a request line are ignored (RFC 9112 2.2).
            while self.buf[:2] == b"\r\n" or self.buf[:1] == b"\n":
                del self.buf[:2 if self.buf[:2] == b"\r\n" else 1]
            if self.buf:
                started = True
                ends = [i for i in (self._find_end(b"\r\n\r\n"), self._find_end(b"\n\n")) if i >= 0]
                if ends:
                    end = min(ends)
                    head = bytes(self.buf[:end])
                    del self.buf[:end]
                    return head
                if len(self.buf) > MAX_HEAD:
                    raise BadRequest("request head too large")
            try:
                self.fill(None if started else idle_deadline)
            except ClientGone:
                if self.buf:
                    raise
                return None
            except IdleTimeout:
                if started:
                    raise ClientGone()
                raise

    def _find_end(self, sep):
        i = self.buf.find(sep)
        return -1 if i < 0 else i + len(sep)

    def read_upto(self, n):
        """Read n bytes; returns (data, complete)."""
        deadline = time.monotonic() + READ_TIMEOUT
        while len(self.buf) < n:
            try:
                self.fill(deadline)
            except (ClientGone, IdleTimeout):
                data = bytes(self.buf)
                self.buf.clear()
                return data, False
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data, True

    def read_line(self, deadline, limit=65536):
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                line = bytes(self.buf[:i + 1])
                del self.buf[:i + 1]
                return line
            if len(self.buf) > limit:
                raise BadRequest("chunk line too long")
            self.fill(deadline)

    def read_chunked(self):
        """Chunked request body; returns (data, complete). BadRequest if malformed."""
        deadline = time.monotonic() + READ_TIMEOUT
        out = bytearray()
        try:
            while True:
                line = self.read_line(deadline).rstrip(b"\r\n")
                size_txt = line.split(b";", 1)[0].strip()
                if not size_txt or not re.match(rb"^[0-9A-Fa-f]+$", size_txt):
                    raise BadRequest("bad chunk size line %r" % line[:80])
                size = int(size_txt, 16)
                if size == 0:
                    while True:  # trailers
                        t = self.read_line(deadline)
                        if t in (b"\r\n", b"\n"):
                            return bytes(out), True
                while len(self.buf) < size + 2:
                    self.fill(deadline)
                out += self.buf[:size]
                crlf = bytes(self.buf[size:size + 2])
                del self.buf[:size + 2]
                if crlf != b"\r\n":
                    raise BadRequest("chunk not followed by CRLF")
        except (ClientGone, IdleTimeout):
            return bytes(out), False


def send_bytes(sock, data, drip=None, before_last=None):
    """sendall, or drip pieces.  before_last (if given) is called right before the last
    byte goes to the kernel: until then the client cannot have the whole response."""
    try:
        sock.settimeout(60)
        pieces = [data]
        interval = 0.0
        if drip:
            n = max(1, int(drip.get("bytes", 1)))
            interval = max(0.0, float(drip.get("interval_ms", 0)) / 1000.0)
            pieces = [data[i:i + n] for i in range(0, len(data), n)]
        for i, piece in enumerate(pieces):
            if STOP.is_set():
                raise ClientGone()
            if before_last is not None and i == len(pieces) - 1 and piece:
                sock.sendall(piece[:-1])
                before_last()
                sock.sendall(piece[-1:])
            elif piece:
                sock.sendall(piece)
            if i + 1 < len(pieces) and interval:
                time.sleep(interval)
        if before_last is not None and not data:
            before_last()
    except (OSError, ValueError):
        raise ClientGone()


def wait_client_close(sock, max_s=60.0):
    deadline = time.monotonic() + max_s
    while not STOP.is_set() and time.monotonic() < deadline:
        try:
            sock.settimeout(0.5)
            if not sock.recv(65536):
                return
        except socket.timeout:
            continue
        except (OSError, ValueError):
            return


def graceful_close(sock):
    """FIN: shut down our side, drain what the client still sends (so unread
    request bytes do not turn the close into an RST), then close."""
    try:
        if isinstance(sock, ssl.SSLSocket):
            try:
                sock.settimeout(1.0)
                sock = sock.unwrap()  # close_notify
            except (OSError, ValueError):
                pass
        sock.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline and not STOP.is_set():
            try:
                sock.settimeout(0.2)
                if not sock.recv(65536):
                    break
            except socket.timeout:
                continue
            except (OSError, ValueError):
                break
    except (OSError, ValueError):
        pass
    hard_close(sock)


def reset_close(sock):
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except (OSError, ValueError):
        pass
    hard_close(sock)


def hard_close(sock):
    try:
        sock.close()
    except (OSError, ValueError):
        pass


# ---------------------------------------------------------------- requests

class Request:
    pass


def parse_head(head):
    req = Request()
    try:
        return _parse_head(head, req)
    except BadRequest as e:
        e.req = req
        raise


def parse_head_lenient(head):
    req = Request()
    try:
        _parse_head(head, req)
    except BadRequest:
        pass
    return req


def _parse_head(head, req):
    text = head.decode("latin-1")
    lines = text.split("\n")
    lines = [ln[:-1] if ln.endswith("\r") else ln for ln in lines]
    while lines and lines[-1] == "":
        lines.pop()
    req.raw_head = text
    req.method = req.target = req.version = req.path = req.query = None
    req.headers = []
    if not lines:
        raise BadRequest("empty request")
    parts = lines[0].split(" ")
    if len(parts) != 3:
        raise BadRequest("malformed request line")
    method, target, version = parts
    req.method, req.target, req.version = method, target, version
    if not TOKEN_RE.match(method):
        raise BadRequest("bad method")
    if not target or re.search(r"[\x00-\x20\x7f]", target):
        raise BadRequest("bad request-target")
    if not VERSION_RE.match(version):
        raise BadRequest("bad HTTP version")
    path, sep, query = target.partition("?")
    req.path, req.query = path, (query if sep else None)
    for ln in lines[1:]:
        if ln[:1] in (" ", "\t"):
            raise BadRequest("obsolete line folding")
        if "\r" in ln or "\x00" in ln:
            raise BadRequest("bare CR or NUL in header line")
        name, sep, value = ln.partition(":")
        if not sep or not TOKEN_RE.match(name):
            raise BadRequest("malformed header line")
        req.headers.append([name, value.strip(" \t")])
    return req


def header_values(headers, name):
    name = name.lower()
    return [v for n, v in headers if n.lower() == name]


def header_tokens(headers, name):
    out = []
    for v in header_values(headers, name):
        out.extend(t.strip().lower() for t in v.split(",") if t.strip())
    return out


def body_framing(req):
    """Returns ("none"|"length"|"chunked", length)."""
    te = header_tokens(req.headers, "transfer-encoding")
    if te:
        if te != ["chunked"]:
            raise BadRequest("unsupported transfer-encoding")
        return "chunked", None
    cls = header_values(req.headers, "content-length")
    if cls:
        vals = set(v.strip() for c in cls for v in c.split(","))
        if len(vals) != 1:
            raise BadRequest("conflicting Content-Length")
        v = vals.pop()
        if not v.isdigit():
            raise BadRequest("bad Content-Length")
        return "length", int(v)
    return "none", 0


def client_wants_close(req):
    tokens = header_tokens(req.headers, "connection")
    if "close" in tokens:
        return True
    return req.version == "HTTP/1.0" and "keep-alive" not in tokens


def expects_continue(req):
    return req.version == "HTTP/1.1" and "100-continue" in header_tokens(req.headers, "expect")


# ---------------------------------------------------------------- recording, queue

class State:
    def __init__(self, mode, store):
        self.mode = mode
        self.store = store
        self.lock = threading.Lock()
        self.log = []
        self.queue = []
        self.conn_count = 0
        # Concurrency accounting (all under self.lock).  Gauges: client connections open
        # and requests in flight now; the rest restart at 0 on /__ctl/reset (epoch + 1).
        self.open_conns = 0
        self.in_flight = 0
        self.epoch = 0
        self.reset_stats()

    def reset_stats(self):
        """Caller holds self.lock."""
        self.epoch += 1
        self.max_in_flight = 0
        self.max_open_conns = 0
        self.conns_total = 0
        self.requests = 0

    def stats(self):
        with self.lock:
            return {"max_in_flight": self.max_in_flight, "max_open_conns": self.max_open_conns,
                    "conns_total": self.conns_total, "requests": self.requests,
                    "in_flight": self.in_flight, "open_conns": self.open_conns}

    def next_conn(self):
        with self.lock:
            self.conn_count += 1
            return self.conn_count

    def pop_step(self, target):
        """The first queued step without "match" or whose "match" is in target."""
        with self.lock:
            for i, st in enumerate(self.queue):
                m = st.get("match")
                if m is None or (target is not None and m in target):
                    return self.queue.pop(i)
            return None

    def begin(self, conn):
        """A non-control request head is complete on conn: returns its Flight."""
        with self.lock:
            if not conn.counted:
                conn.counted = True
                self.open_conns += 1
            if conn.epoch != self.epoch:
                conn.epoch = self.epoch
                self.conns_total += 1
            self.in_flight += 1
            self.requests += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.max_open_conns = max(self.max_open_conns, self.open_conns)
            return Flight(self, self.in_flight, self.open_conns)


    def record(self, conn_no, t_ms, req, body, scripted, flight, incomplete=False, error=None):
        rec = {
            "index": 0,
            "conn": conn_no,
            "t_ms": round(t_ms, 3),
            "method": req.method,
            "target": req.target,
            "path": req.path,
            "query": req.query,
            "version": req.version,
            "headers": [list(h) for h in req.headers],
            "body": None,
            "body_b64": base64.b64encode(body).decode("ascii"),
            "body_len": len(body),
            "raw_head": req.raw_head,
            "scripted": scripted,
        }
        try:
            rec["body"] = body.decode("utf-8")
        except UnicodeDecodeError:
            rec["body"] = None
        if incomplete:
            rec["incomplete"] = True
        if error:
            rec["error"] = error
        with self.lock:
            rec["index"] = len(self.log) + 1
            rec["t_done_ms"] = flight.t_done
            rec["in_flight"] = flight.in_flight
            rec["open_conns"] = flight.open_conns
            flight.rec = rec
            self.log.append(rec)
        return rec


class ConnStat:
    """One connection's part in open_conns: counted from its first non-control request
    head until release() (the server closes it); release() is idempotent."""

    def __init__(self, state):
        self.state = state
        self.counted = False
        self.released = False
        self.epoch = 0

    def release(self):
        with self.state.lock:
            if self.counted and not self.released:
                self.state.open_conns -= 1
            self.released = True


class Flight:
    """One request in flight, from its head until finish() (idempotent): the last response
    byte is about to be sent, or an action / the client ended it."""

    def __init__(self, state, in_flight, open_conns):
        self.state = state
        self.in_flight = in_flight
        self.open_conns = open_conns
        self.t_done = None
        self.rec = None

    def finish(self):
        with self.state.lock:
            if self.t_done is not None:
                return
            self.t_done = round(now_ms(), 3)
            self.state.in_flight -= 1
            if self.rec is not None:
                self.rec["t_done_ms"] = self.t_done


def validate_steps(obj):
    if not isinstance(obj, dict):
        raise ValueError("body must be a JSON object with a \"steps\" array")
    steps = obj.get("steps")
    if steps == {}:  # an empty Lua table encodes as {}
        steps = []
    if not isinstance(steps, list):
        raise ValueError("\"steps\" must be an array")
    out = []
    for i, st in enumerate(steps):
        where = "step %d: " % (i + 1)
        if st == []:
            st = {}
        if not isinstance(st, dict):
            raise ValueError(where + "must be an object")
        bad = sorted(set(st) - STEP_KEYS)
        if bad:
            raise ValueError(where + "unknown field(s) " + ", ".join(bad))
        st = dict(st)
        if "status" in st and not (isinstance(st["status"], int) and 100 <= st["status"] <= 999):
            raise ValueError(where + "status must be an integer 100..999")
        if st.get("headers") == {}:
            st["headers"] = []
        if "headers" in st:
            hs = st["headers"]
            if not isinstance(hs, list) or not all(
                    isinstance(h, list) and len(h) == 2 and all(isinstance(x, str) for x in h) for h in hs):
                raise ValueError(where + "headers must be [[name, value], ...] strings")
        for k in ("body", "raw", "raw_b64", "body_b64", "reason"):
            if k in st and not isinstance(st[k], str):
                raise ValueError(where + k + " must be a string")
        if "match" in st and not (isinstance(st["match"], str) and st["match"]):
            raise ValueError(where + "match must be a non-empty string")
        for k in ("body_b64", "raw_b64"):
            if k in st:
                try:
                    st[k + "_bytes"] = base64.b64decode(st[k], validate=True)
                except Exception:
                    raise ValueError(where + k + " is not valid base64")
        if "raw" in st:
            try:
                st["raw"].encode("latin-1")
            except UnicodeEncodeError:
                raise ValueError(where + "raw must only contain characters U+0000..U+00FF")
        for k in ("delay_ms", "body_repeat", "chunk_size", "idle_close_ms"):
            if k in st and not (isinstance(st[k], (int, float)) and not isinstance(st[k], bool) and st[k] >= 0):
                raise ValueError(where + k + " must be a non-negative number")
        if "default" in st and (st["default"] is not True or set(st) - {"default", "delay_ms", "comment"}):
            raise ValueError(where + "default must be true, with at most delay_ms beside it")
        if st.get("chunk_size") == 0:
            raise ValueError(where + "chunk_size must be > 0")
        if st.get("after", "keep") not in ("keep", "close", "reset"):
            raise ValueError(where + "after must be keep, close or reset")
        if st.get("action") not in (None, "reset", "close", "hang"):
            raise ValueError(where + "action must be reset, close or hang")
        if st.get("read_body", "full") not in ("full", "half"):
            raise ValueError(where + "read_body must be full or half")
        if "drip" in st and not (isinstance(st["drip"], dict) and isinstance(st["drip"].get("bytes"), int)
                                 and st["drip"]["bytes"] > 0):
            raise ValueError(where + "drip must be {\"bytes\": n > 0, \"interval_ms\": m}")
        if "partial_body" in st and not (isinstance(st["partial_body"], dict)
                                         and isinstance(st["partial_body"].get("declared"), int)):
            raise ValueError(where + "partial_body must be {\"declared\": N}")
        out.append(st)
    return out


# ---------------------------------------------------------------- scripted responses

def step_body(step):
    if "body_b64_bytes" in step:
        body = step["body_b64_bytes"]
    elif "json" in step:
        body = jdump(step["json"])
    else:
        body = step.get("body", "").encode("utf-8")
    n = int(step.get("body_repeat", 1))
    return body * n if n != 1 else body


def respond_step(sock, step, req, before_last=None):
    """Sends the scripted response. Returns "keep", "close", "reset" or "done" (stalled:
    the client has gone; before_last was not called).  The delay sleeps without a lock."""
    if step.get("delay_ms"):
        time.sleep(float(step["delay_ms"]) / 1000.0)
    drip = step.get("drip")
    after = step.get("after", "keep")
    closing = after
    if "raw_b64_bytes" in step or "raw" in step:
        data = step["raw_b64_bytes"] if "raw_b64_bytes" in step else step["raw"].encode("latin-1")
        if step.get("stall_after_headers"):
            i = data.find(b"\r\n\r\n")
            send_bytes(sock, data if i < 0 else data[:i + 4], drip)
            wait_client_close(sock)
            return "done"
        send_bytes(sock, data, drip, before_last)
        return closing
    status = int(step.get("status", 200))
    reason = step.get("reason", reason_phrase(status))
    http10 = bool(step.get("http10"))
    chunked = bool(step.get("chunked"))
    partial = step.get("partial_body")
    headers = [list(h) for h in step.get("headers", [["Content-Type", "application/json; charset=utf-8"]])]
    body = step_body(step)
    no_body = status in (204, 304) or 100 <= status < 200
    names = set(h[0].lower() for h in headers)
    if partial is not None:
        if "content-length" not in names:
            headers.append(["Content-Length", str(int(partial["declared"]))])
    elif chunked:
        if "transfer-encoding" not in names:
            headers.append(["Transfer-Encoding", "chunked"])
    elif not http10 and not no_body and "content-length" not in names:
        headers.append(["Content-Length", str(len(body))])
    head = ("%s %d %s\r\n" % ("HTTP/1.0" if http10 else "HTTP/1.1", status, reason)).encode("utf-8")
    head += b"".join(("%s: %s\r\n" % (n, v)).encode("utf-8") for n, v in headers) + b"\r\n"
    if req.method == "HEAD" or no_body:
        stream = b""
    elif chunked:
        size = int(step.get("chunk_size", 1024))
        frames = [b"%x\r\n%s\r\n" % (len(body[i:i + size]), body[i:i + size]) for i in range(0, len(body), size)]
        if step.get("cut_chunked"):
            stream = b"".join(frames[:-1])
            closing = "reset" if after == "reset" else "close"
        else:
            stream = b"".join(frames) + b"0\r\n\r\n"
    else:
        stream = body
    if http10 or partial is not None:
        closing = "reset" if after == "reset" else "close"
    if step.get("stall_after_headers"):
        send_bytes(sock, head, drip)
        wait_client_close(sock)
        return "done"
    send_bytes(sock, head + stream, drip, before_last)
    return closing


# ---------------------------------------------------------------- the Medusa v1 stand-in

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
SEED_MS = 1735689600000  # 2025-01-01T00:00:00Z, for the fixed seeded ids
DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-password"
MALFORMED_STACK = (
    "<br> &nbsp; &nbsp;at parse (&lt;anonymous&gt;)"
    "<br> &nbsp; &nbsp;at JSON.parse (&lt;backend&gt;/node_modules/core-js/modules/es.json.parse.js:261:56)"
    "<br> &nbsp; &nbsp;at parse (&lt;backend&gt;/node_modules/body-parser/lib/types/json.js:96:19)"
    "<br> &nbsp; &nbsp;at &lt;backend&gt;/node_modules/body-parser/lib/read.js:146:18"
    "<br> &nbsp; &nbsp;at AsyncResource.runInAsyncScope (node:async_hooks:206:9)"
    "<br> &nbsp; &nbsp;at invokeCallback (&lt;backend&gt;/node_modules/raw-body/index.js:238:16)"
    "<br> &nbsp; &nbsp;at done (&lt;backend&gt;/node_modules/raw-body/index.js:227:7)"
    "<br> &nbsp; &nbsp;at IncomingMessage.onEnd (&lt;backend&gt;/node_modules/raw-body/index.js:287:7)"
    "<br> &nbsp; &nbsp;at IncomingMessage.emit (node:events:524:28)"
    "<br> &nbsp; &nbsp;at endReadableNT (node:internal/streams/readable:1698:12)"
)
RELATIONS = ("region", "payment_sessions", "payments", "currency", "region.payment_providers",
             "region.fulfillment_providers", "region.countries", "region.currency")
COLLECTION_COLUMNS = ("id", "created_at", "updated_at", "deleted_at", "type", "status", "description",
                      "amount", "authorized_amount", "region_id", "currency_code", "metadata", "created_by")
DEFAULT_FIELDS = ("id", "type", "status", "description", "amount", "currency_code", "metadata")
SESSION_DB_ORDER = ("id", "created_at", "updated_at", "cart_id", "provider_id", "is_selected",
                    "is_initiated", "status", "data", "idempotency_key", "amount", "payment_authorized_at")
SESSION_NEW_ORDER = ("cart_id", "provider_id", "is_initiated", "status", "data", "amount", "id",
                     "is_selected", "idempotency_key", "payment_authorized_at", "created_at", "updated_at")
PAYMENT_DB_ORDER = ("id", "created_at", "updated_at", "swap_id", "cart_id", "order_id", "amount",
                    "currency_code", "amount_refunded", "provider_id", "data", "captured_at",
                    "canceled_at", "metadata", "idempotency_key")
PAYMENT_NEW_ORDER = ("amount", "currency_code", "provider_id", "data", "id", "swap_id", "cart_id",
                     "order_id", "captured_at", "canceled_at", "metadata", "idempotency_key",
                     "created_at", "updated_at", "amount_refunded")
REGION_ORDER = ("id", "created_at", "updated_at", "deleted_at", "name", "currency_code", "tax_rate",
                "tax_code", "gift_cards_taxable", "automatic_taxes", "tax_provider_id", "metadata")
EMAIL_RE = re.compile(r"^[^\s@]+@[^\s@]+\.[^\s@]+$")


def ulid(ms=None, rand=None):
    if ms is None:
        ms = int(time.time() * 1000)
    t = "".join(CROCKFORD[(ms >> (5 * i)) & 31] for i in range(9, -1, -1))
    if rand is None:
        rand = "".join(random.choice(CROCKFORD) for _ in range(16))
    return t + rand


def iso_now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def http_date(ts=None):
    return email.utils.formatdate(ts, usegmt=True)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def pct_decode(seg):
    """decodeURIComponent: raises ValueError on bad escapes or bad UTF-8."""
    if "%" not in seg:
        return seg
    out = bytearray()
    i = 0
    while i < len(seg):
        c = seg[i]
        if c == "%":
            h = seg[i + 1:i + 3]
            if len(h) != 2 or not re.match(r"^[0-9A-Fa-f]{2}$", h):
                raise ValueError("bad escape")
            out.append(int(h, 16))
            i += 3
        else:
            out += c.encode("utf-8")
            i += 1
    return out.decode("utf-8")


def qs_decode(text):
    return pct_decode(text.replace("+", " "))


def medusa_error(type_, message, code=None):
    body = {}
    if code is not None:
        body["code"] = code
    body["type"] = type_
    body["message"] = message
    return body


UNKNOWN_ERROR = medusa_error("unknown_error", "An unknown error occurred.", "unknown_error")


class HttpError(Exception):
    def __init__(self, status, body):
        Exception.__init__(self, status)
        self.status = status
        self.body = body


class Resp:
    def __init__(self, status, body=b"", kind="json", cors=True):
        self.status = status
        self.body = body
        self.kind = kind  # json | text | passport401 | html | empty
        self.cors = cors


def json_resp(status, obj):
    return Resp(status, jdump(obj))


def html_error_page(message_html):
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Error</title>\n"
            "</head>\n<body>\n<pre>%s</pre>\n</body>\n</html>\n" % message_html).encode("utf-8")


def html_escape(s):
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#39;"))


class Store:
    """In-memory Medusa v1 store: payment collections, sessions, payments, auth."""

    def __init__(self, keepalive_s):
        self.lock = threading.RLock()
        self.secret = os.urandom(32)
        self.keepalive_s = keepalive_s
        self.seed()

    # ---- state
    def seed(self):
        with self.lock:
            t = iso_now()
            self.region = {
                "id": "reg_" + ulid(SEED_MS, "00000000000000RG"), "created_at": t, "updated_at": t,
                "deleted_at": None, "name": "Stand-in USD", "currency_code": "usd", "tax_rate": 0,
                "tax_code": None, "gift_cards_taxable": True, "automatic_taxes": False,
                "tax_provider_id": None, "metadata": None,
            }
            self.providers = [{"id": "manual", "is_installed": True}]
            self.customer = {
                "id": "cus_" + ulid(SEED_MS, "00000000000000CS"), "created_at": t, "updated_at": t,
                "deleted_at": None, "email": DEMO_EMAIL, "first_name": "Demo", "last_name": "Customer",
                "billing_address_id": None, "phone": None, "has_account": True, "metadata": None,
            }
            self.collections = {}
            self.seeded_ids = []
            for i in range(1, 4):
                c = self._new_collection(5000, "paycol_" + ulid(SEED_MS, "%016d" % i))
                self.seeded_ids.append(c["id"])
            self.sessions = {}  # express-session id -> {"customer_id": ...}

    def _new_collection(self, amount, cid=None, description="stand-in fixture"):
        t = iso_now()
        c = {
            "id": cid or "paycol_" + ulid(), "created_at": t, "updated_at": t, "deleted_at": None,
            "type": "order_edit", "status": "not_paid", "description": description, "amount": amount,
            "authorized_amount": None, "region_id": self.region["id"], "currency_code": "usd",
            "metadata": {}, "created_by": "usr_stand_in", "sessions": [], "payments": [],
        }
        self.collections[c["id"]] = c
        return c

    def ctl_new_collection(self, obj):
        if obj == [] or obj is None:
            obj = {}
        if not isinstance(obj, dict):
            raise ValueError("body must be a JSON object")
        amount = obj.get("amount", 5000)
        if not isinstance(amount, int) or isinstance(amount, bool):
            raise ValueError("amount must be an integer")
        cid = obj.get("id")
        with self.lock:
            if cid is not None and (not isinstance(cid, str) or cid in self.collections):
                raise ValueError("id must be a new string id")
            c = self._new_collection(amount, cid, obj.get("description", "stand-in fixture"))
            return {"payment_collection": self.full(c, ("payment_sessions", "region"))}

    def dump(self):
        with self.lock:
            return {
                "ids": list(self.seeded_ids),
                "region": self.region_obj(("region.payment_providers",)),
                "customer": {"id": self.customer["id"], "email": DEMO_EMAIL, "password": DEMO_PASSWORD},
                "collections": [self.full(c, ("payment_sessions", "payments", "region"))
                                for c in self.collections.values()],
            }

    # ---- serialization (key order as the real backend's)
    def region_obj(self, rels):
        r = dict((k, self.region[k]) for k in REGION_ORDER)
        if "region.payment_providers" in rels:
            r["payment_providers"] = [dict(p) for p in self.providers]
        if "region.fulfillment_providers" in rels:
            r["fulfillment_providers"] = [{"id": "manual", "is_installed": True}]
        if "region.countries" in rels:
            r["countries"] = []
        if "region.currency" in rels:
            r["currency"] = self.currency_obj()
        return r

    @staticmethod
    def currency_obj():
        return {"code": "usd", "symbol": "$", "symbol_native": "$", "name": "US Dollar"}

    @staticmethod
    def session_obj(s, fresh=()):
        order = SESSION_NEW_ORDER if s["id"] in fresh else SESSION_DB_ORDER
        return dict((k, s[k]) for k in order)

    @staticmethod
    def payment_obj(p, fresh=()):
        order = PAYMENT_NEW_ORDER if p["id"] in fresh else PAYMENT_DB_ORDER
        return dict((k, p[k]) for k in order)

    def full(self, c, rels, fields=COLLECTION_COLUMNS, fresh=()):
        out = dict((k, c[k]) for k in COLLECTION_COLUMNS if k in fields)
        if "payment_sessions" in rels:
            out["payment_sessions"] = [self.session_obj(s, fresh) for s in c["sessions"]]
        if "payments" in rels:
            out["payments"] = [self.payment_obj(p, fresh) for p in c["payments"]]
        if any(r == "region" or r.startswith("region.") for r in rels):
            out["region"] = self.region_obj(rels)
        if "currency" in rels:
            out["currency"] = self.currency_obj()
        return out

    # ---- express-session / auth
    def _sign(self, value):
        return b64url(hmac.new(self.secret, value.encode("utf-8"), hashlib.sha256).digest()) \
            .replace("-", "+").replace("_", "/")

    def _cookie_sid(self, req):
        for v in header_values(req.headers, "cookie"):
            for part in v.split(";"):
                name, _, val = part.strip().partition("=")
                if name != "connect.sid":
                    continue
                try:
                    val = pct_decode(val)
                except ValueError:
                    continue
                if val.startswith("s:") and "." in val:
                    sid, _, sig = val[2:].rpartition(".")
                    if hmac.compare_digest(sig.encode("utf-8"), self._sign(sid).encode("utf-8")):
                        return sid
        return None

    def _set_cookie(self, sid):
        value = quote("s:%s.%s" % (sid, self._sign(sid)), safe="")
        return "connect.sid=%s; Path=/; Expires=%s; HttpOnly" % (value, http_date(time.time() + 36000))

    def _jwt(self, customer_id):
        iat = int(time.time())
        header = b64url(jdump({"alg": "HS256", "typ": "JWT"}))
        payload = b64url(jdump({"customer_id": customer_id, "domain": "store", "iat": iat, "exp": iat + 2592000}))
        sig = b64url(hmac.new(self.secret, (header + "." + payload).encode("ascii"), hashlib.sha256).digest())
        return header + "." + payload + "." + sig

    def _bearer_customer(self, req):
        for v in header_values(req.headers, "authorization"):
            scheme, _, token = v.partition(" ")
            if scheme.lower() != "bearer":
                continue
            parts = token.strip().split(".")
            if len(parts) != 3:
                continue
            want = b64url(hmac.new(self.secret, (parts[0] + "." + parts[1]).encode("utf-8"),
                                   hashlib.sha256).digest())
            if not hmac.compare_digest(want.encode("utf-8"), parts[2].encode("utf-8")):
                continue
            try:
                payload = json.loads(b64url_decode(parts[1]))
            except Exception:
                continue
            if payload.get("domain") == "store" and payload.get("exp", 0) > time.time():
                return payload.get("customer_id")
        return None

    def _customer_obj(self):
        c = dict(self.customer)
        c["orders"] = []
        c["shipping_addresses"] = []
        return c

    # ---- entry point
    def handle(self, req, body):
        """Returns (status, headers, body_bytes, close) for a non-control request."""
        with self.lock:
            sid = self._cookie_sid(req)
            sess = self.sessions.get(sid) if sid else None
            ctx = {"new": sess is None, "modified": False, "destroyed": False}
            if sess is None:
                sid = "".join(random.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
                              for _ in range(32))
                sess = {"customer_id": None}
            ctx["sid"], ctx["sess"] = sid, sess
            try:
                resp = self.route(req, body, ctx)
            except HttpError as e:
                resp = json_resp(e.status, e.body)
            except Exception as e:  # a bug here must not kill the connection thread
                log("store error: %r" % (e,))
                resp = json_resp(500, UNKNOWN_ERROR)
            set_cookie = None
            if not ctx["destroyed"]:
                if ctx["new"] or ctx["modified"]:
                    self.sessions[sid] = sess
                    set_cookie = self._set_cookie(sid)
                    while len(self.sessions) > 10000:
                        self.sessions.pop(next(iter(self.sessions)))
            else:
                self.sessions.pop(sid, None)
            return self.express_headers(req, resp, set_cookie)

    def express_headers(self, req, resp, set_cookie):
        closing = client_wants_close(req)
        status, body = resp.status, resp.body
        h = [["X-Powered-By", "Express"]]
        if resp.kind == "html":
            h += [["Content-Security-Policy", "default-src 'none'"], ["X-Content-Type-Options", "nosniff"]]
        if resp.cors:
            origin = header_values(req.headers, "origin")
            if origin:
                h.append(["Access-Control-Allow-Origin", origin[0]])
            h += [["Vary", "Origin"], ["Access-Control-Allow-Credentials", "true"]]
        etag = None
        if resp.kind in ("json", "text", "html_send"):
            ctype = {"json": "application/json; charset=utf-8", "text": "text/plain; charset=utf-8",
                     "html_send": "text/html; charset=utf-8"}[resp.kind]
            etag = 'W/"%x-%s"' % (len(body), base64.b64encode(hashlib.sha1(body).digest()).decode()[:27])
            inm = header_values(req.headers, "if-none-match")
            nocache = "no-cache" in header_tokens(req.headers, "cache-control")
            if (req.method in ("GET", "HEAD") and 200 <= status < 300 and inm and not nocache
                    and any(t.strip() in (etag, etag[2:], "*") for v in inm for t in v.split(","))):
                status, body = 304, b""
            else:
                h.append(["Content-Type", ctype])
        elif resp.kind == "html":
            h.append(["Content-Type", "text/html; charset=utf-8"])
        if status != 304 and resp.kind != "empty":
            h.append(["Content-Length", str(len(body))])
        if etag:
            h.append(["ETag", etag])
        if set_cookie:
            h.append(["Set-Cookie", set_cookie])
        h.append(["Date", http_date()])
        if closing:
            h.append(["Connection", "close"])
        else:
            h.append(["Connection", "keep-alive"])
            if self.keepalive_s:
                h.append(["Keep-Alive", "timeout=%d" % int(self.keepalive_s)])
        if req.method == "HEAD" or status == 304:
            body = b""
        return status, h, body, closing

    def route(self, req, raw_body, ctx):
        method = "GET" if req.method == "HEAD" else req.method
        path = req.path
        if len(path) > 1 and path.endswith("/"):
            path = path[:-1]
        if method == "OPTIONS":
            return Resp(204, b"", kind="empty")
        if path == "/health" and method == "GET":
            return Resp(200, b"OK", kind="html_send", cors=False)
        # bodyParser.json(): only for Content-Type application/json, before any route.
        body = {}
        ctypes = header_values(req.headers, "content-type")
        is_json = bool(ctypes) and ctypes[0].split(";")[0].strip().lower() == "application/json"
        if is_json and raw_body:
            if len(raw_body) > 100 * 1024:
                return Resp(413, html_error_page("PayloadTooLargeError: request entity too large"
                                                 + MALFORMED_STACK), kind="html", cors=False)
            body = self.parse_json_body(raw_body)
            if isinstance(body, Resp):
                return body
        segs = path.split("/")
        if path.startswith("/store/payment-collections/"):
            return self.route_paycol(method, segs[3:], req, body, ctx)
        if path == "/store/auth" or path.startswith("/store/auth/"):
            return self.route_auth(method, segs[3:], req, body, ctx)
        return self.not_found_html(req)

    @staticmethod
    def parse_json_body(raw):
        text = None
        try:
            text = raw.decode("utf-8")
            value = json.loads(text)
            if isinstance(value, (dict, list)):
                return value
            msg = 'Unexpected token %s in JSON at position 0' % (text.strip()[:1] or "?")
        except UnicodeDecodeError:
            msg = "Unexpected token in JSON at position 0"
        except ValueError as e:
            pos = getattr(e, "pos", 0) or 0
            if pos >= len(text.rstrip()):
                msg = "Unexpected end of JSON input"
            else:
                snippet = text if len(text) <= 30 else text[:30] + "..."
                msg = 'Unexpected token \'%s\', "%s" is not valid JSON' % (text[pos], snippet)
        return Resp(400, html_error_page("SyntaxError: " + html_escape(msg) + MALFORMED_STACK),
                    kind="html", cors=False)

    @staticmethod
    def not_found_html(req):
        return Resp(404, html_error_page("Cannot %s %s" % (html_escape(req.method), html_escape(req.path))),
                    kind="html", cors=req.path.startswith("/store"))

    # ---- /store/payment-collections
    def route_paycol(self, method, segs, req, body, ctx):
        try:
            segs = [pct_decode(s) for s in segs]
        except (ValueError, UnicodeDecodeError):
            return json_resp(500, UNKNOWN_ERROR)  # Express "Failed to decode param" -> Medusa handler
        if not segs or any(s == "" for s in segs):
            return self.not_found_html(req)
        cid, rest = segs[0], segs[1:]
        if method == "GET" and not rest:
            return self.get_collection(cid, req.query)
        if method == "POST":
            if rest == ["sessions", "batch"]:
                return self.manage_batch(cid, body)
            if rest == ["sessions", "batch", "authorize"]:
                return self.authorize_batch(cid, body)
            if rest == ["sessions"]:
                return self.manage_session(cid, body)
            if len(rest) == 2 and rest[0] == "sessions":
                return self.refresh_session(cid, rest[1])
            if len(rest) == 3 and rest[0] == "sessions" and rest[2] == "authorize":
                return self.authorize_session(cid, rest[1])
        return self.not_found_html(req)

    def get(self, cid):
        c = self.collections.get(cid)
        if c is None:
            raise HttpError(404, medusa_error("not_found", "Payment collection with id %s was not found" % cid))
        return c

    @staticmethod
    def invalid(msgs):
        raise HttpError(400, medusa_error("invalid_data", ", ".join(msgs)))

    @staticmethod
    def extra_props(body, allowed):
        return ["property %s should not exist" % k for k in body if k not in allowed]

    def get_collection(self, cid, query):
        params = {}
        msgs = []
        for part in (query or "").split("&"):
            if not part:
                continue
            k, _, v = part.partition("=")
            try:
                k, v = qs_decode(k), qs_decode(v)
            except (ValueError, UnicodeDecodeError):
                pass
            base, br, _ = k.partition("[")
            if base not in ("expand", "fields"):
                m = "property %s should not exist" % base
                if m not in msgs:
                    msgs.append(m)
                continue
            if br or base in params:
                params[base] = None  # becomes an array -> not a string
            else:
                params[base] = v
        for k in ("expand", "fields"):
            if k in params and params[k] is None:
                msgs.append("%s must be a string" % k)
        if msgs:
            self.invalid(msgs)
        rels = ("region", "payment_sessions")
        if params.get("expand"):
            rels = tuple(params["expand"].split(","))
            if any(r not in RELATIONS for r in rels):
                raise HttpError(500, UNKNOWN_ERROR)
        fields = DEFAULT_FIELDS
        if params.get("fields"):
            fields = tuple(params["fields"].split(",")) + ("id",)
            if any(f not in COLLECTION_COLUMNS for f in fields):
                raise HttpError(500, UNKNOWN_ERROR)
        c = self.get(cid)
        return json_resp(200, {"payment_collection": self.full(c, rels, fields)})

    @staticmethod
    def _is_int(v):
        return isinstance(v, int) and not isinstance(v, bool) or isinstance(v, float) and v.is_integer()

    def manage_batch(self, cid, body):
        if not isinstance(body, dict):
            body = {}
        msgs = self.extra_props(body, ("sessions",))
        sessions = body.get("sessions")
        detail = None
        if "sessions" not in body:
            detail = "Cannot read properties of undefined (reading 'constructor')"
        elif sessions is None:
            detail = "Cannot read properties of null (reading 'constructor')"
        elif not isinstance(sessions, list):
            detail = "an unknown value was passed to the validate function"
        else:
            def ok(s):
                return (isinstance(s, dict) and set(s) <= {"provider_id", "amount", "session_id"}
                        and isinstance(s.get("provider_id"), str) and self._is_int(s.get("amount"))
                        and (s.get("session_id") is None or isinstance(s.get("session_id"), str)))
            if not any(ok(s) for s in sessions):  # the buggy IsType validator crashes -> 500
                raise HttpError(500, UNKNOWN_ERROR)
        if detail:
            msgs.append(json.dumps({"message": "sessions must be one of: StorePostPaymentCollectionsSessionsReq",
                                    "details": {"undefined": [detail]}}, separators=(",", ":")))
        if msgs:
            self.invalid(msgs)
        c = self.get(cid)
        return self._set_sessions(c, sessions)

    def _set_sessions(self, c, sessions):
        if c["status"] != "not_paid":
            raise HttpError(400, medusa_error(
                "not_allowed", "Cannot set payment sessions for a payment collection with status %s" % c["status"]))
        provider_ids = set(p["id"] for p in self.providers)
        items = [s for s in sessions if isinstance(s, dict) and s.get("provider_id") in provider_ids]
        total = 0
        for s in items:
            a = s.get("amount")
            if not (isinstance(a, (int, float)) and not isinstance(a, bool)):
                total = float("nan")
                break
            total += a
        if total != c["amount"]:
            raise HttpError(500, medusa_error(
                "unexpected_state", "The sum of sessions is not equal to %s on Payment Collection" % c["amount"]))
        existing = dict((s["id"], s) for s in c["sessions"])
        result, fresh = [], set()
        for s in items:
            amount = int(s["amount"])
            old = existing.get(s.get("session_id")) if s.get("session_id") else None
            if old is not None:
                if old["amount"] != amount:
                    old["amount"] = amount
                    old["updated_at"] = iso_now()
                result.append(old)
            else:
                ns = self._new_session(s["provider_id"], amount)
                fresh.add(ns["id"])
                result.append(ns)
        c["sessions"] = result
        return json_resp(200, {"payment_collection": self.full(
            c, ("payment_sessions", "region", "region.payment_providers"), fresh=fresh)})

    @staticmethod
    def _new_session(provider_id, amount):
        t = iso_now()
        return {"id": "ps_" + ulid(), "created_at": t, "updated_at": t, "cart_id": None,
                "provider_id": provider_id, "is_selected": None, "is_initiated": True, "status": "pending",
                "data": {"status": "pending"}, "idempotency_key": None, "amount": amount,
                "payment_authorized_at": None}

    def manage_session(self, cid, body):
        if not isinstance(body, dict):
            body = {}
        msgs = self.extra_props(body, ("provider_id",))
        if not isinstance(body.get("provider_id"), str):
            msgs.append("provider_id must be a string")
        if msgs:
            self.invalid(msgs)
        c = self.get(cid)
        if c["status"] != "not_paid":
            raise HttpError(400, medusa_error(
                "not_allowed", "Cannot set payment sessions for a payment collection with status %s" % c["status"]))
        pid = body["provider_id"]
        if pid not in [p["id"] for p in self.providers]:
            raise HttpError(400, medusa_error("invalid_data", "Payment provider not found"))
        existing = next((s for s in c["sessions"] if s["provider_id"] == pid), None)
        item = {"provider_id": pid, "amount": c["amount"]}
        if existing is not None:
            item["session_id"] = existing["id"]
        return self._set_sessions(c, [item])

    def _authorize(self, c, session_ids):
        """PaymentCollectionService.authorizePaymentSessions; returns the fresh payment ids."""
        fresh = set()
        if c["authorized_amount"] == c["amount"]:
            return fresh
        if c["amount"] <= 0:
            c["authorized_amount"] = 0
            c["status"] = "authorized"
            c["updated_at"] = iso_now()
            return fresh
        if not c["sessions"]:
            raise HttpError(400, medusa_error(
                "not_allowed", "You cannot complete a Payment Collection without a payment session."))
        t = iso_now()
        authorized = 0
        for s in c["sessions"]:
            if s["status"] == "authorized":
                authorized += s["amount"]
                continue
            if s["id"] not in session_ids:
                continue
            s["status"] = "authorized"
            s["data"] = {"status": "authorized"}
            s["updated_at"] = t
            s["payment_authorized_at"] = iso_now()
            authorized += s["amount"]
            p = {"id": "pay_" + ulid(), "created_at": t, "updated_at": t, "swap_id": None, "cart_id": None,
                 "order_id": None, "amount": s["amount"], "currency_code": c["currency_code"],
                 "amount_refunded": 0, "provider_id": s["provider_id"], "data": {"status": "authorized"},
                 "captured_at": None, "canceled_at": None, "metadata": None, "idempotency_key": None}
            c["payments"].append(p)
            fresh.add(p["id"])
        if authorized == 0:
            c["status"] = "awaiting"
        elif authorized < c["amount"]:
            c["status"] = "partially_authorized"
        else:
            c["status"] = "authorized"
        c["authorized_amount"] = authorized
        c["updated_at"] = t
        return fresh

    def authorize_batch(self, cid, body):
        if not isinstance(body, dict):
            body = {}
        msgs = self.extra_props(body, ("session_ids",))
        ids = body.get("session_ids")
        if isinstance(ids, list):
            if not all(isinstance(x, str) for x in ids):
                msgs.append("each value in session_ids must be a string")
        else:
            if not isinstance(ids, str):
                msgs.append("each value in session_ids must be a string")
            msgs.append("session_ids must be an array")
        if msgs:
            self.invalid(msgs)
        c = self.get(cid)
        fresh = self._authorize(c, ids)
        return json_resp(200, {"payment_collection": self.full(c, ("payment_sessions", "payments"), fresh=fresh)})

    def authorize_session(self, cid, sid):
        c = self.get(cid)
        self._authorize(c, [sid])
        s = next((s for s in c["sessions"] if s["id"] == sid), None)
        if s is None or s["status"] != "authorized":
            raise HttpError(422, medusa_error("payment_authorization_error",
                                              'Failed to authorize Payment Session id "%s"' % cid))
        return json_resp(200, {"payment_session": self.session_obj(s)})

    def refresh_session(self, cid, sid):
        owner = next((c for c in self.collections.values() if any(s["id"] == sid for s in c["sessions"])), None)
        if owner is None:
            raise HttpError(404, medusa_error(
                "not_found", "Payment collection related to Payment Session id %s was not found" % sid))
        if owner["id"] != cid:
            raise HttpError(400, medusa_error(
                "not_allowed", "Payment Session %s does not belong to Payment Collection %s" % (sid, cid)))
        i = next(i for i, s in enumerate(owner["sessions"]) if s["id"] == sid)
        old = owner["sessions"][i]
        new = self._new_session(old["provider_id"], old["amount"])
        owner["sessions"][i] = new
        if old["payment_authorized_at"] and owner["authorized_amount"]:
            owner["authorized_amount"] -= old["amount"]
        return json_resp(200, {"payment_session": self.session_obj(new, {new["id"]})})

    # ---- /store/auth
    def _auth_validate(self, body):
        if not isinstance(body, dict):
            body = {}
        msgs = self.extra_props(body, ("email", "password"))
        if not (isinstance(body.get("email"), str) and EMAIL_RE.match(body["email"])):
            msgs.append("email must be an email")
        if body.get("password") in (None, ""):
            msgs.append("password should not be empty")
        if msgs:
            self.invalid(msgs)
        return body.get("email") == DEMO_EMAIL and body.get("password") == DEMO_PASSWORD

    def current_customer(self, req, ctx):
        if ctx["sess"].get("customer_id") == self.customer["id"]:
            return self.customer["id"]
        if self._bearer_customer(req) == self.customer["id"]:
            return self.customer["id"]
        return None

    def route_auth(self, method, segs, req, body, ctx):
        if not segs and method == "POST":
            if not self._auth_validate(body):
                return Resp(401, b"Unauthorized", kind="text")
            ctx["sess"]["customer_id"] = self.customer["id"]
            ctx["modified"] = True
            return json_resp(200, {"customer": self._customer_obj()})
        if not segs and method == "GET":
            if self.current_customer(req, ctx) is None:
                return Resp(401, b"Unauthorized", kind="passport401")
            return json_resp(200, {"customer": self._customer_obj()})
        if not segs and method == "DELETE":
            ctx["destroyed"] = True
            return json_resp(200, {})
        if segs == ["token"] and method == "POST":
            if not self._auth_validate(body):
                return Resp(401, b"Unauthorized", kind="text")
            return json_resp(200, {"access_token": self._jwt(self.customer["id"])})
        if len(segs) == 1 and segs[0] != "token" and method == "GET":
            try:
                em = pct_decode(segs[0])
            except (ValueError, UnicodeDecodeError):
                return json_resp(500, UNKNOWN_ERROR)
            return json_resp(200, {"exists": em == DEMO_EMAIL})
        return self.not_found_html(req)


# ---------------------------------------------------------------- control plane

def handle_ctl(state, req, body):
    """Returns (status, json_value)."""
    path, method = req.path, req.method
    try:
        obj = json.loads(body.decode("utf-8")) if body.strip() else None
    except (ValueError, UnicodeDecodeError) as e:
        return 400, {"error": "control body is not JSON (binary bytes? use body_b64/raw_b64): %s" % e}
    try:
        if path == "/__ctl/health":
            return 200, {"ok": True}
        if path in ("/__ctl/script", "/__ctl/append"):
            if method != "POST":
                return 405, {"error": "use POST"}
            steps = validate_steps(obj)
            with state.lock:
                if path == "/__ctl/script":
                    state.queue = steps
                else:
                    state.queue.extend(steps)
                n = len(state.queue)
            return 200, {"ok": True, "queued": n}
        if path == "/__ctl/queue":
            with state.lock:
                return 200, {"remaining": len(state.queue)}
        if path == "/__ctl/log":
            since = 0
            for part in (req.query or "").split("&"):
                k, _, v = part.partition("=")
                if k == "since" and v.isdigit():
                    since = int(v)
            with state.lock:  # copies: t_done_ms may be set while the reply is encoded
                return 200, [dict(r) for r in state.log if r["index"] > since]
        if path == "/__ctl/reset":
            if method != "POST":
                return 405, {"error": "use POST"}
            with state.lock:
                state.log = []
                state.queue = []
                state.reset_stats()
            state.store.seed()
            return 200, {"ok": True}
        if path == "/__ctl/stats":
            return 200, state.stats()
        if path == "/__ctl/store":
            return 200, state.store.dump()
        if path == "/__ctl/store/collections":
            if method != "POST":
                return 405, {"error": "use POST"}
            return 200, state.store.ctl_new_collection(obj)
    except ValueError as e:
        return 400, {"error": str(e)}
    return 404, {"error": "unknown control path %s" % path}


# ---------------------------------------------------------------- connections

def simple_response(status, body, ctype="application/json; charset=utf-8", close=False):
    head = "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n" % (
        status, reason_phrase(status), ctype, len(body))
    if close:
        head += "Connection: close\r\n"
    return head.encode("latin-1") + b"\r\n" + body


def read_body(reader, sock, req, framing, length, step):
    """Reads the request body per framing and step. Returns (body, complete)."""
    if framing == "none" or (framing == "length" and length == 0):
        return b"", True
    if expects_continue(req) and (step is None or step.get("expect_continue", True)):
        send_bytes(sock, b"HTTP/1.1 100 Continue\r\n\r\n")
    half = step is not None and step.get("read_body") == "half"
    if framing == "length":
        return reader.read_upto(length // 2 if half else length)
    if half:
        return b"", True
    return reader.read_chunked()


def serve_connection(state, args, tls_ctx, sock, conn_no):
    conn = ConnStat(state)
    flight = None  # the current non-control request; finished exactly once (Flight.finish)

    def close(how):  # leaves open_conns before the client can see the close
        conn.release()
        how(sock)

    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        pass
    if tls_ctx is not None:
        try:
            sock.settimeout(10)
            sock = tls_ctx.wrap_socket(sock, server_side=True)
        except (OSError, ValueError) as e:
            log("conn %d: TLS handshake failed: %s" % (conn_no, e))
            hard_close(sock)
            return
    reader = Reader(sock)
    idle_s = args.keepalive_timeout
    try:
        while not STOP.is_set():
            if flight is not None:
                flight.finish()  # already done on every keep-alive path; never twice
                flight = None
            deadline = time.monotonic() + idle_s if idle_s else None
            try:
                head = reader.read_head(deadline)
            except IdleTimeout:
                close(graceful_close)
                return
            except BadRequest as e:
                send_bytes(sock, simple_response(400, ("Bad Request: %s\n" % e).encode(), "text/plain", True))
                close(graceful_close)
                return
            if head is None:
                close(hard_close)
                return
            t_ms = now_ms()
            try:
                req = parse_head(head)
                framing, length = body_framing(req)
            except BadRequest as e:
                req = getattr(e, "req", None) or parse_head_lenient(head)
                if not (req.path or "").startswith("/__ctl/"):
                    flight = state.begin(conn)
                    state.record(conn_no, t_ms, req, b"", False, flight, error=str(e))
                log("conn %d: 400 (%s)" % (conn_no, e))
                send_bytes(sock, simple_response(400, ("Bad Request: %s\n" % e).encode(), "text/plain", True),
                           before_last=flight and flight.finish)
                close(graceful_close)
                return
            wants_close = client_wants_close(req)

            if req.path.startswith("/__ctl/"):
                body, complete = read_body(reader, sock, req, framing, length, None)
                if not complete:
                    close(hard_close)
                    return
                status, value = handle_ctl(state, req, body)
                send_bytes(sock, simple_response(status, jdump(value), close=wants_close))
                if wants_close:
                    close(graceful_close)
                    return
                idle_s = args.keepalive_timeout
                continue

            flight = state.begin(conn)
            step = state.pop_step(req.target)
            action = step.get("action") if step else None
            if action == "reset":
                state.record(conn_no, t_ms, req, b"", True, flight)
                log("conn %d: %s %s -> action reset" % (conn_no, req.method, req.target))
                flight.finish()
                close(reset_close)
                return
            body, complete = read_body(reader, sock, req, framing, length, step)
            state.record(conn_no, t_ms, req, body, step is not None and not step.get("default"), flight,
                         incomplete=not complete)
            if not complete:
                log("conn %d: %s %s -> client went away mid-body" % (conn_no, req.method, req.target))
                flight.finish()
                close(hard_close)
                return
            if action == "close":
                log("conn %d: %s %s -> action close" % (conn_no, req.method, req.target))
                flight.finish()
                close(graceful_close)
                return
            if action == "hang":
                log("conn %d: %s %s -> action hang" % (conn_no, req.method, req.target))
                wait_client_close(sock)
                flight.finish()
                close(hard_close)
                return

            if step is not None and step.get("default") and step.get("delay_ms"):
                time.sleep(float(step["delay_ms"]) / 1000.0)
            if step is not None and not step.get("default"):
                after = respond_step(sock, step, req, flight.finish)
                log("conn %d: %s %s -> scripted %s" % (
                    conn_no, req.method, req.target, step.get("status", "raw" if "raw" in step else 200)))
                if after == "done":
                    flight.finish()
                    close(hard_close)
                    return
                if step.get("read_body") == "half" and framing != "none" and after == "keep":
                    after = "close"
                if "idle_close_ms" in step:
                    idle_s = float(step["idle_close_ms"]) / 1000.0 or 0.000001
                else:
                    idle_s = args.keepalive_timeout
            else:
                if state.mode == "store":
                    status, headers, rbody, close_after = state.store.handle(req, body)
                else:
                    rbody = jdump(DEFAULT_SCRIPT_BODY)
                    status, close_after = 200, False
                    headers = [["Content-Type", "application/json; charset=utf-8"],
                               ["Content-Length", str(len(rbody))]]
                head = ("HTTP/1.1 %d %s\r\n" % (status, reason_phrase(status))).encode("latin-1")
                head += b"".join(("%s: %s\r\n" % (n, v)).encode("latin-1", "replace") for n, v in headers)
                send_bytes(sock, head + b"\r\n" + (b"" if req.method == "HEAD" else rbody),
                           before_last=flight.finish)
                log("conn %d: %s %s -> %d" % (conn_no, req.method, req.target, status))
                after = "close" if close_after else "keep"
                idle_s = args.keepalive_timeout
            flight.finish()  # normally done before the last byte already
            if after == "reset":
                close(reset_close)
                return
            if after == "close" or wants_close:
                close(graceful_close)
                return
    except ClientGone:
        if flight is not None:
            flight.finish()
        close(hard_close)
    except Exception as e:  # never let a connection thread die noisily
        log("conn %d: internal error %r" % (conn_no, e))
        if flight is not None:
            flight.finish()
        close(hard_close)
    finally:  # whatever happened: this request leaves in_flight, this connection open_conns
        if flight is not None:
            flight.finish()
        conn.release()


def write_port_file(path, port):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.replace(tmp, path)


def print_banner(store, url):
    """What `make store` shows: where the store is and the ids the README's examples use."""
    seeded = store.dump()
    region = seeded["region"]
    providers = ", ".join(p["id"] for p in region.get("payment_providers", []))
    lines = [
        "medusa-lua stand-in store (Medusa v1 store API: payment collections, store auth), in memory",
        "  base URL             %s" % url,
        "  payment collections  %s" % "  ".join(seeded["ids"]),
        "                       each not_paid, amount 5000 %s, provider %s" % (region["currency_code"], providers),
        "  region               %s (%s, %s)" % (region["id"], region["name"], region["currency_code"]),
        "  demo customer        %s / %s (%s)" % (
            seeded["customer"]["email"], seeded["customer"]["password"], seeded["customer"]["id"]),
        "  pid                  %d" % os.getpid(),
        "Ctrl-C stops it. POST %s/__ctl/reset re-seeds it; GET %s/__ctl/store shows its state." % (url, url),
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()


def watch_parent(pid):
    while not STOP.is_set():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            log("parent %d is gone, stopping" % pid)
            STOP.set()
            return
        except OSError:
            pass
        STOP.wait(1.0)


def main(argv=None):
    ap = argparse.ArgumentParser(description="medusa-lua test server (127.0.0.1 only)")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", help="write the listening port here (tmp file + rename)")
    ap.add_argument("--mode", choices=("script", "store"), default="script")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--keepalive-timeout", type=float, default=None,
                    help="seconds an idle keep-alive connection stays open (store: 5, script: 0 = forever)")
    ap.add_argument("--parent-pid", type=int, default=None, help="exit when this process is gone")
    ap.add_argument("--banner", action="store_true",
                    help="store mode: print the base URL and the seeded ids to stdout once listening")
    args = ap.parse_args(argv)
    if args.banner and args.mode != "store":
        ap.error("--banner goes with --mode store")
    if args.keepalive_timeout is None:
        args.keepalive_timeout = 5.0 if args.mode == "store" else 0.0
    if bool(args.tls_cert) != bool(args.tls_key):
        ap.error("--tls-cert and --tls-key go together")

    tls_ctx = None
    if args.tls_cert:
        tls_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls_ctx.load_cert_chain(args.tls_cert, args.tls_key)
        tls_ctx.set_alpn_protocols(["http/1.1"])

    store = Store(args.keepalive_timeout if args.mode == "store" else 0)
    state = State(args.mode, store)

    def on_signal(signum, frame):
        STOP.set()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", args.port))
    lsock.listen(128)
    lsock.settimeout(0.2)
    port = lsock.getsockname()[1]
    if args.port_file:
        write_port_file(args.port_file, port)
    url = "%s://127.0.0.1:%d" % ("https" if tls_ctx else "http", port)
    if args.banner:  # says all the log lines below would
        print_banner(store, url)
    else:
        log("listening on %s (mode %s, pid %d)" % (url, args.mode, os.getpid()))
        if args.mode == "store":
            log("seeded payment collections: %s" % ", ".join(store.seeded_ids))
            log("demo customer: %s / %s" % (DEMO_EMAIL, DEMO_PASSWORD))
    if args.parent_pid:
        threading.Thread(target=watch_parent, args=(args.parent_pid,), daemon=True).start()

    while not STOP.is_set():
        try:
            sock, _ = lsock.accept()
        except socket.timeout:
            continue
        except OSError:
            if STOP.is_set():
                break
            time.sleep(0.05)
            continue
        sock.settimeout(None)
        conn_no = state.next_conn()
        threading.Thread(target=serve_connection, args=(state, args, tls_ctx, sock, conn_no),
                         daemon=True).start()
    lsock.close()
    log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
