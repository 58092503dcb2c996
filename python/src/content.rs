//! What a Python program may give as a file's content, and how the engine's thread reads it.
//!
//! - `bytes`, `bytearray`, `memoryview`: the bytes (copied once, to cross to the engine's
//!   thread);
//! - `str`: its UTF-8 encoding;
//! - an `os.PathLike` (`pathlib.Path`): that file, streamed by the engine's thread without
//!   the GIL;
//! - a binary file object (anything with `read(n)` returning `bytes`): streamed, `read` called
//!   from the engine's thread with the GIL taken for each chunk. Never read whole into
//!   memory: the engine stages through a 64 KiB buffer.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyString};
use skillwal::error::IoError;
use std::io::{self, Read};
use std::path::PathBuf;

/// A file's content, ready to cross to the engine's thread.
pub enum Content {
    Bytes(Vec<u8>),
    Path(PathBuf),
    Reader(Py<PyAny>),
}

impl Content {
    /// Reads `obj` as content (see the module's list); a `TypeError` for anything else.
    pub fn from_py(obj: &Bound<'_, PyAny>) -> PyResult<Content> {
        if let Ok(b) = obj.cast::<PyBytes>() {
            return Ok(Content::Bytes(b.as_bytes().to_vec()));
        }
        if let Ok(b) = obj.cast::<PyByteArray>() {
            return Ok(Content::Bytes(b.to_vec()));
        }
        if let Ok(s) = obj.cast::<PyString>() {
            return Ok(Content::Bytes(s.extract::<String>()?.into_bytes()));
        }
        if obj.hasattr("__fspath__")? {
            return Ok(Content::Path(obj.extract::<PathBuf>()?));
        }
        if obj.hasattr("read")? {
            return Ok(Content::Reader(obj.clone().unbind()));
        }
        if obj.is_instance_of::<pyo3::types::PyMemoryView>() {
            let b = obj.py().get_type::<PyBytes>().call1((obj,))?;
            return Ok(Content::Bytes(b.cast::<PyBytes>()?.as_bytes().to_vec()));
        }
        Err(PyTypeError::new_err(format!(
            "content must be bytes, str, a path (os.PathLike) or a binary file object, not {}",
            obj.get_type().name()?
        )))
    }

    /// Runs `f` with a reader of the content: called on the engine's thread.
    pub fn with_reader(
        self,
        f: impl FnOnce(&mut dyn Read) -> skillwal::Result<()>,
    ) -> skillwal::Result<()> {
        match self {
            Content::Bytes(b) => f(&mut b.as_slice()),
            Content::Path(p) => {
                let mut file = std::fs::File::open(&p)
                    .map_err(|e| skillwal::Error::Io(IoError::new("open", &p, e)))?;
                f(&mut file)
            }
            Content::Reader(obj) => f(&mut PyReader(obj)),
        }
    }
}

/// A Python binary file object as a [`Read`]: each `read` takes the GIL and calls the
/// object's `read(n)`.
struct PyReader(Py<PyAny>);

impl Read for PyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Python::attach(|py| {
            let got = self
                .0
                .bind(py)
                .call_method1("read", (buf.len(),))
                .map_err(|e| io::Error::other(format!("the file object's read() raised {e}")))?;
            let bytes = got.cast::<PyBytes>().map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the file object's read() returned something other than bytes (open it in binary mode)",
                )
            })?;
            let data = bytes.as_bytes();
            if data.len() > buf.len() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "the file object's read({}) returned {} bytes",
                        buf.len(),
                        data.len()
                    ),
                ));
            }
            buf[..data.len()].copy_from_slice(data);
            Ok(data.len())
        })
    }
}
