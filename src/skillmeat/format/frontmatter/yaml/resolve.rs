use super::*;

/// A scalar node: the implicit YAML 1.1 resolution of a plain scalar, or its explicit tag,
/// then SafeConstructor's constructor for the tag.
pub(super) fn scalar(
    text: &str,
    style: ScalarStyle,
    tag: Option<&Tag>,
) -> Result<Composed, LoadError> {
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
pub(super) fn resolve(s: &str) -> &'static str {
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
pub(super) struct Cur<'s> {
    pub(super) b: &'s [u8],
    pub(super) i: usize,
}

impl<'s> Cur<'s> {
    pub(super) fn new(s: &'s str) -> Cur<'s> {
        Cur {
            b: s.as_bytes(),
            i: 0,
        }
    }
    pub(super) fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    pub(super) fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    pub(super) fn eat_if(&mut self, f: impl Fn(u8) -> bool) -> bool {
        match self.peek() {
            Some(c) if f(c) => {
                self.i += 1;
                true
            }
            _ => false,
        }
    }
    /// Eats the longest run of bytes satisfying `f`; its length.
    pub(super) fn run(&mut self, f: impl Fn(u8) -> bool) -> usize {
        let start = self.i;
        while self.eat_if(&f) {}
        self.i - start
    }
    pub(super) fn sign(&mut self) {
        let _ = self.eat(b'-') || self.eat(b'+');
    }
    pub(super) fn done(&self) -> bool {
        self.i == self.b.len()
    }
}

pub(super) fn digit_(c: u8) -> bool {
    c.is_ascii_digit() || c == b'_'
}

/// `(:[0-5]?[0-9])+` at the cursor.
pub(super) fn sexagesimal_tail(c: &mut Cur<'_>) -> bool {
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
pub(super) fn exponent(c: &mut Cur<'_>) -> bool {
    let save = c.i;
    if c.eat_if(|b| b == b'e' || b == b'E') {
        if c.eat_if(|b| b == b'-' || b == b'+') && c.run(|b| b.is_ascii_digit()) > 0 {
            return true;
        }
        c.i = save;
    }
    false
}

pub(super) fn is_float(s: &str) -> bool {
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

pub(super) fn is_int(s: &str) -> bool {
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
pub(super) fn is_timestamp(s: &str) -> bool {
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
