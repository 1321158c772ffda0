#![no_main]
//! Arbitrary client and server bytes, in arbitrary chunks and with gaps, through the SMTP
//! and POP3 state machines (the analyze target renders their dialogues).
use libfuzzer_sys::fuzz_target;
use smtpcap::internals::pop3::Pop3Session;
use smtpcap::internals::smtp::SmtpSession;
use smtpcap::internals::tcp::{GapReason, StreamEvent};
use smtpcap::Side;
use smtpcap::Timestamp;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, mut rest)) = data.split_first() else {
        return;
    };
    let mut smtp = SmtpSession::new(mode & 1 == 1);
    let mut pop3 = Pop3Session::new(mode & 1 == 1);
    let mut frame = 0;
    while let Some((&ctl, tail)) = rest.split_first() {
        frame += 1;
        let n = usize::from(ctl >> 2).min(tail.len());
        let (chunk, next) = tail.split_at(n);
        rest = next;
        let side = if ctl & 1 == 0 {
            Side::Client
        } else {
            Side::Server
        };
        let ev = if ctl & 2 == 2 && n == 0 {
            StreamEvent::Gap {
                len: u64::from(ctl),
                reason: GapReason::NotCaptured,
            }
        } else {
            StreamEvent::Data(chunk)
        };
        let ev2 = match &ev {
            StreamEvent::Data(d) => StreamEvent::Data(d),
            StreamEvent::Gap { len, reason } => StreamEvent::Gap {
                len: *len,
                reason: *reason,
            },
        };
        smtp.event(side, frame, Timestamp::default(), ev);
        pop3.event(side, frame, Timestamp::default(), ev2);
    }
    smtp.finish();
    pop3.finish();
    let _ = format!("{:?}{:?}", smtp.record.entries, pop3.record.entries);
});
