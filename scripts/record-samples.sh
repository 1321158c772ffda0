#!/usr/bin/env bash
# Re-records the captures in samples/ with real SMTP clients (swaks, curl, msmtp, Python
# smtplib, a raw-socket CHUNKING client) talking to scripts/exo_sim.py, an SMTP server
# that answers as Exchange Online does. Client and server live in two network namespaces
# joined by a veth pair; tcpdump and dumpcap record. Traffic never leaves the namespaces.
#
# Needs root, iproute2, nftables, ethtool, tcpdump, dumpcap (wireshark-common), editcap,
# swaks, curl, msmtp, openssl, python3, tcprewrite (tcpreplay).
# Usage: scripts/record-samples.sh [--field-forms | --postfix | --inside-tls | --keylog-suites | --postfix-sasl | --clients | --retries] [OUTDIR]
#   --retries: stories of several attempts in one capture (a refusal, a setting changed,
#   a delivery; POP before SMTP; IPv6 refused then IPv4; two jobs), in OUTDIR/retries.
#   --clients: the client matrix of docs/inside-tls.md (msmtp, swaks with and without
#   --pipeline, curl, Python against Postfix + Dovecot and the look-alike), in OUTDIR/clients;
#   scripts/compact-traces.sh OUTDIR/clients tests/recordings/clients makes the test's
#   compact traces of them.
#   --field-forms: only the captures of real-world capture forms (segmentation offload,
#   a server that turns to garbage), without re-recording the others.
#
# The kernels this runs on have no 802.1Q support, so the VLAN sample is a real
# recording whose frames tcprewrite tagged afterwards.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
only_field=0
only_postfix=0
only_inside=0
only_suites=0
only_sasl=0
only_clients=0
only_retries=0
if [ "${1:-}" = --clients ]; then
    only_clients=1
    shift
elif [ "${1:-}" = --retries ]; then
    only_retries=1
    shift
elif [ "${1:-}" = --postfix-sasl ]; then
    only_sasl=1
    shift
elif [ "${1:-}" = --inside-tls ]; then
    only_inside=1
    shift
elif [ "${1:-}" = --keylog-suites ]; then
    only_suites=1
    shift
elif [ "${1:-}" = --field-forms ]; then
    only_field=1
    shift
elif [ "${1:-}" = --postfix ]; then
    only_postfix=1
    shift
fi
out=$(realpath -m "${1:-$here/../samples}")
mkdir -p "$out"
work=$(mktemp -d)
S=smtpcap-srv
C=smtpcap-cli
R=smtpcap-rtr
SRV4=192.0.2.25 CLI4=192.0.2.10          # TEST-NET-1 (RFC 5737): documentation addresses
SRV6=2001:db8::25 CLI6=2001:db8::10      # RFC 3849 documentation prefix
DNS4=192.0.2.53
SRVR=203.0.113.25 CLIR=198.51.100.10     # TEST-NET-3 / TEST-NET-2, routed through $R
USER=office@domain.com
PASS='Scan2Mail!2026'
server_pid=

cleanup() {
    [ -f "$work/pf/main.cf" ] && ip netns exec $S postfix -c "$work/pf" stop >/dev/null 2>&1 || true
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
    ip netns pids $S 2>/dev/null | xargs -r kill 2>/dev/null || true
    ip netns pids $C 2>/dev/null | xargs -r kill 2>/dev/null || true
    ip netns del $S 2>/dev/null || true
    ip netns del $C 2>/dev/null || true
    ip netns del $R 2>/dev/null || true
    rm -rf "/etc/netns/$C" "/etc/netns/$S" "$work"
}
trap cleanup EXIT

in_s() { ip netns exec $S "$@"; }
in_c() { ip netns exec $C "$@"; }

setup() {
    ip netns del $S 2>/dev/null || true
    ip netns del $C 2>/dev/null || true
    ip netns del $R 2>/dev/null || true
    ip netns add $S
    ip netns add $C
    ip netns add $R
    ip link add vc type veth peer name vs
    ip link set vc netns $C
    ip link set vs netns $S
    for ns in $S $C; do ip -n $ns link set lo up; done
    ip -n $S addr add $SRV4/24 dev vs
    ip -n $S addr add $DNS4/24 dev vs
    # The client resolves names through the responder in the server namespace.
    mkdir -p /etc/netns/$C
    echo "nameserver $DNS4" >/etc/netns/$C/resolv.conf
    ip -n $C addr add $CLI4/24 dev vc
    ip -n $S addr add $SRV6/64 dev vs nodad
    ip -n $C addr add $CLI6/64 dev vc nodad
    ip -n $S link set vs up
    ip -n $C link set vc up
    # A routed path for the packet-loss sample: client - router - server.
    ip link add vc2 type veth peer name rc
    ip link add vs2 type veth peer name rs
    ip link set vc2 netns $C
    ip link set rc netns $R
    ip link set vs2 netns $S
    ip link set rs netns $R
    ip -n $C addr add $CLIR/24 dev vc2
    ip -n $R addr add 198.51.100.1/24 dev rc
    ip -n $R addr add 203.0.113.1/24 dev rs
    ip -n $S addr add $SRVR/24 dev vs2
    for l in vc2; do ip -n $C link set $l up; done
    for l in rc rs lo; do ip -n $R link set $l up; done
    ip -n $S link set vs2 up
    ip -n $C route add 203.0.113.0/24 via 198.51.100.1
    ip -n $S route add 198.51.100.0/24 via 203.0.113.1
    ip netns exec $R sysctl -qw net.ipv4.ip_forward=1
    # Per-connection byte counts for the packet-loss rule; must be on before any traffic.
    ip netns exec $R sysctl -qw net.netfilter.nf_conntrack_acct=1
    for f in tx sg tso gso gro; do
        for d in rc rs; do ip netns exec $R ethtool -K $d $f off >/dev/null 2>&1 || true; done
        in_c ethtool -K vc2 $f off >/dev/null 2>&1 || true
        in_s ethtool -K vs2 $f off >/dev/null 2>&1 || true
    done
    # Segments as they are on a wire: no offload super-packets in the capture.
    # One feature per call: ethtool rejects the whole call when one change is refused.
    for f in tx sg tso gso gro; do
        in_s ethtool -K vs $f off >/dev/null 2>&1 || true
        in_c ethtool -K vc $f off >/dev/null 2>&1 || true
    done
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=outlook.com" \
        -addext "subjectAltName=DNS:smtp.office365.com,DNS:*.outlook.office365.com" \
        -keyout "$work/key.pem" -out "$work/cert.pem" >/dev/null 2>&1
    printf 'From: %s\r\nTo: scans@domain.com\r\nSubject: Scan from MX-4070N\r\nDate: Fri, 27 Nov 2026 07:00:00 +0000\r\n\r\nScanned document attached.\r\n' "$USER" >"$work/msg.txt"
    { printf 'Subject: scan\r\n\r\n'; for i in $(seq 1 60); do printf 'Scanned page line %05d of a document.\r\n' "$i"; done; } >"$work/medium.txt"
    # A message large enough for many segments in flight (for the packet-loss sample).
    { printf 'Subject: large scan\r\n\r\n'; for i in $(seq 1 1500); do printf 'Scanned page line %05d of a large document.\r\n' "$i"; done; } >"$work/large.txt"
}

# server MODE SCENARIO [exo_sim options...]: (re)starts the simulator on every address.
server() {
    [ -n "$server_pid" ] && { kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; }
    local mode=$1 scenario=$2
    shift 2
    local listen=()
    for a in $SRV4 "[$SRV6]" $SRVR; do for p in 25 587 465; do listen+=(--listen "$a:$p"); done; done
    listen+=(--pop3 "$SRV4:110")
    # Not through in_s: $! must be the process itself (ip netns exec execs it), not a subshell.
    ip netns exec $S python3 "$here/exo_sim.py" "${listen[@]}" --mode "$mode" --scenario "$scenario" \
        --user "$USER" --password "$PASS" --cert "$work/cert.pem" --key "$work/key.pem" "$@" &
    server_pid=$!
    for _ in $(seq 1 50); do in_s ss -ltn | grep -q "$SRV4:587" && return; sleep 0.1; done
    echo "server did not start" >&2
    exit 1
}

