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

/// What a node composes to: a value, or one of the two YAML 1.1 scalars that only mean
/// something as a mapping key.
enum Composed {
    Value(Value),
    /// `<<` (tag `merge`).
    Merge,
    /// `=` (tag `value`): the text "=" as a key, an error anywhere else.
    ValueKey,
}

struct Composer<'a> {
    events: Vec<(Event<'a>, Span)>,
    pos: usize,
    /// Where the event last returned by `next` ends (in characters).
    end: usize,
    /// The text ends without a line break at this character index (else `None`).
    open_end: Option<usize>,
    /// Anchor id -> its value once complete (`None` while its node is being composed).
    anchors: Vec<Option<Value>>,
    nodes: usize,
    bytes: usize,
}

const CORE: &str = "tag:yaml.org,2002:";

fn full_tag(tag: &Tag) -> String {
    format!("{}{}", tag.handle, tag.suffix)
}

impl<'a> Composer<'a> {
    fn next(&mut self) -> Result<Event<'a>, LoadError> {
        let (e, end) = self
            .events
            .get_mut(self.pos)
            .map(|(e, span)| (std::mem::replace(e, Event::Nothing), span.end.index()))
            .ok_or(LoadError::Yaml)?;
        self.end = end;
        self.pos += 1;
        Ok(e)
    }

    /// `get_single_node`: nothing is `None`; a second document is an error.
    fn document(&mut self) -> Result<Value, LoadError> {
        if !matches!(self.next()?, Event::StreamStart) {
            return Err(LoadError::Yaml);
        }
        let value = match self.next()? {
            Event::StreamEnd => return Ok(Value::Null),
            Event::DocumentStart(_) => {
                let first = self.next()?;
                let v = match self.node(first, 0)? {
                    Composed::Value(v) => v,
                    _ => return Err(LoadError::Yaml),
                };
                if !matches!(self.next()?, Event::DocumentEnd) {
                    return Err(LoadError::Yaml);
                }
                v
            }
            _ => return Err(LoadError::Yaml),
        };
        match self.next()? {
            Event::StreamEnd => Ok(value),
            _ => Err(LoadError::Yaml),
        }
    }

    fn count(&mut self, v: &Value) -> Result<(), LoadError> {
        let (nodes, bytes) = size(v);
        self.nodes += nodes;
        self.bytes += bytes;
        if self.nodes > MAX_NODES || self.bytes > MAX_EXPANDED_BYTES {
            return Err(LoadError::Other);
        }
        Ok(())
    }

    fn anchor(&mut self, id: usize) {
        if id != 0 {
            if self.anchors.len() <= id {
                self.anchors.resize(id + 1, None);
            }
            self.anchors[id] = None;
        }
    }

    fn set_anchor(&mut self, id: usize, v: &Value) {
        if id != 0 {
            self.anchors[id] = Some(v.clone());
        }
    }

    fn node(&mut self, event: Event<'a>, depth: usize) -> Result<Composed, LoadError> {
        if depth > MAX_DEPTH {
            return Err(LoadError::Other);
        }
        match event {
            Event::Alias(id) => {
                // An alias to a node still being composed is a recursive structure.
                let v = self
                    .anchors
                    .get(id)
                    .cloned()
                    .flatten()
                    .ok_or(LoadError::Other)?;
                self.count(&v)?;
                Ok(Composed::Value(v))
            }
            Event::Scalar(mut text, style, anchor, tag) => {
                // A block scalar that runs to the end of a text without a final line break
                // has no line break to keep; saphyr keeps one.
                if matches!(style, ScalarStyle::Literal | ScalarStyle::Folded)
                    && self.open_end == Some(self.end)
                    && text.ends_with('\n')
                {
                    text.to_mut().pop();
                }
                let c = scalar(&text, style, tag.as_deref())?;
                self.nodes += 1;
                self.bytes += text.len();
                if self.nodes > MAX_NODES || self.bytes > MAX_EXPANDED_BYTES {
                    return Err(LoadError::Other);
                }
                match &c {
                    Composed::Value(v) => {
                        self.anchor(anchor);
                        self.set_anchor(anchor, v);
                    }
                    // An alias to `<<` or `=` is a plain scalar with that tag again.
                    _ if anchor != 0 => return Err(LoadError::Other),
                    _ => {}
                }
                Ok(c)
            }
            Event::SequenceStart(anchor, tag) => {
                match tag.as_deref().map(full_tag).as_deref() {
                    None | Some("!") => {}
                    Some(t) if t == format!("{CORE}seq") => {}
                    Some(t) if is_unreproduced(t) => return Err(LoadError::Other),
                    Some(_) => return Err(LoadError::Yaml),
                }
                self.anchor(anchor);
                self.nodes += 1;
                let mut items = Vec::new();
                loop {
                    match self.next()? {
                        Event::SequenceEnd => break,
                        e => match self.node(e, depth + 1)? {
                            Composed::Value(v) => items.push(v),
                            _ => return Err(LoadError::Yaml),
                        },
                    }
                }
                let v = Value::Seq(items);
                self.set_anchor(anchor, &v);
                Ok(Composed::Value(v))
            }
            Event::MappingStart(anchor, tag) => {
                match tag.as_deref().map(full_tag).as_deref() {
                    None | Some("!") => {}
                    Some(t) if t == format!("{CORE}map") => {}
                    Some(t) if is_unreproduced(t) => return Err(LoadError::Other),
                    Some(_) => return Err(LoadError::Yaml),
                }
                self.anchor(anchor);
                self.nodes += 1;
                let mut merged: Vec<(Value, Value)> = Vec::new();
                let mut own: Vec<(Value, Value)> = Vec::new();
                loop {
                    let key = match self.next()? {
                        Event::MappingEnd => break,
                        e => self.node(e, depth + 1)?,
                    };
                    let e = self.next()?;
                    let value = self.node(e, depth + 1)?;
                    let Composed::Value(value) = value else {
                        return Err(LoadError::Yaml);
                    };
                    match key {
                        Composed::Merge => match value {
                            Value::Map(pairs) => merged.extend(pairs),
                            Value::Seq(maps) => {
                                for m in maps {
                                    match m {
                                        Value::Map(pairs) => merged.extend(pairs),
                                        _ => return Err(LoadError::Yaml),
                                    }
                                }
                            }
                            _ => return Err(LoadError::Yaml),
                        },
                        Composed::ValueKey => own.push((Value::Str("=".into()), value)),
                        Composed::Value(k) => own.push((k, value)),
                    }
                }
                let mut pairs: Vec<(Value, Value)> = Vec::new();
                for (k, v) in merged.into_iter().chain(own) {
                    if matches!(k, Value::Seq(_) | Value::Map(_)) {
                        return Err(LoadError::Yaml); // "found unhashable key"
                    }
                    match pairs.iter_mut().find(|(old, _)| py_eq(old, &k)) {
                        Some(slot) => slot.1 = v,
                        None => pairs.push((k, v)),
                    }
                }
                let v = Value::Map(pairs);
                self.set_anchor(anchor, &v);
                Ok(Composed::Value(v))
            }
            _ => Err(LoadError::Yaml),
        }
    }
}

