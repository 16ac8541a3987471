//! Version numbers and ranges in the knowledge files: `"..=14"`, `"15.."`, `"3..=3.12"`. A
//! missing component of the lower end is 0 and of the upper end is "any", so `..=14` covers every
//! 14.x and the tag `14`; a version missing components is "any" there too (`3` is in `3..=3.12`
//! only if every 3.x is, so it is not).

/// The numeric components of a version tag: `3.9.18` -> [3, 9, 18]; `3.13.0rc1` -> [3, 13, 0];
/// `None` when it does not start with a number (`latest`, `lts`).
pub(crate) fn components(version: &str) -> Option<Vec<u64>> {
    let mut out = Vec::new();
    for part in version.split(['.', '-']) {
        let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
        if digits.is_empty() {
            break;
        }
        out.push(digits.parse().ok()?);
        if digits.len() != part.len() {
            break;
        }
    }
    (!out.is_empty()).then_some(out)
}

/// The major version of a version tag (`14` for `14.17.0`).
pub(crate) fn major(version: &str) -> Option<u64> {
    components(version)?.first().copied()
}

fn padded(mut v: Vec<u64>, fill: u64) -> Vec<u64> {
    v.resize(4, fill);
    v
}

/// A range of versions, either end open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRange {
    low: Option<Vec<u64>>,
    high: Option<Vec<u64>>,
    text: String,
}

impl VersionRange {
    /// Parses `a..=b`, `a..` or `..=b` (`a`, `b`: dotted numbers).
    pub(crate) fn parse(text: &str) -> Result<VersionRange, String> {
        let bad = || format!("bad version range `{text}` (want `3..`, `..=14` or `1.20..=1.24.5`)");
        let (low, high) = if let Some((a, b)) = text.split_once("..=") {
            (a, Some(b))
        } else if let Some(a) = text.strip_suffix("..") {
            (a, None)
        } else {
            return Err(bad());
        };
        let number = |s: &str| -> Result<Vec<u64>, String> {
            s.split('.')
                .map(|p| p.parse::<u64>().map_err(|_| bad()))
                .collect()
        };
        let low = if low.is_empty() {
            None
        } else {
            Some(padded(number(low)?, 0))
        };
        let high = match high {
            Some(h) => Some(padded(number(h)?, u64::MAX)),
            None => None,
        };
        if low.is_none() && high.is_none() {
            return Err(bad());
        }
        Ok(VersionRange {
            low,
            high,
            text: text.to_string(),
        })
    }

    /// Whether the version tag `version` lies in the range; `false` for a tag that is no number.
    pub fn contains(&self, version: &str) -> bool {
        let Some(v) = components(version) else {
            return false;
        };
        let v = padded(v, u64::MAX);
        self.low.as_ref().is_none_or(|l| l <= &v) && self.high.as_ref().is_none_or(|h| &v <= h)
    }

    /// The range as written in the knowledge file.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_and_major() {
        assert_eq!(components("3.9.18"), Some(vec![3, 9, 18]));
        assert_eq!(components("3.13.0rc1"), Some(vec![3, 13, 0]));
        assert_eq!(components("3.10-rc"), Some(vec![3, 10]));
        assert_eq!(components("latest"), None);
        assert_eq!(major("14.17.0"), Some(14));
        assert_eq!(major("2"), Some(2));
        assert_eq!(major("lts"), None);
    }

    #[test]
    fn ranges() {
        let old = VersionRange::parse("..=14").unwrap();
        assert!(old.contains("14"));
        assert!(old.contains("14.21.3"));
        assert!(old.contains("8"));
        assert!(!old.contains("15"));
        assert!(!old.contains("latest"));
        let py3 = VersionRange::parse("3..").unwrap();
        assert!(py3.contains("3"));
        assert!(py3.contains("3.12.1"));
        assert!(!py3.contains("2.7.18"));
        let mid = VersionRange::parse("3..=3.12").unwrap();
        assert!(mid.contains("3.12.9"));
        assert!(!mid.contains("3.13"));
        assert!(!mid.contains("3"));
        assert!(VersionRange::parse("14").is_err());
        assert!(VersionRange::parse("..").is_err());
        assert!(VersionRange::parse("a..=3").is_err());
    }
}
