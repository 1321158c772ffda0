/// A link-layer (Ethernet) address: which box sent a frame, whatever its IP addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MacAddr(pub [u8; 6]);

impl std::fmt::Display for MacAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn shows_as_wireshark_does() {
        let m = super::MacAddr([0x00, 0x22, 0xf3, 0x0a, 0xb0, 0x01]);
        assert_eq!(m.to_string(), "00:22:f3:0a:b0:01");
    }
}
