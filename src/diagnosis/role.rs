use super::server::{Endpoint, Provider, ServerIdentity};

/// Which kind of Microsoft 365 endpoint the server is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerRole {
    /// smtp.office365.com (or smtp-legacy): authenticated client submission.
    ExoSubmission,
    /// *.mail.protection.outlook.com or *.mx.microsoft: the tenant's inbound MX.
    ExoInboundMx,
    Other,
}

impl ServerRole {
    pub fn name(self) -> &'static str {
        match self {
            ServerRole::ExoSubmission => "exo-submission",
            ServerRole::ExoInboundMx => "exo-inbound-mx",
            ServerRole::Other => "other",
        }
    }
}

impl ServerRole {
    /// The endpoint kind that Microsoft 365 findings speak of.
    pub fn of(server: &ServerIdentity) -> ServerRole {
        match (server.provider, server.endpoint) {
            (Provider::ExchangeOnline, Endpoint::Submission | Endpoint::LegacySubmission) => {
                ServerRole::ExoSubmission
            }
            (Provider::ExchangeOnline, Endpoint::InboundMx) => ServerRole::ExoInboundMx,
            _ => ServerRole::Other,
        }
    }
}
