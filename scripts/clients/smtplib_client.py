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


def main():
    p = argparse.ArgumentParser()
    p.add_argument("server")
    p.add_argument("--port", type=int, default=587)
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
    a = p.parse_args()
    rcpts = a.rcpt or ["scans@domain.com"]
    s = smtplib.SMTP(a.server, a.port, local_hostname="MX-4070N.domain.local", timeout=20)
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
        s.starttls(context=ctx)
        s.ehlo()
    if a.user:
        s.login(a.user, a.password)
    for i in range(a.messages):
        if i and a.rset:
            s.rset()
        try:
            s.send_message(message(i + 1, a.sender, ", ".join(rcpts), a.size), a.sender, rcpts)
        except smtplib.SMTPException as e:
            print("refused:", e)
    s.quit()


if __name__ == "__main__":
    try:
        main()
    except (smtplib.SMTPException, OSError) as e:
        print("client error:", e)
