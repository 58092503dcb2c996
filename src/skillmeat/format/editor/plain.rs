//! Conversions between `toml_edit` items and plain `toml` values.

use super::*;

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

pub(super) fn value_to_plain(value: &Value) -> toml::Value {
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

pub(super) fn is_array_of_tables(v: &toml::Value) -> bool {
    matches!(v, toml::Value::Array(items) if !items.is_empty() && items.iter().all(toml::Value::is_table))
}
