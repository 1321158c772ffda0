#!/usr/bin/env python3
"""Submits a scan as a multifunction copier does on 587: EHLO, STARTTLS, EHLO again,
AUTH LOGIN without an initial response (user name and password each on their own line
after a 334), MAIL FROM without parameters, RCPT TO, DATA, the message, QUIT; one command
at a time, never pipelined; after a refusal it sends QUIT and stops.

--blind: after the TLS handshake and the second EHLO, it sends every line without
waiting for the answers (a short pause between lines), as some firmware does: MAIL
follows a refused login. Writes the TLS key log where SSLKEYLOGFILE names a file.
"""
import argparse
import base64
import os
import socket
import ssl
import time


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def send(self, line):
        self.sock.sendall(line)

    def reply(self):
        """The next whole reply (every line of it): its code and text."""
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                data = self.sock.recv(4096)
                if not data:
                    return 0, b"".join(lines)
                self.buf += data
            line, self.buf = self.buf.split(b"\r\n", 1)
            lines.append(line + b"\r\n")
            if len(line) < 4 or line[3:4] != b"-":
                return int(line[:3] or b"0"), b"".join(lines)

    def cmd(self, line):
        self.send(line)
        return self.reply()[0]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("server")
    p.add_argument("--port", type=int, default=587)
    p.add_argument("--helo", default="MX-4070N.domain.local")
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--sender", default="office@domain.com")
    p.add_argument("--rcpt", default="scans@domain.com")
    p.add_argument("--size", type=int, default=3000, help="the message's size in bytes")
    p.add_argument("--tls-max", choices=["1.2", "1.3"])
    p.add_argument("--ciphers", help="OpenSSL cipher list offered (TLS 1.2)")
    p.add_argument("--test-only", action="store_true", help="a connection test: log in, then QUIT")
    p.add_argument("--blind", action="store_true")
    a = p.parse_args()

    raw = socket.create_connection((a.server, a.port), timeout=10)
    c = Conn(raw)
    c.reply()
    helo = b"EHLO %s\r\n" % a.helo.encode()
    c.cmd(helo)
    if c.cmd(b"STARTTLS\r\n") != 220:
        c.cmd(b"QUIT\r\n")
        return
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if a.tls_max == "1.2":
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if a.ciphers:
        ctx.set_ciphers(a.ciphers)
    if os.environ.get("SSLKEYLOGFILE"):
        ctx.keylog_filename = os.environ["SSLKEYLOGFILE"]
    c.sock = ctx.wrap_socket(raw, server_hostname=a.server)
    c.buf = b""
    c.cmd(helo)

    b64 = lambda t: base64.b64encode(t.encode()) + b"\r\n"
    line = b"Scanned page line of the document, as the copier encodes it.\r\n"
    body = b"Subject: Scanned image\r\nFrom: <%s>\r\nTo: <%s>\r\n\r\n" % (
        a.sender.encode(), a.rcpt.encode())
    body += line * max(1, a.size // len(line)) + b".\r\n"
    lines = []
    if a.user:
        lines += [b"AUTH LOGIN\r\n", b64(a.user), b64(a.password or "")]
    if not a.test_only:
        lines += [b"MAIL FROM:<%s>\r\n" % a.sender.encode(),
                  b"RCPT TO:<%s>\r\n" % a.rcpt.encode(), b"DATA\r\n", body]
    lines.append(b"QUIT\r\n")

    if a.blind:
        for l in lines:
            c.send(l)
            time.sleep(0.05)
        try:
            while c.reply()[0]:
                pass
        except OSError:
            pass
        return
    for l in lines:
        code = c.cmd(l)
        if code >= 400 and l != b"QUIT\r\n":
            c.cmd(b"QUIT\r\n")
            return


if __name__ == "__main__":
    main()
