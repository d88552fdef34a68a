//! Durations and byte sizes as written in route files.

use std::time::Duration;

/// Parses a duration such as `250ms`, `5s`, `1m 30s`, `2h`. A bare number is rejected: the unit
/// is required so that `100` cannot be misread.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    if !trimmed.is_empty() && trimmed.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!(
            "`{text}` has no unit; write e.g. `{trimmed}ms` or `{trimmed}s`"
        ));
    }
    humantime::parse_duration(trimmed).map_err(|e| {
        format!("`{text}` is not a duration ({e}); write e.g. `100ms`, `5s`, `1m`, `2h`")
    })
}

/// Parses a byte size: an integer number of bytes, or a number with a unit `B`, `KB`/`KiB`,
/// `MB`/`MiB` (both spellings are powers of 1024, as in AWS's documented limits).
pub fn parse_byte_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (digits, unit) = trimmed.split_at(split);
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a size; write e.g. `262144`, `256KB`, `6MB`"))?;
    let factor: u64 = match unit.trim() {
        "" | "B" => 1,
        "KB" | "KiB" => 1024,
        "MB" | "MiB" => 1024 * 1024,
        other => {
            return Err(format!(
                "unknown size unit `{other}` in `{text}`; allowed: B, KB, KiB, MB, MiB"
            ));
        }
    };
    number
        .checked_mul(factor)
        .ok_or_else(|| format!("`{text}` is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1m 30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert!(parse_duration("100").unwrap_err().contains("no unit"));
        assert!(parse_duration("5 parsecs").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_byte_size("262144"), Ok(262_144));
        assert_eq!(parse_byte_size("256KB"), Ok(262_144));
        assert_eq!(parse_byte_size("6 MiB"), Ok(6 * 1024 * 1024));
        assert!(
            parse_byte_size("6GB")
                .unwrap_err()
                .contains("unknown size unit")
        );
        assert!(parse_byte_size("lots").is_err());
    }
}
