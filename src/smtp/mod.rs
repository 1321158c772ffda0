//! Stage 4: the SMTP dialogue of a conversation, up to STARTTLS (or implicit TLS).

mod reply;
mod session;

pub use reply::{enhanced_code, parse_reply_line, ReplyLine};
pub use session::SmtpSession;
