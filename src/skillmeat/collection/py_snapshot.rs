//! The Python tool's snapshots: the list in
//! `~/.skillmeat/snapshots/<collection>/snapshots.toml`, and a safe extraction of one of its
//! gzip tarballs (arcname = the collection's name) into a directory of our own.
//!
//! A tarball is input to be distrusted: no path in it may leave the destination (absolute
//! paths and `..` are refused); a symbolic link is created only when its target is relative
//! and stays inside the collection, and only after every other entry, below real directories
//! (so that nothing is ever written through it); hard links and special files are never
//! created (they are reported as skipped); the bytes written and the entries are bounded
//! (against archive bombs: sizes are counted as the bytes arrive, not taken from headers);
//! files and directories get their recorded permission bits (`0o777` of them: never setuid,
//! setgid or sticky), directories last, whatever the umask; and a copy of skillwal's own
//! `.skillwal/` (an older skillwal kept its state inside the collection) is never extracted.

use crate::error::IoError;
use crate::fs::{FileKind, FileReader, FileSystem, OpenMode};
use serde::Serialize;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

/// Most bytes extracted from one tarball.
pub const EXTRACT_BYTES_MAX: u64 = 2 * 1024 * 1024 * 1024;
/// Most entries extracted from one tarball.
pub const EXTRACT_ENTRIES_MAX: u64 = 200_000;

/// One snapshot the Python tool lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PySnapshot {
    /// `YYYYMMDD-HHMMSS-ffffff`.
    pub id: String,
    /// When the Python tool took it, as it recorded it.
    pub timestamp: String,
    /// The message it was taken with.
    pub message: String,
    /// How many artifacts the Python tool counted in it.
    pub artifact_count: Option<i64>,
    /// The gzip tarball holding it.
    pub tarball_path: PathBuf,
}

/// Why a SkillMeat snapshot cannot be listed or restored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PySnapshotError {
    /// `snapshots.toml` cannot be read or parsed.
    #[error("{}: {reason}; the Python tool's snapshot list cannot be read", path.display())]
    BadList {
        /// `snapshots.toml`.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The tarball holds something extraction refuses (module documentation).
    #[error("SkillMeat snapshot {} cannot be restored: {reason}", tarball.display())]
    Unsafe {
        /// The tarball.
        tarball: PathBuf,
        /// What in it is refused.
        reason: String,
    },
    /// The tarball could not be read.
    #[error("reading SkillMeat snapshot {}: {}", .0.path.display(), .0.source)]
    Read(#[source] IoError),
    /// The scratch directory could not be written.
    #[error("extracting SkillMeat snapshot into {}: {}", .0.path.display(), .0.source)]
    Write(#[source] IoError),
}

/// The result of listing or extracting the Python tool's snapshots.
pub type Result<T, E = PySnapshotError> = std::result::Result<T, E>;

/// Whether `id` has the form of the Python tool's snapshot ids (`YYYYMMDD-HHMMSS-ffffff`).
pub fn is_py_id(id: &str) -> bool {
    let b = id.as_bytes();
    b.len() == 22
        && b[8] == b'-'
        && b[15] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 8 || i == 15 || c.is_ascii_digit())
}

/// `<home>/snapshots/<collection>/`.
pub fn snapshots_dir(home: &Path, collection: &str) -> PathBuf {
    home.join("snapshots").join(collection)
}

/// The Python tool's snapshots of `collection`, oldest first; empty when it has none.
/// `snapshots.toml` is read through `fs`.
pub fn list(fs: &dyn FileSystem, home: &Path, collection: &str) -> Result<Vec<PySnapshot>> {
    let dir = snapshots_dir(home, collection);
    let path = dir.join("snapshots.toml");
    let bad = |reason: String| PySnapshotError::BadList {
        path: path.clone(),
        reason,
    };
    let text = match crate::fs::read_small_text(fs, &path, crate::limits::DOCUMENT_BYTES_MAX as u64)
    {
        Ok(Some((t, _))) => t,
        Ok(None) => return Ok(Vec::new()),
        Err(e) => return Err(bad(e.source.to_string())),
    };
    let doc: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| bad(e.to_string()))?;
    let Some(items) = doc.get("snapshots") else {
        return Ok(Vec::new());
    };
    let items = items
        .as_array()
        .ok_or_else(|| bad("`snapshots` is not an array of tables".into()))?;
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let t = item
            .as_table()
            .ok_or_else(|| bad(format!("snapshot {} is not a table", i + 1)))?;
        let field = |k: &str| t.get(k).and_then(|v| v.as_str()).map(str::to_string);
        let id = field("id").ok_or_else(|| bad(format!("snapshot {} has no id", i + 1)))?;
        if !is_py_id(&id) {
            return Err(bad(format!(
                "snapshot id {id:?} is not YYYYMMDD-HHMMSS-ffffff"
            )));
        }
        let tarball_path = field("tarball_path")
            .map(PathBuf::from)
            .unwrap_or_else(|| dir.join(format!("{id}.tar.gz")));
        out.push(PySnapshot {
            timestamp: field("timestamp").unwrap_or_default(),
            message: field("message").unwrap_or_default(),
            artifact_count: t.get("artifact_count").and_then(|v| v.as_integer()),
            tarball_path,
            id,
        });
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// What an extraction did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Extracted {
    /// Regular files written.
    pub files: u64,
    /// Bytes written to them.
    pub bytes: u64,
    /// Links created (contained in the collection).
    pub links: u64,
    /// Links leaving the collection, hard links and special files: not created.
    pub skipped: Vec<String>,
    /// Entries below `.skillwal/`, not extracted.
    pub skillwal_entries: u64,
}

