use super::*;

fn feed(s: &mut SmtpSession, side: Side, frame: u64, data: &[u8]) {
    s.event(side, frame, Timestamp::default(), StreamEvent::Data(data));
}

fn summary(s: &SmtpSession) -> Vec<String> {
    s.record
        .entries
        .iter()
        .map(|e| match &e.kind {
            EntryKind::Command { command, .. } => format!("{} C:{command}", e.frame),
            EntryKind::Reply { code, .. } => format!("{} S:{code}", e.frame),
            EntryKind::Auth { auth } => format!(
                "{} auth:{}",
                e.frame,
                auth.username.clone().unwrap_or("*".into())
            ),
            EntryKind::Body { body } => format!("{} body:{}", e.frame, body.bytes),
            EntryKind::Tls { tls } => format!("{} tls:{}", e.frame, tls.bytes),
            EntryKind::Gap { gap } => format!("{} gap:{}", e.frame, gap.bytes),
            EntryKind::Unparsed { unparsed } => format!("{} ?:{}", e.frame, unparsed.bytes),
            EntryKind::Status { status, .. } => format!("{} S:{status}", e.frame),
        })
        .collect()
}

#[test]
fn pipelined_commands_and_rejected_data_are_not_a_body() {
    let mut s = SmtpSession::new(false);
    feed(&mut s, Side::Server, 1, b"220 mx ESMTP\r\n");
    feed(
        &mut s,
        Side::Client,
        2,
        b"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n",
    );
    feed(&mut s, Side::Server, 3, b"553 no\r\n503 no\r\n503 no\r\n");
    feed(&mut s, Side::Client, 4, b"RSET\r\n");
    s.finish();
    assert_eq!(
        summary(&s),
        [
            "1 S:220", "2 C:MAIL", "2 C:RCPT", "2 C:DATA", "3 S:553", "3 S:503", "3 S:503",
            "4 C:RSET"
        ]
    );
}

#[test]
fn auth_login_password_is_withheld() {
    let mut s = SmtpSession::new(false);
    feed(&mut s, Side::Server, 1, b"220 x\r\n");
    feed(&mut s, Side::Client, 2, b"AUTH LOGIN\r\n");
    feed(&mut s, Side::Server, 3, b"334 VXNlcm5hbWU6\r\n");
    feed(&mut s, Side::Client, 4, b"dXNlckBleGFtcGxlLmNvbQ==\r\n");
    feed(&mut s, Side::Server, 5, b"334 UGFzc3dvcmQ6\r\n");
    feed(&mut s, Side::Client, 6, b"aHVudGVyMg==\r\n");
    feed(&mut s, Side::Server, 7, b"235 2.7.0 ok\r\n");
    feed(&mut s, Side::Client, 8, b"QUIT\r\n");
    s.finish();
    assert_eq!(
        summary(&s),
        [
            "1 S:220",
            "2 C:AUTH",
            "3 S:334",
            "4 auth:user@example.com",
            "5 S:334",
            "6 auth:*",
            "7 S:235",
            "8 C:QUIT"
        ]
    );
    let json = format!("{:?}", s.record.entries);
    assert!(!json.contains("hunter2") && !json.contains("aHVudGVyMg"));
    assert!(s.secrets.contains(&"hunter2".to_string()));
}

#[test]
fn starttls_switches_both_sides_to_tls() {
    let mut s = SmtpSession::new(false);
    feed(&mut s, Side::Server, 1, b"220 x\r\n");
    feed(&mut s, Side::Client, 2, b"STARTTLS\r\n");
    feed(&mut s, Side::Server, 3, b"220 2.0.0 SMTP server ready\r\n");
    feed(&mut s, Side::Client, 4, b"\x16\x03\x01\x00\x05hello");
    feed(&mut s, Side::Server, 5, b"\x16\x03\x03\x00\x02hi");
    s.finish();
    assert_eq!(
        summary(&s),
        ["1 S:220", "2 C:STARTTLS", "3 S:220", "4 tls:10", "5 tls:7"]
    );
}

