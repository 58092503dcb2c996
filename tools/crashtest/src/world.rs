//! One harness run's world: a temporary root holding the SkillMeat home, the sources the
//! scenarios add from, and the working copies each trial crashes; and a hygienic way to run
//! the `skillwal` binary in it.

use crate::state::state_dir;
use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Environment variable of skillwal's crash hook: SIGKILL right after the N-th mutating call.
pub const CRASH_AFTER: &str = "SKILLWAL_CRASH_AFTER";
/// Environment variable of skillwal's error hook: `N:ERRNO` fails the N-th mutating call.
pub const FAIL_AT: &str = "SKILLWAL_FAIL_AT";
/// skillwal's hook that leaves syncs out (`dirs`, `file:NAME`): set for crashtest, it is
/// passed on to every skillwal run, making it the mutant the power cuts must catch.
pub const SKIP_SYNC_ENV: &str = "SKILLWAL_SKIP_SYNC";

pub struct World {
    _tmp: Option<tempfile::TempDir>,
    /// Canonical root of everything below.
    pub root: PathBuf,
    /// `SKILLWAL_HOME`.
    pub home: PathBuf,
    /// Local sources the scenarios add and update from.
    pub src: PathBuf,
    /// The binary under test.
    pub bin: PathBuf,
    /// The umask every run of the binary gets (`--umask`); `None`: the harness's own.
    pub umask: Option<u32>,
    /// A tmpfs mounted for the scenario, where every collection's partner lives (another
    /// file system than the root's); `None`: partners live beside their collections.
    other_fs: Option<PathBuf>,
    /// The file system made for this world with `--fs` (its mount point and, for a loop
    /// device, its image), unmounted and removed when the world is dropped.
    own_fs: Option<(PathBuf, Option<PathBuf>)>,
}

/// The file systems `--fs` can make: tmpfs directly, the others on a loop device.
pub const FS_KINDS: [&str; 4] = ["ext4", "xfs", "btrfs", "tmpfs"];

