use std::fmt;

/// A packet time stamp: seconds and nanoseconds since the Unix epoch (UTC).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    /// Whole seconds.
    pub secs: i64,
    /// Nanoseconds within the second (below 10^9).
    pub nanos: u32,
}

impl Timestamp {
    /// A time stamp; nanoseconds of a second or more carry into `secs`.
    pub fn new(secs: i64, nanos: u32) -> Self {
        Timestamp {
            secs: secs + i64::from(nanos / 1_000_000_000),
            nanos: nanos % 1_000_000_000,
        }
    }

    /// Builds a time stamp from a count of `units` per second.
    pub fn from_units(value: u64, units_per_sec: u64) -> Self {
        if units_per_sec == 0 {
            return Timestamp::default();
        }
        let secs = value / units_per_sec;
        let frac = value % units_per_sec;
        let nanos = (u128::from(frac) * 1_000_000_000 / u128::from(units_per_sec)) as u32;
        Timestamp::new(i64::try_from(secs).unwrap_or(i64::MAX), nanos)
    }

    /// Seconds since the epoch, with the fraction.
    pub fn as_secs_f64(&self) -> f64 {
        self.secs as f64 + f64::from(self.nanos) / 1e9
    }

    /// Seconds from `earlier` to `self` (negative if `self` is earlier).
    pub fn since(&self, earlier: Timestamp) -> f64 {
        (self.secs - earlier.secs) as f64 + (f64::from(self.nanos) - f64::from(earlier.nanos)) / 1e9
    }

    /// This time plus `d`.
    #[must_use]
    pub fn plus(&self, d: std::time::Duration) -> Timestamp {
        let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        Timestamp::new(
            self.secs.saturating_add(secs),
            self.nanos + d.subsec_nanos(),
        )
    }

    /// UTC date and time, `YYYY-MM-DD HH:MM:SS.ffffff`.
    pub fn utc_string(&self) -> String {
        let days = self.secs.div_euclid(86_400);
        let rem = self.secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        format!(
            "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{:06}",
            rem / 3600,
            (rem / 60) % 60,
            rem % 60,
            self.nanos / 1000
        )
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:06}", self.secs, self.nanos / 1000)
    }
}

// Howard Hinnant's days-to-civil algorithm (public domain).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_string_known_dates() {
        assert_eq!(
            Timestamp::new(0, 0).utc_string(),
            "1970-01-01 00:00:00.000000"
        );
        assert_eq!(
            Timestamp::new(1_254_722_767, 492_000_000).utc_string(),
            "2009-10-05 06:06:07.492000"
        );
    }

    #[test]
    fn units_conversion() {
        assert_eq!(
            Timestamp::from_units(1_500_000, 1_000_000),
            Timestamp::new(1, 500_000_000)
        );
        assert_eq!(
            Timestamp::from_units(3, 1_000_000_000),
            Timestamp::new(0, 3)
        );
    }
}
