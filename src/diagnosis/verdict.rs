//! A capture's verdict: what happened first, then what in the configuration is wrong.
//! The reports render it each in their own way.

use super::catalogue::{FindingId, Severity};
use super::outcome::Stage;
use super::Summary;

/// What happened to the attempts, the worst first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Happened {
    /// A reply refused the attempt at this stage.
    Rejected {
        stage: Stage,
        reply: Option<String>,
    },
    /// A message was accepted in clear text.
    Delivered,
    /// The server's encrypted answer to a message has the length of an acceptance (and of
    /// no refusal): read from the record lengths, not seen.
    DeliveredInferred,
    /// A message-sized transfer went through TLS; its acceptance is encrypted.
    SentInsideTls,
    TlsFailed,
    NoConnection,
    /// The capture holds no SMTP or POP3 conversation.
    NoConversation,
    /// The capture does not hold the result.
    CannotSee,
    /// Only connection tests.
    OnlyTests,
    NotSent,
}

/// A finding as the verdict names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Named {
    pub id: FindingId,
    pub title: &'static str,
    /// Further findings of the same severity.
    pub more: usize,
}

/// A capture's verdict: what happened first, then the cause or the first warning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// What happened to the mail.
    pub happened: Happened,
    /// The first error in report order: the cause of a failure leads its session's.
    pub cause: Option<Named>,
    /// The first warning, when no error is the cause.
    pub warning: Option<Named>,
    /// A delivery that came after failed attempts: which attempt it was, what it
    /// superseded, what changed.
    pub story: Option<super::attempts::AttemptMark>,
    /// A refusal stands, and another message (another job) was delivered.
    pub also_delivered: bool,
}

impl Verdict {
    /// The attempt failed, or an error stands even though nothing failed outright.
    pub fn is_failure(&self) -> bool {
        matches!(
            self.happened,
            Happened::Rejected { .. } | Happened::TlsFailed | Happened::NoConnection
        ) || (self.cause.is_some() && self.happened == Happened::NoConversation)
    }

    /// A warning about the capture itself, not about the configuration.
    pub fn warning_is_about_capture(&self) -> bool {
        self.warning.is_some_and(|w| {
            matches!(
                w.id,
                FindingId::CaptureIncomplete
                    | FindingId::CaptureTruncated
                    | FindingId::ConflictingRetransmission
            )
        })
    }
}

impl Summary {
    /// The verdict from what the report gathered.
    pub fn verdict(&self) -> Verdict {
        let named = |i: usize| {
            self.first[i].map(|(id, title)| Named {
                id,
                title,
                more: (self.counts[i] - self.superseded_counts[i]).saturating_sub(1),
            })
        };
        let happened = if let Some((stage, reply)) = &self.rejected {
            Happened::Rejected {
                stage: *stage,
                reply: reply.clone(),
            }
        } else if self.delivered {
            Happened::Delivered
        } else if self.delivered_inferred {
            Happened::DeliveredInferred
        } else if self.encrypted_transfer {
            Happened::SentInsideTls
        } else if self.tls_failed {
            Happened::TlsFailed
        } else if self.no_connection && self.sessions > 0 {
            Happened::NoConnection
        } else if self.sessions == 0 {
            Happened::NoConversation
        } else if self.incomplete {
            Happened::CannotSee
        } else if self.all_test_only {
            Happened::OnlyTests
        } else {
            Happened::NotSent
        };
        let refused = matches!(happened, Happened::Rejected { .. });
        Verdict {
            happened,
            cause: named(Severity::Error.index()),
            warning: named(Severity::Warning.index()),
            story: self.story.clone(),
            also_delivered: refused && (self.delivered || self.delivered_inferred),
        }
    }
}