/// Makes a fresh file system of `kind` and mounts it on a new directory under the system's
/// temporary directory; returns the mount point and the image (none for tmpfs). Fails,
/// saying why, where that is not possible (not root, no mkfs for the kind, no loop device).
fn make_fs(kind: &str) -> Result<(PathBuf, Option<PathBuf>), String> {
    let base = std::env::temp_dir();
    let mnt = tempfile::Builder::new()
        .prefix(&format!("crashtest-{kind}-"))
        .tempdir_in(&base)
        .map_err(|e| format!("cannot create a mount point: {e}"))?
        .keep();
    let run = |c: &mut Command| -> Result<(), String> {
        let out = c.output().map_err(|e| format!("cannot run {c:?}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{c:?} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    };
    if kind == "tmpfs" {
        run(Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=1g", "tmpfs"])
            .arg(&mnt))?;
        return Ok((mnt, None));
    }
    let image = mnt.with_extension("img");
    let f = fs::File::create(&image).map_err(|e| format!("{}: {e}", image.display()))?;
    // XFS and btrfs want some room; the images are sparse.
    f.set_len(1 << 30)
        .map_err(|e| format!("{}: {e}", image.display()))?;
    drop(f);
    let made = run(Command::new(format!("mkfs.{kind}")).arg("-q").arg(&image)).and_then(|()| {
        run(Command::new("mount")
            .args(["-o", "loop"])
            .arg(&image)
            .arg(&mnt))
    });
    if let Err(e) = made {
        let _ = fs::remove_file(&image);
        let _ = fs::remove_dir(&mnt);
        return Err(format!(
            "cannot make a {kind} file system (root, mkfs.{kind} and a loop device are needed): {e}"
        ));
    }
    Ok((mnt, Some(image)))
}

/// A scenario with two collections names the working copy of the first `{first}` and of the
/// second `{partner}` in its command; a command naming `{first}` is not given
/// `--collection-dir`.
pub const FIRST: &str = "{first}";
/// See [`FIRST`].
pub const PARTNER: &str = "{partner}";

/// What one run of the binary did.
pub struct Run {
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    pub fn ok(&self) -> bool {
        self.code == Some(0)
    }

    pub fn killed(&self) -> bool {
        self.signal == Some(9)
    }

    /// The line a command prints on stderr when it had to recover, if any.
    pub fn recovered_line(&self) -> Option<&str> {
        self.stderr
            .lines()
            .find(|l| l.starts_with("skillwal: recovered"))
    }

    /// A one-line description for failure reports.
    pub fn describe(&self) -> String {
        let how = match (self.code, self.signal) {
            (Some(c), _) => format!("exit {c}"),
            (None, Some(s)) => format!("signal {s}"),
            _ => "unknown end".to_string(),
        };
        let env: Vec<String> = self.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!(
            "`{} skillwal {}` -> {how}; stderr: {}",
            env.join(" "),
            self.args.join(" "),
            self.stderr.trim()
        )
    }

    fn from(args: &[String], env: &[(&str, &str)], out: Output, elapsed: Duration) -> Run {
        Run {
            args: args.to_vec(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            code: out.status.code(),
            signal: out.status.signal(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            elapsed,
        }
    }
}

impl World {
    /// A fresh world under the system temporary directory (or `$CRASHTEST_TMPDIR`, to run on
    /// a particular file system).
    ///
    /// With `other_fs`, mounts a tmpfs for the partners of collections (see
    /// [`World::partner_of`]); fails, saying why, where that is not possible.
    ///
    /// With `fs` (one of [`FS_KINDS`]), the world lives on a file system of that kind made
    /// for it ([`make_fs`]).
    pub fn new(
        bin: &Path,
        umask: Option<u32>,
        other_fs: bool,
        fs: Option<&str>,
    ) -> Result<World, String> {
        let own_fs = fs.map(make_fs).transpose()?;
        let base = match &own_fs {
            Some((mnt, _)) => Some(mnt.clone()),
            None => std::env::var_os("CRASHTEST_TMPDIR").map(PathBuf::from),
        };
        let tmp = match &base {
            Some(b) => tempfile::Builder::new().prefix("crashtest-").tempdir_in(b),
            None => tempfile::Builder::new().prefix("crashtest-").tempdir(),
        }
        .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
        let root = fs::canonicalize(tmp.path()).map_err(|e| e.to_string())?;
        // CRASHTEST_KEEP=1 keeps the world for a look after a replay (its path is printed).
        let tmp = if std::env::var_os("CRASHTEST_KEEP").is_some() {
            eprintln!("crashtest: keeping {}", root.display());
            let _ = tmp.keep();
            None
        } else {
            Some(tmp)
        };
        let home = root.join("home");
        let src = root.join("src");
        for d in [&home, &src, &root.join("user"), &root.join("tmp")] {
            fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
        }
        let mut world = World {
            _tmp: tmp,
            root,
            home,
            src,
            bin: bin.to_path_buf(),
            umask,
            other_fs: None,
            own_fs,
        };
        if other_fs {
            let mnt = world.root.join("other-fs");
            fs::create_dir_all(&mnt).map_err(|e| format!("{}: {e}", mnt.display()))?;
            let out = Command::new("mount")
                .args(["-t", "tmpfs", "-o", "size=256m", "tmpfs"])
                .arg(&mnt)
                .output()
                .map_err(|e| format!("cannot run mount: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "cannot mount a tmpfs (root is needed): {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
            world.other_fs = Some(mnt);
        }
        Ok(world)
    }

    /// Where the second collection of a scenario with two lives, for the collection `dir`:
    /// `<dir>-partner` beside it, or on the world's other file system.
    pub fn partner_of(&self, dir: &Path) -> PathBuf {
        let name = format!(
            "{}-partner",
            dir.file_name()
                .expect("a collection has a name")
                .to_string_lossy()
        );
        match &self.other_fs {
            Some(mnt) => mnt.join(name),
            None => dir.with_file_name(name),
        }
    }

    /// Copies the collection `from` to `to` as [`copy_collection`] does, and with `pair`
    /// the partner of `from` to the partner of `to`.
    ///
    /// A collection that deployed to its partner (a project) lists it by its absolute path
    /// in `deployments` (wal-spec.md §15.3): the copy lists the copy's partner instead, so
    /// that `update --deploy` on a copy changes the copy's project, never the original's.
    pub fn copy_unit(&self, from: &Path, to: &Path, pair: bool) -> Result<(), String> {
        copy_collection(from, to)?;
        if pair {
            let (partner, to_partner) = (self.partner_of(from), self.partner_of(to));
            copy_collection(&partner, &to_partner)?;
            let listed = state_dir(to).join("deployments");
            if let Ok(text) = fs::read_to_string(&listed) {
                let (old, new) = (
                    partner.display().to_string(),
                    to_partner.display().to_string(),
                );
                let moved: String = text
                    .lines()
                    .map(|l| {
                        if l == old {
                            format!("{new}\n")
                        } else {
                            format!("{l}\n")
                        }
                    })
                    .collect();
                fs::write(&listed, moved)
                    .map_err(|e| format!("write {}: {e}", listed.display()))?;
            }
        }
        Ok(())
    }

    /// `args` for the collection `dir`: [`FIRST`] and [`PARTNER`] replaced by the paths,
    /// after `--collection-dir DIR` unless they name [`FIRST`].
    fn args_in(&self, dir: &Path, args: &[String]) -> Vec<String> {
        let (first, partner) = (
            dir.display().to_string(),
            self.partner_of(dir).display().to_string(),
        );
        let mut all = Vec::with_capacity(args.len() + 2);
        if !args.iter().any(|a| a.contains(FIRST)) {
            all.push("--collection-dir".to_string());
            all.push(first.clone());
        }
        all.extend(
            args.iter()
                .map(|a| a.replace(FIRST, &first).replace(PARTNER, &partner)),
        );
        all
    }

    /// The default collection of the home.
    pub fn coll(&self) -> PathBuf {
        self.home.join("collections").join("default")
    }

    fn command(&self, args: &[String], env: &[(&str, &str)]) -> Command {
        let mut c = match self.umask {
            None => Command::new(&self.bin),
            // The crate forbids unsafe code, so no pre_exec(umask): a shell sets it and
            // execs the binary, which keeps the PID (the random mode's SIGKILL reaches
            // skillwal itself, and a kill before the exec only ends the run earlier).
            Some(m) => {
                let mut c = Command::new("/bin/sh");
                c.arg("-c")
                    .arg(format!("umask {m:03o} && exec \"$0\" \"$@\""))
                    .arg(&self.bin);
                c
            }
        };
        c.env_clear();
        c.env("HOME", self.root.join("user"));
        c.env("TMPDIR", self.root.join("tmp"));
        c.env("LC_ALL", "C");
        c.env("SKILLWAL_HOME", &self.home);
        if let Some(p) = std::env::var_os("PATH") {
            c.env("PATH", p);
        }
        // A harness's own test makes skillwal a mutant that leaves syncs out
        // (wal-spec.md §10): every run of it, setup and checks included.
        if let Some(v) = std::env::var_os(SKIP_SYNC_ENV) {
            c.env(SKIP_SYNC_ENV, v);
        }
        for (k, v) in env {
            c.env(k, v);
        }
        c.args(args).current_dir(&self.root).stdin(Stdio::null());
        c
    }

    /// Runs `skillwal ARGS` on the home's default collection and waits for it.
    pub fn run(&self, args: &[&str]) -> Run {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        self.exec(args, &[])
    }

    /// Runs `skillwal --collection-dir DIR ARGS` with extra environment and waits for it
    /// (see [`FIRST`] for commands naming the collections themselves).
    pub fn run_in(&self, dir: &Path, env: &[(&str, &str)], args: &[String]) -> Run {
        self.exec(self.args_in(dir, args), env)
    }

    fn exec(&self, args: Vec<String>, env: &[(&str, &str)]) -> Run {
        let start = Instant::now();
        let out = self
            .command(&args, env)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.bin.display()));
        Run::from(&args, env, out, start.elapsed())
    }

    /// Starts `skillwal --collection-dir DIR ARGS`, sends it SIGKILL after `delay` unless it
    /// has ended by then, and waits for it.
    pub fn run_killed_after(&self, dir: &Path, args: &[String], delay: Duration) -> Run {
        let all = self.args_in(dir, args);
        let start = Instant::now();
        let mut child = self
            .command(&all, &[])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.bin.display()));
        let deadline = start + delay;
        loop {
            if child.try_wait().expect("wait").is_some() {
                break;
            }
            let now = Instant::now();
            if now >= deadline {
                // std's kill is SIGKILL on Unix; an error means it has just exited.
                let _ = child.kill();
                break;
            }
            std::thread::sleep((deadline - now).min(Duration::from_micros(200)));
        }
        let out = child.wait_with_output().expect("wait for skillwal");
        Run::from(&all, &[], out, start.elapsed())
    }

    /// Runs `skillwal ARGS` and fails with its output unless it succeeds.
    pub fn must(&self, args: &[&str]) -> Result<Run, String> {
        let r = self.run(args);
        if r.ok() {
            Ok(r)
        } else {
            Err(format!("setup failed: {}", r.describe()))
        }
    }

    /// Runs `skillwal --collection-dir DIR ARGS` and fails with its output unless it
    /// succeeds.
    pub fn must_in(&self, dir: &Path, args: &[&str]) -> Result<Run, String> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let r = self.run_in(dir, &[], &args);
        if r.ok() {
            Ok(r)
        } else {
            Err(format!("setup failed: {}", r.describe()))
        }
    }

    /// A fresh path below the root for a working copy of a collection (removed first if it
    /// exists, with its state if that lives outside it, and its partner's).
    pub fn scratch(&self, name: &str) -> PathBuf {
        let p = self.root.join("work").join(name);
        let partner = self.partner_of(&p);
        for d in [
            state_dir(&p),
            p.clone(),
            state_dir(&partner),
            partner.clone(),
        ] {
            if fs::symlink_metadata(&d).is_ok() {
                fs::remove_dir_all(&d).unwrap_or_else(|e| panic!("remove {}: {e}", d.display()));
            }
        }
        p
    }
}

impl Drop for World {
    /// Unmounts the other file system before the temporary root is removed.
    fn drop(&mut self) {
        if let Some(mnt) = &self.other_fs {
            let _ = Command::new("umount").arg(mnt).status();
        }
        // The world's own file system goes whole: what is in it goes with it.
        if let Some((mnt, image)) = &self.own_fs {
            let _ = Command::new("umount").arg("-l").arg(mnt).status();
            let _ = fs::remove_dir(mnt);
            if let Some(i) = image {
                let _ = fs::remove_file(i);
            }
        }
    }
}

/// Writes `text` to `p`, creating parent directories.
pub fn write(p: &Path, text: &[u8]) -> Result<(), String> {
    if let Some(parent) = p.parent() {
        fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    fs::write(p, text).map_err(|e| format!("write {}: {e}", p.display()))
}

pub fn chmod(p: &Path, mode: u32) -> Result<(), String> {
    fs::set_permissions(p, fs::Permissions::from_mode(mode))
        .map_err(|e| format!("chmod {}: {e}", p.display()))
}

/// Copies the collection `from` to `to`, with skillwal's state (journal, staging, store):
/// a copy without it would be a different collection, one that has nothing to recover.
pub fn copy_collection(from: &Path, to: &Path) -> Result<(), String> {
    copy_tree(from, to)?;
    let (state, to_state) = (state_dir(from), state_dir(to));
    // Inside the collection it has been copied with it.
    if !state.starts_with(from) && fs::symlink_metadata(&state).is_ok() {
        copy_tree(&state, &to_state)?;
    }
    Ok(())
}

/// Copies a directory tree: files with their modes, directories, and symbolic links as links.
pub fn copy_tree(from: &Path, to: &Path) -> Result<(), String> {
    let err = |p: &Path, e: std::io::Error| format!("copy {}: {e}", p.display());
    fs::create_dir_all(to).map_err(|e| err(to, e))?;
    for e in fs::read_dir(from).map_err(|e| err(from, e))? {
        let e = e.map_err(|e| err(from, e))?;
        let (src, dst) = (e.path(), to.join(e.file_name()));
        let ft = e.file_type().map_err(|e| err(&src, e))?;
        if ft.is_dir() {
            copy_tree(&src, &dst)?;
        } else if ft.is_symlink() {
            let target = fs::read_link(&src).map_err(|e| err(&src, e))?;
            symlink(target, &dst).map_err(|e| err(&dst, e))?;
        } else {
            fs::copy(&src, &dst).map_err(|e| err(&src, e))?;
        }
    }
    // Last, so that a directory without write permission can still be filled.
    let meta = fs::metadata(from).map_err(|e| err(from, e))?;
    fs::set_permissions(to, meta.permissions()).map_err(|e| err(to, e))
}
