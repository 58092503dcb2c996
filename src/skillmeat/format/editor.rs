//! Helpers shared by the manifest, lock and config readers and editors.
//!
//! Reading: `Source` parses a document with spans kept and turns spans into [`Location`]s
//! for schema errors. Editing: functions that change one value of a `toml_edit` table while
//! keeping everything around it (decor, comments, order), place new tables in the document,
//! and format new values the way SkillMeat's writer (`tomli_w`) does.

use std::ops::Range;

use toml_edit::{Array, ArrayOfTables, InlineTable, Item, Key, Table, TableLike, Value};

use super::error::{Error, Location, Result};
use crate::skillmeat::DOCUMENT_BYTES_MAX;

/// A document being read: its name (for messages) and its text (for line/column).
pub(crate) struct Source<'a> {
    pub document: &'a str,
    pub text: &'a str,
}

impl<'a> Source<'a> {
    /// Parses `text`, keeping spans. Fails on oversize input and on TOML syntax errors.
    pub fn parse(text: &'a str, document: &'a str) -> Result<(Self, toml_edit::Document<&'a str>)> {
        if text.len() > DOCUMENT_BYTES_MAX {
            return Err(Error::DocumentTooLarge {
                document: document.to_owned(),
                bytes: text.len(),
                limit: DOCUMENT_BYTES_MAX,
            });
        }
        let source = Source { document, text };
        match toml_edit::Document::parse(text) {
            Ok(doc) => Ok((source, doc)),
            Err(e) => Err(Error::Syntax {
                at: source.at(e.span()),
                message: e.message().lines().next().unwrap_or("").to_owned(),
            }),
        }
    }

    /// The location of the start of `span`; the document start when there is no span.
    pub fn at(&self, span: Option<Range<usize>>) -> Location {
        Location::from_offset(self.document, self.text, span.map_or(0, |s| s.start))
    }

    /// A schema error at the start of `span`.
    pub fn schema(&self, span: Option<Range<usize>>, message: impl Into<String>) -> Error {
        Error::Schema {
            at: self.at(span),
            message: message.into(),
        }
    }

    /// `item` as a table (standard or inline), or a schema error naming `what`.
    pub fn table_like<'d>(&self, item: &'d Item, what: &str) -> Result<&'d dyn TableLike> {
        item.as_table_like()
            .ok_or_else(|| self.schema(item.span(), format!("{what} must be a table")))
    }

    /// A required string field; `table_span` locates the error when the field is missing.
    pub fn required_string(
        &self,
        table: &dyn TableLike,
        table_span: Option<Range<usize>>,
        key: &str,
        what: &str,
    ) -> Result<String> {
        match table.get(key) {
            Some(item) => self.string_field(item, key, what),
            None => Err(self.schema(table_span, format!("{what}: missing field `{key}`"))),
        }
    }

    /// The string value of field `key` of `what`; the message is only made for an error
    /// (this runs for every field of every artifact).
    fn string_field(&self, item: &Item, key: &str, what: &str) -> Result<String> {
        item.as_str().map(str::to_owned).ok_or_else(|| {
            self.schema(
                item.span(),
                format!("{what}: field `{key}` must be a string"),
            )
        })
    }

    /// An optional string field: absent is `None`, any non-string is an error.
    pub fn optional_string(
        &self,
        table: &dyn TableLike,
        key: &str,
        what: &str,
    ) -> Result<Option<String>> {
        table
            .get(key)
            .map(|item| self.string_field(item, key, what))
            .transpose()
    }

    /// An optional positive integer field: absent is `None`, anything else is an error.
    pub fn optional_positive_integer(
        &self,
        table: &dyn TableLike,
        key: &str,
        what: &str,
    ) -> Result<Option<u64>> {
        let Some(item) = table.get(key) else {
            return Ok(None);
        };
        match item.as_integer() {
            Some(n) if n > 0 => Ok(Some(n as u64)),
            _ => Err(self.schema(
                item.span(),
                format!("{what}: field `{key}` must be a positive integer"),
            )),
        }
    }

    /// An optional array of strings: absent is empty.
    pub fn string_array(
        &self,
        table: &dyn TableLike,
        key: &str,
        what: &str,
    ) -> Result<Vec<String>> {
        let Some(item) = table.get(key) else {
            return Ok(Vec::new());
        };
        let message = || format!("{what}: field `{key}` must be an array of strings");
        let array = item
            .as_array()
            .ok_or_else(|| self.schema(item.span(), message()))?;
        array
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| self.schema(v.span(), message()))
            })
            .collect()
    }
}

