//! What a reply answers, typed: the stages after the protocol parsers match on these,
//! not on strings. Serialised as the strings the JSON format documents (`GREETING`,
//! `end of data`, `not a command`, or the verb).

/// A command verb of SMTP (RFC 5321 and its extensions) or POP3; others as written.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Verb {
    Helo,
    Ehlo,
    Lhlo,
    Mail,
    Rcpt,
    Data,
    Bdat,
    Rset,
    Vrfy,
    Expn,
    Help,
    Noop,
    Quit,
    Starttls,
    Auth,
    User,
    Pass,
    Apop,
    Capa,
    Stls,
    Other(String),
}

/// The typed verbs and their words.
const WORDS: &[(&str, Verb)] = &[
    ("HELO", Verb::Helo),
    ("EHLO", Verb::Ehlo),
    ("LHLO", Verb::Lhlo),
    ("MAIL", Verb::Mail),
    ("RCPT", Verb::Rcpt),
    ("DATA", Verb::Data),
    ("BDAT", Verb::Bdat),
    ("RSET", Verb::Rset),
    ("VRFY", Verb::Vrfy),
    ("EXPN", Verb::Expn),
    ("HELP", Verb::Help),
    ("NOOP", Verb::Noop),
    ("QUIT", Verb::Quit),
    ("STARTTLS", Verb::Starttls),
    ("AUTH", Verb::Auth),
    ("USER", Verb::User),
    ("PASS", Verb::Pass),
    ("APOP", Verb::Apop),
    ("CAPA", Verb::Capa),
    ("STLS", Verb::Stls),
];

impl Verb {
    /// The verb of an (upper-case) command word.
    pub fn parse(word: &str) -> Verb {
        WORDS
            .iter()
            .find(|(w, _)| *w == word)
            .map_or_else(|| Verb::Other(word.to_string()), |(_, v)| v.clone())
    }

    pub fn as_str(&self) -> &str {
        match self {
            Verb::Other(w) => w,
            v => WORDS.iter().find(|(_, x)| x == v).map_or("", |(w, _)| w),
        }
    }
}

/// What a reply answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answered {
    /// The server's greeting: it answers no command.
    Greeting,
    /// The lone dot that ends a DATA body.
    EndOfData,
    /// A line the client sent that was no command (the server answers it all the same).
    NotACommand,
    Command(Verb),
}

impl Answered {
    pub fn as_str(&self) -> &str {
        match self {
            Answered::Greeting => "GREETING",
            Answered::EndOfData => "end of data",
            Answered::NotACommand => "not a command",
            Answered::Command(v) => v.as_str(),
        }
    }

    /// Whether this answers the command `verb`.
    pub fn is(&self, verb: &Verb) -> bool {
        matches!(self, Answered::Command(v) if v == verb)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbs_round_trip_through_their_words() {
        for (w, v) in WORDS {
            assert_eq!(Verb::parse(w), *v);
            assert_eq!(v.as_str(), *w);
        }
        assert_eq!(Verb::parse("XEXCH50").as_str(), "XEXCH50");
        assert_eq!(Answered::EndOfData.as_str(), "end of data");
        assert!(Answered::Command(Verb::Ehlo).is(&Verb::Ehlo));
        assert!(!Answered::Greeting.is(&Verb::Ehlo));
    }
}
