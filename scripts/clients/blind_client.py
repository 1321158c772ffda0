#!/usr/bin/env python3
"""A client that does not wait for replies (as some firmware does): it sends a whole
authenticated submission, AUTH LOGIN and a 6 KB message included, a line at a time with a
short pause, then closes."""
import argparse
import base64
import socket
import time


def main():
    p = argparse.ArgumentParser()
    p.add_argument("server")
    p.add_argument("--port", type=int, default=2525)
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    a = p.parse_args()
    s = socket.create_connection((a.server, a.port), timeout=10)
    b64 = lambda t: base64.b64encode(t.encode()) + b"\r\n"
    body = b"Subject: scan\r\n\r\n" + b"Scanned page line of the document.\r\n" * 170
    for chunk in [
        b"EHLO MX-4070N\r\n",
        b"AUTH LOGIN\r\n",
        b64(a.user),
        b64(a.password),
        b"MAIL FROM:<%s>\r\n" % a.user.encode(),
        b"RCPT TO:<scans@domain.com>\r\n",
        b"DATA\r\n",
        body + b".\r\n",
        b"QUIT\r\n",
    ]:
        s.sendall(chunk)
        time.sleep(0.05)
    s.shutdown(socket.SHUT_WR)
    time.sleep(0.2)
    s.close()


if __name__ == "__main__":
    main()
