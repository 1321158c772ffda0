//! Stage 4 commons: what protocol dialogues are made of (entries, lines, SASL answers)
//! and the recorder SMTP and POP3 write them with.

mod answered;
mod entry;
mod line;
mod recorder;
mod sasl;

pub use answered::{Answered, Verb};
pub use entry::{
    looks_like_tls, merged, reply_sentence, Answers, Body, BodyKind, Entry, EntryKind, Gap,
    Provenance, TlsPart, Unparsed,
};
pub use line::{clip, display_text, Line, LineSplitter, MAX_LINE};
pub use recorder::{Recorder, Slot};
pub use sasl::{decode_base64, decode_response, AuthData, Exposure};
