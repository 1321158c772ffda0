#!/usr/bin/env python3
"""An SMTP server that answers as Exchange Online does, for recording test captures.

Banners, EHLO lists and reply texts follow ../shared/docs/m365-smtp-facts.md. `--mode`
chooses the endpoint (client submission as smtp.office365.com, or a tenant MX), and
`--scenario` the failure to reproduce. Only for use inside the recording namespaces.
"""
import argparse
import asyncio
import base64
import datetime
import random
import ssl

# The diagnostic trailer of error replies; `--seed` draws another host, time and session
# id of the same form, so that tests do not learn one fixed text.
TRAILER = "[BMXPR01CA0083.INDPRD01.PROD.OUTLOOK.COM 2026-11-27T07:00:00.000Z 08DD842467C8274D]"
HOST = "PN4P287CA0064.outlook.office365.com"
MSG_HOST = "BMXPR01MB0083.INDPRD01.PROD.OUTLOOK.COM"


# The answer to a message: `250 2.0.0 OK <id> [Hostname=…]` (Exchange Online's submission),
# or Exchange's long `250 2.6.0 … Queued mail for delivery`; `--seed` draws one.
LONG_ACCEPTANCE = False


def draw(seed):
    """Host names, trailer and message-id parts of the form Exchange Online uses."""
    global TRAILER, HOST, MSG_HOST, LONG_ACCEPTANCE
    r = random.Random(seed)
    site = "".join(r.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(r.choice([2, 3, 4])))
    n = f"{r.randint(0, 9)}P{r.randint(100, 999)}" if r.random() < 0.5 else f"R{r.randint(10, 99)}"
    label = f"{site}{n}CA{r.randint(0, 9999):04d}"
    region = r.choice(["INDPRD01", "NAMPRD05", "EURPRD07", "APCPRD06", f"{site}{n}"])
    HOST = f"{label}.outlook.office365.com"
    MSG_HOST = f"{site}{n}MB{r.randint(0, 9999):04d}.{region}.PROD.OUTLOOK.COM"
    stamp = f"2026-11-{r.randint(1, 28):02d}T{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}.{r.randint(0, 999):03d}Z"
    TRAILER = f"[{label}.{region}.PROD.OUTLOOK.COM {stamp} {r.getrandbits(64):016X}]"
    LONG_ACCEPTANCE = r.random() < 0.5

SCENARIOS = [
    "ok", "auth-failed", "auth-disabled", "security-defaults", "basic-retired", "send-as-denied",
    "send-as-data", "spamhaus", "banned-ip", "throttled", "concurrent", "relay-denied", "direct-send-rejected",
    "wrong-region", "restricted-sender", "tls10-rejected", "bad-helo", "tempfail-421",
    "too-large",
]
# The size limit of the too-large scenario (a connector's own, lower than the tenant's).
TOO_LARGE_LIMIT = 204800


