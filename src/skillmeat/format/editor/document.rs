//! What the manifest and lock editors share: the text as parsed (or as last rebased on), its
//! `toml_edit` document, the typed view of that text, the items edits saved, and whether
//! anything was edited.

use std::borrow::Cow;
use std::fmt;
use std::sync::OnceLock;

use toml_edit::{DocumentMut, Table};

use super::super::diff::Saved;
use super::*;

/// A document type the editor core keeps a typed view of.
pub(crate) trait Typed: Sized {
    /// Reads the typed view from a parsed document, validating it.
    fn read(source: &Source<'_>, root: &Table) -> Result<Self>;
}

/// An edited document: the state every editor of a SkillMeat document keeps.
#[derive(Debug, Clone)]
pub(crate) struct Edited<T> {
    /// The name given at construction, used in errors.
    pub(crate) document: String,
    /// The text parsed, or the one given to the last [`Edited::rebase`].
    original: String,
    pub(crate) doc: DocumentMut,
    /// The typed view of `original` (so of the document while `edited` is false): read
    /// from the same parse as `doc`; after a rebase, read from `original` when first asked.
    parsed: OnceLock<T>,
    /// The items changed since `original`, as they were (for the editors' `changes`).
    pub(crate) saved: Saved,
    crlf: bool,
    pub(crate) edited: bool,
}

impl<T: Typed> Edited<T> {
    /// Parses `text` once, validated as the typed view's reader validates it, failing the
    /// same way; the typed view read then is kept.
    pub(crate) fn parse(text: &str, document: &str) -> Result<Edited<T>> {
        let (source, doc) = Source::parse(text, document)?;
        let parsed = T::read(&source, doc.as_table())?;
        Ok(Edited {
            document: document.to_owned(),
            original: text.to_owned(),
            doc: doc.into_mut(),
            parsed: OnceLock::from(parsed),
            saved: Saved::default(),
            crlf: text.contains("\r\n"),
            edited: false,
        })
    }

    /// The typed view of the document as it is now: while nothing was edited, the one read
    /// at parse (borrowed, no work); after an edit, read again from the new text (an error
    /// here is a bug in the editor).
    pub(crate) fn typed(&self) -> Result<Cow<'_, T>>
    where
        T: Clone,
    {
        let reparse = |text: &str| -> Result<T> {
            let (source, doc) = Source::parse(text, &self.document)?;
            T::read(&source, doc.as_table())
        };
        if self.edited {
            return reparse(&self.to_string()).map(Cow::Owned);
        }
        if let Some(parsed) = self.parsed.get() {
            return Ok(Cow::Borrowed(parsed));
        }
        let parsed = reparse(&self.original)?;
        Ok(Cow::Borrowed(self.parsed.get_or_init(|| parsed)))
    }

    /// Makes the document as it is now the original: `text` must be its text now (the
    /// caller has just written it). Afterwards nothing is edited, the saved items are
    /// forgotten, and the typed view is read from `text` when first asked for.
    pub(crate) fn rebase(&mut self, text: String) {
        debug_assert_eq!(text, self.to_string(), "rebase on the document's own text");
        self.original = text;
        self.parsed = OnceLock::new();
        self.saved.clear();
        self.edited = false;
    }

    /// Drops every edit since the original text (parsing it again if anything changed).
    pub(crate) fn discard_edits(&mut self) {
        if self.edited {
            *self = Edited::parse(&self.original, &self.document)
                .expect("the original text is valid: it was parsed or written so");
        }
        self.saved.clear();
    }
}

impl<T> fmt::Display for Edited<T> {
    /// The document text: the original text, byte for byte, when nothing was edited.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.edited {
            f.write_str(&render_document(&self.doc, self.crlf))
        } else {
            f.write_str(&self.original)
        }
    }
}
