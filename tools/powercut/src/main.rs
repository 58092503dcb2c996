//! `powercut`: mounts a FUSE file system over a backing directory that keeps every change
//! in memory until it is made durable as ext4 documents, and cuts the power on command or
//! at a chosen call: what survives in the backing directory is the durable state plus what
//! the chosen crash model keeps of the rest — the simulator's own model
//! (`skillwal::fs::sim::inode`), so the real binary on this mount loses what the in-process
//! simulator's crash models lose.
//!
//! Control, one command per line on standard input. While mounted:
//! - `cut` — cut the power now under the model and seed given on the command line;
//! - `cut MODEL SEED` — under this model (`drop-all`, `subset`, `torn`, `kill`) and seed;
//! - `status` — prints `status CALLS SYNCS PENDING`.
//!
//! After a cut (the disk as the cut left it, in memory and in the backing directory):
//! - `status` — prints `status unmounted`;
//! - `remount` — serve it again, with the same inode numbers (a real disk keeps them, and
//!   skillwal's recovery recognizes what it moved into place by them);
//! - `arm sync N`, `arm op N`, `arm off` — where the next mount cuts by itself (an armed
//!   cut, from these or the command line, holds for one mount);
//! - `model MODEL SEED` — what the next cut keeps.
//!
//! The end of the input, mounted: a clean unmount, everything kept; unmounted: exit.
//!
//! On standard output: `mounted` once the mount serves calls, and `cut: …` when the backing
//! directory holds the state after the cut (the mount is gone by then); exit code 0.

mod fs;

use clap::{Parser, ValueEnum};
use fs::{AutoCut, Event, PowerCut};
use skillwal::fs::sim::CrashModel;
use skillwal::fs::sim::inode::InodeModel;
use std::io::{BufRead, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Model {
    /// Everything not made durable is lost.
    DropAll,
    /// A seeded part of it is kept: per file a prefix of its writes, per rename all or none.
    Subset,
    /// As subset, the last kept write of each file torn at a 512-byte boundary.
    Torn,
    /// Nothing is lost (the process dies, the machine does not).
    Kill,
}

impl From<Model> for CrashModel {
    fn from(m: Model) -> CrashModel {
        match m {
            Model::DropAll => CrashModel::DropAll,
            Model::Subset => CrashModel::Subset,
            Model::Torn => CrashModel::Torn,
            Model::Kill => CrashModel::Kill,
        }
    }
}

#[derive(Parser)]
#[command(about = "A FUSE file system that cuts the power")]
struct Args {
    /// The directory holding the disk's contents (read at mount, rewritten at the cut)
    #[arg(long)]
    backing: PathBuf,
    /// Where to mount it (an existing directory)
    #[arg(long)]
    mount: PathBuf,
    /// What a cut keeps of what was not durable
    #[arg(long, value_enum, default_value = "drop-all")]
    model: Model,
    /// The seed of the subset and torn models' choices
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Cut right after the N-th call that changes something
    #[arg(long, value_name = "N")]
    cut_after_op: Option<u64>,
    /// Cut at the N-th fsync, fdatasync or directory fsync (it does not happen)
    #[arg(long, value_name = "N")]
    cut_at_sync: Option<u64>,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        // Exits at once: the forgotten session's thread is not waited for.
        Ok(()) => std::process::exit(0),
        Err(e) => {
            eprintln!("powercut: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(a: Args) -> Result<(), String> {
    let mut model = InodeModel::load(&a.backing)
        .map_err(|e| format!("cannot read {}: {e}", a.backing.display()))?;
    let meta = std::fs::metadata(&a.backing).map_err(|e| e.to_string())?;
    let owner = (meta.uid(), meta.gid());
    let mut crash = (CrashModel::from(a.model), a.seed);
    let mut auto = AutoCut {
        after_op: a.cut_after_op,
        at_sync: a.cut_at_sync,
    };
    let (tx, rx) = mpsc::channel();
    let input = tx.clone();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            match line {
                Ok(l) => {
                    if input.send(Event::Command(l)).is_err() {
                        return;
                    }
                }
                Err(_) => break,
            }
        }
        let _ = input.send(Event::End);
    });
    loop {
        let (image, ended) = serve(&a, model, auto, crash, owner, &tx, &rx)?;
        model = image;
        // A cut is armed for one mount: the next cuts only where `arm` says.
        auto = AutoCut::default();
        if ended {
            return Ok(());
        }
        // Between mounts, the disk as the cut left it: `remount` serves it again (with the
        // same inode numbers, as a real disk keeps them), `arm …` sets the next cut.
        loop {
            match rx.recv() {
                Ok(Event::Command(line)) => match line.split_whitespace().collect::<Vec<_>>()[..] {
                    ["remount"] => break,
                    ["arm", "sync", n] => {
                        auto = AutoCut {
                            after_op: None,
                            at_sync: Some(number(n)?),
                        }
                    }
                    ["arm", "op", n] => {
                        auto = AutoCut {
                            after_op: Some(number(n)?),
                            at_sync: None,
                        }
                    }
                    ["arm", "off"] => auto = AutoCut::default(),
                    ["model", m, seed] => crash = (parse_model(m)?, number(seed)?),
                    ["status"] => say("status unmounted"),
                    [] => {}
                    _ => eprintln!(
                        "powercut: unknown command {line:?} (unmounted: remount, arm, model)"
                    ),
                },
                Ok(Event::End) | Err(_) => return Ok(()),
                Ok(Event::AutoCut) => {}
            }
        }
    }
}