/// The span of a table-like item (header for standard tables, `{` for inline ones).
pub(crate) fn item_span(item: &Item) -> Option<Range<usize>> {
    match item {
        Item::Table(t) => t.span(),
        Item::Value(v) => v.span(),
        other => other.span(),
    }
}

// ---------------------------------------------------------------------------------------
// Conversions between toml_edit items and plain toml values.

/// The plain value of `item`; `None` for `Item::None`.
pub(crate) fn to_plain(item: &Item) -> Option<toml::Value> {
    match item {
        Item::None => None,
        Item::Value(v) => Some(value_to_plain(v)),
        Item::Table(t) => Some(toml::Value::Table(table_like_to_plain(t))),
        Item::ArrayOfTables(a) => Some(toml::Value::Array(
            a.iter()
                .map(|t| toml::Value::Table(table_like_to_plain(t)))
                .collect(),
        )),
    }
}

/// The plain table of a standard or inline table.
pub(crate) fn table_like_to_plain(table: &dyn TableLike) -> toml::Table {
    table
        .iter()
        .filter_map(|(k, item)| to_plain(item).map(|v| (k.to_owned(), v)))
        .collect()
}

fn value_to_plain(value: &Value) -> toml::Value {
    match value {
        Value::String(s) => toml::Value::String(s.value().clone()),
        Value::Integer(i) => toml::Value::Integer(*i.value()),
        Value::Float(f) => toml::Value::Float(*f.value()),
        Value::Boolean(b) => toml::Value::Boolean(*b.value()),
        Value::Datetime(d) => toml::Value::Datetime(*d.value()),
        Value::Array(a) => toml::Value::Array(a.iter().map(value_to_plain).collect()),
        Value::InlineTable(t) => toml::Value::Table(table_like_to_plain(t)),
    }
}

/// A string value written as a basic string with escapes, as `tomli_w` writes it.
pub(crate) fn string_value(s: &str) -> Value {
    let mut text = String::with_capacity(s.len() + 2);
    text.push('"');
    for c in s.chars() {
        match c {
            '"' => text.push_str("\\\""),
            '\\' => text.push_str("\\\\"),
            '\n' => text.push_str("\\n"),
            '\t' => text.push_str("\\t"),
            '\r' => text.push_str("\\r"),
            '\u{8}' => text.push_str("\\b"),
            '\u{c}' => text.push_str("\\f"),
            c if c.is_control() => text.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => text.push(c),
        }
    }
    text.push('"');
    let mut value: Value = text
        .parse()
        .expect("an escaped basic string is always a valid TOML value");
    value.decor_mut().clear();
    value
}

/// An array of strings laid out as `tomli_w` does: one element per line, indented by four
/// spaces, trailing comma. The empty array is `[]`.
pub(crate) fn string_array_value(items: &[String]) -> Value {
    let mut array = Array::new();
    for s in items {
        let mut v = string_value(s);
        v.decor_mut().set_prefix("\n    ");
        v.decor_mut().set_suffix("");
        array.push_formatted(v);
    }
    if !items.is_empty() {
        array.set_trailing_comma(true);
        array.set_trailing("\n");
    }
    Value::Array(array)
}

/// A plain value as a `toml_edit` value: strings as basic strings, arrays of strings in
/// `tomli_w` layout, other arrays and tables inline.
pub(crate) fn plain_to_value(value: &toml::Value) -> Value {
    match value {
        toml::Value::String(s) => string_value(s),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => Value::from(*f),
        toml::Value::Boolean(b) => Value::from(*b),
        toml::Value::Datetime(d) => Value::from(*d),
        toml::Value::Array(items) => {
            if let Some(strings) = items
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
            {
                return string_array_value(&strings);
            }
            let mut array = Array::new();
            for v in items {
                array.push(plain_to_value(v));
            }
            Value::Array(array)
        }
        toml::Value::Table(t) => {
            let mut inline = InlineTable::new();
            for (k, v) in t {
                inline.insert(k, plain_to_value(v));
            }
            Value::InlineTable(inline)
        }
    }
}

