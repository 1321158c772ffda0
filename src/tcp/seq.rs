use std::cmp::Ordering;
use std::ops::{Add, Sub};

/// A TCP sequence number: 32 bits with wrapping arithmetic (RFC 793 §3.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SeqNumber(pub u32);

impl Add<u32> for SeqNumber {
    type Output = SeqNumber;
    fn add(self, rhs: u32) -> SeqNumber {
        SeqNumber(self.0.wrapping_add(rhs))
    }
}

impl Sub for SeqNumber {
    type Output = i64;
    /// Signed distance from `rhs` to `self`, valid while they are less than 2^31 apart.
    fn sub(self, rhs: SeqNumber) -> i64 {
        i64::from(self.0.wrapping_sub(rhs.0) as i32)
    }
}

impl PartialOrd for SeqNumber {
    fn partial_cmp(&self, other: &SeqNumber) -> Option<Ordering> {
        Some((*self - *other).cmp(&0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_around_zero() {
        let a = SeqNumber(u32::MAX - 9);
        let b = a + 20;
        assert_eq!(b, SeqNumber(10));
        assert_eq!(b - a, 20);
        assert_eq!(a - b, -20);
        assert!(a < b);
    }
}
