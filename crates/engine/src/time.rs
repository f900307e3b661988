//! Simulated time as integer nanoseconds: instants ([`SimTime`]) and spans ([`SimDuration`]),
//! and the parser for the duration strings that scenario files use ("250us", "15ms", "2s", "5m").

use std::fmt;
use std::ops::{Add, Sub};

/// Nanoseconds per unit, smallest first; the parser and the formatter share this table.
const UNITS: [(&str, u64); 6] = [
    ("ns", 1),
    ("us", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// An instant of simulated time, in nanoseconds since the start of the run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(pub u64);

/// A span of simulated time, in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimDuration(pub u64);

impl SimTime {
    /// The start of every run.
    pub const ZERO: SimTime = SimTime(0);

    /// Nanoseconds since the start of the run.
    pub fn as_nanos(self) -> u64 {
        self.0
    }

    /// Seconds since the start of the run, for reports and charts.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// The span from `earlier` to `self`, or zero when `earlier` is later.
    pub fn saturating_since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }

    /// `self + d`, saturating at the end of representable time (about 584 years).
    pub fn saturating_add(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }
}

impl SimDuration {
    /// No time at all.
    pub const ZERO: SimDuration = SimDuration(0);

    /// A duration of `n` nanoseconds.
    pub const fn from_nanos(n: u64) -> SimDuration {
        SimDuration(n)
    }

    /// A duration of `n` milliseconds.
    pub const fn from_millis(n: u64) -> SimDuration {
        SimDuration(n * 1_000_000)
    }

    /// A duration of `n` seconds.
    pub const fn from_secs(n: u64) -> SimDuration {
        SimDuration(n * 1_000_000_000)
    }

    /// A duration from fractional seconds, rounded to the nearest nanosecond; negative and NaN
    /// give zero and values beyond the representable range saturate.
    pub fn from_secs_f64(secs: f64) -> SimDuration {
        SimDuration::from_nanos_f64(secs * 1e9)
    }

    /// A duration from fractional nanoseconds, rounded to the nearest nanosecond; negative and
    /// NaN give zero and values beyond the representable range saturate.
    #[inline]
    pub fn from_nanos_f64(nanos: f64) -> SimDuration {
        // `as` saturates for out-of-range floats and maps NaN to 0.
        SimDuration((nanos + 0.5) as u64)
    }

    /// The number of nanoseconds.
    pub fn as_nanos(self) -> u64 {
        self.0
    }

    /// The duration in seconds, for reports and charts.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// The duration in milliseconds, for reports and charts.
    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }

    /// Parses a duration string: a non-negative decimal number followed by a unit, one of `ns`,
    /// `us` (or `µs`), `ms`, `s`, `m`, `h`. Fractions are allowed ("1.5s", "0.25ms") and rounded
    /// to the nanosecond.
    pub fn parse(text: &str) -> Result<SimDuration, DurationParseError> {
        let trimmed = text.trim();
        if trimmed.starts_with('-') {
            return Err(DurationParseError::Negative);
        }
        let split = trimmed
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
            .ok_or(DurationParseError::MissingUnit)?;
        let (number, unit) = trimmed.split_at(split);
        let unit = unit.trim_start();
        let unit = if unit == "µs" { "us" } else { unit };
        let &(_, scale) = UNITS
            .iter()
            .find(|(name, _)| *name == unit)
            .ok_or_else(|| DurationParseError::UnknownUnit(unit.to_string()))?;
        let number: String = number.chars().filter(|&c| c != '_').collect();
        if number.is_empty() {
            return Err(DurationParseError::MissingNumber);
        }
        // Integers are converted exactly; fractions go through f64 (exact to the nanosecond for
        // any duration a scenario can sensibly hold).
        if let Ok(whole) = number.parse::<u64>() {
            return whole.checked_mul(scale).map(SimDuration).ok_or(DurationParseError::TooLarge);
        }
        let value: f64 = number.parse().map_err(|_| DurationParseError::BadNumber(number.clone()))?;
        let nanos = value * scale as f64;
        if !nanos.is_finite() || nanos >= u64::MAX as f64 {
            return Err(DurationParseError::TooLarge);
        }
        Ok(SimDuration::from_nanos_f64(nanos))
    }
}

/// Why a duration string was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DurationParseError {
    /// The text has no unit after the number ("250").
    MissingUnit,
    /// The text has a unit but no number before it ("ms").
    MissingNumber,
    /// The unit is not one of ns, us, ms, s, m, h.
    UnknownUnit(String),
    /// The number does not parse ("1.2.3ms").
    BadNumber(String),
    /// The duration exceeds about 584 years.
    TooLarge,
    /// The text starts with a minus sign.
    Negative,
}

