//! Stage 4: the SMTP dialogue of a conversation, up to STARTTLS (or implicit TLS).

mod auth;
mod dialogue;
mod line;
mod reply;
mod session;

pub use auth::{decode_base64, decode_response, AuthData};
pub use dialogue::{seconds, Answers, Body, BodyKind, Entry, EntryKind, Gap, TlsPart, Unparsed};
pub use line::{display_text, Line, LineSplitter, MAX_LINE};
pub use reply::{enhanced_code, parse_reply_line, ReplyLine};
pub use session::SmtpSession;