# capture FILE TOOL [IFACE] [FILTER]: starts a recorder in the server namespace.
capture() {
    local file=$1 tool=$2 iface=${3:-vs} filter=${4:-tcp or udp port 53}
    case $tool in
        tcpdump) ip netns exec $S tcpdump --immediate-mode -i "$iface" -s 0 -U -w "$file" "$filter" 2>"$file.log" & ;;
        dumpcap) ip netns exec $S dumpcap -q -i "$iface" -s 0 -w "$file" -f "$filter" 2>"$file.log" & ;;
    esac
    capture_pids+=($!)
    for _ in $(seq 1 50); do grep -qiE "listening|capturing" "$file.log" 2>/dev/null && return; sleep 0.1; done
    sleep 0.5
}

capture_pids=()
stop_captures() {
    sleep 0.5
    for p in "${capture_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${capture_pids[@]}"; do wait "$p" 2>/dev/null || true; done
    capture_pids=()
    rm -f "$work"/*.log "$out"/*.log "$out"/scenarios/*.log "$out"/postfix/*.log "$out"/inside-tls/*.log "$out"/keylog/*.log "$out"/postfix-sasl/*.log "$out"/clients/*.log "$out"/retries/*.log
}

# record NAME TOOL CLIENT...: one capture of one client run.
record() {
    local name=$1 tool=$2
    shift 2
    capture "$out/$name" "$tool"
    in_c "$@" >/dev/null 2>&1 || true
    stop_captures
    echo "recorded $name"
}

# Capture forms of the real world (docs/capture-conditions.md).
record_field_forms() {
    # Segmentation offload on the client's interface: the capture on the client's side
    # holds the TCP segments as the stack handed them to the NIC (up to 64 KiB, checksums
    # not filled in). One feature per call, as in setup.
    server mx ok
    for f in tx sg tso gso; do in_c ethtool -K vc $f on >/dev/null 2>&1 || true; done
    ip netns exec $C tcpdump --immediate-mode -i vc -s 0 -U -w "$out/offload-tso-swaks.pcap" 'tcp port 25' \
        2>"$work/tso.log" &
    capture_pids+=($!)
    for _ in $(seq 1 50); do grep -qi listening "$work/tso.log" 2>/dev/null && break; sleep 0.1; done
    in_c "${swaks_base[@]}" --server $SRV4 --port 25 --data "@$work/large.txt" >/dev/null 2>&1 || true
    stop_captures
    for f in tx sg tso gso; do in_c ethtool -K vc $f off >/dev/null 2>&1 || true; done
    echo "recorded offload-tso-swaks.pcap"

    # A server that greets, then sends a 4.9 KB line with no line end and never replies;
    # the client (one that does not wait for replies) sends a whole authenticated submission.
    ip netns exec $S python3 "$here/garbage_server.py" --listen $SRV4:2525 &
    local garbage=$!
    for _ in $(seq 1 50); do in_s ss -ltn | grep -q "$SRV4:2525" && break; sleep 0.1; done
    capture "$out/garbage-server-python.pcap" tcpdump vs "tcp port 2525"
    in_c python3 "$here/clients/blind_client.py" $SRV4 --port 2525 --user "$USER" --password "$PASS" >/dev/null 2>&1 || true
    wait $garbage 2>/dev/null || true
    stop_captures
    echo "recorded garbage-server-python.pcap"
}

# A real Postfix (Debian's package, which must be installed but not running) as a site
# relay at $SRV4, one configuration per capture. Its queue and configuration live in $work;
# it delivers nothing (every transport is deferred: mail stays queued), it only answers.
pf_start() {
    local conf=$work/pf
    pf_stop
    mkdir -p "$conf" "$work/pfq" "$work/pfd"
    chown postfix "$work/pfd"
    # Postfix's own user must reach its data directory (mktemp makes the work dir 700).
    chmod 711 "$work"
    cp /usr/share/postfix/master.cf.dist "$conf/master.cf"
    # The submission port, for the SASL recordings.
    if [ "${pf_submission:-0}" = 1 ]; then
        echo "$SRV4:587 inet n - n - - smtpd" >>"$conf/master.cf"
        echo "$SRV4:465 inet n - n - - smtpd -o smtpd_tls_wrappermode=yes" >>"$conf/master.cf"
    fi
    {
        echo "compatibility_level = 3.6"
        echo "myhostname = relay.contoso.local"
        echo "mydomain = contoso.local"
        echo 'myorigin = $myhostname'
        echo 'mydestination = $myhostname, contoso.local'
        echo "inet_interfaces = $SRV4"
        echo "inet_protocols = ipv4"
        echo "mynetworks = 127.0.0.0/8"
        echo "queue_directory = $work/pfq"
        echo "data_directory = $work/pfd"
        echo "alias_maps ="
        echo "alias_database ="
        echo "biff = no"
        echo 'smtpd_banner = $myhostname ESMTP $mail_name (Debian/GNU)'
        echo "maillog_file = $work/pf.log"
        echo "maillog_file_prefixes = /tmp"
        echo "defer_transports = smtp, local, relay, virtual"
        echo "smtp_dns_support_level = disabled"
        echo "smtpd_tls_cert_file = $work/cert.pem"
        echo "smtpd_tls_key_file = $work/key.pem"
        echo "smtpd_tls_security_level = may"
        for setting in "$@"; do echo "$setting"; done
    } >"$conf/main.cf"
    ip netns exec $S postfix -c "$conf" start >/dev/null 2>&1 || true
    for _ in $(seq 1 50); do in_s ss -ltn | grep -qE "($SRV4|127.0.0.1):25 " && return; sleep 0.1; done
    echo "postfix did not start" >&2
    cat "$work/pf.log" >&2 2>/dev/null || true
    exit 1
}
pf_stop() {
    [ -f "$work/pf/main.cf" ] && ip netns exec $S postfix -c "$work/pf" stop >/dev/null 2>&1 || true
    for _ in $(seq 1 30); do in_s ss -ltn | grep -qE "($SRV4|127.0.0.1):25 " || return 0; sleep 0.1; done
}

# Refusals and deliveries of a real Postfix relay, each as its own capture.
record_postfix() {
    mkdir -p "$out/postfix"
    # The simulator listens on :25 too: stop it while Postfix has the port.
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=
    fi
    local ext=(--to someone@example.org)
    local fqdn=(--helo mx-4070n.contoso.local)
    local base=(swaks --from scanner@contoso.local --server $SRV4 --port 25 --data "@$work/msg.txt" --timeout 10)
    # Relay refused by the default policy (defer_unauth_destination: 454) ...
    pf_start
    record postfix/relay-deferred-454.pcap tcpdump "${base[@]}" "${fqdn[@]}" "${ext[@]}"
    # ... and by reject_unauth_destination (554).
    pf_start "smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination"
    record postfix/relay-rejected-554.pcap tcpdump "${base[@]}" "${fqdn[@]}" "${ext[@]}"
    # TLS required: 530 5.7.0 Must issue a STARTTLS command first.
    pf_start "smtpd_tls_security_level = encrypt"
    record postfix/starttls-required-530.pcap tcpdump "${base[@]}" "${fqdn[@]}" --to office@contoso.local
    # The copier's bare EHLO name against reject_non_fqdn_helo_hostname (refused at RCPT).
    pf_start "smtpd_helo_restrictions = reject_non_fqdn_helo_hostname" "mynetworks = 127.0.0.0/8, 192.0.2.0/24"
    record postfix/helo-not-fqdn-504.pcap tcpdump "${base[@]}" --helo MX-4070N "${ext[@]}"
    # A scan larger than message_size_limit.
    pf_start "message_size_limit = 20000" "mynetworks = 127.0.0.0/8, 192.0.2.0/24"
    record postfix/message-too-large-552.pcap tcpdump "${base[@]}" "${fqdn[@]}" "${ext[@]}" --data "@$work/large.txt"
    # A site relay that takes the device's mail in clear ...
    pf_start "mynetworks = 127.0.0.0/8, 192.0.2.0/24"
    record postfix/relay-delivers-clear.pcap tcpdump "${base[@]}" "${fqdn[@]}" "${ext[@]}"
    # ... and after STARTTLS.
    # (a message of a few kB, so that it shows as a message-sized transfer inside TLS)
    record postfix/relay-delivers-starttls.pcap tcpdump "${base[@]}" "${fqdn[@]}" "${ext[@]}" -tls --data "@$work/medium.txt"
    pf_stop
    echo "recorded postfix/*.pcap"
}

# Submissions through STARTTLS to the Exchange Online look-alike, one per outcome, TLS 1.2
# and 1.3, from smtplib (the copier-like client) and swaks; the server's key log is kept
# beside each capture (FILE.keys) so that the truth inside TLS can be read by decryption.
# Every recording draws other host names, trailers and ids (--seed).
record_inside_tls() {
    mkdir -p "$out/inside-tls"
    local seed=0 tls case scenario
    for tls in 1.2 1.3; do
        for case in delivered auth-failed auth-disabled security-defaults send-as-denied not-authenticated test-only; do
            scenario=ok
            case $case in
                auth-failed) scenario=auth-failed ;;
                auth-disabled) scenario=auth-disabled ;;
                security-defaults) scenario=security-defaults ;;
                send-as-denied) scenario=send-as-data ;;
            esac
            for client in python swaks; do
                seed=$((seed + 1))
                local name="inside-tls/$case-tls${tls/./}-$client.pcap"
                rm -f "$work/keys"
                server submission "$scenario" --tls-max "$tls" --keylog "$work/keys" --seed "$seed"
                local py=(python3 "$here/clients/smtplib_client.py" $SRV4 --port 587 --starttls
                    --sender "$USER" --size 3000 --attachment-kb 40)
                local sw=(swaks --from "$USER" --to scans@domain.com --helo MX-4070N.domain.local
                    --server $SRV4 --port 587 -tls --data "@$work/medium.txt" --timeout 10)
                case $case in
                    not-authenticated) ;;
                    test-only) py+=(--user "$USER" --password "$PASS" --test-only)
                        sw+=(--auth LOGIN --auth-user "$USER" --auth-password "$PASS" --quit-after AUTH) ;;
                    *) py+=(--user "$USER" --password "$PASS")
                        sw+=(--auth LOGIN --auth-user "$USER" --auth-password "$PASS") ;;
                esac
                if [ "$client" = python ]; then
                    record "$name" tcpdump "${py[@]}"
                else
                    record "$name" tcpdump "${sw[@]}"
                fi
                cp "$work/keys" "$out/$name.keys" 2>/dev/null || echo "no keys for $name" >&2
            done
        done
    done
}

# Each cipher suite the decryptor handles, from curl (its own SSLKEYLOGFILE: the
# client's key log) and the Python client (the server's key log), a delivered submission
# to the Exchange Online look-alike each.
record_keylog_suites() {
    mkdir -p "$out/keylog"
    # Python's default cipher list leaves out the SHA-1 suites Exchange Online still takes.
    server submission ok --seed 101 --ciphers 'DEFAULT:@SECLEVEL=0'
    local curl_base=(curl --silent --insecure --ssl-reqd --url "smtp://$SRV4:587"
        --mail-from "$USER" --mail-rcpt scans@domain.com --user "$USER:$PASS"
        --upload-file "$work/medium.txt" --max-time 10)
    local spec name args
    for spec in \
        "tls13-aes128gcm:--tls13-ciphers TLS_AES_128_GCM_SHA256" \
        "tls13-chacha20:--tls13-ciphers TLS_CHACHA20_POLY1305_SHA256" \
        "tls12-aes128gcm:--tls-max 1.2 --ciphers ECDHE-RSA-AES128-GCM-SHA256" \
        "tls12-chacha20:--tls-max 1.2 --ciphers ECDHE-RSA-CHACHA20-POLY1305" \
        "tls12-aes256cbc-sha384:--tls-max 1.2 --ciphers ECDHE-RSA-AES256-SHA384" \
        "tls12-aes128cbc-sha1:--tls-max 1.2 --ciphers ECDHE-RSA-AES128-SHA"; do
        name="keylog/delivered-${spec%%:*}-curl.pcap"
        read -ra args <<<"${spec#*:}"
        rm -f "$work/client-keys"
        capture "$out/$name" tcpdump
        SSLKEYLOGFILE="$work/client-keys" in_c "${curl_base[@]}" "${args[@]}" >/dev/null 2>&1 || true
        stop_captures
        cp "$work/client-keys" "$out/$name.keys" 2>/dev/null || echo "no keys for $name" >&2
        echo "recorded $name"
    done
    # CBC without encrypt-then-MAC (the MAC over the plaintext, inside the padding).
    for spec in "tls12-aes256cbc-sha384-no-etm:ECDHE-RSA-AES256-SHA384" \
        "tls12-aes128cbc-sha256-no-etm:ECDHE-RSA-AES128-SHA256"; do
        name="keylog/delivered-${spec%%:*}-python.pcap"
        rm -f "$work/keys"
        server submission ok --tls-max 1.2 --keylog "$work/keys" --seed 102
        record "$name" tcpdump python3 "$here/clients/smtplib_client.py" $SRV4 --port 587 --starttls \
            --user "$USER" --password "$PASS" --sender "$USER" --size 3000 --tls-max 1.2 \
            --ciphers "${spec#*:}" --no-etm
        cp "$work/keys" "$out/$name.keys" 2>/dev/null || echo "no keys for $name" >&2
    done
    # The keys inside the capture: a pcapng Decryption Secrets Block, by Wireshark's editcap.
    editcap --inject-secrets "tls,$out/keylog/delivered-tls13-chacha20-curl.pcap.keys" \
        "$out/keylog/delivered-tls13-chacha20-curl.pcap" "$out/keylog/delivered-tls13-chacha20-curl-dsb.pcapng"
    echo "made keylog/delivered-tls13-chacha20-curl-dsb.pcapng"
}

# A real Postfix on 587 with SASL through a real Dovecot (Debian's packages), TLS required
# before AUTH: a server whose texts smtpcap was not written against. The Python client and
# curl write their key logs (SSLKEYLOGFILE) beside each capture.
dovecot_start() {
    local d=$work/dovecot
    mkdir -p "$d/run" "$d/state"
    printf '%s:{PLAIN}%s::::::\n' "$USER" "$PASS" >"$d/passwd"
    cat >"$d/dovecot.conf" <<EOC
base_dir = $d/run
state_dir = $d/state
log_path = $work/dovecot.log
protocols =
ssl = no
auth_mechanisms = plain login
disable_plaintext_auth = no
passdb {
  driver = passwd-file
  args = scheme=PLAIN $d/passwd
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=/nonexistent
}
service auth {
  inet_listener {
    address = 127.0.0.1
    port = 12345
  }
}
EOC
    chmod 755 "$d" "$d/run"
    chmod 644 "$d/passwd"
    ip netns exec $S dovecot -c "$d/dovecot.conf"
    for _ in $(seq 1 50); do in_s ss -ltn | grep -q "127.0.0.1:12345" && return; sleep 0.1; done
    echo "dovecot did not start" >&2
    cat "$work/dovecot.log" >&2 2>/dev/null || true
    exit 1
}

# submission_start / submission_stop: Postfix on 587 (and 465) with Dovecot SASL, TLS
# required before AUTH, relay for logged-in senders whose login owns the address.
submission_start() {
    dovecot_start
    pf_submission=1 pf_start "$@" "smtpd_sasl_auth_enable = yes" "smtpd_sasl_type = dovecot" \
        "smtpd_sasl_path = inet:127.0.0.1:12345" "smtpd_tls_security_level = encrypt" \
        "smtpd_tls_auth_only = yes" "smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination" \
        "smtpd_sender_login_maps = inline:{ $USER=$USER }" \
        "smtpd_sender_restrictions = reject_sender_login_mismatch"
    for _ in $(seq 1 50); do in_s ss -ltn | grep -q "$SRV4:587 " && break; sleep 0.1; done
}

submission_stop() {
    pf_stop
    ip netns exec $S dovecot -c "$work/dovecot/dovecot.conf" stop >/dev/null 2>&1 || true
}

record_postfix_sasl() {
    mkdir -p "$out/postfix-sasl"
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=
    fi
    submission_start
    local tls case name args
    for tls in 1.2 1.3; do
        for case in delivered auth-failed not-authenticated sender-refused test-only; do
            local py=(python3 "$here/clients/smtplib_client.py" $SRV4 --port 587 --starttls
                --size 3000 --tls-max "$tls")
            local cu=(curl --silent --insecure --ssl-reqd --url "smtp://$SRV4:587" --tls-max "$tls"
                --mail-rcpt scans@domain.com --upload-file "$work/medium.txt" --max-time 10)
            case $case in
                delivered) py+=(--user "$USER" --password "$PASS" --sender "$USER")
                    cu+=(--user "$USER:$PASS" --mail-from "$USER") ;;
                auth-failed) py+=(--user "$USER" --password wrong-password --sender "$USER")
                    cu+=(--user "$USER:wrong-password" --mail-from "$USER") ;;
                not-authenticated) py+=(--sender "$USER")
                    cu+=(--mail-from "$USER") ;;
                sender-refused) py+=(--user "$USER" --password "$PASS" --sender scanner@contoso.local)
                    cu+=(--user "$USER:$PASS" --mail-from scanner@contoso.local) ;;
                test-only) py+=(--user "$USER" --password "$PASS" --test-only)
                    cu=() ;;
            esac
            for client in python curl; do
                [ "$client" = curl ] && [ ${#cu[@]} -eq 0 ] && continue
                name="postfix-sasl/$case-tls${tls/./}-$client.pcap"
                rm -f "$work/client-keys"
                capture "$out/$name" tcpdump
                if [ "$client" = python ]; then
                    SSLKEYLOGFILE="$work/client-keys" in_c "${py[@]}" >/dev/null 2>&1 || true
                else
                    SSLKEYLOGFILE="$work/client-keys" in_c "${cu[@]}" >/dev/null 2>&1 || true
                fi
                stop_captures
                cp "$work/client-keys" "$out/$name.keys" 2>/dev/null || echo "no keys for $name" >&2
                echo "recorded $name"
            done
        done
    done
    # Implicit TLS (465, smtps): TLS from the first byte.
    name=postfix-sasl/delivered-tls13-implicit-curl.pcap
    rm -f "$work/client-keys"
    capture "$out/$name" tcpdump
    SSLKEYLOGFILE="$work/client-keys" in_c curl --silent --insecure --url "smtps://$SRV4:465" \
        --user "$USER:$PASS" --mail-from "$USER" --mail-rcpt scans@domain.com \
        --upload-file "$work/medium.txt" --max-time 10 >/dev/null 2>&1 || true
    stop_captures
    cp "$work/client-keys" "$out/$name.keys" 2>/dev/null || echo "no keys for $name" >&2
    echo "recorded $name"
    submission_stop
}

# message FILE SEED: a message whose size (across digit boundaries) and Message-ID length
# the seed draws, so that no reading learns one fixed length.
message() {
    python3 - "$@" <<'EOP'
import random, sys
r = random.Random(int(sys.argv[2]))
lines = int(sys.argv[3]) if len(sys.argv) > 3 else r.choice([20, 200, 2000]) + r.randint(0, 100)
mid = "".join(r.choice("abcdef0123456789") for _ in range(r.randint(8, 60)))
with open(sys.argv[1], "w", newline="") as f:
    f.write(f"Message-ID: <{mid}@MX-4070N.domain.local>\r\nSubject: scan\r\n\r\n")
    for i in range(lines):
        f.write(f"Scanned page line {i:05d} of a document.\r\n")
EOP
}

# exim_start: a real Exim 4 from Debian's packages as a submission server on 587 (STARTTLS,
# AUTH PLAIN and LOGIN only after it, relay for logged-in clients only). Exim and Postfix
# conflict as packages: its files are unpacked beside them (../shared/docs/lab-notes.md).
exim_start() {
    local d=$work/exim
    mkdir -p "$d/pkg" "$d/spool" "$d/log"
    if [ ! -x "$d/pkg/usr/sbin/exim4" ]; then
        (cd "$d" && apt-get download -q exim4-daemon-heavy exim4-base >/dev/null 2>&1)
        for deb in "$d"/*.deb; do dpkg -x "$deb" "$d/pkg"; done
    fi
    id Debian-exim >/dev/null 2>&1 || useradd -r -M Debian-exim
    chown -R Debian-exim "$d/spool" "$d/log"
    # Exim's own user must reach its spool and the (test) certificate and key (mktemp makes
    # the work dir 700).
    chmod 711 "$work"
    chmod 644 "$work/cert.pem" "$work/key.pem"
    chmod 755 "$d"
    cat >"$d/exim.conf" <<EOC
exim_path = $d/pkg/usr/sbin/exim4
keep_environment =
primary_hostname = mx.contoso.local
spool_directory = $d/spool
log_file_path = $d/log/%slog
daemon_smtp_ports = 587
local_interfaces = <; $SRV4.587
tls_advertise_hosts = *
tls_certificate = $work/cert.pem
tls_privatekey = $work/key.pem
auth_advertise_hosts = \${if eq{\$tls_in_cipher}{}{}{*}}
acl_smtp_rcpt = acl_check_rcpt
queue_only = true
message_size_limit = 200K
begin acl
acl_check_rcpt:
  accept authenticated = *
  deny message = Relay not permitted
begin routers
begin transports
begin authenticators
plain:
  driver = plaintext
  public_name = PLAIN
  server_prompts = :
  server_condition = \${if and {{eq{\$auth2}{$USER}}{eq{\$auth3}{$PASS}}}}
login:
  driver = plaintext
  public_name = LOGIN
  server_prompts = <| Username: | Password:
  server_condition = \${if and {{eq{\$auth1}{$USER}}{eq{\$auth2}{$PASS}}}}
EOC
    mkdir -p /etc/exim4
    grep -qxF "$d/exim.conf" /etc/exim4/trusted_configs 2>/dev/null || echo "$d/exim.conf" >>/etc/exim4/trusted_configs
    chmod 644 "$d/exim.conf" /etc/exim4/trusted_configs
    ip netns exec $S "$d/pkg/usr/sbin/exim4" -C "$d/exim.conf" -bd
    for _ in $(seq 1 50); do in_s ss -ltn | grep -q "$SRV4:587 " && return; sleep 0.1; done
    echo "exim did not start" >&2
    cat "$d/log/paniclog" >&2 2>/dev/null || true
    exit 1
}

exim_stop() {
    ip netns exec $S pkill -f "exim4 -C $work/exim/exim.conf" 2>/dev/null || true
    sleep 0.3
}

# The client matrix: nine clients (msmtp, swaks, swaks --pipeline, curl, Python, a
# copier-like client and its blind variant, Nodemailer from npm, s-nail) against three
# servers, TLS 1.2 and 1.3, the cases a copier meets (CLIENT_PROGRAMS and CLIENT_SERVERS
# choose some; CLIENT_VARY=1 draws the EHLO name and, on TLS 1.2, a CBC suite, in
# recordings named *-vary.pcap). Key logs: the look-alike's (every client), else the
# client's where it writes one (curl, Python, msmtp through GnuTLS, Node.js); swaks and
# s-nail write none.
record_clients() {
    mkdir -p "$out/clients"
    case " ${CLIENT_PROGRAMS:-nodemailer} " in
        *" nodemailer "*)
            [ -d "$work/node/node_modules/nodemailer" ] ||
                npm install --prefix "$work/node" --no-audit --no-fund --silent nodemailer@6.10.1 >/dev/null ;;
    esac
    local seed=100 srv tls case client name
    for srv in ${CLIENT_SERVERS:-postfix exo exim}; do
        # The look-alike of the server before is stopped, or it would answer on 587 in
        # place of Postfix or Exim.
        if [ -n "$server_pid" ]; then
            kill "$server_pid" 2>/dev/null || true
            wait "$server_pid" 2>/dev/null || true
            server_pid=
        fi
        if [ "$srv" = exim ]; then
            seed=300
            exim_start
        fi
        if [ "$srv" = postfix ]; then
            # The limit a too-large message exceeds (every other case's message is under it).
            submission_start "message_size_limit = 204800"
        fi
        for tls in 1.2 1.3; do
            # CLIENT_CASES adds the look-alike's refusals: auth-disabled, basic-retired,
            # send-as-mail, restricted-sender, relay-denied, send-as-data, two-messages; and
            # for every server too-large (300 KB over a 200 KiB limit), quit-after-ehlo (a
            # connection test without a login), rset (RSET between two messages).
            for case in ${CLIENT_CASES:-delivered auth-failed not-authenticated test-only}; do
                for client in ${CLIENT_PROGRAMS:-msmtp swaks swaks-pipelining curl python copier copier-blind nodemailer snail}; do
                    case "$case/$client" in
                        test-only/msmtp | test-only/curl | test-only/nodemailer | test-only/snail) continue ;;
                        two-messages/python | rset/python) ;;
                        two-messages/* | rset/*) continue ;;
                        quit-after-ehlo/msmtp | quit-after-ehlo/curl | quit-after-ehlo/nodemailer | quit-after-ehlo/snail) continue ;;
                        too-large/nodemailer | too-large/snail) continue ;;
                        # The copier: the four cases a device meets first.
                        delivered/copier* | auth-failed/copier* | not-authenticated/copier* | test-only/copier*) ;;
                        */copier*) continue ;;
                    esac
                    seed=$((seed + 1))
                    name="clients/$srv-$case-tls${tls/./}-$client.pcap"
                    # CLIENT_VARY=1: the EHLO name drawn per recording, and on TLS 1.2 a CBC
                    # suite (SHA-1, SHA-256 or SHA-384 MAC) in place of AES-GCM.
                    local helo=MX-4070N.domain.local cbc= gnutls_cbc=
                    if [ "${CLIENT_VARY:-}" = 1 ]; then
                        name="clients/$srv-$case-tls${tls/./}-$client-vary.pcap"
                        local names=(SHARPMX BRANCH-OFFICE-COPIER-2ND-FLOOR.northwind.example.co.uk "[192.0.2.10]" mx4070n.scan.contoso.com)
                        helo=${names[$((seed % 4))]}
                        if [ "$tls" = 1.2 ]; then
                            local suites=(ECDHE-RSA-AES128-SHA ECDHE-RSA-AES128-SHA256 ECDHE-RSA-AES256-SHA384)
                            cbc=${suites[$((seed % 3))]}
                            gnutls_cbc=NORMAL:-VERS-TLS1.3:-AES-128-GCM:-AES-256-GCM:-CHACHA20-POLY1305:-AES-128-CCM:-AES-256-CCM
                        fi
                    fi
                    if [ "$case" = too-large ]; then
                        message "$work/msg-$seed.txt" "$seed" 7000
                    else
                        message "$work/msg-$seed.txt" "$seed"
                    fi
                    rm -f "$work/keys" "$work/client-keys"
                    local from=$USER to=scans@domain.com
                    if [ "$srv" = exo ]; then
                        local scenario=ok
                        case $case in
                            auth-failed | auth-disabled | basic-retired | restricted-sender | relay-denied | send-as-data | too-large)
                                scenario=$case ;;
                            send-as-mail) scenario=send-as-denied ;;
                        esac
                        server submission "$scenario" --tls-max "$tls" --keylog "$work/keys" --seed "$seed"
                    fi
                    case $case in
                        send-as-mail | send-as-data) from=scanner@domain.com ;;
                        relay-denied) to=someone@example.org ;;
                    esac
                    local pass=$PASS mech=LOGIN
                    [ "$case" = auth-failed ] && pass=wrong-password
                    [ "$srv" != exo ] && mech=PLAIN
                    local cmd=()
                    case $client in
                        msmtp)
                            cmd=(msmtp --host=$SRV4 --port=587 --tls=on --tls-starttls=on --tls-certcheck=off
                                --domain="$helo" --from="$from" --timeout=10)
                            if [ -n "$gnutls_cbc" ]; then cmd+=(--tls-priorities="$gnutls_cbc")
                            elif [ "$tls" = 1.2 ]; then cmd+=(--tls-priorities=NORMAL:-VERS-TLS1.3); fi
                            if [ "$case" = not-authenticated ]; then cmd+=(--auth=off)
                            else cmd+=(--auth=on --user="$USER" --passwordeval="echo '$pass'"); fi
                            cmd+=("$to") ;;
                        swaks*)
                            cmd=(swaks --from "$from" --to "$to" --helo "$helo"
                                --server $SRV4 --port 587 -tls --data "@$work/msg-$seed.txt" --timeout 10)
                            [ "$tls" = 1.2 ] && cmd+=(--tls-protocol tlsv1_2)
                            [ -n "$cbc" ] && cmd+=(--tls-cipher "$cbc")
                            [ "$client" = swaks-pipelining ] && cmd+=(--pipeline)
                            [ "$case" != not-authenticated ] && cmd+=(--auth "$mech" --auth-user "$USER" --auth-password "$pass")
                            [ "$case" = test-only ] && cmd+=(--quit-after AUTH)
                            [ "$case" = quit-after-ehlo ] && cmd+=(--quit-after HELO) ;;
                        curl)
                            # curl's EHLO name is the URL's path.
                            cmd=(curl --silent --insecure --ssl-reqd --url "smtp://$SRV4:587/$helo" --tls-max "$tls"
                                --mail-from "$from" --mail-rcpt "$to" --upload-file "$work/msg-$seed.txt" --max-time 10)
                            [ -n "$cbc" ] && cmd+=(--ciphers "$cbc")
                            [ "$case" != not-authenticated ] && cmd+=(--user "$USER:$pass") ;;
                        python)
                            local size=$((seed * 37 % 5000 + 500))
                            [ "$case" = too-large ] && size=$((300000 + seed))
                            cmd=(python3 "$here/clients/smtplib_client.py" $SRV4 --port 587 --starttls
                                --sender "$from" --rcpt "$to" --size $size --tls-max "$tls" --helo "$helo")
                            [ -n "$cbc" ] && cmd+=(--ciphers "$cbc")
                            [ "$case" = two-messages ] && cmd+=(--messages 2)
                            [ "$case" = rset ] && cmd+=(--messages 2 --rset)
                            [ "$case" = quit-after-ehlo ] && cmd+=(--quit-after-ehlo)
                            [ "$case" != not-authenticated ] && cmd+=(--user "$USER" --password "$pass")
                            [ "$case" = test-only ] && cmd+=(--test-only) ;;
                        nodemailer)
                            # Node.js's TLS (OpenSSL inside Node) through Nodemailer, from npm.
                            cmd=(env NODE_PATH="$work/node/node_modules" node --tls-keylog="$work/client-keys"
                                "$here/clients/nodemailer_client.js" $SRV4 --port 587 --sender "$from" --rcpt "$to"
                                --size $((seed * 41 % 7000 + 600)) --tls-max "$tls" --helo "$helo")
                            [ -n "$cbc" ] && cmd+=(--ciphers "$cbc")
                            [ "$case" != not-authenticated ] && cmd+=(--user "$USER" --password "$pass") ;;
                        snail)
                            # s-nail (mailx), Debian's: AUTH LOGIN without an initial response, or
                            # none; its user and password in the URL, percent-encoded.
                            local enc_user=${USER//@/%40} enc_pass
                            enc_pass=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$pass")
                            local pairs=
                            [ "$tls" = 1.2 ] && pairs='Protocol=-ALL\,+TLSv1.2'
                            [ -n "$cbc" ] && pairs="$pairs,CipherString=$cbc"
                            cmd=(s-nail -n -# -S v15-compat -S sendwait -S smtp-use-starttls -S tls-verify=ignore
                                -S hostname="$helo" -r "$from" -s "Scan from MX-4070N")
                            [ -n "$pairs" ] && cmd+=(-S "tls-config-pairs=$pairs")
                            if [ "$case" = not-authenticated ]; then cmd+=(-S "mta=smtp://$SRV4:587" -S smtp-auth=none)
                            else cmd+=(-S "mta=smtp://$enc_user:$enc_pass@$SRV4:587" -S smtp-auth=login); fi
                            cmd+=("$to") ;;
                        copier*)
                            # AUTH LOGIN without an initial response, one command at a time;
                            # the blind variant sends on without reading the answers.
                            cmd=(python3 "$here/clients/copier_client.py" $SRV4 --port 587
                                --sender "$from" --rcpt "$to" --tls-max "$tls" --size $((seed * 53 % 9000 + 800)) --helo "$helo")
                            [ -n "$cbc" ] && cmd+=(--ciphers "$cbc")
                            [ "$client" = copier-blind ] && cmd+=(--blind)
                            [ "$case" != not-authenticated ] && cmd+=(--user "$USER" --password "$pass")
                            [ "$case" = test-only ] && cmd+=(--test-only) ;;
                    esac
                    capture "$out/$name" tcpdump
                    if [ "$client" = msmtp ] || [ "$client" = snail ]; then
                        SSLKEYLOGFILE="$work/client-keys" in_c "${cmd[@]}" <"$work/msg-$seed.txt" >/dev/null 2>&1 || true
                    else
                        SSLKEYLOGFILE="$work/client-keys" in_c "${cmd[@]}" >/dev/null 2>&1 || true
                    fi
                    stop_captures
                    if [ -s "$work/keys" ]; then cp "$work/keys" "$out/$name.keys"
                    elif [ -s "$work/client-keys" ]; then cp "$work/client-keys" "$out/$name.keys"; fi
                    echo "recorded $name"
                done
            done
        done
        case $srv in
            postfix) submission_stop ;;
            exim) exim_stop ;;
        esac
    done
}

