//! Whole percentages from 0 to 100: canary weights, mirrored shares and the render parameters that set them.

use std::fmt;

use serde::{Serialize, Serializer};

/// A whole percentage from 0 to 100. The bound holds by construction, so
/// the share left to the stable model ([`Percent::rest`]) is always a
/// percentage too, whatever order the checks ran in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Percent(u8);

impl Percent {
    /// No traffic.
    pub const NONE: Percent = Percent(0);
    /// All traffic.
    pub const ALL: Percent = Percent(100);

    /// `value`, if it is at most 100.
    pub fn new(value: u64) -> Option<Self> {
        u8::try_from(value).ok().filter(|v| *v <= 100).map(Percent)
    }

    /// `value`, capped at 100. Spec fields keep the number as written so
    /// that validation can quote it; it refuses one over 100 before anything
    /// renders, and renderers read the field through this, so that their
    /// arithmetic never depends on that order.
    pub fn capped(value: u32) -> Self {
        Percent::new(value.into()).unwrap_or(Percent::ALL)
    }

    /// The number, 0 to 100.
    pub fn get(self) -> u8 {
        self.0
    }

    /// What is left of all traffic: the stable model's share beside a canary's.
    #[must_use]
    pub fn rest(self) -> Self {
        Percent(100 - self.0)
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Written as the bare number, as every manifest field that holds a percentage expects.
impl Serialize for Percent {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_stay_within_0_and_100() {
        assert_eq!(Percent::new(0), Some(Percent::NONE));
        assert_eq!(Percent::new(100), Some(Percent::ALL));
        assert_eq!(Percent::new(101), None);
        assert_eq!(Percent::new(356), None, "not wrapped around a byte");
        assert_eq!(Percent::capped(150), Percent::ALL);
        assert_eq!(Percent::capped(u32::MAX), Percent::ALL);
        for p in (0..=100).filter_map(Percent::new) {
            assert_eq!(p.get() + p.rest().get(), 100);
        }
        assert_eq!(serde_json::to_string(&Percent::capped(25)).expect("serializes"), "25");
    }
}
