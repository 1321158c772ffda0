//! Stage 4 commons: what protocol dialogues are made of (entries, lines, SASL answers).

mod answered;
mod entry;
mod line;
mod sasl;

pub use answered::{Answered, Verb};
pub use entry::{
    looks_like_tls, push_bounded, Answers, Body, BodyKind, Entry, EntryKind, Gap, TlsPart, Unparsed,
};
pub use line::{clip, display_text, Line, LineSplitter, MAX_LINE};
pub use sasl::{decode_base64, decode_response, AuthData};
