//! A YAML loader that gives the values PyYAML 6 `yaml.safe_load` gives, for the front matter
//! SkillMeat 0.74 reads.
//!
//! `saphyr-parser` does the syntax (block scalars and their chomping, quoting and escapes,
//! comments, flow collections, anchors); this module does what PyYAML's composer, resolver and
//! `SafeConstructor` do with the events, which is where YAML 1.1 (PyYAML) and YAML 1.2
//! (saphyr) part:
//!
//! - plain scalars are resolved with PyYAML's YAML 1.1 rules: `yes/no/on/off` are booleans,
//!   `0.10` is the float 0.1, `010` is octal 8, `1:30` is 90 (base 60), `0b1`, `0x1F`, `1_000`
//!   are integers, `1e5` is text (a 1.1 float needs a dot and a signed exponent),
//!   `2024-01-05` is a date, `<<` merges mappings, `=` cannot be constructed;
//! - one document only, unknown tags and unhashable keys are errors, as in PyYAML;
//! - `\x85`, `\u2028` and `\u2029` are line breaks in YAML 1.1 and ordinary characters in 1.2:
//!   outside the one place where both read them alike (inside a quoted scalar, away from
//!   blanks) the text is reported as a YAML error, which is what PyYAML mostly raises there.
//!
//! Not reproduced (reported as [`LoadError::Other`], so the caller ignores the front matter):
//! `!!binary`, `!!set`, `!!omap`, `!!pairs`, recursive aliases, nesting deeper than
//! [`MAX_DEPTH`], and documents whose aliases expand past [`MAX_NODES`] nodes or
//! [`MAX_EXPANDED_BYTES`] bytes of text (a "billion laughs" document). Two PyYAML quirks are
//! not reproduced either: a duplicate anchor is accepted (PyYAML raises), and merged keys
//! follow dict order (PyYAML 6.0.4 also drops some repeated merged keys by object identity).

//!
//! `compose.rs` builds nodes from the parser's events as PyYAML's composer does;
//! `resolve.rs` decides a plain scalar's type by YAML 1.1's rules; `construct.rs` makes
//! integers, floats and timestamps the way `SafeConstructor` does.

mod compose;
mod construct;
mod resolve;

use compose::*;
use construct::*;
use resolve::*;

use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};

/// Deepest nesting of collections that is loaded. PyYAML's recursive composer hits Python's
/// recursion limit somewhere around 500 levels (it depends on the caller's stack).
pub(crate) const MAX_DEPTH: usize = 200;
/// Most nodes a document may have once its aliases are expanded.
pub(crate) const MAX_NODES: usize = 100_000;
/// Most bytes of scalar text a document may have once its aliases are expanded.
pub(crate) const MAX_EXPANDED_BYTES: usize = 8 << 20;

/// A value as PyYAML's `SafeLoader` constructs it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    /// `None`.
    Null,
    /// `bool`.
    Bool(bool),
    /// `int` (unbounded, as in Python).
    Int(Int),
    /// `float`.
    Float(f64),
    /// `str`.
    Str(String),
    /// `datetime.date`.
    Date(Date),
    /// `datetime.datetime`.
    DateTime(DateTime),
    /// `list`.
    Seq(Vec<Value>),
    /// `dict`: keys are unique (Python equality) and keep their first position.
    Map(Vec<(Value, Value)>),
}

/// An integer of any size: sign and magnitude in base 10^9, least significant limb first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Int {
    negative: bool,
    limbs: Vec<u32>,
}

const LIMB: u64 = 1_000_000_000;

impl Int {
    fn zero() -> Int {
        Int {
            negative: false,
            limbs: Vec::new(),
        }
    }

    fn mul_add(&mut self, mul: u32, add: u32) {
        let mut carry = u64::from(add);
        for limb in &mut self.limbs {
            let v = u64::from(*limb) * u64::from(mul) + carry;
            *limb = (v % LIMB) as u32;
            carry = v / LIMB;
        }
        while carry > 0 {
            self.limbs.push((carry % LIMB) as u32);
            carry /= LIMB;
        }
    }

