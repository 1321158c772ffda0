#!/usr/bin/env python3
"""Compact trace of an encrypted SMTP recording: the same pcap with every encrypted TLS
record's body set to zero bytes, then gzip-compressed.

What the record-length reading needs stays exactly as captured: every packet, its time,
its TCP header and length, the clear SMTP dialogue before STARTTLS, the clear TLS
handshake (ClientHello, ServerHello, a TLS 1.2 certificate) and each record's header (type,
version, length). Only ciphertext is zeroed (application data; after a ChangeCipherSpec
the encrypted handshake and alerts of TLS 1.2), which compresses to almost nothing. The
key log is not kept: nothing in the trace decrypts.

    scripts/compact-trace.py IN.pcap OUT.pcap.gz

Reads pcap (either byte order, micro- or nanosecond) with Ethernet, Linux cooked (v1, v2),
raw IP or BSD loopback frames, IPv4 or IPv6, and TCP; each direction of each connection is
followed by sequence number, so records split across segments or retransmitted are
zeroed alike.
"""

import gzip
import struct
import sys

APPLICATION_DATA = 23
CHANGE_CIPHER_SPEC = 20
HANDSHAKE = 22
ALERT = 21


def frames(data):
    """(header bytes, packet bytes, link type, endian) for each record of a pcap file."""
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        raise SystemExit("not a pcap file (pcapng: convert with editcap -F pcap)")
    link = struct.unpack(endian + "I", data[20:24])[0] & 0x0FFFFFFF
    at = 24
    out = []
    while at + 16 <= len(data):
        incl = struct.unpack(endian + "I", data[at + 8:at + 12])[0]
        out.append((at + 16, incl))
        at += 16 + incl
    return out, link


def tcp_payload(pkt, link):
    """(flow key, seq, syn, payload start in pkt, payload end) or None."""
    if link == 1:  # Ethernet, with VLAN tags
        off, etype = 14, struct.unpack(">H", pkt[12:14])[0]
        while etype in (0x8100, 0x88A8) and len(pkt) >= off + 4:
            etype = struct.unpack(">H", pkt[off + 2:off + 4])[0]
            off += 4
    elif link == 113:  # Linux cooked v1
        off, etype = 16, struct.unpack(">H", pkt[14:16])[0]
    elif link == 276:  # Linux cooked v2
        off, etype = 20, struct.unpack(">H", pkt[0:2])[0]
    elif link == 101:  # raw IP
        off, etype = 0, 0x0800 if pkt[0] >> 4 == 4 else 0x86DD
    elif link == 0:  # BSD loopback
        off = 4
        etype = 0x0800 if pkt[4] >> 4 == 4 else 0x86DD
    else:
        raise SystemExit(f"link type {link} not handled")
    if etype == 0x0800:
        ihl = (pkt[off] & 0x0F) * 4
        if pkt[off + 9] != 6:
            return None
        total = struct.unpack(">H", pkt[off + 2:off + 4])[0]
        src, dst = pkt[off + 12:off + 16], pkt[off + 16:off + 20]
        end = off + total
        off += ihl
    elif etype == 0x86DD:
        if pkt[off + 6] != 6:  # extension headers: not in these recordings
            return None
        plen = struct.unpack(">H", pkt[off + 4:off + 6])[0]
        src, dst = pkt[off + 8:off + 24], pkt[off + 24:off + 40]
        end = off + 40 + plen
        off += 40
    else:
        return None
    sport, dport, seq = struct.unpack(">HHI", pkt[off:off + 8])
    flags = pkt[off + 13]
    doff = (pkt[off + 12] >> 4) * 4
    start = off + doff
    end = min(end, len(pkt))
    return (src, sport, dst, dport), seq, bool(flags & 0x02), start, end


def zero_ranges(stream):
    """The byte ranges of `stream` that are ciphertext: record bodies after the switch to
    TLS (the first TLS record header at a line start, or at 0 for implicit TLS)."""
    p = None
    for i in range(len(stream) - 2):
        if stream[i] == HANDSHAKE and stream[i + 1] == 3 and (i == 0 or stream[i - 2:i] == b"\r\n"):
            p = i
            break
    if p is None:
        return []
    ranges = []
    encrypted = False
    while p + 5 <= len(stream):
        kind, length = stream[p], struct.unpack(">H", stream[p + 3:p + 5])[0]
        if kind not in (20, 21, 22, 23, 24) or stream[p + 1] != 3:
            break  # no TLS record here: leave the rest as it is
        body = (p + 5, min(p + 5 + length, len(stream)))
        if kind == APPLICATION_DATA or (encrypted and kind in (HANDSHAKE, ALERT)):
            ranges.append(body)
        if kind == CHANGE_CIPHER_SPEC:
            encrypted = True
        p += 5 + length
    return ranges


def compact(data):
    records, link = frames(data)
    buf = bytearray(data)
    segments = []  # (flow, seq, payload start in buf, end in buf)
    base = {}
    for at, incl in records:
        t = tcp_payload(data[at:at + incl], link)
        if t is None:
            continue
        flow, seq, syn, start, end = t
        if syn:
            base[flow] = (seq + 1) & 0xFFFFFFFF
        segments.append((flow, seq, at + start, at + end))
    streams = {}
    for flow, seq, start, end in segments:
        if end <= start:
            continue
        first = base.setdefault(flow, seq)
        off = (seq - first) & 0xFFFFFFFF
        s = streams.setdefault(flow, bytearray())
        if off > len(s):
            s.extend(b"\0" * (off - len(s)))  # a gap: not in these recordings
        piece = data[start:end]
        s[off:off + len(piece)] = piece
    ranges = {flow: zero_ranges(bytes(s)) for flow, s in streams.items()}
    for flow, seq, start, end in segments:
        if end <= start:
            continue
        off = (seq - base[flow]) & 0xFFFFFFFF
        for lo, hi in ranges.get(flow, []):
            a, b = max(lo, off), min(hi, off + (end - start))
            if a < b:
                buf[start + a - off:start + b - off] = b"\0" * (b - a)
    return bytes(buf)


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    data = open(sys.argv[1], "rb").read()
    # No name and no time in the gzip header: the same recording gives the same bytes.
    with open(sys.argv[2], "wb") as f, gzip.GzipFile(
        filename="", mode="wb", compresslevel=9, fileobj=f, mtime=0
    ) as out:
        out.write(compact(data))


if __name__ == "__main__":
    main()
