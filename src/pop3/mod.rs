//! Stage 4: POP3 conversations (RFC 1939), kept because a POP3 login before SMTP
//! (POP-before-SMTP) is a configuration the diagnosis must recognise.

mod session;

pub use session::Pop3Session;