# Several attempts in one capture, as a technician records them while changing settings:
# a real Postfix (and for POP before SMTP a real Dovecot POP3 server), swaks as the device.
record_retries() {
    mkdir -p "$out/retries"
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=
    fi
    local base=(swaks --from scanner@contoso.local --to office@contoso.local --server $SRV4 --port 25
        --helo mx-4070n.contoso.local --data "@$work/msg.txt" --timeout 10)
    local clear=(swaks --from scanner@contoso.local --to office@contoso.local --server $SRV4 --data "@$work/msg.txt" --timeout 10)
    local lan="mynetworks = 127.0.0.0/8, 192.0.2.0/24"
    # Any local recipient is accepted (and queued: nothing is delivered).
    local anyone="local_recipient_maps ="
    local one

    # The copier's bare host name refused (504 at RCPT), then its FQDN: delivered.
    pf_start "smtpd_helo_restrictions = reject_non_fqdn_helo_hostname" "$lan" "$anyone"
    one=retries/helo-refused-then-delivered.pcap
    capture "$out/$one" tcpdump
    in_c "${clear[@]}" --port 25 --helo MX-4070N >/dev/null 2>&1 || true
    sleep 1
    in_c "${clear[@]}" --port 25 --helo mx-4070n.contoso.local >/dev/null 2>&1 || true
    stop_captures
    echo "recorded $one"

    # Port 25 in clear where TLS is required (530 at MAIL); then port 587 with STARTTLS.
    pf_submission=1 pf_start "smtpd_tls_security_level = encrypt" "$lan" "$anyone"
    one=retries/starttls-required-then-587-tls.pcap
    capture "$out/$one" tcpdump
    in_c "${base[@]}" >/dev/null 2>&1 || true
    sleep 1
    in_c "${base[@]}" --port 587 -tls --data "@$work/medium.txt" >/dev/null 2>&1 || true
    stop_captures
    echo "recorded $one"

    # A name with an IPv6 and an IPv4 address where only IPv4 listens: the IPv6 connection
    # is refused (RST) and the client goes on to IPv4 at once (curl's Happy Eyeballs, and
    # Python's create_connection, which tries each address in turn).
    pf_start "$lan" "$anyone"
    printf '%s relay.contoso.local\n%s relay.contoso.local\n' "$SRV6" "$SRV4" >/etc/netns/$C/hosts
    one=retries/ipv6-refused-then-ipv4.pcap
    capture "$out/$one" tcpdump
    in_c curl -sS --url smtp://relay.contoso.local:25/mx-4070n.contoso.local --mail-from scanner@contoso.local \
        --mail-rcpt office@contoso.local --upload-file "$work/msg.txt" --max-time 10 >/dev/null 2>&1 || true
    sleep 1
    in_c python3 -c "import smtplib; s = smtplib.SMTP('relay.contoso.local', 25, local_hostname='mx-4070n.contoso.local', timeout=10); s.sendmail('scanner@contoso.local', ['office@contoso.local'], open('$work/msg.txt', 'rb').read()); s.quit()" >/dev/null 2>&1 || true
    stop_captures
    rm -f /etc/netns/$C/hosts
    echo "recorded $one"

    # The same on loopback, as a capture on the server itself shows it: `localhost` is
    # ::1 and 127.0.0.1, Postfix listens on 127.0.0.1 only.
    pf_start "inet_interfaces = 127.0.0.1" "$anyone"
    mkdir -p /etc/netns/$S
    printf '::1 localhost\n127.0.0.1 localhost\n' >/etc/netns/$S/hosts
    one=retries/loopback-ipv6-refused-then-ipv4.pcap
    capture "$out/$one" tcpdump lo "tcp port 25"
    in_s python3 -c "import smtplib; s = smtplib.SMTP('localhost', 25, local_hostname='mx-4070n.contoso.local', timeout=10); s.sendmail('scanner@contoso.local', ['office@contoso.local'], open('$work/msg.txt', 'rb').read()); s.quit()" >/dev/null 2>&1 || true
    stop_captures
    rm -rf /etc/netns/$S
    echo "recorded $one"

    # Two jobs: one to an outside address (relay refused, 554 at RCPT), one inside
    # (delivered). Different envelopes: the refusal stands.
    pf_start "smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination" "$anyone"
    one=retries/two-jobs-one-refused.pcap
    capture "$out/$one" tcpdump
    in_c "${base[@]}" --to someone@example.org >/dev/null 2>&1 || true
    sleep 1
    in_c "${base[@]}" >/dev/null 2>&1 || true
    stop_captures
    echo "recorded $one"

    # A refused send, then the copier's connection test: the test supersedes nothing.
    one=retries/refused-then-connection-test.pcap
    capture "$out/$one" tcpdump
    in_c "${base[@]}" --to someone@example.org >/dev/null 2>&1 || true
    sleep 1
    in_c "${base[@]}" --quit-after EHLO >/dev/null 2>&1 || true
    stop_captures
    echo "recorded $one"

    # POP before SMTP: Dovecot's POP3 login writes the client's address into a Postfix
    # access map (a post-login script and postmap); relay is refused before, allowed after.
    local d=$work/popdove
    mkdir -p "$d/run" "$d/state" "$d/mail"
    chmod 777 "$d/mail"
    printf '%s:{PLAIN}%s::::::\n' "$USER" "$PASS" >"$d/passwd"
    cat >"$d/popauth.sh" <<EOS
#!/bin/sh
echo "\$IP OK" >>"$work/popauth"
postmap -c "$work/pf" "$work/popauth"
exec "\$@"
EOS
    chmod 755 "$d/popauth.sh"
    cat >"$d/dovecot.conf" <<EOC
base_dir = $d/run
state_dir = $d/state
log_path = $work/popdove.log
protocols = pop3
listen = $SRV4
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:$d/mail/%u
passdb {
  driver = passwd-file
  args = scheme=PLAIN $d/passwd
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$d/mail/%u
}
service pop3 {
  executable = pop3 popauth
}
service popauth {
  executable = script-login $d/popauth.sh
  user = root
  unix_listener popauth {
    user = nobody
  }
}
EOC
    chmod 755 "$d" "$d/run"
    chmod 644 "$d/passwd"
    pf_start "smtpd_relay_restrictions = permit_mynetworks, check_client_access hash:$work/popauth, reject_unauth_destination"
    : >"$work/popauth"
    ip netns exec $S postmap -c "$work/pf" "$work/popauth"
    ip netns exec $S dovecot -c "$d/dovecot.conf"
    for _ in $(seq 1 50); do in_s ss -ltn | grep -q "$SRV4:110" && break; sleep 0.1; done
    one=retries/pop-before-smtp-postfix-dovecot.pcap
    capture "$out/$one" tcpdump
    in_c "${base[@]}" --to someone@example.org >/dev/null 2>&1 || true
    sleep 1
    in_c python3 -c "import poplib; p = poplib.POP3('$SRV4'); p.user('$USER'); p.pass_('$PASS'); p.stat(); p.quit()" >/dev/null 2>&1 || true
    sleep 1
    in_c "${base[@]}" --to someone@example.org >/dev/null 2>&1 || true
    stop_captures
    ip netns exec $S dovecot -c "$d/dovecot.conf" stop >/dev/null 2>&1 || true
    pf_stop
    echo "recorded $one"
}