/// A plain table as a standard table, as `tomli_w` writes it: plain values first, nested
/// tables as `[a.b]` sub-tables (headerless when they hold only sub-tables), arrays of tables
/// as `[[a.b]]`. Positions are left unset; [`make_room`] assigns them.
pub(crate) fn plain_to_table(table: &toml::Table) -> Table {
    let mut out = Table::new();
    for (k, v) in table {
        if v.is_table() || is_array_of_tables(v) {
            continue;
        }
        out.insert(k, Item::Value(plain_to_value(v)));
    }
    for (k, v) in table {
        if let toml::Value::Table(t) = v {
            out.insert(k, Item::Table(plain_to_table(t)));
        } else if let (true, toml::Value::Array(items)) = (is_array_of_tables(v), v) {
            let mut aot = ArrayOfTables::new();
            for item in items.iter().filter_map(toml::Value::as_table) {
                aot.push(plain_to_table(item));
            }
            out.insert(k, Item::ArrayOfTables(aot));
        }
    }
    // Like tomli_w: no header line for a table that holds only sub-tables.
    out.set_implicit(out.get_values().is_empty() && !out.is_empty());
    out
}

fn is_array_of_tables(v: &toml::Value) -> bool {
    matches!(v, toml::Value::Array(items) if !items.is_empty() && items.iter().all(toml::Value::is_table))
}

// ---------------------------------------------------------------------------------------
// Editing in place.

/// Sets `key` of `table` to `value` unless it already holds an equal value.
///
/// An existing value keeps its decor (spacing, trailing comment) and its place. A new key is
/// inserted right after the last present key that comes before it in `order` (SkillMeat's
/// field order), or at the end when `key` is not in `order`. Returns whether anything changed.
pub(crate) fn set_value(table: &mut Table, key: &str, value: Value, order: &[&str]) -> bool {
    if table.contains_key(key) {
        return set_value_like(table, key, value);
    }
    let index = insertion_index(table, key, order);
    insert_at(table, index, key, Item::Value(value));
    true
}

/// Like [`set_value`] for any table-like (standard or inline); a new key goes at the end.
pub(crate) fn set_value_like(table: &mut dyn TableLike, key: &str, mut value: Value) -> bool {
    if let Some(existing) = table.get_mut(key) {
        if let Item::Value(old) = existing {
            if same_value(old, &value) {
                return false;
            }
            *value.decor_mut() = old.decor().clone();
        }
        *existing = Item::Value(value);
        return true;
    }
    table.insert(key, Item::Value(value));
    true
}

/// Like [`set_value_like`] for an inline table, keeping `{ a = 1, b = 2 }` spacing when a
/// key is added.
pub(crate) fn set_value_inline(table: &mut InlineTable, key: &str, value: Value) -> bool {
    if table.contains_key(key) {
        return set_value_like(table, key, value);
    }
    append_inline(table, key, value);
    true
}

/// Appends to an inline table, moving the space before `}` from the old last value to the
/// new one, so `{ a = 1 }` becomes `{ a = 1, b = 2 }` rather than `{ a = 1 , b = 2 }`.
fn append_inline(table: &mut InlineTable, key: &str, mut value: Value) {
    let last_suffix = table.iter_mut().last().and_then(|(_, last)| {
        let suffix = last.decor().suffix().cloned();
        last.decor_mut().set_suffix("");
        suffix
    });
    if let Some(suffix) = last_suffix {
        value.decor_mut().set_suffix(suffix);
    }
    table.insert(key, value);
}

/// Removes `key` from `table`; returns whether it was there.
pub(crate) fn remove_key(table: &mut Table, key: &str) -> bool {
    table.remove(key).is_some()
}

/// Whether two values are equal as data, ignoring formatting.
pub(crate) fn same_value(a: &Value, b: &Value) -> bool {
    value_to_plain(a) == value_to_plain(b)
}

fn insertion_index(table: &Table, key: &str, order: &[&str]) -> usize {
    let Some(rank) = order.iter().position(|k| *k == key) else {
        return table.len();
    };
    let before = &order[..rank];
    table
        .iter()
        .enumerate()
        .filter(|(_, (k, _))| before.contains(k))
        .map(|(i, _)| i + 1)
        .last()
        .unwrap_or(0)
}

/// Inserts `key` at `index` of `table`'s key order, keeping every other key's formatting.
fn insert_at(table: &mut Table, index: usize, key: &str, item: Item) {
    let tail_keys: Vec<String> = table
        .iter()
        .skip(index)
        .map(|(k, _)| k.to_owned())
        .collect();
    let tail: Vec<(Key, Item)> = tail_keys
        .iter()
        .filter_map(|k| table.remove_entry(k))
        .collect();
    table.insert(key, item);
    for (k, v) in tail {
        table.insert_formatted(&k, v);
    }
}

