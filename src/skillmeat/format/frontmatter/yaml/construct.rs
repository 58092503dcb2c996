use super::*;

/// `SafeConstructor.construct_yaml_int`; `None` where Python raises (a `ValueError`).
pub(super) fn construct_int(text: &str) -> Option<Int> {
    if !is_int(text) {
        return None;
    }
    let s: String = text.chars().filter(|&c| c != '_').collect();
    let (negative, s) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, &s[..]),
    };
    let parse = |digits: &str, radix: u32| -> Option<Int> {
        let mut v = Int::zero();
        if digits.is_empty() {
            return None;
        }
        for ch in digits.chars() {
            v.mul_add(radix, ch.to_digit(radix)?);
        }
        Some(v)
    };
    let v = if s == "0" {
        Int::zero()
    } else if let Some(d) = s.strip_prefix("0b") {
        parse(d, 2)?
    } else if let Some(d) = s.strip_prefix("0x") {
        parse(d, 16)?
    } else if s.starts_with('0') {
        parse(s, 8)?
    } else if s.contains(':') {
        let mut v = Int::zero();
        for (i, part) in s.split(':').enumerate() {
            let p = parse(part, 10)?;
            if i == 0 {
                v = p;
            } else {
                v.mul_add(60, p.to_i64()? as u32);
            }
        }
        v
    } else {
        parse(s, 10)?
    };
    Some(v.negate(negative))
}

/// `SafeConstructor.construct_yaml_float`; `None` where Python raises.
pub(super) fn construct_float(text: &str) -> Option<f64> {
    let s = text.replace('_', "").to_lowercase();
    let (sign, s) = match s.as_bytes().first()? {
        b'-' => (-1.0, &s[1..]),
        b'+' => (1.0, &s[1..]),
        _ => (1.0, &s[..]),
    };
    if s == ".inf" {
        return Some(sign * f64::INFINITY);
    }
    if s == ".nan" {
        return Some(f64::NAN);
    }
    if s.contains(':') {
        // digits reversed, value += digit * base, base *= 60: the same float operations.
        let parts: Vec<f64> = s.split(':').map(py_float).collect::<Option<_>>()?;
        let mut value = 0.0;
        let mut base = 1.0;
        for d in parts.iter().rev() {
            value += d * base;
            base *= 60.0;
        }
        return Some(sign * value);
    }
    Some(sign * py_float(s)?)
}

/// Python's `float(str)` for what reaches it (digits, `.`, a signed exponent; `inf` and
/// `nan` spelled out after an explicit `!!float`).
pub(super) fn py_float(s: &str) -> Option<f64> {
    s.parse().ok()
}

/// Reads a run of `min..=max` ASCII digits at the cursor as a number.
fn digits(c: &mut Cur<'_>, min: usize, max: usize) -> Option<u32> {
    let start = c.i;
    let n = c.run(|b| b.is_ascii_digit());
    if !(min..=max).contains(&n) {
        return None;
    }
    std::str::from_utf8(&c.b[start..c.i]).ok()?.parse().ok()
}

/// `SafeConstructor.construct_yaml_timestamp`; `None` where Python raises (no match, a date
/// or time out of range).
pub(super) fn construct_timestamp(text: &str) -> Option<Value> {
    let mut c = Cur::new(text);
    let year = digits(&mut c, 4, 4)?;
    c.eat(b'-').then_some(())?;
    let month = digits(&mut c, 1, 2)?;
    c.eat(b'-').then_some(())?;
    let day = digits(&mut c, 1, 2)?;
    let date = valid_date(year, month, day)?;
    if c.done() {
        return Some(Value::Date(date));
    }
    if !(c.eat_if(|b| b == b'T' || b == b't') || c.run(|b| b == b' ' || b == b'\t') > 0) {
        return None;
    }
    let hour = digits(&mut c, 1, 2)?;
    c.eat(b':').then_some(())?;
    let minute = digits(&mut c, 2, 2)?;
    c.eat(b':').then_some(())?;
    let second = digits(&mut c, 2, 2)?;
    let microsecond = fraction(&mut c)?;
    let offset = if c.done() {
        None
    } else {
        Some(offset(&mut c)?)
    };
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    Some(Value::DateTime(DateTime {
        date,
        hour: hour as u8,
        minute: minute as u8,
        second: second as u8,
        microsecond,
        offset_minutes: offset,
    }))
}

/// The optional `.digits` after the seconds, as microseconds (the first six digits, padded
/// with zeros; the rest ignored, as Python does). 0 when there is none.
fn fraction(c: &mut Cur<'_>) -> Option<u32> {
    if !c.eat(b'.') {
        return Some(0);
    }
    let start = c.i;
    c.run(|b| b.is_ascii_digit());
    let digits = std::str::from_utf8(&c.b[start..c.i]).ok()?;
    if digits.is_empty() {
        return Some(0);
    }
    let six: String = digits
        .chars()
        .chain(std::iter::repeat('0'))
        .take(6)
        .collect();
    six.parse().ok()
}

/// The time zone that ends a timestamp, in minutes east of UTC: blanks, then `Z` or
/// `±h[h][:mm]`, then nothing. `None` when that is not what follows.
fn offset(c: &mut Cur<'_>) -> Option<i32> {
    c.run(|b| b == b' ' || b == b'\t');
    let offset = if c.eat(b'Z') {
        0
    } else {
        let negative = match c.peek() {
            Some(b'-') => true,
            Some(b'+') => false,
            _ => return None,
        };
        c.i += 1;
        let h = digits(c, 1, 2)? as i32;
        let m = if c.eat(b':') {
            digits(c, 2, 2)? as i32
        } else {
            0
        };
        let minutes = h * 60 + m;
        // datetime.timezone wants strictly less than a day.
        if minutes >= 24 * 60 {
            return None;
        }
        if negative { -minutes } else { minutes }
    };
    c.done().then_some(offset)
}

pub(super) fn valid_date(year: u32, month: u32, day: u32) -> Option<Date> {
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    (year >= 1 && (1..=days).contains(&day)).then_some(Date {
        year: year as u16,
        month: month as u8,
        day: day as u8,
    })
}