    fn is_zero(&self) -> bool {
        self.limbs.iter().all(|&l| l == 0)
    }

    fn negate(mut self, negative: bool) -> Int {
        self.negative = negative && !self.is_zero();
        self
    }

    /// The value, when it fits an `i64`.
    pub(crate) fn to_i64(&self) -> Option<i64> {
        let mut v: i128 = 0;
        for &l in self.limbs.iter().rev() {
            v = v
                .checked_mul(i128::from(LIMB as u32))?
                .checked_add(i128::from(l))?;
            if v > i128::from(i64::MAX) + 1 {
                return None;
            }
        }
        i64::try_from(if self.negative { -v } else { v }).ok()
    }

    /// Decimal digits with a leading `-` when negative, as Python's `str(int)`.
    pub(crate) fn to_decimal(&self) -> String {
        let mut limbs = self.limbs.iter().rev().skip_while(|&&l| l == 0);
        let Some(first) = limbs.next() else {
            return "0".into();
        };
        let mut s = if self.negative {
            "-".to_string()
        } else {
            String::new()
        };
        s.push_str(&first.to_string());
        for l in limbs {
            s.push_str(&format!("{l:09}"));
        }
        s
    }
}

/// A `datetime.date`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Date {
    pub(crate) year: u16,
    pub(crate) month: u8,
    pub(crate) day: u8,
}

/// A `datetime.datetime`; `offset_minutes` is `None` for a naive one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DateTime {
    pub(crate) date: Date,
    pub(crate) hour: u8,
    pub(crate) minute: u8,
    pub(crate) second: u8,
    pub(crate) microsecond: u32,
    pub(crate) offset_minutes: Option<i32>,
}

/// Why a text has no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LoadError {
    /// PyYAML raises a `yaml.YAMLError`: bad syntax, more than one document, a character
    /// its reader refuses, a tag without a constructor, an unhashable key.
    Yaml,
    /// PyYAML raises some other exception (a `ValueError` from `!!int x` or from the date
    /// `2024-02-30`, a `RecursionError`), or the document is one this module does not
    /// reproduce (see the module documentation).
    Other,
}

/// Loads `text` the way `yaml.safe_load(text)` does.
///
/// Fails with [`LoadError::Yaml`] where PyYAML raises a `YAMLError` and with
/// [`LoadError::Other`] where it raises anything else or the document is beyond what this
/// module reproduces. Never panics; time and memory are linear in `text` plus the limits.
pub(crate) fn load(text: &str) -> Result<Value, LoadError> {
    if !text.chars().all(pyyaml_printable) {
        return Err(LoadError::Yaml);
    }
    let mut events = Vec::new();
    for item in Parser::new_from_str(text) {
        // saphyr stops at 255 nested flow collections; PyYAML at its recursion limit.
        let (event, span) = item.map_err(|e| match e.info() {
            "recursion limit exceeded" => LoadError::Other,
            _ => LoadError::Yaml,
        })?;
        let end = matches!(event, Event::StreamEnd);
        events.push((event, span));
        if end {
            break;
        }
    }
    check_blanks(text, &events)?;
    let mut c = Composer {
        events,
        pos: 0,
        end: 0,
        open_end: (!text.is_empty() && !text.ends_with('\n')).then(|| text.chars().count()),
        anchors: Vec::new(),
        nodes: 0,
        bytes: 0,
    };
    c.document()
}

/// PyYAML's `Reader.NON_PRINTABLE` complement: what it accepts in a stream.
fn pyyaml_printable(c: char) -> bool {
    matches!(c,
        '\t' | '\n' | '\r' | '\x20'..='\x7e' | '\u{85}' | '\u{a0}'..='\u{d7ff}'
        | '\u{e000}'..='\u{fffd}' | '\u{10000}'..='\u{10ffff}')
}