setup
if [ "$only_retries" = 1 ]; then
    record_retries
    chmod 644 "$out"/retries/*
    exit 0
fi
if [ "$only_clients" = 1 ]; then
    record_clients
    chmod 644 "$out"/clients/*
    exit 0
fi
if [ "$only_sasl" = 1 ]; then
    record_postfix_sasl
    chmod 644 "$out"/postfix-sasl/*
    exit 0
fi
if [ "$only_suites" = 1 ]; then
    record_keylog_suites
    chmod 644 "$out"/keylog/*
    exit 0
fi
if [ "$only_inside" = 1 ]; then
    record_inside_tls
    chmod 644 "$out"/inside-tls/*
    exit 0
fi
swaks_base=(swaks --from "$USER" --to scans@domain.com --helo MX-4070N.domain.local --data "@$work/msg.txt" --timeout 10)
if [ "$only_field" = 1 ]; then
    record_field_forms
    chmod 644 "$out"/*.pcap*
    exit 0
fi
if [ "$only_postfix" = 1 ]; then
    record_postfix
    chmod 644 "$out"/postfix/*.pcap
    exit 0
fi

# Plain ESMTP to a tenant MX, no TLS (swaks).
server mx ok
record plain-mx-swaks.pcap tcpdump "${swaks_base[@]}" --server $SRV4 --port 25

# The supported configuration: 587, STARTTLS, AUTH inside TLS (curl).
server submission ok
record submission-starttls-curl.pcap tcpdump curl -sS --url "smtp://$SRV4:587" --mail-from "$USER" \
    --mail-rcpt scans@domain.com --upload-file "$work/msg.txt" --ssl-reqd -k -u "$USER:$PASS"

# AUTH LOGIN in clear text (a server that offers it before TLS), swaks; also gzip-compressed.
server submission ok --auth-plaintext --no-starttls
record auth-login-cleartext-swaks.pcap tcpdump "${swaks_base[@]}" --server $SRV4 --port 587 \
    --auth LOGIN --auth-user "$USER" --auth-password "$PASS"
gzip -9 -n -c "$out/auth-login-cleartext-swaks.pcap" >"$out/auth-login-cleartext-swaks.pcap.gz"
rm "$out/auth-login-cleartext-swaks.pcap"

# AUTH PLAIN with an initial response in clear text (msmtp).
record auth-plain-cleartext-msmtp.pcap tcpdump sh -c "printf 'Subject: scan\r\n\r\nbody\r\n' | msmtp --host=$SRV4 --port=587 --auth=plain --tls=off --user=$USER --passwordeval='echo $PASS' --from=$USER --domain=MX-4070N.domain.local scans@domain.com"

# PIPELINING with two recipients (swaks).
server mx ok
record pipelining-swaks.pcap tcpdump "${swaks_base[@]}" --to scans@domain.com,archive@domain.com --server $SRV4 --port 25 --pipeline

# CHUNKING: pipelined MAIL/RCPT/BDAT and three chunks (Python socket client).
record bdat-python.pcap tcpdump python3 "$here/clients/bdat_client.py" $SRV4 --port 25 --chunks 3

# Several transactions in one session with RSET between them (Python smtplib).
record multi-transaction-smtplib.pcap tcpdump python3 "$here/clients/smtplib_client.py" $SRV4 --port 25 --messages 3 --rset

# 5xx at RCPT (Spamhaus) and 4xx at RCPT (throttling), swaks.
server mx spamhaus
record reply-5xx-spamhaus-swaks.pcap tcpdump "${swaks_base[@]}" --server $SRV4 --port 25
server mx throttled
record reply-4xx-throttled-swaks.pcap tcpdump "${swaks_base[@]}" --server $SRV4 --port 25

# IPv6, written as pcapng by dumpcap.
server submission ok
record ipv6-starttls-swaks.pcapng dumpcap "${swaks_base[@]}" --server "$SRV6" --port 587 -tls \
    --auth LOGIN --auth-user "$USER" --auth-password "$PASS"

# tcpdump -i any: Linux cooked capture v2 (SLL2).
server mx ok
capture "$out/sll2-any-swaks.pcap" tcpdump any "tcp port 25"
in_c "${swaks_base[@]}" --server $SRV4 --port 25 >/dev/null 2>&1 || true
stop_captures
echo "recorded sll2-any-swaks.pcap"

# 802.1Q: a real recording whose frames tcprewrite tags with VLAN 100 (see the header).
record vlan-untagged.pcap tcpdump "${swaks_base[@]}" --server $SRV4 --port 25
tcprewrite --enet-vlan=add --enet-vlan-tag=100 --enet-vlan-cfi=0 --enet-vlan-pri=0 \
    --infile="$out/vlan-untagged.pcap" --outfile="$out/vlan-tagged-swaks.pcap"
rm "$out/vlan-untagged.pcap"
echo "tagged vlan-tagged-swaks.pcap"

# Packet loss on the wire: the router drops, once, the first client packet past 30 kB of
# the conversation (in the message body). The capture at the server sees the hole, the
# segments after it, then the retransmission: the stream arrives out of order. The clean
# twin is the same client run over the same path without the drop.
capture "$out/loss-clean-swaks.pcap" tcpdump vs2
in_c "${swaks_base[@]}" --server $SRVR --port 25 --data "@$work/large.txt" >/dev/null 2>&1 || true
stop_captures
for attempt in 1 2 3; do
    ip netns exec $R nft -f - <<'EOF'
table inet smtpcap_loss {
  chain lossy {
    type filter hook forward priority 0; policy accept;
    tcp dport 25 ct mark 0 ct original bytes > 30000 ct mark set 1 counter drop
  }
}
EOF
    capture "$out/loss-reordered-swaks.pcap" tcpdump vs2
    in_c "${swaks_base[@]}" --server $SRVR --port 25 --data "@$work/large.txt" >/dev/null 2>&1 || true
    stop_captures
    dropped=$(ip netns exec $R nft list table inet smtpcap_loss | grep -o 'packets [0-9]*' | grep -o '[0-9]*')
    ip netns exec $R nft delete table inet smtpcap_loss
    [ "${dropped:-0}" -ge 1 ] && break
    echo "the loss rule did not drop (attempt $attempt)" >&2
    [ "$attempt" = 3 ] && exit 1
done
echo "recorded loss-clean-swaks.pcap, loss-reordered-swaks.pcap"

# IPv4 fragments: the client stops setting DF and the router's link to the server has an
# MTU of 576, so the router fragments the client's segments on their way.
in_c sysctl -qw net.ipv4.ip_no_pmtu_disc=1
ip -n $R link set rs mtu 576
capture "$out/fragments-router-swaks.pcap" tcpdump vs2
in_c "${swaks_base[@]}" --server $SRVR --port 25 --data "@$work/medium.txt" >/dev/null 2>&1 || true
stop_captures
ip -n $R link set rs mtu 1500
in_c sysctl -qw net.ipv4.ip_no_pmtu_disc=0
echo "recorded fragments-router-swaks.pcap"

# Packets the capture missed: the same session recorded twice at once, once whole and
# once through a filter that drops the segment carrying RCPT (a lossy mirror port).
payload='(ip[2:2] - ((ip[0] & 0xf) << 2) - ((tcp[12] & 0xf0) >> 2))'
at='((tcp[12] & 0xf0) >> 2)'
capture "$out/missed-clean-smtplib.pcap" tcpdump vs "tcp port 25"
capture "$out/missed-rcpt-smtplib.pcap" tcpdump vs "tcp port 25 and not ($payload >= 4 and (tcp[$at:4] = 0x52435054 or tcp[$at:4] = 0x72637074))"
in_c python3 "$here/clients/smtplib_client.py" $SRV4 --port 25 --messages 2 >/dev/null 2>&1 || true
stop_captures
echo "recorded missed-clean-smtplib.pcap, missed-rcpt-smtplib.pcap"

# A capture started in the middle of a conversation (the client pauses after EHLO), with
# its whole twin recorded at the same time.
capture "$out/midstream-clean-smtplib.pcap" tcpdump vs "tcp port 25"
ip netns exec $C python3 "$here/clients/smtplib_client.py" $SRV4 --port 25 --messages 2 --pause-after-ehlo 2 >/dev/null 2>&1 &
client=$!
sleep 1
capture "$out/midstream-late-smtplib.pcap" tcpdump vs "tcp port 25"
wait $client || true
stop_captures
echo "recorded midstream-clean-smtplib.pcap, midstream-late-smtplib.pcap"

# The seed guide's scenarios and misleading indicators, and each finding a capture can
# show, as a device would produce them: names resolved through DNS, the server answering
# as the endpoint named. Where Exchange Online answers inside TLS (login results), a
# "lab" server offering AUTH in clear makes the reply visible (--auth-plaintext).
sc="$out/scenarios"
mkdir -p "$sc"
ip netns exec $S python3 "$here/dns_sim.py" --listen $DNS4 \
    --a smtp.office365.com=$SRV4 --a contoso-com.mail.protection.outlook.com=$SRV4 &
mx=contoso-com.mail.protection.outlook.com
sub=smtp.office365.com
py=(python3 "$here/clients/smtplib_client.py")
lab=(--auth-plaintext --no-starttls)

server mx spamhaus
record scenarios/mx-port25-spamhaus.pcap tcpdump "${swaks_base[@]}" --server $mx --port 25
server mx ok
record scenarios/auth-on-mx.pcap tcpdump "${py[@]}" $mx --port 25 --force-auth --user "$USER" --password "$PASS"
server mx relay-denied
record scenarios/mx-relay-denied.pcap tcpdump "${swaks_base[@]}" --to someone@example.net --server $mx --port 25
server mx wrong-region
record scenarios/mx-wrong-region.pcap tcpdump "${swaks_base[@]}" --server $mx --port 25
server submission ok
record scenarios/supported-587.pcap tcpdump "${py[@]}" $sub --port 587 --starttls --user "$USER" --password "$PASS" --attachment-kb 48
record scenarios/starttls-without-auth.pcap tcpdump "${py[@]}" $sub --port 587 --starttls
record scenarios/connection-test.pcap tcpdump "${py[@]}" $sub --port 587 --quit-after-ehlo
record scenarios/ssl-disabled-auth-on.pcap tcpdump "${py[@]}" $sub --port 587 --force-auth --send-after-failed-auth --user "$USER" --password "$PASS"
record scenarios/implicit-tls-465.pcap tcpdump "${swaks_base[@]}" --server $sub --port 465 --tls-on-connect
record scenarios/connection-refused.pcap tcpdump "${swaks_base[@]}" --server $sub --port 2525
record scenarios/dns-typo.pcap tcpdump "${swaks_base[@]}" --server smtp.office365.co --port 587
record scenarios/pop-before-smtp.pcap tcpdump "${py[@]}" $sub --port 587 --starttls --user "$USER" --password "$PASS" --attachment-kb 48 --pop-first $SRV4:110
server submission bad-helo
record scenarios/invalid-helo.pcap tcpdump "${swaks_base[@]}" --helo "MX-4070N..local" --server $sub --port 587
server submission tls10-rejected
record scenarios/tls-too-old.pcap tcpdump "${py[@]}" $sub --port 587 --starttls --tls-max 1.1 --user "$USER" --password "$PASS"
for s in auth-failed auth-disabled basic-retired concurrent; do
    server submission $s "${lab[@]}"
    record scenarios/lab-$s.pcap tcpdump "${swaks_base[@]}" --server $sub --port 587 --auth LOGIN --auth-user "$USER" --auth-password "$PASS"
done
server submission send-as-denied "${lab[@]}"
record scenarios/lab-send-as-denied.pcap tcpdump "${swaks_base[@]}" --from scanner@domain.com --server $sub --port 587 --auth LOGIN --auth-user "$USER" --auth-password "$PASS"
server submission restricted-sender "${lab[@]}"
record scenarios/lab-restricted-sender.pcap tcpdump "${swaks_base[@]}" --server $sub --port 587 --auth LOGIN --auth-user "$USER" --auth-password "$PASS"
# A capture with a snapshot length (tcpdump -s 80): the replies are cut.
server mx ok
ip netns exec $S tcpdump --immediate-mode -i vs -s 80 -U -w "$sc/snaplen-80.pcap" 'tcp or udp port 53' 2>"$sc/snaplen-80.pcap.log" &
capture_pids+=($!)
sleep 1
in_c "${swaks_base[@]}" --server $mx --port 25 >/dev/null 2>&1 || true
stop_captures
echo "recorded scenarios/snaplen-80.pcap"
# A filtered port: the server namespace drops SYNs to 25 (the capture, before netfilter,
# still sees them); the client retries until its timeout.
in_s nft -f - <<'EOF'
table inet smtpcap_block {
  chain in {
    type filter hook input priority 0; policy accept;
    tcp dport 25 drop
  }
}
EOF
record scenarios/port-blocked.pcap tcpdump "${swaks_base[@]}" --server $mx --port 25 --timeout 4
in_s nft delete table inet smtpcap_block

# Other container formats of the same traffic, as the Wireshark tools write them:
# nanosecond pcap (editcap), and one pcapng with two sections (cat) whose first section
# has two interfaces of different link types (mergecap of an Ethernet and an SLL2 capture).
editcap -F nsecpcap "$out/plain-mx-swaks.pcap" "$out/plain-mx-nanosecond.pcap"
mergecap -F pcapng -w "$work/two-interfaces.pcapng" "$out/pipelining-swaks.pcap" "$out/sll2-any-swaks.pcap"
cat "$work/two-interfaces.pcapng" "$out/ipv6-starttls-swaks.pcapng" >"$out/multi-section-interface.pcapng"
echo "converted plain-mx-nanosecond.pcap, multi-section-interface.pcapng"

record_field_forms
record_postfix
record_inside_tls
record_keylog_suites
record_postfix_sasl
record_retries

chmod 644 "$out"/*.pcap* "$out"/scenarios/* "$out"/postfix/* "$out"/retries/*
ls -l "$out"