/// The components of an archive path below its top directory, or why it is refused.
/// Returns `(top, rest)`.
fn split(path: &Path) -> Result<(String, Vec<String>), String> {
    let mut parts = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(s) => match s.to_str() {
                Some(s) if !s.is_empty() => parts.push(s.to_string()),
                _ => return Err(format!("{}: name is not UTF-8", path.display())),
            },
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => {
                return Err(format!("{}: absolute path", path.display()));
            }
            Component::ParentDir => {
                return Err(format!(
                    "{}: `..` would leave the collection",
                    path.display()
                ));
            }
        }
    }
    if parts.is_empty() {
        return Err("an entry with an empty path".into());
    }
    let top = parts.remove(0);
    Ok((top, parts))
}

/// Extracts `tarball` (gzip tar, one top directory) into the existing empty directory
/// `dest`, safely (module documentation), within `max_bytes` and `max_entries`. Both are
/// read and written through `fs`; nothing is synced (`dest` is a scratch directory).
pub fn extract(
    fs: &dyn FileSystem,
    tarball: &Path,
    dest: &Path,
    max_bytes: u64,
    max_entries: u64,
) -> Result<Extracted> {
    let read = |source: io::Error| PySnapshotError::Read(IoError::new("read", tarball, source));
    let file = FileReader::open(fs, tarball).map_err(read)?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut x = Extraction {
        fs,
        dir_mode: 0o777 & !crate::fs::process_umask(),
        tarball,
        dest,
        max_bytes,
        max_entries,
        top_seen: None,
        report: Extracted::default(),
        entries: 0,
        dir_modes: Vec::new(),
        links: Vec::new(),
    };
    for entry in archive.entries().map_err(read)? {
        x.entry(&mut entry.map_err(read)?)?;
    }
    if x.top_seen.is_none() {
        return Err(x.unsafe_("the archive is empty".into()));
    }
    x.make_links()?;
    x.set_dir_modes()?;
    Ok(x.report)
}

/// The state of one [`extract`].
struct Extraction<'a> {
    fs: &'a dyn FileSystem,
    /// The mode of a directory the archive does not list (as `mkdir -p` makes it).
    dir_mode: u32,
    tarball: &'a Path,
    dest: &'a Path,
    max_bytes: u64,
    max_entries: u64,
    /// The archive's one top directory, once seen.
    top_seen: Option<String>,
    report: Extracted,
    entries: u64,
    // Made after everything else: directories' modes (a 0555 one would refuse its
    // children), links (nothing may be written through one).
    dir_modes: Vec<(PathBuf, u32)>,
    links: Vec<(Vec<String>, PathBuf)>,
}

