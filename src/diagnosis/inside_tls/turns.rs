//! From the encrypted records to the plaintext length of each turn of the dialogue:
//! TLS 1.3's handshake flight and the client's Finished left out, session tickets learnt
//! and key updates and closing alerts made optional, the suite's overhead taken off.

use super::Decline;
use super::DeclineReason;
use crate::base::{Len, Side, Timestamp};
use crate::tls::{RecordShape, SealedTurn, SEALED_HEAD};

/// One side's turn of the dialogue, as plaintext lengths.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Turn {
    pub side: Side,
    pub frame: u64,
    pub last_frame: u64,
    /// The plaintext length of the whole turn.
    pub len: Len,
    /// Other readings of the turn: its length without records that may be session
    /// tickets or key updates (TLS 1.3) rather than SMTP.
    pub without: Vec<Len>,
    /// When its first and its last record were seen.
    pub time: Timestamp,
    pub last_time: Timestamp,
}

/// A TLS 1.3 `KeyUpdate`: a 5-byte handshake message (27 bytes on the wire).
const KEY_UPDATE: u64 = 5;
/// A TLS 1.3 alert: two bytes.
const ALERT: u64 = 2;

/// The dialogue's turns from the sealed turns of a session.
///
/// # Errors
/// A decline where the lengths cannot be turned into plaintext: records that fit no
/// plaintext for the suite, or every server record padded to a block.
pub fn turns(
    sealed: &[SealedTurn],
    shape: RecordShape,
    tls13: bool,
    greeting_inside: bool,
) -> Result<Vec<Turn>, Decline> {
    let plain = |body: u32| shape.plaintext(u64::from(body));
    let mut out = Vec::new();
    let mut tickets: Vec<u64> = Vec::new();
    // TLS 1.3: the client's Finished first, then the server's tickets until its first
    // command.
    let mut finished = !tls13;
    let mut first_command = !tls13;
    let mut i = 0;
    if tls13 {
        // The server's flight before the client's Finished is handshake.
        while sealed.get(i).is_some_and(|t| t.side == Side::Server) {
            i += 1;
        }
    }
    let mut padded = (0u64, 0u64);
    while let Some(t) = sealed.get(i) {
        i += 1;
        let mut records: Vec<u64> = Vec::new();
        let mut skip_first = false;
        if !finished && t.side == Side::Client {
            // The client's Finished; what follows it in the turn is its first command.
            skip_first = true;
            finished = true;
            first_command = t.records > 1;
        } else if !first_command && t.side == Side::Client {
            first_command = true;
        } else if !first_command {
            // Server records between the client's Finished and its first command: tickets,
            // and with implicit TLS the greeting last.
            let n = if greeting_inside {
                t.head().len().saturating_sub(1)
            } else {
                t.head().len()
            };
            if greeting_inside {
                let last = plain(t.last).map_or(Len::exact(0), |(a, b)| Len::range(a, b));
                out.push(Turn {
                    side: t.side,
                    frame: t.last_frame,
                    last_frame: t.last_frame,
                    len: last,
                    without: Vec::new(),
                    time: t.last_time,
                    last_time: t.last_time,
                });
            }
            for &r in t.head().iter().take(n) {
                if let Some((lo, _)) = plain(r) {
                    tickets.push(lo);
                }
            }
            continue;
        }
        let mut len = plaintext(t, shape)?;
        for r in t.head() {
            let Some((rlo, rhi)) = plain(*r) else {
                return Err(Decline::new(
                    DeclineReason::UnexpectedShape,
                    t.first_frame,
                    format!("a record of {r} bytes fits no plaintext of the suite"),
                ));
            };
            if t.side == Side::Server {
                padded.0 += 1;
                padded.1 += u64::from(rlo == rhi && rlo > 0 && (rlo % 16 == 0));
            }
            records.push(rlo);
        }
        if skip_first {
            if t.records <= 1 {
                continue;
            }
            let finished = t.head().first().and_then(|r| plain(*r));
            let Some(rest) = finished.and_then(|(a, b)| len.minus(Len::range(a, b))) else {
                continue;
            };
            len = rest;
            records.remove(0);
        }
        // Optional records: tickets (server), key updates and alerts (either side).
        let last = plain(t.last).map_or(0, |(lo, _)| lo);
        let mut optional: Vec<u64> = records
            .iter()
            .copied()
            .filter(|&r| {
                tls13 && (r == KEY_UPDATE || (t.side == Side::Server && tickets.contains(&r)))
            })
            .collect();
        if tls13 && t.records > SEALED_HEAD as u64 && last == KEY_UPDATE {
            optional.push(last);
        }
        // A closing alert ends the turn; alone, it is no turn.
        if tls13 && last <= ALERT {
            if t.records == 1 {
                continue;
            }
            len = len.minus(Len::exact(last)).unwrap_or(len);
        }
        let mut without = Vec::new();
        let mut dropped = Len::exact(0);
        for r in optional {
            dropped = dropped.plus(Len::exact(r));
            if let Some(l) = len.minus(dropped) {
                without.push(l);
            }
        }
        match out.last_mut() {
            // Turns alternate, but a turn left out (an alert alone) joins its neighbours.
            Some(prev) if prev.side == t.side => {
                prev.len = prev.len.plus(len);
                prev.last_frame = t.last_frame;
                prev.last_time = t.last_time;
                prev.without.clear();
            }
            _ => out.push(Turn {
                side: t.side,
                frame: t.first_frame,
                last_frame: t.last_frame,
                len,
                without,
                time: t.time,
                last_time: t.last_time,
            }),
        }
    }
    if padded.0 >= 4 && padded.0 == padded.1 {
        return Err(padded_decline(&out, padded.0));
    }
    Ok(out)
}

fn padded_decline(out: &[Turn], records: u64) -> Decline {
    Decline::new(
        DeclineReason::Padded,
        out.first().map_or(0, |t| t.frame),
        format!(
            "every one of the server's {records} records carries a multiple of 16 bytes: the sender pads them"
        ),
    )
}

/// The plaintext length of a turn: its records' bodies less the suite's overhead, each
/// record's range added up.
fn plaintext(t: &SealedTurn, shape: RecordShape) -> Result<Len, Decline> {
    let n = t.records;
    let (lo, hi) = shape.plaintext_of(t.length, n).ok_or_else(|| {
        Decline::new(
            DeclineReason::UnexpectedShape,
            t.first_frame,
            format!(
                "{n} records of {} bytes are shorter than the suite's overhead",
                t.length
            ),
        )
    })?;
    Ok(Len::range(lo, hi))
}