/// Nodes and scalar bytes of a value (what expanding an alias to it costs).
fn size(v: &Value) -> (usize, usize) {
    match v {
        Value::Str(s) => (1, s.len()),
        Value::Seq(items) => items.iter().fold((1, 0), |(n, b), v| {
            let (n2, b2) = size(v);
            (n + n2, b + b2)
        }),
        Value::Map(pairs) => pairs.iter().fold((1, 0), |(n, b), (k, v)| {
            let (n1, b1) = size(k);
            let (n2, b2) = size(v);
            (n + n1 + n2, b + b1 + b2)
        }),
        _ => (1, 8),
    }
}

/// Tags SafeLoader constructs but this module does not reproduce.
fn is_unreproduced(tag: &str) -> bool {
    tag.strip_prefix(CORE)
        .is_some_and(|t| matches!(t, "binary" | "set" | "omap" | "pairs"))
}

/// Python `==` between two hashable values, as used for dict keys.
fn py_eq(a: &Value, b: &Value) -> bool {
    fn number(v: &Value) -> Option<f64> {
        match v {
            Value::Bool(b) => Some(f64::from(u8::from(*b))),
            Value::Int(i) => i.to_i64().map(|i| i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Null, Value::Null) => true,
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::Date(x), Value::Date(y)) => x == y,
        (Value::DateTime(x), Value::DateTime(y)) => x == y,
        _ => matches!((number(a), number(b)), (Some(x), Some(y)) if x == y),
    }
}