class Session:
    def __init__(self, args, reader, writer):
        self.a, self.r, self.w = args, reader, writer
        self.tls = False
        self.helo = None
        self.user = None
        self.sender = None
        self.rcpts = []
        peer = writer.get_extra_info("peername")
        self.peer_ip = peer[0] if peer else "0.0.0.0"
        self.host = HOST if args.mode == "submission" else "VE1EUR01FT034.mail.protection.outlook.com"
        self.out = []
        self.msgid = f"2026112707{random.randint(0, 9999):04d}.{random.getrandbits(32):X}"

    def say(self, text):
        self.out.append(text.encode() + b"\r\n")

    async def flush(self):
        # Pipelined commands are answered in one write, as real servers do.
        if self.out and not self.r._buffer:
            self.w.write(b"".join(self.out))
            self.out = []
            await self.w.drain()

    async def line(self):
        data = await self.r.readline()
        if not data:
            raise ConnectionResetError
        return data.rstrip(b"\r\n").decode("latin-1")

    def ehlo_lines(self):
        limit = TOO_LARGE_LIMIT if self.a.scenario == "too-large" else 157286400
        ext = [f"SIZE {limit}", "PIPELINING", "DSN", "ENHANCEDSTATUSCODES"]
        if not self.tls and not self.a.no_starttls:
            ext.append("STARTTLS")
        auth = []
        if self.a.mode == "submission" and (self.tls or self.a.auth_plaintext):
            auth = ["AUTH LOGIN XOAUTH2"] if not self.a.auth_plaintext else ["AUTH LOGIN PLAIN XOAUTH2"]
        ext += auth + ["8BITMIME", "BINARYMIME", "CHUNKING", "SMTPUTF8"]
        first = f"{self.host} Hello [{self.peer_ip}]"
        lines = [first] + ext
        return [f"250-{l}" for l in lines[:-1]] + [f"250 {lines[-1]}"]

    def auth_allowed(self):
        return self.a.mode == "submission" and (self.tls or self.a.auth_plaintext)

    async def run(self):
        now = datetime.datetime(2026, 11, 27, 7, 0, 0).strftime("%a, %d %b %Y %H:%M:%S +0000")
        self.say(f"220 {self.host} Microsoft ESMTP MAIL Service ready at {now} [08DD84B323498C1A]")
        await self.flush()
        sc = self.a.scenario
        while True:
            cmd = await self.line()
            verb, _, arg = cmd.partition(" ")
            verb = verb.upper()
            if verb in ("EHLO", "HELO"):
                if sc == "bad-helo" or not arg or ".." in arg:
                    self.say(f"501 5.5.4 Invalid domain name {TRAILER}")
                elif verb == "EHLO":
                    self.helo = arg
                    for l in self.ehlo_lines():
                        self.say(l)
                else:
                    self.helo = arg
                    self.say(f"250 {self.host} Hello [{self.peer_ip}]")
            elif verb == "STARTTLS" and not self.tls and not self.a.no_starttls:
                self.say("220 2.0.0 SMTP server ready")
                self.out, data = [], b"".join(self.out)
                self.w.write(data)
                await self.w.drain()
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                ctx.load_cert_chain(self.a.cert, self.a.key)
                if sc == "tls10-rejected":
                    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
                if self.a.tls_max:
                    ctx.maximum_version = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}[self.a.tls_max]
                if self.a.keylog:
                    ctx.keylog_filename = self.a.keylog
                if self.a.ciphers:
                    ctx.set_ciphers(self.a.ciphers)
                try:
                    await self.w.start_tls(ctx)
                except (ssl.SSLError, ConnectionError):
                    return
                self.tls, self.helo, self.user = True, None, None
                continue
            elif verb == "AUTH":
                await self.auth(arg)
            elif verb == "MAIL":
                addr = arg.partition(":")[2].strip().split(" ")[0].strip("<>")
                if sc == "tempfail-421":
                    self.say(f"421 4.3.2 Service not available, closing transmission channel {TRAILER}")
                    await self.flush()
                    return
                if self.a.mode == "submission" and self.user is None:
                    self.say(f"530 5.7.57 Client not authenticated to send mail. {TRAILER}")
                elif sc == "send-as-denied" and addr.lower() != (self.user or "").lower():
                    self.say(f"550 5.7.60 SMTP; Client does not have permissions to send as this sender {TRAILER}")
                elif sc == "too-large" and any(
                    p.upper().startswith("SIZE=") and p[5:].isdigit() and int(p[5:]) > TOO_LARGE_LIMIT
                    for p in arg.split()[1:]
                ):
                    self.say("552 5.3.4 Message size exceeds fixed maximum message size")
                elif sc == "restricted-sender":
                    self.say(f"550 5.1.8 Access denied, bad outbound sender {TRAILER}")
                elif sc == "concurrent":
                    self.say(f"432 4.3.2 Concurrent connections limit exceeded. Visit https://aka.ms/concurrent_sending for more information. {TRAILER}")
                else:
                    self.sender, self.rcpts = addr, []
                    self.say("250 2.1.0 Sender OK")
            elif verb == "RCPT":
                rcpt = arg.partition(":")[2].strip().strip("<>")
                if self.sender is None:
                    self.say(f"503 5.5.1 Bad sequence of commands {TRAILER}")
                elif sc == "spamhaus":
                    self.say(f"550 5.7.1 Service unavailable, Client host [{self.peer_ip}] blocked using Spamhaus. To request removal from this list see https://www.spamhaus.org/query/ip/{self.peer_ip} AS(1450) [VE1EUR01FT034.eop-EUR01.prod.protection.outlook.com]")
                elif sc == "banned-ip":
                    self.say(f"550 5.7.606 Access denied, banned sending IP [{self.peer_ip}]. To request removal from this list please visit https://sender.office.com/ and follow the directions. [VE1EUR01FT034.eop-EUR01.prod.protection.outlook.com]")
                elif sc == "throttled":
                    self.say(f"451 4.7.500 Server busy. Please try again later from [{self.peer_ip}]. (S77714) [VE1EUR01FT034.eop-EUR01.prod.protection.outlook.com]")
                elif sc == "relay-denied" and not rcpt.lower().endswith("@domain.com"):
                    self.say(f"550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain [VE1EUR01FT034.eop-EUR01.prod.protection.outlook.com]")
                elif sc == "direct-send-rejected":
                    self.say(f"550 5.7.68 TenantInboundAttribution; Direct Send not allowed for this organization from unauthorized sources [VE1EUR01FT034.eop-EUR01.prod.protection.outlook.com]")
                elif sc == "wrong-region":
                    self.say(f"451 4.4.62 Mail sent to the wrong Office 365 region. ATTR35. For more information please go to https://go.microsoft.com/fwlink/?linkid=865268 [VE1EUR01FT034.eop-EUR01.prod.protection.outlook.com]")
                else:
                    self.rcpts.append(rcpt)
                    self.say("250 2.1.5 Recipient OK")
            elif verb == "DATA":
                if not self.rcpts:
                    self.say(f"503 5.5.2 Need rcpt command {TRAILER}")
                else:
                    self.say("354 Start mail input; end with <CRLF>.<CRLF>")
                    await self.flush()
                    size, msgid = 0, None
                    while (line := await self.r.readline()) not in (b".\r\n", b".\n", b""):
                        size += len(line)
                        if msgid is None and line.lower().startswith(b"message-id:"):
                            msgid = line.split(b":", 1)[1].strip().strip(b"<>").decode("ascii", "replace")
                    self.finish_message(size, msgid)
            elif verb == "BDAT":
                parts = arg.split()
                size = int(parts[0]) if parts and parts[0].isdigit() else None
                if size is None:
                    self.say(f"501 5.5.4 Invalid arguments {TRAILER}")
                else:
                    await self.r.readexactly(size)
                    if not self.rcpts:
                        self.say(f"503 5.5.2 Need rcpt command {TRAILER}")
                    elif len(parts) > 1 and parts[1].upper() == "LAST":
                        self.finish_message()
                    else:
                        self.say(f"250 2.6.0 {size} bytes chunk received")
            elif verb == "RSET":
                self.sender, self.rcpts = None, []
                self.say("250 2.0.0 Resetting")
            elif verb == "NOOP":
                self.say("250 2.0.0 OK")
            elif verb == "QUIT":
                self.say("221 2.0.0 Service closing transmission channel")
                self.out, data = [], b"".join(self.out)
                self.w.write(data)
                await self.w.drain()
                return
            else:
                self.say(f"500 5.3.3 Unrecognized command '{verb}' {TRAILER}")
            await self.flush()

    def finish_message(self, size=0, msgid=None):
        if self.a.scenario == "too-large" and size > TOO_LARGE_LIMIT:
            self.say(f"552 5.3.4 Message size exceeds fixed maximum message size {TRAILER}")
        elif self.a.scenario == "send-as-data":
            self.say(f"554 5.2.252 SendAsDenied; {self.user} not allowed to send as {self.sender}; STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied; Failed to process message due to a permanent exception with message [BeginDiagnosticData]Cannot submit message. {TRAILER}")
        elif LONG_ACCEPTANCE:
            # The form of Exchange's transport: the client's own Message-ID, the size and
            # the transfer rate.
            ident = msgid or f"{self.msgid}@{self.helo or 'client'}"
            secs = random.uniform(0.05, 2.0)
            self.say(f"250 2.6.0 <{ident}> [InternalId={random.randint(10**11, 10**13)}, Hostname={MSG_HOST}] "
                     f"{size} bytes in {secs:.3f}, {size / 1024 / secs:.3f} KB/sec Queued mail for delivery")
        else:
            self.say(f"250 2.0.0 OK <{self.msgid}@{self.helo or 'client'}> [Hostname={MSG_HOST}]")
        self.sender, self.rcpts = None, []

    async def auth(self, arg):
        mech, _, ir = arg.partition(" ")
        mech = mech.upper()
        offered = ["LOGIN", "XOAUTH2"] + (["PLAIN"] if self.a.auth_plaintext else [])
        if not self.auth_allowed() or mech not in offered:
            self.say(f"504 5.7.4 Unrecognized authentication type {TRAILER}")
            return
        if self.user is not None:
            self.say(f"503 5.5.2 Already authenticated {TRAILER}")
            return
        try:
            if mech == "LOGIN":
                if ir:
                    user = base64.b64decode(ir).decode()
                else:
                    self.say("334 VXNlcm5hbWU6")
                    await self.flush()
                    user = base64.b64decode(await self.line()).decode()
                self.say("334 UGFzc3dvcmQ6")
                await self.flush()
                password = base64.b64decode(await self.line()).decode()
            elif mech == "PLAIN":
                if not ir:
                    self.say("334 ")
                    await self.flush()
                    ir = await self.line()
                _, user, password = base64.b64decode(ir).decode().split("\0")
            else:
                self.say(f"535 5.7.3 Authentication unsuccessful {TRAILER}")
                return
        except (ValueError, UnicodeDecodeError):
            self.say(f"501 5.5.2 Cannot decode response {TRAILER}")
            return
        sc = self.a.scenario
        if sc == "auth-disabled":
            self.say(f"535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information. {TRAILER}")
        elif sc == "security-defaults":
            self.say(f"535 5.7.139 Authentication unsuccessful, user is locked by your organization's security defaults policy. Contact your administrator. {TRAILER}")
        elif sc == "basic-retired":
            self.say(f"550 5.7.30 Basic authentication is not supported for Client Submission. {TRAILER}")
        elif sc == "tls10-rejected" and self.w.get_extra_info("ssl_object") and self.w.get_extra_info("ssl_object").version() in ("TLSv1", "TLSv1.1"):
            self.say("421 4.7.66 TLS 1.0 and 1.1 are not supported. Please upgrade/update your client to support TLS 1.2. Visit https://aka.ms/smtp_auth_tls")
        elif sc == "auth-failed" or user != self.a.user or password != self.a.password:
            self.say(f"535 5.7.3 Authentication unsuccessful {TRAILER}")
        else:
            self.user = user
            self.say("235 2.7.0 Authentication successful")