#[test]
fn bdat_chunks_are_counted_by_length() {
    let mut s = SmtpSession::new(false);
    feed(&mut s, Side::Server, 1, b"220 x\r\n");
    feed(&mut s, Side::Client, 2, b"BDAT 6\r\nQUIT\r");
    feed(&mut s, Side::Client, 3, b"\nBDAT 0 LAST\r\nQUIT\r\n");
    s.finish();
    assert_eq!(
        summary(&s),
        ["1 S:220", "2 C:BDAT", "2 body:6", "3 C:BDAT", "3 body:0", "3 C:QUIT"]
    );
}

#[test]
fn a_server_turned_to_garbage_does_not_hide_the_client() {
    let mut s = SmtpSession::new(false);
    feed(&mut s, Side::Server, 1, b"220 mx ESMTP\r\n");
    feed(&mut s, Side::Client, 2, b"EHLO MX-4070N\r\n");
    for f in 3..7 {
        feed(&mut s, Side::Server, f, &[b'x'; 1225]);
    }
    let user = "b2ZmaWNlQGRvbWFpbi5jb20="; // office@domain.com
    let pass = "U2NhbjJNYWlsITIwMjY="; // Scan2Mail!2026
    let lines = [
        "AUTH LOGIN\r\n".to_string(),
        format!("{user}\r\n"),
        format!("{pass}\r\n"),
        "MAIL FROM:<office@domain.com>\r\n".into(),
        "RCPT TO:<scans@domain.com>\r\n".into(),
        "DATA\r\n".into(),
        format!("Subject: scan\r\n\r\n{}\r\n.\r\n", "y".repeat(6000)),
        "QUIT\r\n".into(),
    ];
    for (i, l) in lines.iter().enumerate() {
        feed(&mut s, Side::Client, 7 + i as u64, l.as_bytes());
    }
    s.finish();
    let cmds: Vec<&str> = s
        .record
        .entries
        .iter()
        .filter_map(|e| e.command())
        .collect();
    assert_eq!(cmds, ["EHLO", "AUTH", "MAIL", "RCPT", "DATA", "QUIT"]);
    assert!(
        s.secrets.iter().any(|p| p == "Scan2Mail!2026"),
        "{:?}",
        s.secrets
    );
    let auth = s
        .record
        .entries
        .iter()
        .filter(|e| matches!(e.kind, EntryKind::Auth { .. }))
        .count();
    assert_eq!(auth, 2);
    let body = s.record.entries.iter().find_map(|e| match &e.kind {
        EntryKind::Body { body } => Some(body.complete),
        _ => None,
    });
    assert_eq!(body, Some(true));
    // Every server byte is accounted for: the greeting and one unparsed run.
    let unparsed: u64 = s
        .record
        .entries
        .iter()
        .filter_map(|e| match &e.kind {
            EntryKind::Unparsed { unparsed } if e.from == Side::Server => Some(unparsed.bytes),
            _ => None,
        })
        .sum();
    assert_eq!(unparsed, 4 * 1225);
}

#[test]
fn one_sided_capture_reads_the_body() {
    let mut s = SmtpSession::new(false);
    feed(
        &mut s,
        Side::Client,
        1,
        b"ehlo x\r\nmail FROM:<a>\r\nrcpt TO:<b>\r\ndata\r\n",
    );
    feed(
        &mut s,
        Side::Client,
        2,
        b"From: a\r\n\r\nbody\r\n.\r\nquit\r\n",
    );
    s.finish();
    assert_eq!(
        summary(&s),
        [
            "1 C:EHLO",
            "1 C:MAIL",
            "1 C:RCPT",
            "1 C:DATA",
            "2 body:17",
            "2 C:QUIT"
        ]
    );
}