/// A scalar node: the implicit YAML 1.1 resolution of a plain scalar, or its explicit tag,
/// then SafeConstructor's constructor for the tag.
fn scalar(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> Result<Composed, LoadError> {
    let explicit = tag.map(full_tag);
    let tag: &str = match explicit.as_deref() {
        None if style == ScalarStyle::Plain => resolve(text),
        None | Some("!") => "str",
        Some(t) => match t.strip_prefix(CORE) {
            Some(core) => core,
            None => return Err(LoadError::Yaml),
        },
    };
    let v = match tag {
        "str" => Value::Str(text.to_string()),
        "null" => Value::Null,
        "bool" => match text.to_lowercase().as_str() {
            "yes" | "true" | "on" => Value::Bool(true),
            "no" | "false" | "off" => Value::Bool(false),
            _ => return Err(LoadError::Other),
        },
        "int" => Value::Int(construct_int(text).ok_or(LoadError::Other)?),
        "float" => Value::Float(construct_float(text).ok_or(LoadError::Other)?),
        "timestamp" => construct_timestamp(text).ok_or(LoadError::Other)?,
        "merge" => return Ok(Composed::Merge),
        "value" => return Ok(Composed::ValueKey),
        t if is_unreproduced(&format!("{CORE}{t}")) => return Err(LoadError::Other),
        _ => return Err(LoadError::Yaml),
    };
    Ok(Composed::Value(v))
}

/// PyYAML's implicit resolvers, in their order, keyed by the first character as PyYAML does.
fn resolve(s: &str) -> &'static str {
    let Some(first) = s.chars().next() else {
        return "null";
    };
    if "yYnNtTfFoO".contains(first)
        && matches!(
            s,
            "yes"
                | "Yes"
                | "YES"
                | "no"
                | "No"
                | "NO"
                | "true"
                | "True"
                | "TRUE"
                | "false"
                | "False"
                | "FALSE"
                | "on"
                | "On"
                | "ON"
                | "off"
                | "Off"
                | "OFF"
        )
    {
        return "bool";
    }
    if "-+0123456789.".contains(first) && is_float(s) {
        return "float";
    }
    if "-+0123456789".contains(first) && is_int(s) {
        return "int";
    }
    if s == "<<" {
        return "merge";
    }
    if matches!(s, "~" | "null" | "Null" | "NULL") {
        return "null";
    }
    if first.is_ascii_digit() && is_timestamp(s) {
        return "timestamp";
    }
    if s == "=" {
        return "value";
    }
    "str"
}

/// A cursor over ASCII bytes for the resolver patterns.
struct Cur<'s> {
    b: &'s [u8],
    i: usize,
}

