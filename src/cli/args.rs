//! Command-line arguments (clap derive). Parsed here, turned into library calls in
//! `commands.rs`; the library never sees these types.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "skillwal",
    version,
    about = "Crash-safe management of SkillMeat collections (Claude Code skills, commands, agents)",
    long_about = "skillwal changes a SkillMeat collection — artifact files, collection.toml and collection.lock — \
in one journaled transaction: after a crash or kill -9 the next command finds it exactly before or after the change. \
Every command that opens a collection recovers an interrupted transaction first.",
    after_help = "Exit codes: 0 success, 1 error (or problems found by verify), 2 usage error, 3 collection locked by another process (--no-wait), 4 update --strategy merge done with conflicts, 5 update --all done but some artifacts could not be updated (listed)."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// SkillMeat home directory [default: $SKILLWAL_HOME, else ~/.skillmeat]
    #[arg(long, global = true, value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// Collection name [default: default-collection from config.toml, else "default"]
    #[arg(short = 'c', long, global = true, value_name = "NAME")]
    pub collection: Option<String>,
    /// Work on this collection directory directly
    #[arg(
        long,
        global = true,
        value_name = "PATH",
        conflicts_with = "collection"
    )]
    pub collection_dir: Option<PathBuf>,
    /// Machine-readable JSON output
    #[arg(long, global = true)]
    pub json: bool,
    /// Fail at once if another process holds the collection (exit code 3)
    #[arg(long, global = true)]
    pub no_wait: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TypeArg {
    Skill,
    Command,
    Agent,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StrategyArg {
    /// Overwrite local modifications with the upstream content
    Upstream,
    /// Keep local modifications (the artifact is not updated)
    Local,
    /// Ask; without a terminal, fail and change nothing
    Prompt,
    /// Three-way merge of local modifications with the new upstream (conflicts: exit code 4)
    Merge,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new empty collection in SkillMeat's layout (config.toml is created or kept)
    Init {
        /// Collection name [default: -c, else "default"; with --collection-dir: the directory's name]
        #[arg(long)]
        name: Option<String>,
    },
    /// Add an artifact from a local path, a git repository or a GitHub spec user/repo/path[@ref]
    Add {
        #[arg(value_enum)]
        r#type: TypeArg,
        /// Local directory (skill) or file (command, agent), or user/repo/path[@ref]
        #[arg(required_unless_present = "git")]
        source: Option<String>,
        /// Name in the collection [default: the directory or file name]
        #[arg(long)]
        name: Option<String>,
        /// A git repository URL (any URL git understands, local paths and file:// included)
        #[arg(long, conflicts_with = "source")]
        git: Option<String>,
        /// Path of the artifact inside the repository
        #[arg(long, requires = "git")]
        path: Option<String>,
        /// Branch, tag or commit [default: the repository's HEAD]
        #[arg(long = "ref", requires = "git")]
        reference: Option<String>,
    },
    /// Fetch artifacts from their sources again and update them, all in one transaction
    Update {
        /// Artifacts to update
        names: Vec<String>,
        /// Update every artifact that can be updated; list the others with why (exit code 5)
        #[arg(long, conflicts_with = "names")]
        all: bool,
        /// Only artifacts of this type (needed when a name is used by two types)
        #[arg(long = "type", value_enum)]
        r#type: Option<TypeArg>,
        /// What to do with local modifications [default: update-strategy from config.toml, else prompt]
        #[arg(long, value_enum)]
        strategy: Option<StrategyArg>,
        /// Update in each of these collections, in one transaction across them: names of the
        /// home, or directories (a path holding a `/`), separated by commas
        #[arg(long, value_name = "A,B", value_delimiter = ',', num_args = 1..)]
        collections: Vec<String>,
        /// Update in every collection of the home that holds the artifacts, in one
        /// transaction across them
        #[arg(long, conflicts_with = "collections")]
        all_collections: bool,
        /// Also refresh every deployment of the artifacts in the projects this collection
        /// deployed to: the collection and the projects in one transaction across them
        #[arg(long, conflicts_with_all = ["collections", "all_collections"])]
        deploy: bool,
    },
    /// Remove an artifact (files, manifest entry and lock entry together)
    Remove {
        name: String,
        #[arg(long = "type", value_enum)]
        r#type: Option<TypeArg>,
        /// Keep the artifact's files; only forget it
        #[arg(long)]
        keep_files: bool,
    },
    /// Copy an artifact to another collection: its files, manifest entry and lock entry (the
    /// source collection is not changed)
    Copy {
        name: String,
        #[arg(long = "type", value_enum)]
        r#type: Option<TypeArg>,
        /// The destination: a collection of the same home, or a collection directory (a path
        /// holding a `/`)
        #[arg(long, value_name = "COLLECTION")]
        to: String,
    },
    /// Move an artifact to another collection: files, both manifests and both locks in one
    /// transaction across the two (after any crash it is in exactly one of them)
    Move {
        name: String,
        #[arg(long = "type", value_enum)]
        r#type: Option<TypeArg>,
        /// The destination: a collection of the same home, or a collection directory (a path
        /// holding a `/`)
        #[arg(long, value_name = "COLLECTION")]
        to: String,
    },
    /// Show what `update` would change in an artifact's files, per file (unified diff)
    Diff {
        name: String,
        #[arg(long = "type", value_enum)]
        r#type: Option<TypeArg>,
    },
    /// List the collection's artifacts
    List,
    /// Show one artifact: manifest fields, lock entry and file state
    Show {
        name: String,
        #[arg(long = "type", value_enum)]
        r#type: Option<TypeArg>,
    },
    /// Artifacts that are modified, missing, or have an update (local sources); with
    /// --project, how each artifact deployed in that project stands
    Status {
        /// Judge the deployments in this project instead (in sync, modified, outdated,
        /// conflict, missing, not in the collection)
        #[arg(long, value_name = "DIR")]
        project: Option<PathBuf>,
    },
    /// Deploy artifacts into a project: their files and .skillmeat-deployed.toml in one
    /// transaction (after any crash the project is exactly before or after)
    Deploy {
        /// Artifacts to deploy (with --refresh: only these)
        #[arg(required_unless_present = "refresh")]
        names: Vec<String>,
        /// Only artifacts of this type (needed when a name is used by two types)
        #[arg(long = "type", value_enum)]
        r#type: Option<TypeArg>,
        /// The project directory
        #[arg(long, value_name = "DIR")]
        project: PathBuf,
        /// Deployment profiles, separated by commas: claude_code (.claude), codex
        /// (.agents), gemini (.gemini), cursor (.cursor) [default: claude_code]
        #[arg(long = "profile", value_name = "ID", value_delimiter = ',')]
        profiles: Vec<String>,
        /// Replace a project copy that has local changes (they are lost) instead of refusing
        #[arg(long)]
        overwrite: bool,
        /// Merge a project copy's local changes with the collection's version, three-way,
        /// the version deployed as the base (conflicts are marked: exit code 4)
        #[arg(long, conflicts_with = "overwrite")]
        merge: bool,
        /// Bring what the collection deployed in the project up to date (every profile it is
        /// deployed in), in one transaction
        #[arg(long, conflicts_with = "profiles")]
        refresh: bool,
    },
    /// Remove deployed artifacts from a project: files and records in one transaction
    Undeploy {
        /// Artifacts to remove
        #[arg(required = true)]
        names: Vec<String>,
        /// Only deployments of this type
        #[arg(long = "type", value_enum)]
        r#type: Option<TypeArg>,
        /// The project directory
        #[arg(long, value_name = "DIR")]
        project: PathBuf,
        /// Only the deployment of this profile [default: every profile]
        #[arg(long, value_name = "ID")]
        profile: Option<String>,
    },
    /// Take a project's copy of an artifact into the collection, with the project's record,
    /// in one transaction across the two (the collection's copy it replaces kept by the
    /// operation log: `undo` brings it back)
    Pull {
        name: String,
        #[arg(long = "type", value_enum)]
        r#type: Option<TypeArg>,
        /// The project directory
        #[arg(long, value_name = "DIR")]
        project: PathBuf,
        /// The profile to take it from, when it is deployed in several
        #[arg(long, value_name = "ID")]
        profile: Option<String>,
        /// Also when the collection's copy changed since the deploy (its changes are
        /// replaced; the operation log's record keeps them: `skillwal undo` brings them back)
        #[arg(long)]
        overwrite: bool,
    },
    /// Remove what interrupted runs of the Python skillmeat tool left in a project
    /// (`.<name>.txn-*`, `.<name>.skillmeat-txn-*`, …), in one transaction; those whose
    /// artifact is missing are kept (they may hold its only copy)
    Cleanup {
        /// The project directory
        #[arg(long, value_name = "DIR")]
        project: PathBuf,
        /// Only list what would be removed and kept
        #[arg(long)]
        dry_run: bool,
    },
    /// Where the collection's artifacts are deployed (projects skillwal deployed to)
    Deployments {
        /// Only this artifact
        name: Option<String>,
    },
    /// Check every artifact's files against the lock; report extra and missing files
    Verify,
    /// Record the whole collection as a snapshot (or list, show, delete snapshots)
    #[command(args_conflicts_with_subcommands = true)]
    Snapshot {
        /// What the snapshot is for
        #[arg(short = 'm', long)]
        message: Option<String>,
        #[command(subcommand)]
        command: Option<SnapshotCommand>,
    },
    /// Restore the collection to a snapshot in one transaction (only files that differ are written)
    Rollback {
        /// Snapshot id (`snapshot list`)
        id: String,
        /// Do not ask (required without a terminal)
        #[arg(long)]
        yes: bool,
    },
    /// The operation log: what each change did, newest first (`log show ID`: one record)
    #[command(args_conflicts_with_subcommands = true)]
    Log {
        /// Only the records that changed this artifact (`log -- show` for one named "show")
        name: Option<String>,
        /// Only artifacts of this type
        #[arg(long = "type", value_enum, requires = "name")]
        r#type: Option<TypeArg>,
        /// At most N records
        #[arg(short = 'n', value_name = "N")]
        limit: Option<usize>,
        /// The log of this project (what deploy, undeploy and cleanup did there) instead
        #[arg(long, value_name = "DIR", conflicts_with = "name")]
        project: Option<PathBuf>,
        #[command(subcommand)]
        command: Option<LogCommand>,
    },
    /// Undo a change (the last one still in effect by default) in a new transaction; paths changed since are conflicts, and nothing changes
    Undo {
        /// Record id (`skillwal log`) [default: the last change not undone]
        id: Option<String>,
        /// Undo in this project's log (a deploy, undeploy or cleanup) instead
        #[arg(long, value_name = "DIR")]
        project: Option<PathBuf>,
        /// Overwrite paths changed since the record (the undo's own record keeps what they held)
        #[arg(long)]
        force: bool,
        /// Do not ask (required without a terminal)
        #[arg(long)]
        yes: bool,
    },
    /// Undo the last undo (repeat to walk forward again)
    Redo {
        /// Redo in this project's log instead
        #[arg(long, value_name = "DIR")]
        project: Option<PathBuf>,
        /// Overwrite paths changed since the undo (its own record keeps what they held)
        #[arg(long)]
        force: bool,
        /// Do not ask (required without a terminal)
        #[arg(long)]
        yes: bool,
    },
    /// Delete the bases no lock needs and the store objects nothing kept refers to
    Gc {
        /// In this project's store instead (what its log no longer keeps)
        #[arg(long, value_name = "DIR")]
        project: Option<PathBuf>,
    },
    /// Look at the journal
    Journal {
        #[command(subcommand)]
        command: JournalCommand,
    },
    /// Recover an interrupted transaction explicitly (every command also does it first)
    Recover {
        /// Say what would be rolled forward or back, change nothing
        #[arg(long, conflicts_with = "discard")]
        dry_run: bool,
        /// Drop the journal without applying it, leaving the files as they are (after a
        /// damaged journal or a conflict; look with `journal inspect` first)
        #[arg(long)]
        discard: bool,
        /// Forget the decision of a transaction across collections that this collection
        /// keeps for one that could not be reached (`journal inspect` lists them): only once
        /// that collection is gone for good
        #[arg(long, value_name = "ID", conflicts_with_all = ["dry_run", "discard"])]
        forget_decision: Option<String>,
    },
    /// Walk through a crash and its recovery on a throw-away collection (offline, seconds)
    Demo {
        /// Keep the demo directory instead of removing it
        #[arg(long)]
        keep: bool,
    },
    /// Print a completion script for SHELL on stdout (README, "Shell completions and man page")
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff, section 1) on stdout
    Man,
}

#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// List the snapshots, oldest first
    List,
    /// What differs between the collection now and a snapshot (what a rollback would do)
    Show { id: String },
    /// Delete a snapshot (its objects go at the next `gc`)
    Delete { id: String },
}

#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// What one record changed, file by file
    Show {
        /// Record id (`skillwal log`)
        id: String,
        /// With the unified diff of each text file
        #[arg(long)]
        diff: bool,
        /// A record of this project's log instead
        #[arg(long, value_name = "DIR")]
        project: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum JournalCommand {
    /// Show what a journal holds, record by record (read-only; works on a copy anywhere)
    Inspect {
        /// A journal file, a collection's directory, or skillwal's state directory of a
        /// collection [default: the selected collection's journal]. A damaged or unreadable
        /// journal given here exits 1 after the report
        path: Option<PathBuf>,
    },
    /// Check the journal and what recovery would do
    Verify,
}
