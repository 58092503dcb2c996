//! The file system mounted for real (root and /dev/fuse needed, as on the project's
//! machines): calls made through the kernel, the power cut on command or at a chosen sync,
//! and what the backing directory holds afterwards, against ext4's documented rules.

use rustix::fs::{CWD, RenameFlags, renameat_with};
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// A mounted powercut over a backing directory.
struct Mounted {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    backing: PathBuf,
    mnt: PathBuf,
    _dir: tempfile::TempDir,
}

impl Mounted {
    /// Mounts a backing directory prepared by `fill`, with `args` on the command line.
    fn new(fill: impl FnOnce(&Path), args: &[&str]) -> Mounted {
        let dir = tempfile::tempdir().unwrap();
        let (backing, mnt) = (dir.path().join("backing"), dir.path().join("mnt"));
        fs::create_dir(&backing).unwrap();
        fs::create_dir(&mnt).unwrap();
        fill(&backing);
        let mut child = Command::new(env!("CARGO_BIN_EXE_powercut"))
            .arg("--backing")
            .arg(&backing)
            .arg("--mount")
            .arg(&mnt)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        assert_eq!(
            line.trim(),
            "mounted",
            "powercut did not mount (root and /dev/fuse needed)"
        );
        Mounted {
            child,
            stdin,
            stdout,
            backing,
            mnt,
            _dir: dir,
        }
    }

    fn at(&self, rel: &str) -> PathBuf {
        self.mnt.join(rel)
    }

    /// The next line powercut prints.
    fn line(&mut self) -> String {
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        line.trim_end().to_string()
    }

    fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }

    /// Waits for the cut (sent `cmd` first, if any) and returns what powercut said of it.
    fn finish(mut self, cmd: Option<&str>) -> (String, PathBuf, tempfile::TempDir) {
        if let Some(c) = cmd {
            self.send(c);
        }
        // The end of the input: after a cut, powercut exits; mounted, it unmounts cleanly.
        drop(self.stdin.take());
        // Never hang a test run: powercut has a minute to finish.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("powercut did not finish within 60 s");
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        };
        let mut rest = String::new();
        for line in (&mut self.stdout).lines() {
            rest.push_str(&line.unwrap());
            rest.push('\n');
        }
        assert!(status.success(), "powercut failed: {rest}");
        assert!(
            !fs::read_to_string("/proc/mounts")
                .unwrap()
                .contains(&*self.mnt.to_string_lossy()),
            "still mounted after the cut"
        );
        (rest, self.backing, self._dir)
    }
}

fn sync_dir(p: &Path) -> std::io::Result<()> {
    File::open(p)?.sync_all()
}

fn write_new(p: &Path, bytes: &[u8], mode: u32, sync: bool) {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(p)
        .unwrap();
    f.write_all(bytes).unwrap();
    if sync {
        f.sync_all().unwrap();
    }
}

