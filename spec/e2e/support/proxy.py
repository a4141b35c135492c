#!/usr/bin/env python3
# spec/e2e/support/proxy.py: the e2e specs' fault-injecting HTTP proxy, in front of the real
# Medusa backend. It answers queued faults itself (so the backend never sees those
# attempts) and passes everything else through, recording every request it received and
# what it did with it. Python 3 standard library only; listens on 127.0.0.1 only.
#
#   python3 proxy.py --upstream http://127.0.0.1:PORT [--port 0] --port-file FILE
#
# Control plane (never recorded, never forwarded):
#   POST /__proxy/faults {"faults": [fault, ...]}  replaces the queue of faults
#        fault = {"status": 503, "times": 2, "match": "/sessions", "method": "POST",
#                 "action": "reset", "headers": [[name, value]], "json": {...}}
#        A request takes the first fault with times left whose optional `match` (a
#        substring of the target) and `method` fit. action "reset" drops the connection
#        with an RST instead of answering; otherwise it gets `status` (default 503) with
#        the `json` body (default {"message": "injected by the e2e proxy"}).
#   GET  /__proxy/log[?since=N]  -> {"requests": [record, ...]} with n > N
#        record = {n, t_ms, method, target, headers: [[name, value], ...] as received,
#                  body, body_len, outcome: "injected"|"reset"|"forwarded"|"upstream_error",
#                  status}
#   POST /__proxy/reset          clears the log and the faults
import argparse
import http.client
import json
import os
import signal
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, parse_qs

HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
    "trailer", "transfer-encoding", "upgrade", "proxy-connection",
}
START = time.monotonic()
LOCK = threading.Lock()
STATE = {"faults": [], "log": []}
UPSTREAM = None


def take_fault(method, target):
    with LOCK:
        for fault in STATE["faults"]:
            if fault.get("times", 1) <= 0:
                continue
            if "match" in fault and fault["match"] not in target:
                continue
            if "method" in fault and fault["method"] != method:
                continue
            fault["times"] = fault.get("times", 1) - 1
            return fault
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("proxy: " + (fmt % args) + "\n")

    def reply(self, status, payload, headers=()):
        body = json.dumps(payload).encode()
        self.send_response_only(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def control(self, body):
        url = urlsplit(self.path)
        if self.command == "POST" and url.path == "/__proxy/faults":
            faults = json.loads(body or b"{}").get("faults", [])
            with LOCK:
                STATE["faults"] = [dict(f) for f in faults]
            return self.reply(200, {"ok": True})
        if self.command == "POST" and url.path == "/__proxy/reset":
            with LOCK:
                STATE["faults"], STATE["log"] = [], []
            return self.reply(200, {"ok": True})
        if self.command == "GET" and url.path == "/__proxy/log":
            since = int(parse_qs(url.query).get("since", ["0"])[0])
            with LOCK:
                records = [r for r in STATE["log"] if r["n"] > since]
            return self.reply(200, {"requests": records})
        return self.reply(404, {"error": "unknown control path " + url.path})

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        if self.path.startswith("/__proxy/"):
            return self.control(body)
        with LOCK:
            record = {
                "n": len(STATE["log"]) + 1,
                "t_ms": round((time.monotonic() - START) * 1000),
                "method": self.command,
                "target": self.path,
                "headers": [[k, v] for k, v in self.headers.raw_items()],
                "body": body.decode("utf-8", "replace"),
                "body_len": len(body),
            }
            STATE["log"].append(record)
        fault = take_fault(self.command, self.path)
        if fault and fault.get("action") == "reset":
            record["outcome"] = "reset"
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        if fault:
            record["outcome"], record["status"] = "injected", fault.get("status", 503)
            return self.reply(record["status"],
                              fault.get("json", {"message": "injected by the e2e proxy"}),
                              fault.get("headers", ()))
        self.forward(record, body)

    def forward(self, record, body):
        conn = http.client.HTTPConnection(UPSTREAM.hostname, UPSTREAM.port, timeout=60)
        try:
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in self.headers.raw_items():
                if name.lower() not in HOP_BY_HOP:
                    conn.putheader(name, value)
            conn.endheaders(body if body else None)
            response = conn.getresponse()
            data = response.read()
        except OSError as err:
            record["outcome"] = "upstream_error"
            return self.reply(502, {"message": "e2e proxy: upstream failed: %s" % err})
        finally:
            conn.close()
        record["outcome"], record["status"] = "forwarded", response.status
        self.send_response_only(response.status, response.reason)
        for name, value in response.getheaders():
            if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = handle_any


def main():
    global UPSTREAM
    parser = argparse.ArgumentParser()
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", required=True)
    args = parser.parse_args()
    UPSTREAM = urlsplit(args.upstream)
    if UPSTREAM.hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("proxy: upstream must be on loopback")
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(tmp, args.port_file)
    # Nothing to flush: the log lives only for the run, so TERM ends the process at once.
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    server.serve_forever()


if __name__ == "__main__":
    main()
