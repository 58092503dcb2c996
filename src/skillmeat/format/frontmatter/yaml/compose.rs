use super::*;

/// What a node composes to: a value, or one of the two YAML 1.1 scalars that only mean
/// something as a mapping key.
pub(super) enum Composed {
    Value(Value),
    /// `<<` (tag `merge`).
    Merge,
    /// `=` (tag `value`): the text "=" as a key, an error anywhere else.
    ValueKey,
}

pub(super) struct Composer<'a> {
    pub(super) events: Vec<(Event<'a>, Span)>,
    pub(super) pos: usize,
    /// Where the event last returned by `next` ends (in characters).
    pub(super) end: usize,
    /// The text ends without a line break at this character index (else `None`).
    pub(super) open_end: Option<usize>,
    /// Anchor id -> its value once complete (`None` while its node is being composed).
    pub(super) anchors: Vec<Option<Value>>,
    pub(super) nodes: usize,
    pub(super) bytes: usize,
}

pub(super) const CORE: &str = "tag:yaml.org,2002:";

pub(super) fn full_tag(tag: &Tag) -> String {
    format!("{}{}", tag.handle, tag.suffix)
}

impl<'a> Composer<'a> {
    pub(super) fn next(&mut self) -> Result<Event<'a>, LoadError> {
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
    pub(super) fn document(&mut self) -> Result<Value, LoadError> {
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

    pub(super) fn count(&mut self, v: &Value) -> Result<(), LoadError> {
        let (nodes, bytes) = size(v);
        self.nodes += nodes;
        self.bytes += bytes;
        if self.nodes > MAX_NODES || self.bytes > MAX_EXPANDED_BYTES {
            return Err(LoadError::Other);
        }
        Ok(())
    }

    pub(super) fn anchor(&mut self, id: usize) {
        if id != 0 {
            if self.anchors.len() <= id {
                self.anchors.resize(id + 1, None);
            }
            self.anchors[id] = None;
        }
    }

    pub(super) fn set_anchor(&mut self, id: usize, v: &Value) {
        if id != 0 {
            self.anchors[id] = Some(v.clone());
        }
    }

    pub(super) fn node(&mut self, event: Event<'a>, depth: usize) -> Result<Composed, LoadError> {
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
            Event::Scalar(text, style, anchor, tag) => self.scalar_node(text, style, anchor, tag),
            Event::SequenceStart(anchor, tag) => {
                collection_tag(tag.as_deref(), "seq")?;
                self.anchor(anchor);
                self.nodes += 1;
                let v = Value::Seq(self.sequence_items(depth)?);
                self.set_anchor(anchor, &v);
                Ok(Composed::Value(v))
            }
            Event::MappingStart(anchor, tag) => {
                collection_tag(tag.as_deref(), "map")?;
                self.anchor(anchor);
                self.nodes += 1;
                let v = Value::Map(self.mapping_pairs(depth)?);
                self.set_anchor(anchor, &v);
                Ok(Composed::Value(v))
            }
            _ => Err(LoadError::Yaml),
        }
    }

    fn scalar_node(
        &mut self,
        mut text: std::borrow::Cow<'a, str>,
        style: ScalarStyle,
        anchor: usize,
        tag: Option<std::borrow::Cow<'a, Tag>>,
    ) -> Result<Composed, LoadError> {
        // A block scalar that runs to the end of a text without a final line break has no
        // line break to keep; saphyr keeps one.
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

    /// The items of a sequence, up to its end event.
    fn sequence_items(&mut self, depth: usize) -> Result<Vec<Value>, LoadError> {
        let mut items = Vec::new();
        loop {
            match self.next()? {
                Event::SequenceEnd => return Ok(items),
                e => match self.node(e, depth + 1)? {
                    Composed::Value(v) => items.push(v),
                    _ => return Err(LoadError::Yaml),
                },
            }
        }
    }

    /// The pairs of a mapping, up to its end event: merged keys (`<<`) first, then its own,
    /// a later key replacing an equal earlier one (as a Python dict does).
    fn mapping_pairs(&mut self, depth: usize) -> Result<Vec<(Value, Value)>, LoadError> {
        let mut merged: Vec<(Value, Value)> = Vec::new();
        let mut own: Vec<(Value, Value)> = Vec::new();
        loop {
            let key = match self.next()? {
                Event::MappingEnd => break,
                e => self.node(e, depth + 1)?,
            };
            let e = self.next()?;
            let Composed::Value(value) = self.node(e, depth + 1)? else {
                return Err(LoadError::Yaml);
            };
            match key {
                Composed::Merge => merge_into(&mut merged, value)?,
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
        Ok(pairs)
    }
}

/// A collection's tag: none, `!`, or the core schema's `seq`/`map` (`kind`).
fn collection_tag(tag: Option<&Tag>, kind: &str) -> Result<(), LoadError> {
    match tag.map(full_tag).as_deref() {
        None | Some("!") => Ok(()),
        Some(t) if t == format!("{CORE}{kind}") => Ok(()),
        Some(t) if is_unreproduced(t) => Err(LoadError::Other),
        Some(_) => Err(LoadError::Yaml),
    }
}

/// The pairs a `<<` key's value merges in: a mapping's, or each of a sequence of mappings'.
fn merge_into(merged: &mut Vec<(Value, Value)>, value: Value) -> Result<(), LoadError> {
    match value {
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
    }
    Ok(())
}

/// Nodes and scalar bytes of a value (what expanding an alias to it costs).
pub(super) fn size(v: &Value) -> (usize, usize) {
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
pub(super) fn is_unreproduced(tag: &str) -> bool {
    tag.strip_prefix(CORE)
        .is_some_and(|t| matches!(t, "binary" | "set" | "omap" | "pairs"))
}

/// Python `==` between two hashable values, as used for dict keys.
pub(super) fn py_eq(a: &Value, b: &Value) -> bool {
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