impl fmt::Display for DurationParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DurationParseError::MissingUnit => write!(f, "the number has no unit"),
            DurationParseError::MissingNumber => write!(f, "there is no number before the unit"),
            DurationParseError::UnknownUnit(unit) => write!(f, "unknown unit `{unit}`"),
            DurationParseError::BadNumber(number) => write!(f, "`{number}` is not a number"),
            DurationParseError::TooLarge => write!(f, "the duration is too large"),
            DurationParseError::Negative => write!(f, "a duration cannot be negative"),
        }
    }
}

impl std::error::Error for DurationParseError {}

impl fmt::Display for SimDuration {
    /// Formats in the largest unit that represents the duration exactly ("250us", "2s", "90s"
    /// stays "90s" since 1.5m is not an integer), so that parse(format(d)) == d.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return write!(f, "0s");
        }
        let (name, scale) =
            UNITS.iter().rev().find(|(_, scale)| self.0.is_multiple_of(*scale)).copied().unwrap_or(("ns", 1));
        write!(f, "{}{}", self.0 / scale, name)
    }
}

impl fmt::Display for SimTime {
    /// Seconds since the start, exact, without trailing zeros: "t=30s", "t=16129.832767016s".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (secs, nanos) = (self.0 / 1_000_000_000, self.0 % 1_000_000_000);
        if nanos == 0 {
            write!(f, "t={secs}s")
        } else {
            let fraction = format!("{nanos:09}");
            write!(f, "t={secs}.{}s", fraction.trim_end_matches('0'))
        }
    }
}

impl Add<SimDuration> for SimTime {
    type Output = SimTime;
    /// Saturates at the end of representable time (about 584 years): a heavy-tailed sample or
    /// a huge timeout then lands after the end of any run instead of wrapping into the past.
    #[inline]
    fn add(self, rhs: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(rhs.0))
    }
}

impl Sub<SimTime> for SimTime {
    type Output = SimDuration;
    /// Panics in debug builds if `rhs` is later than `self`.
    #[inline]
    fn sub(self, rhs: SimTime) -> SimDuration {
        SimDuration(self.0 - rhs.0)
    }
}

impl Add for SimDuration {
    type Output = SimDuration;
    /// Saturates at about 584 years.
    #[inline]
    fn add(self, rhs: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_add(rhs.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit() {
        let cases = [
            ("250ns", 250),
            ("250us", 250_000),
            ("250µs", 250_000),
            ("15ms", 15_000_000),
            ("2s", 2_000_000_000),
            ("5m", 300_000_000_000),
            ("1h", 3_600_000_000_000),
            ("1.5s", 1_500_000_000),
            ("0.25ms", 250_000),
            ("1_000ms", 1_000_000_000),
            (" 3 s ", 3_000_000_000),
        ];
        for (text, nanos) in cases {
            assert_eq!(SimDuration::parse(text), Ok(SimDuration(nanos)), "{text}");
        }
    }

    #[test]
    fn refuses_malformed_durations() {
        assert_eq!(SimDuration::parse("250"), Err(DurationParseError::MissingUnit));
        assert_eq!(SimDuration::parse("ms"), Err(DurationParseError::MissingNumber));
        assert_eq!(SimDuration::parse("5 sec"), Err(DurationParseError::UnknownUnit("sec".into())));
        assert_eq!(SimDuration::parse("-5s"), Err(DurationParseError::Negative));
        assert!(SimDuration::parse("1.2.3ms").is_err());
        assert_eq!(SimDuration::parse("99999999999h"), Err(DurationParseError::TooLarge));
    }

    #[test]
    fn display_round_trips() {
        for nanos in [0, 1, 999, 1_000, 250_000, 1_500_000_000, 90_000_000_000, 7_200_000_000_000] {
            let d = SimDuration(nanos);
            assert_eq!(SimDuration::parse(&d.to_string()), Ok(d), "{d}");
        }
        assert_eq!(SimDuration(250_000).to_string(), "250us");
        assert_eq!(SimDuration(90_000_000_000).to_string(), "90s");
        assert_eq!(SimTime(30_000_000_000).to_string(), "t=30s");
        assert_eq!(SimTime(16_129_832_767_016).to_string(), "t=16129.832767016s");
        assert_eq!(SimTime(1_500_000).to_string(), "t=0.0015s");
        assert_eq!(SimTime(u64::MAX - 1) + SimDuration(5), SimTime(u64::MAX));
    }
}