impl Extraction<'_> {
    fn unsafe_(&self, reason: String) -> PySnapshotError {
        PySnapshotError::Unsafe {
            tarball: self.tarball.to_path_buf(),
            reason,
        }
    }

    fn read(&self) -> impl Fn(io::Error) -> PySnapshotError + '_ {
        |source| PySnapshotError::Read(IoError::new("read", self.tarball, source))
    }

    /// Extracts one entry: a directory, a regular file, or a link recorded for later.
    fn entry<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>) -> Result<()> {
        let path = entry.path().map_err(self.read())?.into_owned();
        let (top, rest) = split(&path).map_err(|r| self.unsafe_(r))?;
        match &self.top_seen {
            None => self.top_seen = Some(top),
            Some(t) if *t == top => {}
            Some(t) => {
                return Err(self.unsafe_(format!(
                    "{} is outside the archive's collection directory {t}/",
                    path.display()
                )));
            }
        }
        if rest.is_empty() {
            return Ok(());
        }
        if rest[0] == crate::engine::path::META_DIR {
            self.report.skillwal_entries += 1;
            return Ok(());
        }
        self.entries += 1;
        if self.entries > self.max_entries {
            return Err(self.unsafe_(format!("more than {} entries", self.max_entries)));
        }
        let target = rest.iter().fold(self.dest.to_path_buf(), |p, c| p.join(c));
        let kind = entry.header().entry_type();
        if kind == tar::EntryType::Directory {
            self.create_dirs(&target)?;
            let mode = entry.header().mode().map_err(self.read())? & 0o777;
            self.dir_modes.push((target, mode));
        } else if kind == tar::EntryType::Symlink {
            match entry.link_name().map_err(self.read())? {
                Some(t) => self.links.push((rest, t.into_owned())),
                None => self.report.skipped.push(rest.join("/")),
            }
        } else if matches!(kind, tar::EntryType::Regular | tar::EntryType::Continuous) {
            self.file(entry, &rest.join("/"), &target)?;
        } else {
            // Hard links, devices, FIFOs: never created.
            self.report.skipped.push(rest.join("/"));
        }
        Ok(())
    }

    /// Writes a regular file's bytes, counted as they arrive (a header's size is not
    /// trusted), then its mode.
    fn file<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        rel: &str,
        target: &Path,
    ) -> Result<()> {
        if let Some(parent) = target.parent() {
            self.create_dirs(parent)?;
        }
        let mode = entry.header().mode().map_err(self.read())? & 0o777;
        let out = self
            .fs
            .open(target, OpenMode::CreateNew { mode: 0o600 })
            .map_err(|e| {
                if e.kind() == io::ErrorKind::AlreadyExists {
                    self.unsafe_(format!("{rel} appears twice"))
                } else {
                    write_error(target)(e)
                }
            })?;
        let room = self.max_bytes - self.report.bytes;
        let mut limited = entry.take(room + 1);
        let mut buf = vec![0u8; crate::limits::STREAM_BUFFER_BYTES];
        let mut n = 0u64;
        loop {
            let got = match limited.read(&mut buf) {
                Ok(0) => break,
                Ok(got) => got,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.read()(e)),
            };
            out.write_all_at(&buf[..got], n)
                .map_err(write_error(target))?;
            n += got as u64;
        }
        if n > room {
            return Err(self.unsafe_(format!("more than {} bytes uncompressed", self.max_bytes)));
        }
        self.fs
            .set_mode(target, mode)
            .map_err(write_error(target))?;
        self.report.files += 1;
        self.report.bytes += n;
        Ok(())
    }

    /// Creates `dir` and its missing parents below `dest` (not synced).
    fn create_dirs(&self, dir: &Path) -> Result<()> {
        let mut missing = Vec::new();
        let mut at = dir;
        while at != self.dest {
            match self.fs.metadata(at) {
                Ok(m) if m.kind == FileKind::Dir => break,
                Ok(_) => {
                    let e = io::Error::from_raw_os_error(rustix::io::Errno::NOTDIR.raw_os_error());
                    return Err(write_error(at)(e));
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => missing.push(at),
                Err(e) => return Err(write_error(at)(e)),
            }
            match at.parent() {
                Some(p) => at = p,
                None => break,
            }
        }
        for d in missing.into_iter().rev() {
            self.fs.create_dir(d, self.dir_mode).map_err(|source| {
                PySnapshotError::Write(IoError::new("create directory", d, source))
            })?;
        }
        Ok(())
    }

    /// Creates the links that stay inside the collection (the others are skipped).
    fn make_links(&mut self) -> Result<()> {
        for (at, link_target) in std::mem::take(&mut self.links) {
            let rel = at.join("/");
            let path = at.iter().fold(self.dest.to_path_buf(), |p, c| p.join(c));
            if !link_stays_inside(&at, &link_target) || !below_real_dirs(self.fs, self.dest, &at) {
                self.report.skipped.push(rel);
                continue;
            }
            if let Some(parent) = path.parent() {
                self.create_dirs(parent)?;
            }
            self.fs
                .symlink(link_target.as_os_str(), &path)
                .map_err(|e| {
                    if e.kind() == io::ErrorKind::AlreadyExists {
                        self.unsafe_(format!("{rel} appears twice"))
                    } else {
                        PySnapshotError::Write(IoError::new("create link", path.clone(), e))
                    }
                })?;
            self.report.links += 1;
        }
        Ok(())
    }

    /// Sets the directories' modes, deepest first.
    fn set_dir_modes(&mut self) -> Result<()> {
        let mut dir_modes = std::mem::take(&mut self.dir_modes);
        dir_modes.sort_by_key(|(p, _)| std::cmp::Reverse(p.components().count()));
        for (dir, mode) in dir_modes {
            self.fs
                .set_mode(&dir, mode)
                .map_err(|source| PySnapshotError::Write(IoError::new("set mode", dir, source)))?;
        }
        Ok(())
    }
}