fn mode(p: &Path) -> u32 {
    fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

#[test]
fn a_cut_keeps_only_what_was_made_durable() {
    let mut m = Mounted::new(
        |b| {
            fs::create_dir(b.join("d")).unwrap();
            fs::write(b.join("d/a"), "a old").unwrap();
            fs::write(b.join("d/b"), "b old").unwrap();
            fs::write(b.join("keep"), "kept").unwrap();
        },
        &[],
    );
    // Read through the mount: what the backing directory held.
    assert_eq!(fs::read_to_string(m.at("d/a")).unwrap(), "a old");
    // A file written and synced, its directory synced: durable, with its mode.
    write_new(&m.at("d/new"), b"durable", 0o640, true);
    sync_dir(&m.at("d")).unwrap();
    // Then, not durable: a file with its data synced but not its entry; an exchange; a
    // rename over `keep`; new bytes in a, unsynced; a chmod without fsync.
    write_new(&m.at("unsynced-entry"), b"x", 0o644, true);
    renameat_with(CWD, m.at("d/a"), CWD, m.at("d/b"), RenameFlags::EXCHANGE).unwrap();
    assert_eq!(fs::read_to_string(m.at("d/a")).unwrap(), "b old");
    fs::write(m.at("tmp"), "replacement").unwrap();
    fs::rename(m.at("tmp"), m.at("keep")).unwrap();
    fs::set_permissions(m.at("d/new"), fs::Permissions::from_mode(0o600)).unwrap();
    m.send("status");
    let mut line = String::new();
    m.stdout.read_line(&mut line).unwrap();
    assert!(line.starts_with("status "), "{line}");
    let (said, b, _keep) = m.finish(Some("cut drop-all 0"));
    assert!(
        said.contains("power cut on command under DropAll"),
        "{said}"
    );
    assert_eq!(fs::read_to_string(b.join("d/new")).unwrap(), "durable");
    assert_eq!(mode(&b.join("d/new")), 0o640, "the chmod was not synced");
    assert!(
        !b.join("unsynced-entry").exists(),
        "its directory was not synced"
    );
    assert_eq!(
        fs::read_to_string(b.join("d/a")).unwrap(),
        "a old",
        "exchange lost"
    );
    assert_eq!(fs::read_to_string(b.join("d/b")).unwrap(), "b old");
    assert_eq!(
        fs::read_to_string(b.join("keep")).unwrap(),
        "kept",
        "rename lost"
    );
    assert!(!b.join("tmp").exists());
}

#[test]
fn a_directory_fsync_makes_an_exchange_durable_and_a_clean_unmount_keeps_everything() {
    let m = Mounted::new(
        |b| {
            fs::create_dir(b.join("d")).unwrap();
            fs::write(b.join("d/a"), "a").unwrap();
            fs::write(b.join("d/b"), "b").unwrap();
        },
        &[],
    );
    renameat_with(CWD, m.at("d/a"), CWD, m.at("d/b"), RenameFlags::EXCHANGE).unwrap();
    sync_dir(&m.at("d")).unwrap();
    fs::write(m.at("late"), "late").unwrap();
    let (said, b, _keep) = m.finish(Some("cut"));
    assert!(said.contains("cut:"), "{said}");
    assert_eq!(fs::read_to_string(b.join("d/a")).unwrap(), "b");
    assert_eq!(fs::read_to_string(b.join("d/b")).unwrap(), "a");
    assert!(!b.join("late").exists());
    // A clean unmount (the end of the control input) loses nothing.
    let m = Mounted::new(|_| {}, &[]);
    fs::create_dir(m.at("dir")).unwrap();
    fs::write(m.at("dir/f"), "not synced").unwrap();
    let (_, b, _keep) = m.finish(None);
    assert_eq!(fs::read_to_string(b.join("dir/f")).unwrap(), "not synced");
}

#[test]
fn the_power_goes_at_the_chosen_sync_which_fails() {
    let m = Mounted::new(|_| {}, &["--cut-at-sync", "2"]);
    write_new(&m.at("f"), b"data", 0o644, true); // sync 1
    let err = sync_dir(&m.mnt).unwrap_err(); // sync 2: the power goes instead
    assert_eq!(err.raw_os_error(), Some(5), "EIO: {err}");
    let (said, b, _keep) = m.finish(None);
    assert!(said.contains("at sync 2"), "{said}");
    assert!(!b.join("f").exists(), "the directory fsync never happened");
}

#[test]
fn a_remount_serves_the_disk_the_cut_left_with_the_same_inode_numbers() {
    use std::os::unix::fs::MetadataExt;
    let mut m = Mounted::new(|_| {}, &[]);
    write_new(&m.at("f"), b"synced", 0o644, true);
    sync_dir(&m.mnt).unwrap();
    let ino = fs::metadata(m.at("f")).unwrap().ino();
    fs::write(m.at("g"), "lost").unwrap();
    m.send("cut");
    assert!(m.line().starts_with("cut: "));
    assert_eq!(fs::read_to_string(m.backing.join("f")).unwrap(), "synced");
    // Armed for the next mount: its first sync cuts the power.
    m.send("arm sync 1");
    m.send("remount");
    assert_eq!(m.line(), "mounted");
    assert_eq!(
        fs::metadata(m.at("f")).unwrap().ino(),
        ino,
        "a disk keeps its inode numbers"
    );
    assert!(!m.at("g").exists());
    write_new(&m.at("h"), b"h", 0o644, false);
    let f = OpenOptions::new().write(true).open(m.at("h")).unwrap();
    assert_eq!(f.sync_all().unwrap_err().raw_os_error(), Some(5));
    drop(f);
    assert!(m.line().contains("at sync 1"));
    assert!(!m.backing.join("h").exists());
    let (_, b, _keep) = m.finish(None);
    assert_eq!(fs::read_to_string(b.join("f")).unwrap(), "synced");
}
