//! What a crash leaves: the durable image plus a choice of pending operations under a
//! [`CrashModel`].

use super::*;

/// The state after power loss under `model`: the durable image plus a seeded choice of the
/// pending operations.
pub(super) fn durable_image(s: &State, model: CrashModel, seed: u64) -> State {
    durable_image_per_device(s, &|_| model, seed)
}

/// The state after power loss with each device under its own model (`model_of(dev)`): a
/// device under [`CrashModel::DropAll`] keeps nothing pending, one under [`CrashModel::Kill`]
/// everything (it wrote all back before the power went), one under `Subset` or `Torn` a
/// seeded choice (and `Torn` tears the last kept write of each of its files).
pub(super) fn durable_image_per_device(
    s: &State,
    model_of: &dyn Fn(u64) -> CrashModel,
    seed: u64,
) -> State {
    let mut rng = SplitMix64::new(seed ^ 0x5EED_5EED_0000_0000);
    let mut disk = Disk {
        files: s
            .durable_files
            .iter()
            .map(|(k, v)| (*k, v.to_vec()))
            .collect(),
        dirs: s.durable_dirs.clone(),
        modes: s.durable_modes.clone(),
    };
    let last_write = disk.keep_some_pending(s, model_of, &mut rng);
    let mut torn: Vec<_> = last_write
        .into_iter()
        .filter(|(ino, _)| model_of(s.dev_of(*ino)) == CrashModel::Torn)
        .collect();
    torn.sort_unstable();
    for (ino, (offset, len)) in torn {
        tear(disk.files.entry(ino).or_default(), offset, len, &mut rng);
    }
    disk.reachable_state(s)
}

/// What is on the simulated disk after a crash: file bytes, directory entries and modes,
/// by inode.
pub(super) struct Disk {
    files: HashMap<u64, Vec<u8>>,
    dirs: HashMap<u64, BTreeMap<OsString, u64>>,
    modes: HashMap<u64, u32>,
}

impl Disk {
    /// Applies the writes not yet synced that reach the disk, drawn from `rng` in order: each
    /// file keeps a prefix of its writes, each chmod reaches the disk or not, and each group
    /// of directory changes (one rename, say) all or nothing. Returns, per file, the last
    /// write kept (offset and length), for a tear.
    fn keep_some_pending(
        &mut self,
        s: &State,
        model_of: &dyn Fn(u64) -> CrashModel,
        rng: &mut SplitMix64,
    ) -> HashMap<u64, (u64, u64)> {
        // Whether a pending change to an inode of device `dev` reached the disk. No draw for
        // a device whose model decides alone, so a single device's draws are as they were.
        let reached = |ino: u64, rng: &mut SplitMix64| match model_of(s.dev_of(ino)) {
            CrashModel::DropAll => false,
            CrashModel::Kill => true,
            CrashModel::Subset | CrashModel::Torn => rng.next_bool(),
        };
        let pending = &s.pending;
        let mut dropped_files: HashSet<u64> = HashSet::new();
        let mut group_kept: HashMap<u64, bool> = HashMap::new();
        let mut last_write: HashMap<u64, (u64, u64)> = HashMap::new();
        for p in pending {
            match p {
                Pending::Write { ino, offset, data } => {
                    if dropped_files.contains(ino) || !reached(*ino, rng) {
                        dropped_files.insert(*ino);
                        continue;
                    }
                    let f = self.files.entry(*ino).or_default();
                    write_into(f, *offset, data);
                    last_write.insert(*ino, (*offset, data.len() as u64));
                }
                Pending::SetLen { ino, len } => {
                    if dropped_files.contains(ino) || !reached(*ino, rng) {
                        dropped_files.insert(*ino);
                        continue;
                    }
                    self.files.entry(*ino).or_default().resize(*len as usize, 0);
                    last_write.remove(ino);
                }
                // Inode metadata: each chmod reaches the disk or not, in order.
                Pending::Mode { ino, mode } => {
                    if reached(*ino, rng) {
                        self.modes.insert(*ino, *mode);
                    }
                }
                Pending::Entry {
                    group,
                    dir,
                    name,
                    target,
                } => {
                    let keep = *group_kept
                        .entry(*group)
                        .or_insert_with(|| reached(*dir, rng));
                    if keep {
                        let entries = self.dirs.entry(*dir).or_default();
                        match target {
                            Some(t) => entries.insert(name.clone(), *t),
                            None => entries.remove(name),
                        };
                    }
                }
            }
        }
        last_write
    }

    /// The state after the crash: the live image rebuilt from what is reachable from the
    /// root on this disk, all of it durable.
    fn reachable_state(&self, s: &State) -> State {
        let mut next = State {
            next_ino: s.next_ino,
            next_group: s.next_group,
            clock: s.clock,
            times: s.times.clone(),
            devs: s.devs.clone(),
            last_dev: s.last_dev,
            ..State::default()
        };
        let mut stack = vec![ROOT_INO];
        let mut seen = HashSet::new();
        while let Some(ino) = stack.pop() {
            if !seen.insert(ino) {
                continue;
            }
            let node = match &s.nodes[&ino] {
                Node::File { mode, .. } => Node::File {
                    data: Arc::new(self.files.get(&ino).cloned().unwrap_or_default()),
                    mode: self.modes.get(&ino).copied().unwrap_or(*mode),
                },
                Node::Dir { mode, .. } => {
                    let entries = self.dirs.get(&ino).cloned().unwrap_or_default();
                    stack.extend(entries.values().copied());
                    Node::Dir {
                        entries,
                        mode: self.modes.get(&ino).copied().unwrap_or(*mode),
                    }
                }
                Node::Symlink { target } => Node::Symlink {
                    target: target.clone(),
                },
            };
            next.nodes.insert(ino, node);
        }
        mark_all_durable(&mut next);
        next
    }
}

/// Makes everything `state` holds its durable image too.
pub(super) fn mark_all_durable(state: &mut State) {
    for (ino, node) in &state.nodes {
        match node {
            Node::File { data, mode } => {
                state.durable_files.insert(*ino, data.clone());
                state.durable_modes.insert(*ino, *mode);
            }
            Node::Dir { entries, mode } => {
                state.durable_dirs.insert(*ino, entries.clone());
                state.durable_modes.insert(*ino, *mode);
            }
            Node::Symlink { .. } => {}
        }
    }
}

pub(super) fn write_into(file: &mut Vec<u8>, offset: u64, data: &[u8]) {
    let start = offset as usize;
    let end = start + data.len();
    if file.len() < end {
        file.resize(end, 0);
    }
    file[start..end].copy_from_slice(data);
}

/// Tears the write `[offset, offset+len)`: keeps it up to a 512-byte boundary inside it (or
/// none of it) and replaces the rest with zeros or garbage.
pub(super) fn tear(file: &mut Vec<u8>, offset: u64, len: u64, rng: &mut SplitMix64) {
    let end = offset + len;
    let mut cuts = vec![offset];
    let mut b = (offset / 512 + 1) * 512;
    while b < end {
        cuts.push(b);
        b += 512;
    }
    let cut = cuts[rng.below(cuts.len() as u64) as usize];
    let garbage = rng.next_bool();
    if file.len() < end as usize {
        file.resize(end as usize, 0);
    }
    for byte in &mut file[cut as usize..end as usize] {
        *byte = if garbage { rng.next_u64() as u8 } else { 0 };
    }
}
