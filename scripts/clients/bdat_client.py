#!/usr/bin/env python3
"""A CHUNKING (RFC 3030) client over a plain socket: MAIL, RCPT, then BDAT chunks, pipelined."""
import argparse
import socket


def main():
    p = argparse.ArgumentParser()
    p.add_argument("server")
    p.add_argument("--port", type=int, default=25)
    p.add_argument("--chunks", type=int, default=3)
    p.add_argument("--chunk-size", type=int, default=700)
    a = p.parse_args()
    s = socket.create_connection((a.server, a.port), timeout=10)
    f = s.makefile("rb")

    def reply():
        lines = []
        while True:
            line = f.readline()
            lines.append(line)
            if len(line) < 4 or line[3:4] != b"-":
                return lines

    reply()
    s.sendall(b"EHLO MX-4070N.domain.local\r\n")
    reply()
    body = b"From: office@domain.com\r\nTo: scans@domain.com\r\nSubject: chunked scan\r\n\r\n"
    body += b"Scanned page, sent in chunks.\r\n" * (a.chunks * a.chunk_size // 31 + 1)
    size = len(body) // a.chunks
    parts = [body[i * size:(i + 1) * size] for i in range(a.chunks - 1)] + [body[(a.chunks - 1) * size:]]
    # MAIL, RCPT and the first chunk in one write (PIPELINING + CHUNKING).
    first = b"MAIL FROM:<office@domain.com> BODY=8BITMIME\r\nRCPT TO:<scans@domain.com>\r\n"
    for i, part in enumerate(parts):
        last = b" LAST" if i == len(parts) - 1 else b""
        chunk = b"BDAT %d%s\r\n" % (len(part), last) + part
        s.sendall((first + chunk) if i == 0 else chunk)
        if i == 0:
            reply()
            reply()
        reply()
    s.sendall(b"QUIT\r\n")
    reply()
    s.close()


if __name__ == "__main__":
    main()
