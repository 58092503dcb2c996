//! Editing in place: changing one value of a `toml_edit` table while keeping everything
//! around it (decor, comments, order), and placing new tables in the document.

use super::*;

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
pub(super) fn append_inline(table: &mut InlineTable, key: &str, mut value: Value) {
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

pub(super) fn insertion_index(table: &Table, key: &str, order: &[&str]) -> usize {
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
pub(super) fn insert_at(table: &mut Table, index: usize, key: &str, item: Item) {
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

pub(super) fn number_tables(table: &mut Table, next: &mut isize) {
    for_each_child_table_mut(table, &mut |t| {
        if !t.is_dotted() {
            t.set_position(Some(*next));
            *next += 1;
        }
        number_tables(t, next);
    });
}

pub(super) fn shift_positions(table: &mut Table, anchor: isize, by: isize) {
    for_each_child_table_mut(table, &mut |t| {
        if let Some(p) = t.position().filter(|p| *p > anchor) {
            t.set_position(Some(p + by));
        }
        shift_positions(t, anchor, by);
    });
}

pub(super) fn for_each_child_table<'t>(table: &'t Table, f: &mut dyn FnMut(&'t Table)) {
    for (_, item) in table.iter() {
        match item {
            Item::Table(t) => f(t),
            Item::ArrayOfTables(a) => a.iter().for_each(&mut *f),
            _ => {}
        }
    }
}

pub(super) fn for_each_child_table_mut(table: &mut Table, f: &mut dyn FnMut(&mut Table)) {
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

pub(super) fn min_position(table: &Table) -> Option<isize> {
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