/// Reports the text as a YAML error where PyYAML's scanner fails on a character that a
/// YAML 1.2 parser accepts:
///
/// - a tab is only allowed inside a quoted scalar, inside a block scalar's content (not in
///   its indentation) and in a comment; PyYAML raises on a tab anywhere else (`a:\tb`,
///   `a: b\t`, a tab inside a plain scalar);
/// - `\x85`, `\u2028` and `\u2029` are line breaks in YAML 1.1 and ordinary characters in
///   1.2: they are accepted only inside a quoted scalar with no blank next to them, the one
///   place where both read them alike (and `\x85` not even there: PyYAML folds it to a space).
fn check_blanks(text: &str, events: &[(Event<'_>, Span)]) -> Result<(), LoadError> {
    if !text.contains(['\t', '\u{85}', '\u{2028}', '\u{2029}']) {
        return Ok(());
    }
    #[derive(PartialEq)]
    enum Kind {
        Quoted,
        Block { indent: usize },
        Plain,
    }
    // Scalars in text order (events come in text order).
    let scalars: Vec<(usize, usize, Kind)> = events
        .iter()
        .filter_map(|(e, span)| match e {
            Event::Scalar(_, style, ..) => Some((
                span.start.index(),
                span.end.index(),
                match style {
                    ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => Kind::Quoted,
                    ScalarStyle::Literal | ScalarStyle::Folded => Kind::Block {
                        indent: span.start.col(),
                    },
                    ScalarStyle::Plain => Kind::Plain,
                },
            )),
            _ => None,
        })
        .collect();
    let chars: Vec<char> = text.chars().collect();
    let blank = |j: Option<usize>| {
        j.and_then(|j| chars.get(j))
            .is_some_and(|c| matches!(c, ' ' | '\t'))
    };
    let (mut next, mut col, mut comment) = (0, 0, false);
    for (i, &c) in chars.iter().enumerate() {
        while next < scalars.len() && scalars[next].1 <= i {
            next += 1;
        }
        let inside = scalars.get(next).filter(|s| s.0 <= i);
        if c == '\n' {
            (col, comment) = (0, false);
            continue;
        }
        if c == '#' && inside.is_none() && (col == 0 || blank(i.checked_sub(1))) {
            comment = true;
        }
        let ok = match c {
            '\t' => {
                comment
                    || match inside {
                        Some((s, e, Kind::Quoted)) => *s < i && i + 1 < *e,
                        Some((_, _, Kind::Block { indent })) => col >= *indent,
                        _ => false,
                    }
            }
            // In a comment, PyYAML ends the comment there: harmless at the end of a line.
            '\u{2028}' | '\u{2029}' if comment => matches!(chars.get(i + 1), None | Some('\n')),
            '\u{2028}' | '\u{2029}' => {
                matches!(inside, Some((s, e, Kind::Quoted)) if *s < i && i + 1 < *e)
                    && !blank(i.checked_sub(1))
                    && !blank(Some(i + 1))
            }
            '\u{85}' => false,
            _ => true,
        };
        if !ok {
            return Err(LoadError::Yaml);
        }
        col += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(text: &str) -> Vec<(Value, Value)> {
        match load(text) {
            Ok(Value::Map(m)) => m,
            other => panic!("{text:?}: {other:?}"),
        }
    }

    fn one(text: &str) -> Value {
        map(&format!("k: {text}\n")).remove(0).1
    }

    #[test]
    fn yaml_1_1_resolution_of_plain_scalars() {
        assert_eq!(one("0.10"), Value::Float(0.1));
        assert_eq!(one("1e5"), Value::Str("1e5".into()));
        assert_eq!(one("1.0e+5"), Value::Float(100000.0));
        assert_eq!(one("yes"), Value::Bool(true));
        assert_eq!(one("Off"), Value::Bool(false));
        assert_eq!(one("y"), Value::Str("y".into()));
        assert_eq!(one("~"), Value::Null);
        assert_eq!(one(""), Value::Null);
        assert_eq!(one("'yes'"), Value::Str("yes".into()));
        for (text, dec) in [
            ("010", "8"),
            ("0x1F", "31"),
            ("0b1_0", "2"),
            ("1:30", "90"),
            ("-1_000", "-1000"),
            ("0o17", ""),
        ] {
            match one(text) {
                Value::Int(i) => assert_eq!(i.to_decimal(), dec, "{text}"),
                Value::Str(s) => assert!(dec.is_empty(), "{text} -> {s}"),
                v => panic!("{text}: {v:?}"),
            }
        }
        assert_eq!(one("1:30.5"), Value::Float(90.5));
        assert_eq!(one("99999999999999999999").clone(), {
            let Value::Int(i) = one("99999999999999999999") else {
                panic!()
            };
            assert_eq!(i.to_decimal(), "99999999999999999999");
            assert_eq!(i.to_i64(), None);
            Value::Int(i)
        });
        assert!(matches!(one(".NaN"), Value::Float(f) if f.is_nan()));
        assert_eq!(one("-.inf"), Value::Float(f64::NEG_INFINITY));
        assert_eq!(
            one("2024-01-05"),
            Value::Date(Date {
                year: 2024,
                month: 1,
                day: 5
            })
        );
        assert!(
            matches!(one("2001-12-14t21:59:43.10-05:00"), Value::DateTime(d) if d.microsecond == 100000 && d.offset_minutes == Some(-300))
        );
        assert_eq!(load("k: 2024-02-30\n"), Err(LoadError::Other));
        assert_eq!(load("k: =\n"), Err(LoadError::Yaml));
        assert_eq!(map("=: x\n")[0].0, Value::Str("=".into()));
    }

    #[test]
    fn tags_documents_and_keys() {
        assert_eq!(one("!!str 0.10"), Value::Str("0.10".into()));
        assert_eq!(one("! 12"), Value::Str("12".into()));
        assert_eq!(load("k: !foo x\n"), Err(LoadError::Yaml));
        assert_eq!(load("k: !!python/name:os.system x\n"), Err(LoadError::Yaml));
        assert_eq!(load("k: !!int x\n"), Err(LoadError::Other));
        assert_eq!(load("k: !!set {a}\n"), Err(LoadError::Other));
        assert_eq!(load("a: b\n...\nc: d\n"), Err(LoadError::Yaml));
        assert_eq!(load("? [a]\n: b\n"), Err(LoadError::Yaml));
        assert_eq!(load("# only a comment\n"), Ok(Value::Null));
        assert_eq!(load("a: \x07\n"), Err(LoadError::Yaml));
        // Later duplicates win; true == 1 as keys.
        assert_eq!(
            map("a: 1\nb: 2\na: 3\n1: x\ntrue: y\n"),
            vec![
                (Value::Str("a".into()), one("3")),
                (Value::Str("b".into()), one("2")),
                (one("1"), Value::Str("y".into())),
            ]
        );
        let m = map("a: &x {k: 1, j: 1}\nc:\n  <<: *x\n  j: 3\n");
        assert_eq!(
            m[1].1,
            Value::Map(vec![(one("k"), one("1")), (one("j"), one("3"))])
        );
    }

    #[test]
    fn bombs_depth_and_recursion_are_refused() {
        let mut text = String::from("a: &a [\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"]\n");
        let mut prev = 'a';
        for c in 'b'..='p' {
            text.push_str(&format!("{c}: &{c} [*{prev}, *{prev}, *{prev}, *{prev}]\n"));
            prev = c;
        }
        assert_eq!(load(&text), Err(LoadError::Other));
        let deep = format!(
            "a: {}{}\n",
            "[".repeat(MAX_DEPTH + 5),
            "]".repeat(MAX_DEPTH + 5)
        );
        assert_eq!(load(&deep), Err(LoadError::Other));
        assert_eq!(load("a: &x [1, *x]\n"), Err(LoadError::Other));
    }

    #[test]
    fn yaml_1_1_line_breaks() {
        assert_eq!(load("d: foo\u{2028}bar\n"), Err(LoadError::Yaml));
        assert_eq!(one("\"a\u{2028}b\""), Value::Str("a\u{2028}b".into()));
        assert_eq!(load("d: \"a \u{2028}b\"\n"), Err(LoadError::Yaml));
        assert_eq!(load("d: \"a\u{85}b\"\n"), Err(LoadError::Yaml));
    }
}
