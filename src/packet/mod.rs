//! Stage 2: link-layer frames → IP packets → TCP segments and UDP datagrams.

mod decoder;
mod link;

pub use decoder::{
    DecodeStats, Packet, PacketDecoder, TcpFlags, TcpSegment, Transport, UdpDatagram,
};
pub use link::{source_mac, strip_link, NetProto};
