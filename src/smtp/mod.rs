//! Stage 4: the SMTP dialogue of a conversation, up to STARTTLS (or implicit TLS):
//! `wire` reads lines and bodies without state, `session` follows the conversation.

mod session;
mod wire;

pub use session::SmtpSession;
pub use wire::{enhanced_code, parse_reply_line, ReplyLine};
