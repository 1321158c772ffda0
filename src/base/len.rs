//! Plaintext lengths as ranges: exact for AEAD records, a block wide for CBC ones, and as
//! wide as a slot (a host name, an address) in a reply template.

/// Every length from `lo` to `hi`, both included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Len {
    pub lo: u64,
    pub hi: u64,
}

impl Len {
    /// Exactly `n`.
    #[must_use]
    pub const fn exact(n: u64) -> Len {
        Len { lo: n, hi: n }
    }

    #[must_use]
    pub const fn range(lo: u64, hi: u64) -> Len {
        Len { lo, hi }
    }

    #[must_use]
    pub fn plus(self, other: Len) -> Len {
        Len {
            lo: self.lo.saturating_add(other.lo),
            hi: self.hi.saturating_add(other.hi),
        }
    }

    /// Less `other` (the rest of a turn once `other` is taken out of it); `None` when
    /// nothing is left for certain.
    #[must_use]
    pub fn minus(self, other: Len) -> Option<Len> {
        (self.hi >= other.lo).then(|| Len {
            lo: self.lo.saturating_sub(other.hi),
            hi: self.hi - other.lo,
        })
    }

    #[must_use]
    pub fn meets(self, other: Len) -> bool {
        self.lo <= other.hi && other.lo <= self.hi
    }

    #[must_use]
    pub fn is_exact(self) -> bool {
        self.lo == self.hi
    }
}

impl std::fmt::Display for Len {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.lo == self.hi {
            write!(f, "{}", self.lo)
        } else if self.hi == u64::MAX {
            write!(f, "{} or more", self.lo)
        } else {
            write!(f, "{}–{}", self.lo, self.hi)
        }
    }
}
