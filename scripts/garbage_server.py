#!/usr/bin/env python3
"""A broken SMTP server: it greets, then sends a long line with no line end and never
replies again, reading whatever the client sends until the client closes (a device whose
firmware went wrong, or something else listening on the port)."""
import argparse
import socket


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--listen", required=True, help="ADDRESS:PORT")
    p.add_argument("--garbage", type=int, default=4900)
    a = p.parse_args()
    host, port = a.listen.rsplit(":", 1)
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, int(port)))
    srv.listen(1)
    conn, _ = srv.accept()
    conn.sendall(b"220 relay.contoso.local ESMTP\r\n")
    conn.sendall(bytes(0x21 + i % 90 for i in range(a.garbage)))
    while conn.recv(65536):
        pass
    conn.close()


if __name__ == "__main__":
    main()
