#!/usr/bin/env python3
"""Python smtplib as a sending device would use it: several messages over one connection."""
import argparse
import smtplib
import ssl
import time
from email.message import EmailMessage


def message(i, sender, rcpt, size):
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = sender, rcpt, f"Scan {i}"
    m["Date"] = "Fri, 27 Nov 2026 07:00:00 +0000"
    m["Message-ID"] = f"<scan-{i}@mx-4070n.domain.local>"
    m.set_content(("Scanned document page.\n" * (size // 24 + 1))[:size])
    return m


def with_scan(m, kb):
    if kb:
        import random
        data = random.Random(4070).randbytes(kb * 1024)
        m.add_attachment(data, maintype="application", subtype="pdf", filename="scan.pdf")
    return m


def main():
    p = argparse.ArgumentParser()
    p.add_argument("server")
    p.add_argument("--port", type=int, default=587)
    p.add_argument("--helo", default="MX-4070N.domain.local", help="the name EHLO gives")
    p.add_argument("--starttls", action="store_true")
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--sender", default="office@domain.com")
    p.add_argument("--rcpt", action="append", default=[])
    p.add_argument("--messages", type=int, default=1)
    p.add_argument("--size", type=int, default=400)
    p.add_argument("--rset", action="store_true", help="send RSET between messages")
    p.add_argument("--pause-after-ehlo", type=float, default=0.0)
    p.add_argument("--tls-max", choices=["1.0", "1.1", "1.2", "1.3"])
    p.add_argument("--ciphers", help="OpenSSL cipher list offered (TLS 1.2 and older)")
    p.add_argument("--no-etm", action="store_true",
                   help="do not offer encrypt-then-MAC (RFC 7366): CBC suites MAC the plaintext")
    p.add_argument("--force-auth", action="store_true",
                   help="send AUTH LOGIN even when not advertised, as a device with authentication enabled does")
    p.add_argument("--send-after-failed-auth", action="store_true", help="try to send although AUTH failed")
    p.add_argument("--attachment-kb", type=int, default=0, help="add a binary 'scan' of this size")
    p.add_argument("--pop-first", help="log in with POP3 at this host:port first (POP before SMTP)")
    p.add_argument("--quit-after-ehlo", action="store_true", help="a connection test: EHLO, then QUIT")
    p.add_argument("--test-only", action="store_true",
                   help="a connection test with the login: EHLO, STARTTLS, AUTH, then QUIT")
    a = p.parse_args()
    rcpts = a.rcpt or ["scans@domain.com"]
    if a.pop_first:
        import poplib
        host, _, port = a.pop_first.rpartition(":")
        try:
            pop = poplib.POP3(host, int(port), timeout=10)
            pop.user(a.user or a.sender)
            pop.pass_(a.password or "")
        except poplib.error_proto as e:
            print("pop3:", e)
        try:
            pop.quit()
        except Exception:
            pass
    s = smtplib.SMTP(a.server, a.port, local_hostname=a.helo, timeout=20)
    s.ehlo()
    if a.pause_after_ehlo:
        time.sleep(a.pause_after_ehlo)
    if a.starttls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        if a.tls_max:
            ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
            ctx.maximum_version = {"1.0": ssl.TLSVersion.TLSv1, "1.1": ssl.TLSVersion.TLSv1_1,
                                   "1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}[a.tls_max]
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        if a.ciphers:
            ctx.set_ciphers(a.ciphers)
        if a.no_etm:
            ctx.options |= 1 << 19  # SSL_OP_NO_ENCRYPT_THEN_MAC (OpenSSL 3), not in Python's ssl
        s.starttls(context=ctx)
        s.ehlo()
    if a.quit_after_ehlo:
        s.quit()
        return
    if a.force_auth:
        import base64
        code, _ = s.docmd("AUTH", "LOGIN " + base64.b64encode(a.user.encode()).decode())
        if code == 334:
            code, _ = s.docmd(base64.b64encode(a.password.encode()).decode())
        if code != 235 and not a.send_after_failed_auth:
            s.quit()
            return
    elif a.user:
        s.login(a.user, a.password)
    if a.test_only:
        s.quit()
        return
    for i in range(a.messages):
        if i and a.rset:
            s.rset()
        try:
            s.send_message(with_scan(message(i + 1, a.sender, ", ".join(rcpts), a.size), a.attachment_kb), a.sender, rcpts)
        except smtplib.SMTPException as e:
            print("refused:", e)
    s.quit()


if __name__ == "__main__":
    try:
        main()
    except (smtplib.SMTPException, OSError) as e:
        print("client error:", e)