fn write_error(target: &Path) -> impl Fn(io::Error) -> PySnapshotError + '_ {
    move |source| PySnapshotError::Write(IoError::new("write", target, source))
}

/// Whether a link at `at` (components below the collection) pointing to `target` stays
/// inside the collection, resolved lexically: a relative target whose `..` never climb above
/// the collection.
fn link_stays_inside(at: &[String], target: &Path) -> bool {
    if target.as_os_str().is_empty() || target.is_absolute() {
        return false;
    }
    let mut depth = at.len() - 1;
    for c in target.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if depth == 0 => return false,
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            _ => return false,
        }
    }
    true
}

/// Whether every directory on the way to `at` below `dest` is a real directory (or not there
/// yet): a link made earlier is never gone through.
fn below_real_dirs(fs: &dyn FileSystem, dest: &Path, at: &[String]) -> bool {
    let mut p = dest.to_path_buf();
    for c in &at[..at.len() - 1] {
        p.push(c);
        match fs.metadata(&p) {
            Ok(m) if m.kind == FileKind::Dir => {}
            Ok(_) => return false,
            Err(_) => return true,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::real::RealFs;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn ids() {
        assert!(is_py_id("20261125-230953-565434"));
        assert!(!is_py_id("12"));
        assert!(!is_py_id("20261125-230953-56543x"));
    }

    /// A gzip tarball of `files` (path, size of zeros) below `default/`.
    fn zeros_tarball(dir: &Path, files: &[(&str, usize)]) -> PathBuf {
        let path = dir.join("t.tar.gz");
        let gz = flate2::write::GzEncoder::new(
            fs::File::create(&path).unwrap(),
            flate2::Compression::default(),
        );
        let mut b = tar::Builder::new(gz);
        for (name, size) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(*size as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(
                &mut h,
                format!("default/{name}"),
                io::repeat(0).take(*size as u64),
            )
            .unwrap();
        }
        b.into_inner().unwrap().finish().unwrap();
        path
    }

    #[test]
    fn bombs_are_stopped_by_bytes_and_by_entries() {
        let tmp = tempfile::TempDir::new().unwrap();
        // 8 MiB of zeros compresses to a few KiB.
        let t = zeros_tarball(tmp.path(), &[("a", 8 << 20)]);
        assert!(fs::metadata(&t).unwrap().len() < 64 * 1024);
        let dest = tmp.path().join("d1");
        fs::create_dir(&dest).unwrap();
        let e = extract(&RealFs, &t, &dest, 1 << 20, 100).unwrap_err();
        assert!(e.to_string().contains("more than 1048576 bytes"), "{e}");
        let dest = tmp.path().join("d2");
        fs::create_dir(&dest).unwrap();
        let r = extract(&RealFs, &t, &dest, 9 << 20, 100).unwrap();
        assert_eq!((r.files, r.bytes), (1, 8 << 20));

        let many: Vec<(String, usize)> = (0..20).map(|i| (format!("f{i}"), 1)).collect();
        let many: Vec<(&str, usize)> = many.iter().map(|(n, s)| (n.as_str(), *s)).collect();
        let t = zeros_tarball(tmp.path(), &many);
        let dest = tmp.path().join("d3");
        fs::create_dir(&dest).unwrap();
        let e = extract(&RealFs, &t, &dest, 1 << 20, 10).unwrap_err();
        assert!(e.to_string().contains("more than 10 entries"), "{e}");
    }

    #[test]
    fn split_refuses_escapes() {
        assert!(split(Path::new("/etc/passwd")).is_err());
        assert!(split(Path::new("default/../../x")).is_err());
        let (top, rest) = split(Path::new("./default/skills/a")).unwrap();
        assert_eq!(top, "default");
        assert_eq!(rest, ["skills", "a"]);
    }

    /// Symbolic links are made when they stay inside the collection, after everything else
    /// and never below another link; directories get their modes, last.
    #[test]
    fn links_and_directory_modes() {
        let tmp = tempfile::TempDir::new().unwrap();
        let path = tmp.path().join("l.tar.gz");
        let gz = flate2::write::GzEncoder::new(
            fs::File::create(&path).unwrap(),
            flate2::Compression::default(),
        );
        let mut b = tar::Builder::new(gz);
        let link = |b: &mut tar::Builder<_>, at: &str, target: &str| {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Symlink);
            h.set_size(0);
            h.set_mode(0o777);
            b.append_link(&mut h, format!("default/{at}"), target)
                .unwrap();
        };
        let mut dir = tar::Header::new_gnu();
        dir.set_entry_type(tar::EntryType::Directory);
        dir.set_size(0);
        dir.set_mode(0o555);
        dir.set_cksum();
        b.append_data(&mut dir, "default/skills/s/ro", io::empty())
            .unwrap();
        let mut f = tar::Header::new_gnu();
        f.set_size(1);
        f.set_mode(0o640);
        f.set_cksum();
        b.append_data(&mut f, "default/skills/s/ro/x", io::repeat(7).take(1))
            .unwrap();
        link(&mut b, "skills/s/inside", "ro/x");
        link(&mut b, "skills/s/up", "../../collection.toml");
        link(&mut b, "skills/s/out", "../../../elsewhere");
        link(&mut b, "skills/s/abs", "/etc/passwd");
        link(&mut b, "skills/s/dirlink", "ro");
        link(&mut b, "skills/s/dirlink/through", "x");
        b.into_inner().unwrap().finish().unwrap();
        let dest = tmp.path().join("d");
        fs::create_dir(&dest).unwrap();
        let r = extract(&RealFs, &path, &dest, 1 << 20, 100).unwrap();
        let s = dest.join("skills/s");
        assert_eq!(fs::read_link(s.join("inside")).unwrap(), Path::new("ro/x"));
        assert_eq!(
            fs::read_link(s.join("up")).unwrap(),
            Path::new("../../collection.toml")
        );
        assert_eq!(fs::read_link(s.join("dirlink")).unwrap(), Path::new("ro"));
        assert_eq!(r.links, 3);
        let mut skipped = r.skipped.clone();
        skipped.sort();
        assert_eq!(
            skipped,
            ["skills/s/abs", "skills/s/dirlink/through", "skills/s/out"]
        );
        assert!(!s.join("ro/through").exists(), "written through a link");
        let mode = |p: &Path| fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode(&s.join("ro")), 0o555);
        assert_eq!(mode(&s.join("ro/x")), 0o640);
    }
}
