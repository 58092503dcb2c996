//! Python's `str()` and `repr()` of the values PyYAML constructs: SkillMeat stores
//! `str(value)` for most front matter fields, so `version: 0.10` is stored as `"0.1"`,
//! `title: yes` as `"True"`, `author:` (null) as `"None"` and `description: [a, b]` as
//! `"['a', 'b']"`.

use super::yaml::{Date, DateTime, Value};

/// `str(v)`.
pub(crate) fn str(v: &Value) -> String {
    match v {
        Value::Str(s) => s.clone(),
        Value::Date(d) => date(d),
        Value::DateTime(d) => datetime(d),
        _ => repr(v),
    }
}

/// `repr(v)`.
pub(crate) fn repr(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Int(i) => i.to_decimal(),
        Value::Float(f) => float_repr(*f),
        Value::Str(s) => str_repr(s),
        Value::Date(d) => format!("datetime.date({}, {}, {})", d.year, d.month, d.day),
        Value::DateTime(d) => datetime_repr(d),
        Value::Seq(items) => {
            let items: Vec<String> = items.iter().map(repr).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Map(pairs) => {
            let pairs: Vec<String> = pairs
                .iter()
                .map(|(k, v)| format!("{}: {}", repr(k), repr(v)))
                .collect();
            format!("{{{}}}", pairs.join(", "))
        }
    }
}

fn date(d: &Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year, d.month, d.day)
}

/// `datetime.__str__`: `isoformat(sep=' ')`.
fn datetime(d: &DateTime) -> String {
    let mut s = format!(
        "{} {:02}:{:02}:{:02}",
        date(&d.date),
        d.hour,
        d.minute,
        d.second
    );
    if d.microsecond != 0 {
        s.push_str(&format!(".{:06}", d.microsecond));
    }
    if let Some(m) = d.offset_minutes {
        let sign = if m < 0 { '-' } else { '+' };
        s.push_str(&format!("{sign}{:02}:{:02}", m.abs() / 60, m.abs() % 60));
    }
    s
}

/// `datetime.__repr__`: trailing zero fields left out, then the time zone.
fn datetime_repr(d: &DateTime) -> String {
    let mut fields = vec![
        d.date.year.to_string(),
        d.date.month.to_string(),
        d.date.day.to_string(),
        d.hour.to_string(),
        d.minute.to_string(),
    ];
    if d.second != 0 || d.microsecond != 0 {
        fields.push(d.second.to_string());
    }
    if d.microsecond != 0 {
        fields.push(d.microsecond.to_string());
    }
    let mut s = format!("datetime.datetime({}", fields.join(", "));
    match d.offset_minutes {
        None => {}
        Some(0) => s.push_str(", tzinfo=datetime.timezone.utc"),
        Some(m) => {
            // timedelta normalises to days (possibly negative) and 0 <= seconds < 86400.
            let secs = i64::from(m) * 60;
            let (days, seconds) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
            let delta = if days != 0 {
                format!("days={days}, seconds={seconds}")
            } else {
                format!("seconds={seconds}")
            };
            s.push_str(&format!(
                ", tzinfo=datetime.timezone(datetime.timedelta({delta}))"
            ));
        }
    }
    s.push(')');
    s
}

/// `float.__repr__`: the shortest digits that round-trip, in fixed notation when the
/// decimal exponent is in -4..16, otherwise as `1e+16` / `1.5e-05`.
pub(crate) fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.into();
    }
    // Rust's `{:e}` gives the same shortest round-trip digits: "d.ddde-5".
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("{:e} exponent is a number");
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let sign = if negative { "-" } else { "" };
    if !(-4..16).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{frac}e{esign}{:02}", exp.abs());
    }
    let point = exp + 1; // digits before the decimal point
    let body = if point <= 0 {
        format!("0.{}{digits}", "0".repeat((-point) as usize))
    } else if point as usize >= digits.len() {
        format!("{digits}{}.0", "0".repeat(point as usize - digits.len()))
    } else {
        let (int, frac) = digits.split_at(point as usize);
        format!("{int}.{frac}")
    };
    format!("{sign}{body}")
}

/// `str.__repr__`: single quotes unless the text has `'` and no `"`; backslash escapes
/// for the quote, `\`, `\t`, `\n`, `\r`, other control characters and the non-printable
/// characters (approximated: see [`printable`]).
pub(crate) fn str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            _ if c == quote || c == '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            _ if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            _ if c.is_ascii() || printable(c) => out.push(c),
            _ if (c as u32) <= 0xff => out.push_str(&format!("\\x{:02x}", c as u32)),
            _ if (c as u32) <= 0xffff => out.push_str(&format!("\\u{:04x}", c as u32)),
            _ => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push(quote);
    out
}

/// Python's `str.isprintable` for a non-ASCII character: false for the categories Cc, Cf,
/// Zs, Zl, Zp, Co and Cn. The ranges below cover the control, format, space, separator and
/// private-use characters; unassigned code points (Cn) are not known here and count as
/// printable.
fn printable(c: char) -> bool {
    !matches!(c as u32,
        0x80..=0xa0 | 0xad | 0x600..=0x605 | 0x61c | 0x6dd | 0x70f | 0x890..=0x891 | 0x8e2
        | 0x1680 | 0x180e | 0x2000..=0x200f | 0x2028..=0x202f | 0x205f..=0x206f | 0x3000
        | 0xe000..=0xf8ff | 0xfeff | 0xfff9..=0xfffb | 0xfffe..=0xffff | 0x110bd | 0x110cd
        | 0x13430..=0x1343f | 0x1bca0..=0x1bca3 | 0x1d173..=0x1d17a | 0xe0001
        | 0xe0020..=0xe007f | 0xf0000..=0x10ffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_as_python_prints_them() {
        for (f, s) in [
            (0.1, "0.1"),
            (1.0, "1.0"),
            (100000.0, "100000.0"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (1e15, "1000000000000000.0"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.5e-7, "-2.5e-07"),
            (-0.0, "-0.0"),
            (1.0 / 3.0, "0.3333333333333333"),
            (1e300 * 10.0, "1e+301"),
        ] {
            assert_eq!(float_repr(f), s, "{f}");
        }
    }

    #[test]
    fn strings_as_python_quotes_them() {
        assert_eq!(str_repr("a"), "'a'");
        assert_eq!(str_repr("it's"), "\"it's\"");
        assert_eq!(str_repr("it's \"x\""), "'it\\'s \"x\"'");
        assert_eq!(
            str_repr("a\\b\n\t\x01é\u{a0}\u{2028}"),
            "'a\\\\b\\n\\t\\x01é\\xa0\\u2028'"
        );
    }
}
