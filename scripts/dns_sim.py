#!/usr/bin/env python3
"""A minimal DNS responder for the recording namespaces: A records for the names given
with --a NAME=ADDR (other types: no answer), NXDOMAIN for every other name. Only for use inside the namespaces."""
import argparse
import socket
import struct


def qname(data, at):
    labels = []
    while data[at]:
        n = data[at]
        labels.append(data[at + 1:at + 1 + n].decode())
        at += 1 + n
    return ".".join(labels), at + 1


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--listen", required=True)
    p.add_argument("--a", action="append", default=[], help="NAME=IPv4")
    a = p.parse_args()
    table = dict(x.split("=", 1) for x in a.a)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((a.listen, 53))
    while True:
        data, peer = s.recvfrom(512)
        ident, flags, qd = struct.unpack("!HHH", data[:6])
        name, end = qname(data, 12)
        qtype = struct.unpack("!H", data[end:end + 2])[0]
        question = data[12:end + 4]
        addr = table.get(name.lower().rstrip("."))
        answers = b""
        # A known name without a record of the asked type is NOERROR with no answer.
        rcode = 0 if addr else 3
        if addr and qtype == 1:
            answers = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) + socket.inet_aton(addr)
        count = 1 if answers else 0
        header = struct.pack("!HHHHHH", ident, 0x8180 | rcode, 1, count, 0, 0)
        s.sendto(header + question + answers, peer)


if __name__ == "__main__":
    main()
