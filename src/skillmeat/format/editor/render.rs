//! Short renderings of values for diffs, and a whole document's text.

use super::*;

/// `value` as short, normalized TOML text: basic strings, `[a, b]`, `{ k = v }`.
pub(crate) fn render_value(value: &Value) -> String {
    render_plain(&value_to_plain(value))
}

pub(super) fn render_plain(value: &toml::Value) -> String {
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