async def pop3(reader, writer):
    """POP3 as Exchange Online answers it since Basic authentication for POP was removed."""
    writer.write(b"+OK The Microsoft Exchange POP3 service is ready. [UABOADQAUAAyADgANwBDAEEAMAAwADYANAAuAA==]\r\n")
    await writer.drain()
    while True:
        line = await reader.readline()
        if not line:
            return
        verb = line.split(b" ")[0].strip().upper()
        if verb == b"USER":
            writer.write(b"+OK\r\n")
        elif verb == b"PASS":
            writer.write(b"-ERR Logon failure: unknown user name or bad password.\r\n")
        elif verb == b"CAPA":
            writer.write(b"+OK\r\nTOP\r\nUIDL\r\nSASL PLAIN\r\nUSER\r\n.\r\n")
        elif verb == b"QUIT":
            writer.write(b"+OK Microsoft Exchange Server POP3 server signing off.\r\n")
            await writer.drain()
            return
        else:
            writer.write(b"-ERR Protocol error. 14\r\n")
        await writer.drain()


async def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--listen", action="append", default=[], help="ADDR:PORT, repeatable ([v6]:port for IPv6)")
    p.add_argument("--mode", choices=["submission", "mx"], default="submission")
    p.add_argument("--scenario", choices=SCENARIOS, default="ok")
    p.add_argument("--auth-plaintext", action="store_true", help="offer AUTH before TLS (not what EXO does)")
    p.add_argument("--no-starttls", action="store_true")
    p.add_argument("--user", default="office@domain.com")
    p.add_argument("--password", default="Scan2Mail!2026")
    p.add_argument("--pop3", action="append", default=[], help="ADDR:PORT for a POP3 listener")
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--tls-max", choices=["1.2", "1.3"], help="the highest TLS version offered")
    p.add_argument("--ciphers", help="OpenSSL cipher list accepted (TLS 1.2); Python's default leaves out SHA-1 suites")
    p.add_argument("--keylog", help="write the TLS session keys here (NSS key log format)")
    p.add_argument("--seed", type=int, help="draw host names, trailers and ids from this seed")
    a = p.parse_args()
    if a.seed is not None:
        draw(a.seed)
        random.seed(a.seed)

    async def handle(reader, writer):
        try:
            await Session(a, reader, writer).run()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    servers = []
    for spec in a.listen:
        host, _, port = spec.rpartition(":")
        servers.append(await asyncio.start_server(handle, host.strip("[]"), int(port)))
    for spec in a.pop3:
        host, _, port = spec.rpartition(":")
        servers.append(await asyncio.start_server(pop3, host.strip("[]"), int(port)))
    await asyncio.gather(*(s.serve_forever() for s in servers))


if __name__ == "__main__":
    asyncio.run(main())
