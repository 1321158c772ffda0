//! Why a live capture could not start, as a person can act on it.

use std::fmt;
use std::path::PathBuf;

/// Why capturing on an interface could not start.
#[derive(Debug)]
pub enum LiveError {
    /// No interface of that name.
    NoInterface(String),
    /// smtpcap may not capture on the interface, and dumpcap could not do it instead (how
    /// dumpcap fared says what to do).
    NoRights {
        /// The interface.
        interface: String,
        /// What became of dumpcap.
        dumpcap: Dumpcap,
    },
    /// A link type the packet decoder does not read.
    LinkType(String, u32),
    /// The capture filter does not compile.
    Filter(String, String),
    /// The file for `--write` cannot be made.
    Write(String),
    /// Capturing through libpcap was asked of an smtpcap built without it.
    NoLibpcap,
    /// Anything else libpcap or dumpcap says.
    Other(String, String),
}

/// What became of Wireshark's `dumpcap` when smtpcap could not capture itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dumpcap {
    /// Not tried: capturing through libpcap was asked for.
    NotTried,
    /// No `dumpcap` on the search path.
    NotFound,
    /// This user may not run it (Debian: not in the `wireshark` group).
    NotAllowed(PathBuf),
    /// It runs, but may not capture either (Debian: non-superusers may not capture).
    NoRights(PathBuf),
}

/// How to join the group that may run dumpcap.
const JOIN_GROUP: &str =
    "add yourself to the wireshark group (`sudo usermod -aG wireshark $USER`, then log in again)";

impl fmt::Display for LiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LiveError::NoInterface(i) => {
                write!(f, "no interface named {i} (`ip link` lists them)")
            }
            LiveError::NoRights {
                interface: i,
                dumpcap,
            } => match dumpcap {
                Dumpcap::NotTried => write!(
                    f,
                    "capturing on {i} through libpcap needs root or the CAP_NET_RAW capability: \
                     run it with sudo, or leave out --capture-with libpcap to capture through \
                     Wireshark's dumpcap"
                ),
                Dumpcap::NotFound => write!(
                    f,
                    "smtpcap may not capture on {i}, and there is no dumpcap to capture for it. \
                     Without sudo, the way Wireshark does it: install dumpcap (`sudo apt install \
                     wireshark-common`, answering Yes to \"Should non-superusers be able to \
                     capture packets?\"), {JOIN_GROUP}, and run this again; or run smtpcap as \
                     root (sudo)"
                ),
                Dumpcap::NotAllowed(p) => write!(
                    f,
                    "smtpcap may not capture on {i}, and you may not run {}: {JOIN_GROUP}, or \
                     `sudo dpkg-reconfigure wireshark-common` if non-superusers may not capture; \
                     or run smtpcap as root (sudo)",
                    p.display()
                ),
                Dumpcap::NoRights(p) => write!(
                    f,
                    "smtpcap may not capture on {i}, and {} may not either: allow \
                     non-superusers to capture (`sudo dpkg-reconfigure wireshark-common`, \
                     answering Yes) and {JOIN_GROUP}; or run smtpcap as root (sudo)",
                    p.display()
                ),
            },
            LiveError::LinkType(i, n) => write!(
                f,
                "{i}: link type {n} is not one smtpcap reads (Ethernet, Linux cooked, raw IP, \
                 loopback); capture with tcpdump -w - and pipe it to `smtpcap watch -`"
            ),
            LiveError::Filter(filter, e) => {
                write!(f, "the capture filter `{filter}` is not valid: {e}")
            }
            LiveError::Write(e) => write!(f, "cannot write the capture file: {e}"),
            LiveError::NoLibpcap => write!(
                f,
                "this smtpcap was built without libpcap (the `live` feature): capture through \
                 dumpcap (--capture-with dumpcap), or pipe a capture in, e.g. \
                 `tcpdump -i eth0 -w - | smtpcap watch -`"
            ),
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
            LiveError::NoRights {
                interface: iface.to_string(),
                dumpcap: Dumpcap::NotTried,
            }
        } else if lower.contains("no such device") || lower.contains("doesn't exist") {
            LiveError::NoInterface(iface.to_string())
        } else {
            LiveError::Other(iface.to_string(), text)
        }
    }
}
