//! Why a live capture could not start, as a person can act on it.

use std::fmt;

/// Why capturing on an interface could not start.
#[derive(Debug)]
pub enum LiveError {
    /// No interface of that name.
    NoInterface(String),
    /// Capturing needs root or `CAP_NET_RAW`.
    Permission(String),
    /// A link type the packet decoder does not read.
    LinkType(String, u32),
    /// The capture filter does not compile.
    Filter(String, String),
    /// The file for `--write` cannot be made.
    Write(String),
    /// Anything else libpcap says.
    Other(String, String),
}

impl fmt::Display for LiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LiveError::NoInterface(i) => {
                write!(f, "no interface named {i} (`ip link` lists them)")
            }
            LiveError::Permission(i) => write!(
                f,
                "capturing on {i} needs root or the CAP_NET_RAW capability: run it with sudo, or \
                 allow it once with: sudo setcap cap_net_raw,cap_net_admin=eip \"$(command -v smtpcap)\""
            ),
            LiveError::LinkType(i, n) => write!(
                f,
                "{i}: link type {n} is not one smtpcap reads (Ethernet, Linux cooked, raw IP, \
                 loopback); capture with tcpdump -w - and pipe it to `smtpcap watch -`"
            ),
            LiveError::Filter(filter, e) => {
                write!(f, "the capture filter `{filter}` is not valid: {e}")
            }
            LiveError::Write(e) => write!(f, "cannot write the capture file: {e}"),
            LiveError::Other(i, e) => write!(f, "cannot capture on {i}: {e}"),
        }
    }
}

impl std::error::Error for LiveError {}

#[cfg(feature = "live")]
impl LiveError {
    /// libpcap's error, told apart by what it says.
    pub(crate) fn from_pcap(iface: &str, e: &pcap::Error) -> Self {
        let text = e.to_string();
        let lower = text.to_ascii_lowercase();
        if lower.contains("permission") || lower.contains("not permitted") {
            LiveError::Permission(iface.to_string())
        } else if lower.contains("no such device") || lower.contains("doesn't exist") {
            LiveError::NoInterface(iface.to_string())
        } else {
            LiveError::Other(iface.to_string(), text)
        }
    }
}
