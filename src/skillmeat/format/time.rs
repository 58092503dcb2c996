//! SkillMeat's timestamps: naive ISO-8601 with microseconds, `2026-11-25T20:26:39.547343`.
//!
//! SkillMeat takes them from Python's `datetime.utcnow()`, so although they carry no zone
//! they are UTC; ours are too. Python's `isoformat()` drops the fraction when it is exactly
//! zero; we always write six digits, which Python's `fromisoformat` reads all the same.

use std::time::{SystemTime, UNIX_EPOCH};

/// The current time as a SkillMeat timestamp, in UTC (naive, no zone suffix).
pub fn now_timestamp() -> String {
    format_timestamp(SystemTime::now())
}

/// Formats `time` as `YYYY-MM-DDTHH:MM:SS.ffffff` in UTC (proleptic Gregorian calendar).
///
/// Times before 1970 work too. Never fails; years outside 0..=9999 print with more or fewer
/// digits (`SystemTime` cannot reach them on any supported platform in practice).
pub fn format_timestamp(time: SystemTime) -> String {
    let micros_since_epoch: i128 = match time.duration_since(UNIX_EPOCH) {
        Ok(after) => after.as_micros() as i128,
        Err(before) => -(before.duration().as_micros() as i128),
    };
    const MICROS_PER_DAY: i128 = 86_400 * 1_000_000;
    let days = micros_since_epoch.div_euclid(MICROS_PER_DAY);
    let micros_of_day = micros_since_epoch.rem_euclid(MICROS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let seconds_of_day = micros_of_day / 1_000_000;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}",
        seconds_of_day / 3600,
        seconds_of_day / 60 % 60,
        seconds_of_day % 60,
        micros_of_day % 1_000_000,
    )
}

/// Days since 1970-01-01 to (year, month, day); Howard Hinnant's `civil_from_days`.
fn civil_from_days(days: i128) -> (i128, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153; // 0 = March
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i128::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(seconds: u64, micros: u32) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds) + Duration::from_micros(u64::from(micros))
    }

    #[test]
    fn known_instants() {
        assert_eq!(format_timestamp(UNIX_EPOCH), "1970-01-01T00:00:00.000000");
        // 2000-02-29 (leap day) 12:34:56.000789 UTC = 951827696
        assert_eq!(
            format_timestamp(at(951_827_696, 789)),
            "2000-02-29T12:34:56.000789"
        );
        // 2026-11-25T20:26:39.547343 UTC = 1795638399
        assert_eq!(
            format_timestamp(at(1_795_638_399, 547_343)),
            "2026-11-25T20:26:39.547343"
        );
        // Last microsecond of a year.
        assert_eq!(
            format_timestamp(at(1_798_761_599, 999_999)),
            "2026-12-31T23:59:59.999999"
        );
    }

    #[test]
    fn before_the_epoch() {
        let t = UNIX_EPOCH - Duration::from_micros(1);
        assert_eq!(format_timestamp(t), "1969-12-31T23:59:59.999999");
        let t = UNIX_EPOCH - Duration::from_secs(86_400 * 365);
        assert_eq!(format_timestamp(t), "1969-01-01T00:00:00.000000");
    }

    #[test]
    fn now_has_the_fixed_shape() {
        let s = now_timestamp();
        assert_eq!(s.len(), 26, "{s}");
        let bytes = s.as_bytes();
        for (i, b) in bytes.iter().enumerate() {
            match i {
                4 | 7 => assert_eq!(*b, b'-'),
                10 => assert_eq!(*b, b'T'),
                13 | 16 => assert_eq!(*b, b':'),
                19 => assert_eq!(*b, b'.'),
                _ => assert!(b.is_ascii_digit(), "{s}"),
            }
        }
    }
}
