#!/usr/bin/env python3
# spec/nginx/dns.py: a tiny DNS server for nginx's `resolver` in the specs, so the
# cosocket transport can be tested with host names (SNI, name checks) on loopback only.
# Answers A queries for the names given with --name (any case) with 127.0.0.1, AAAA
# queries for them with no records, everything else with NXDOMAIN. UDP, 127.0.0.1 only.
#
#   python3 spec/nginx/dns.py --port-file FILE --name localhost --name medusa.test
#   Binds 127.0.0.1:0, writes the port to FILE (tmp file + rename), serves until SIGTERM
#   or until --parent-pid disappears. Standard library only.
import argparse
import os
import signal
import socket
import struct
import sys

TYPE_A = 1


def question(packet):
    """Returns (name, qtype, end offset of the question) of the first question."""
    labels, i = [], 12
    while True:
        n = packet[i]
        i += 1
        if n == 0:
            break
        labels.append(packet[i:i + n].decode("ascii", "replace"))
        i += n
    qtype, = struct.unpack("!H", packet[i:i + 2])
    return ".".join(labels).lower(), qtype, i + 4


def answer(packet, names):
    ident, flags = struct.unpack("!HH", packet[:4])
    name, qtype, end = question(packet)
    known = name in names
    records = b""
    count = 0
    if known and qtype == TYPE_A:
        # a pointer to the question's name, class IN, TTL 60, 127.0.0.1
        records = struct.pack("!HHHIH", 0xC00C, TYPE_A, 1, 60, 4) + socket.inet_aton("127.0.0.1")
        count = 1
    rcode = 0 if known else 3
    reply_flags = 0x8000 | (flags & 0x0100) | 0x0400 | 0x0080 | rcode
    return struct.pack("!HHHHHH", ident, reply_flags, 1, count, 0, 0) + packet[12:end] + records


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--name", action="append", default=[])
    parser.add_argument("--parent-pid", type=int)
    args = parser.parse_args()
    names = {n.lower() for n in args.name}

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.5)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(sock.getsockname()[1]))
    os.rename(tmp, args.port_file)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    while True:
        if args.parent_pid and not os.path.exists("/proc/%d" % args.parent_pid):
            return
        try:
            packet, peer = sock.recvfrom(4096)
        except socket.timeout:
            continue
        try:
            sock.sendto(answer(packet, names), peer)
        except (IndexError, struct.error, UnicodeError):
            pass  # not a query we understand: no answer


if __name__ == "__main__":
    main()