impl<'s> Cur<'s> {
    fn new(s: &'s str) -> Cur<'s> {
        Cur {
            b: s.as_bytes(),
            i: 0,
        }
    }
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn eat_if(&mut self, f: impl Fn(u8) -> bool) -> bool {
        match self.peek() {
            Some(c) if f(c) => {
                self.i += 1;
                true
            }
            _ => false,
        }
    }
    /// Eats the longest run of bytes satisfying `f`; its length.
    fn run(&mut self, f: impl Fn(u8) -> bool) -> usize {
        let start = self.i;
        while self.eat_if(&f) {}
        self.i - start
    }
    fn sign(&mut self) {
        let _ = self.eat(b'-') || self.eat(b'+');
    }
    fn done(&self) -> bool {
        self.i == self.b.len()
    }
}

fn digit_(c: u8) -> bool {
    c.is_ascii_digit() || c == b'_'
}

/// `(:[0-5]?[0-9])+` at the cursor.
fn sexagesimal_tail(c: &mut Cur<'_>) -> bool {
    let mut any = false;
    while c.peek() == Some(b':') {
        let save = c.i;
        c.i += 1;
        let start = c.i;
        let n = c.run(|b| b.is_ascii_digit());
        let ok = n == 1 || (n == 2 && c.b[start] <= b'5');
        if !ok {
            c.i = save;
            return any;
        }
        any = true;
    }
    any
}

/// `[eE][-+][0-9]+`, optional.
fn exponent(c: &mut Cur<'_>) -> bool {
    let save = c.i;
    if c.eat_if(|b| b == b'e' || b == b'E') {
        if c.eat_if(|b| b == b'-' || b == b'+') && c.run(|b| b.is_ascii_digit()) > 0 {
            return true;
        }
        c.i = save;
    }
    false
}

fn is_float(s: &str) -> bool {
    let alt = |f: &dyn Fn(&mut Cur<'_>) -> bool| {
        let mut c = Cur::new(s);
        f(&mut c) && c.done()
    };
    alt(&|c| {
        c.sign();
        c.eat_if(|b| b.is_ascii_digit())
            && {
                c.run(digit_);
                c.eat(b'.')
            }
            && {
                c.run(digit_);
                exponent(c);
                true
            }
    }) || alt(&|c| {
        c.eat(b'.') && c.eat_if(|b| b.is_ascii_digit()) && {
            c.run(digit_);
            exponent(c);
            true
        }
    }) || alt(&|c| {
        c.sign();
        c.eat_if(|b| b.is_ascii_digit())
            && {
                c.run(digit_);
                sexagesimal_tail(c)
            }
            && c.eat(b'.')
            && {
                c.run(digit_);
                true
            }
    }) || alt(&|c| {
        c.sign();
        c.eat(b'.') && {
            let rest = &c.b[c.i..];
            c.i = c.b.len();
            matches!(rest, b"inf" | b"Inf" | b"INF")
        }
    }) || matches!(s, ".nan" | ".NaN" | ".NAN")
}

fn is_int(s: &str) -> bool {
    let alt = |f: &dyn Fn(&mut Cur<'_>) -> bool| {
        let mut c = Cur::new(s);
        c.sign();
        f(&mut c) && c.done()
    };
    alt(&|c| c.eat(b'0') && c.eat(b'b') && c.run(|b| matches!(b, b'0' | b'1' | b'_')) > 0)
        || alt(&|c| c.eat(b'0') && c.run(|b| matches!(b, b'0'..=b'7' | b'_')) > 0)
        || alt(&|c| {
            c.eat(b'0')
                || (c.eat_if(|b| matches!(b, b'1'..=b'9')) && {
                    c.run(digit_);
                    true
                })
        })
        || alt(&|c| c.eat(b'0') && c.eat(b'x') && c.run(|b| b.is_ascii_hexdigit() || b == b'_') > 0)
        || alt(&|c| {
            c.eat_if(|b| matches!(b, b'1'..=b'9')) && {
                c.run(digit_);
                sexagesimal_tail(c)
            }
        })
}

/// The resolver's timestamp pattern (the constructor's own pattern is parsed in
/// [`construct_timestamp`]).
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() == 10
        && b.iter().enumerate().all(|(i, &c)| {
            if i == 4 || i == 7 {
                c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
    {
        return true;
    }
    let mut c = Cur::new(s);
    let digits = |c: &mut Cur<'_>, min: usize, max: usize| {
        let n = c.run(|b| b.is_ascii_digit());
        (min..=max).contains(&n)
    };
    let ok = digits(&mut c, 4, 4)
        && c.eat(b'-')
        && digits(&mut c, 1, 2)
        && c.eat(b'-')
        && digits(&mut c, 1, 2)
        && (c.eat_if(|b| b == b'T' || b == b't') || c.run(|b| b == b' ' || b == b'\t') > 0)
        && digits(&mut c, 1, 2)
        && c.eat(b':')
        && digits(&mut c, 2, 2)
        && c.eat(b':')
        && digits(&mut c, 2, 2);
    if !ok {
        return false;
    }
    if c.eat(b'.') {
        c.run(|b| b.is_ascii_digit());
    }
    if c.done() {
        return true;
    }
    c.run(|b| b == b' ' || b == b'\t');
    if c.eat(b'Z') {
        return c.done();
    }
    if !c.eat_if(|b| b == b'-' || b == b'+') || !digits(&mut c, 1, 2) {
        return false;
    }
    if c.eat(b':') && !digits(&mut c, 2, 2) {
        return false;
    }
    c.done()
}

/// `SafeConstructor.construct_yaml_int`; `None` where Python raises (a `ValueError`).
fn construct_int(text: &str) -> Option<Int> {
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
fn construct_float(text: &str) -> Option<f64> {
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
fn py_float(s: &str) -> Option<f64> {
    s.parse().ok()
}

/// `SafeConstructor.construct_yaml_timestamp`; `None` where Python raises (no match, a date
/// or time out of range).
fn construct_timestamp(text: &str) -> Option<Value> {
    let mut c = Cur::new(text);
    let num = |c: &mut Cur<'_>, min: usize, max: usize| -> Option<u32> {
        let start = c.i;
        let n = c.run(|b| b.is_ascii_digit());
        if !(min..=max).contains(&n) {
            return None;
        }
        std::str::from_utf8(&c.b[start..c.i]).ok()?.parse().ok()
    };
    let year = num(&mut c, 4, 4)?;
    c.eat(b'-').then_some(())?;
    let month = num(&mut c, 1, 2)?;
    c.eat(b'-').then_some(())?;
    let day = num(&mut c, 1, 2)?;
    let date = valid_date(year, month, day)?;
    if c.done() {
        return Some(Value::Date(date));
    }
    if !(c.eat_if(|b| b == b'T' || b == b't') || c.run(|b| b == b' ' || b == b'\t') > 0) {
        return None;
    }
    let hour = num(&mut c, 1, 2)?;
    c.eat(b':').then_some(())?;
    let minute = num(&mut c, 2, 2)?;
    c.eat(b':').then_some(())?;
    let second = num(&mut c, 2, 2)?;
    let mut microsecond = 0;
    if c.eat(b'.') {
        let start = c.i;
        c.run(|b| b.is_ascii_digit());
        let digits = std::str::from_utf8(&c.b[start..c.i]).ok()?;
        if !digits.is_empty() {
            let six: String = digits
                .chars()
                .chain(std::iter::repeat('0'))
                .take(6)
                .collect();
            microsecond = six.parse().ok()?;
        }
    }
    let mut offset = None;
    if !c.done() {
        c.run(|b| b == b' ' || b == b'\t');
        if c.eat(b'Z') {
            offset = Some(0);
        } else {
            let negative = match c.peek() {
                Some(b'-') => true,
                Some(b'+') => false,
                _ => return None,
            };
            c.i += 1;
            let h = num(&mut c, 1, 2)? as i32;
            let m = if c.eat(b':') {
                num(&mut c, 2, 2)? as i32
            } else {
                0
            };
            let minutes = h * 60 + m;
            // datetime.timezone wants strictly less than a day.
            if minutes >= 24 * 60 {
                return None;
            }
            offset = Some(if negative { -minutes } else { minutes });
        }
        if !c.done() {
            return None;
        }
    }
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

fn valid_date(year: u32, month: u32, day: u32) -> Option<Date> {
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