/// The largest table position in `table` and everything below it.
pub(crate) fn max_position(table: &Table) -> Option<isize> {
    let mut max = table.position();
    for_each_child_table(table, &mut |t| {
        if let Some(p) = max_position(t) {
            max = Some(max.map_or(p, |m| m.max(p)));
        }
    });
    max
}

/// Prepares `new_table` (not yet part of `root`) to print immediately after the table at
/// position `anchor`: numbers it and its sub-tables `anchor + 1, anchor + 2, …` in document
/// order and shifts every table of `root` positioned after `anchor` out of the way. Insert
/// `new_table` into `root`'s tree afterwards.
pub(crate) fn make_room(root: &mut Table, new_table: &mut Table, anchor: isize) {
    let mut next = anchor + 1;
    new_table.set_position(Some(next));
    next += 1;
    number_tables(new_table, &mut next);
    shift_positions(root, anchor, next - anchor - 1);
}

fn number_tables(table: &mut Table, next: &mut isize) {
    for_each_child_table_mut(table, &mut |t| {
        if !t.is_dotted() {
            t.set_position(Some(*next));
            *next += 1;
        }
        number_tables(t, next);
    });
}

fn shift_positions(table: &mut Table, anchor: isize, by: isize) {
    for_each_child_table_mut(table, &mut |t| {
        if let Some(p) = t.position().filter(|p| *p > anchor) {
            t.set_position(Some(p + by));
        }
        shift_positions(t, anchor, by);
    });
}

fn for_each_child_table<'t>(table: &'t Table, f: &mut dyn FnMut(&'t Table)) {
    for (_, item) in table.iter() {
        match item {
            Item::Table(t) => f(t),
            Item::ArrayOfTables(a) => a.iter().for_each(&mut *f),
            _ => {}
        }
    }
}

fn for_each_child_table_mut(table: &mut Table, f: &mut dyn FnMut(&mut Table)) {
    for (_, item) in table.iter_mut() {
        match item {
            Item::Table(t) => f(t),
            Item::ArrayOfTables(a) => a.iter_mut().for_each(&mut *f),
            _ => {}
        }
    }
}

/// After the last root-level value was removed, the first table's header would start the
/// document with the blank line that used to separate it from those values; drop it when
/// it is only whitespace.
pub(crate) fn trim_blank_document_start(root: &mut Table) {
    if !root.get_values().is_empty() {
        return;
    }
    let Some(first) = min_position(root) else {
        return;
    };
    fn visit(table: &mut Table, first: isize) {
        for_each_child_table_mut(table, &mut |t| {
            if t.position() == Some(first) {
                let blank = t
                    .decor()
                    .prefix()
                    .and_then(|p| p.as_str())
                    .is_some_and(|p| p.trim().is_empty());
                if blank {
                    t.decor_mut().set_prefix("");
                }
            }
            visit(t, first);
        });
    }
    visit(root, first);
}

fn min_position(table: &Table) -> Option<isize> {
    let mut min: Option<isize> = None;
    for_each_child_table(table, &mut |t| {
        let candidates = [t.position().filter(|_| !t.is_implicit()), min_position(t)];
        for p in candidates.into_iter().flatten() {
            min = Some(min.map_or(p, |m| m.min(p)));
        }
    });
    min
}

/// Turns an inline-table item into a standard table in place; `false` if it is neither.
pub(crate) fn make_standard_table(item: &mut Item) -> bool {
    if let Item::Value(Value::InlineTable(_)) = item {
        let Item::Value(Value::InlineTable(inline)) = std::mem::take(item) else {
            unreachable!("checked just above");
        };
        *item = Item::Table(inline.into_table());
    }
    item.is_table()
}

/// Serializes an edited document. If the original text used CRLF line endings, toml_edit's
/// LF-only output is converted back (bare `\n` becomes `\r\n`; existing `\r\n` stay).
pub(crate) fn render_document(doc: &toml_edit::DocumentMut, crlf: bool) -> String {
    let text = doc.to_string();
    if !crlf {
        return text;
    }
    let mut out = String::with_capacity(text.len() + text.len() / 16);
    let mut previous = '\0';
    for c in text.chars() {
        if c == '\n' && previous != '\r' {
            out.push('\r');
        }
        out.push(c);
        previous = c;
    }
    out
}

// ---------------------------------------------------------------------------------------
// Short renderings for diffs.