fn number(s: &str) -> Result<u64, String> {
    s.parse().map_err(|e| format!("{s:?}: {e}"))
}

fn parse_model(s: &str) -> Result<CrashModel, String> {
    Model::from_str(s, true)
        .map(CrashModel::from)
        .map_err(|e| format!("model {s}: {e}"))
}

/// Mounts `model`, serves it until a cut (automatic, on command, or the end of the input: a
/// clean unmount that keeps everything), writes the state after the cut into the backing
/// directory, and returns it with whether the input ended.
fn serve(
    a: &Args,
    model: InodeModel,
    auto: AutoCut,
    crash: (CrashModel, u64),
    owner: (u32, u32),
    tx: &mpsc::Sender<Event>,
    rx: &mpsc::Receiver<Event>,
) -> Result<(InodeModel, bool), String> {
    let fs = PowerCut::new(model, auto, crash, tx.clone(), owner);
    let control = fs.control();
    let mut config = fuser::Config::default();
    config.mount_options = vec![
        fuser::MountOption::FSName("powercut".into()),
        fuser::MountOption::DefaultPermissions,
    ];
    let session = fuser::spawn_mount(fs, &a.mount, &config)
        .map_err(|e| format!("cannot mount on {}: {e}", a.mount.display()))?;
    say("mounted");
    let mut ended = false;
    for event in rx {
        match event {
            Event::AutoCut => break,
            Event::End => {
                control.cut_now((CrashModel::Kill, 0), "none: a clean unmount");
                ended = true;
                break;
            }
            Event::Command(line) => match line.split_whitespace().collect::<Vec<_>>()[..] {
                ["cut"] => {
                    control.cut_now(crash, "on command");
                    break;
                }
                ["cut", m, seed] => {
                    control.cut_now((parse_model(m)?, number(seed)?), "on command");
                    break;
                }
                ["status"] => {
                    let (ops, syncs, pending) = control.counters();
                    say(&format!("status {ops} {syncs} {pending}"));
                }
                [] => {}
                _ => eprintln!("powercut: unknown command {line:?}"),
            },
        }
    }
    let cut = control.take_cut().ok_or("the power was not cut")?;
    // The disk is gone: detached at once, even while a process still has files open in it
    // (they get EIO; ENOTCONN once this process exits). The session is not joined: its
    // thread serves those files until they are closed.
    rustix::mount::unmount(&a.mount, rustix::mount::UnmountFlags::DETACH)
        .map_err(|e| format!("cannot unmount {}: {e}", a.mount.display()))?;
    std::mem::forget(session);
    empty(&a.backing).map_err(|e| format!("cannot empty {}: {e}", a.backing.display()))?;
    cut.image
        .write_out(&a.backing)
        .map_err(|e| format!("cannot write {}: {e}", a.backing.display()))?;
    say(&format!("cut: {}", cut.what));
    Ok((cut.image, ended))
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Removes everything in `dir` (giving a directory without write permission its owner's
/// rights first), leaving `dir`.
fn empty(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        let m = std::fs::symlink_metadata(&p)?;
        if m.is_dir() {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o700))?;
            empty(&p)?;
            std::fs::remove_dir(&p)?;
        } else {
            std::fs::remove_file(&p)?;
        }
    }
    Ok(())
}
