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

mod document;
mod edit;
mod plain;
mod render;

pub(crate) use document::{Edited, Typed};
pub(crate) use edit::*;
pub(crate) use plain::*;
pub(crate) use render::*;

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