/// `value` as short, normalized TOML text: basic strings, `[a, b]`, `{ k = v }`.
pub(crate) fn render_value(value: &Value) -> String {
    render_plain(&value_to_plain(value))
}

fn render_plain(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => string_value(s).to_string(),
        toml::Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(render_plain).collect();
            format!("[{}]", parts.join(", "))
        }
        toml::Value::Table(t) => {
            let parts: Vec<String> = t
                .iter()
                .map(|(k, v)| format!("{} = {}", Key::new(k).display_repr(), render_plain(v)))
                .collect();
            if parts.is_empty() {
                "{}".to_owned()
            } else {
                format!("{{ {} }}", parts.join(", "))
            }
        }
        other => plain_to_value(other).to_string(),
    }
}

/// Every leaf of `table` as (dotted field path, rendered value), in document order.
///
/// Standard and inline tables are descended into (`metadata.description`); arrays of
/// tables are indexed (`servers[0].name`); arrays of values are rendered whole.
pub(crate) fn flatten(table: &dyn TableLike, prefix: &str, out: &mut Vec<(String, String)>) {
    for (k, item) in table.iter() {
        let key = Key::new(k);
        let path = if prefix.is_empty() {
            key.display_repr().into_owned()
        } else {
            format!("{prefix}.{}", key.display_repr())
        };
        flatten_item(item, &path, out);
    }
}

/// The leaves of one item whose field path is `path`; see [`flatten`].
pub(crate) fn flatten_item(item: &Item, path: &str, out: &mut Vec<(String, String)>) {
    match item {
        Item::None => {}
        Item::Value(Value::InlineTable(t)) => flatten(t, path, out),
        Item::Value(v) => out.push((path.to_owned(), render_value(v))),
        Item::Table(t) => flatten(t, path, out),
        Item::ArrayOfTables(a) => {
            for (i, t) in a.iter().enumerate() {
                flatten(t, &format!("{path}[{i}]"), out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_basic_and_escaped() {
        assert_eq!(string_value("plain").to_string(), "\"plain\"");
        assert_eq!(
            string_value("it's \"q\"\n\\ \u{1}").to_string(),
            r#""it's \"q\"\n\\ \u0001""#
        );
    }

    #[test]
    fn string_arrays_use_tomli_w_layout() {
        let mut t = Table::new();
        t.insert(
            "tags",
            Item::Value(string_array_value(&["a".into(), "b".into()])),
        );
        t.insert("none", Item::Value(string_array_value(&[])));
        assert_eq!(
            t.to_string(),
            "tags = [\n    \"a\",\n    \"b\",\n]\nnone = []\n"
        );
    }

    #[test]
    fn set_value_keeps_decor_and_inserts_in_order() {
        let text = "[t]\nname = \"a\"   # the name\nzzz = 1\nadded = \"x\"\n";
        let mut doc: toml_edit::DocumentMut = text.parse().unwrap();
        let t = doc["t"].as_table_mut().unwrap();
        let order = ["name", "type", "added", "upstream"];
        assert!(!set_value(t, "name", string_value("a"), &order));
        assert!(set_value(t, "name", string_value("b"), &order));
        assert!(set_value(t, "type", string_value("skill"), &order));
        assert!(set_value(t, "upstream", string_value("u"), &order));
        assert!(set_value(t, "extra", string_value("e"), &order));
        assert_eq!(
            doc.to_string(),
            "[t]\nname = \"b\"   # the name\ntype = \"skill\"\nzzz = 1\nadded = \"x\"\nupstream = \"u\"\nextra = \"e\"\n"
        );
    }

    #[test]
    fn render_normalizes_formatting() {
        let doc: toml_edit::DocumentMut =
            "a = 'x'\nb = [ 1,2 , ]\nc = {q=\"z\"}\nd = 2026-01-01T00:00:00\n"
                .parse()
                .unwrap();
        let r = |k: &str| render_value(doc[k].as_value().unwrap());
        assert_eq!(r("a"), "\"x\"");
        assert_eq!(r("b"), "[1, 2]");
        assert_eq!(r("c"), "{ q = \"z\" }");
        assert_eq!(r("d"), "2026-01-01T00:00:00");
    }

    #[test]
    fn crlf_is_restored() {
        let doc: toml_edit::DocumentMut = "a = 1\r\nb = 2\r\n".parse().unwrap();
        assert_eq!(render_document(&doc, true), "a = 1\r\nb = 2\r\n");
        assert_eq!(render_document(&doc, false), "a = 1\nb = 2\n");
    }
}
