//! The journal: one SQLite database that holds the audit log and the tables an application
//! keeps beside it, written by group commit.
//!
//! The database runs in write-ahead-log mode with `synchronous=FULL`: a commit returns only
//! after the log is fsynced, so an acknowledged write survives a power cut. One writer thread
//! owns the only write connection. Callers hand it jobs; it runs every job that is waiting in
//! one transaction, each inside its own savepoint (a job that fails leaves no trace and does
//! not fail the others), commits once — one fsync for the whole group — and only then answers
//! each caller. Readers use their own connections and see the last commit; they never wait
//! for the writer.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use rusqlite::{Connection, OpenFlags};

use crate::merkle::{Hash, MerkleTree};
use crate::store::StoreError;

/// Most jobs one group commit takes.
const MAX_GROUP: usize = 512;
/// Most idle read connections kept for reuse.
const MAX_IDLE_READERS: usize = 16;

/// A transaction of the writer thread, as one job sees it: the SQL connection (inside the
/// job's savepoint) and the audit entries the group has staged so far.
pub struct WriteTx<'a> {
    conn: &'a Connection,
    /// Entries in the committed log when the group began.
    pub(crate) committed_len: u64,
    /// The hash of the last committed entry, if any.
    pub(crate) committed_last: Option<Hash>,
    /// Leaf hashes of the entries this group appended, in order.
    pub(crate) staged: Vec<Hash>,
}

impl WriteTx<'_> {
    /// The connection, inside this job's savepoint: what the job writes is committed with the
    /// group, or not at all.
    pub fn sql(&self) -> &Connection {
        self.conn
    }
}

/// A job for the writer thread: `run` inside the group's transaction, then `finish` once the
/// group's fate is known.
trait Job: Send {
    /// Runs inside its savepoint; `false` rolls the savepoint back.
    fn run(&mut self, tx: &mut WriteTx<'_>) -> bool;
    /// Answers the caller: `failure` says why the group was not committed, if it was not.
    fn finish(self: Box<Self>, failure: Option<&Failure>);
}

struct Pending<F, T, E> {
    work: Option<F>,
    outcome: Option<Result<T, E>>,
    reply: SyncSender<Result<T, E>>,
}

impl<F, T, E> Job for Pending<F, T, E>
where
    F: FnOnce(&mut WriteTx<'_>) -> Result<T, E> + Send,
    T: Send,
    E: From<StoreError> + Send,
{
    fn run(&mut self, tx: &mut WriteTx<'_>) -> bool {
        let outcome = match self.work.take() {
            Some(work) => work(tx),
            None => Err(E::from(StoreError::Stopped)),
        };
        let kept = outcome.is_ok();
        self.outcome = Some(outcome);
        kept
    }

    fn finish(self: Box<Self>, failure: Option<&Failure>) {
        let answer = match (self.outcome, failure) {
            (Some(Err(error)), _) => Err(error),
            (Some(Ok(value)), None) => Ok(value),
            (Some(Ok(_)), Some(failure)) => Err(E::from(failure.to_error())),
            (None, failure) => Err(E::from(
                failure.map_or(StoreError::Stopped, Failure::to_error),
            )),
        };
        // The caller may have gone away; nothing is left to tell.
        let _ = self.reply.send(answer);
    }
}

/// Why a group was not committed.
#[derive(Clone)]
enum Failure {
    /// SQLite failed the transaction.
    Sql(Arc<rusqlite::Error>),
    /// The in-memory log is unusable after a panic.
    Poisoned,
}

impl Failure {
    fn to_error(&self) -> StoreError {
        match self {
            Failure::Sql(error) => StoreError::Commit(error.clone()),
            Failure::Poisoned => StoreError::Poisoned,
        }
    }
}

/// The database, its writer thread and its idle read connections.
pub(crate) struct Journal {
    path: PathBuf,
    jobs: Mutex<Option<Sender<Box<dyn Job>>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    readers: Mutex<Vec<Connection>>,
}

impl Journal {
    /// Opens (creating if needed) the database at `path`, runs `setup` on the write
    /// connection (creating tables) and starts the writer thread, which appends the entries a
    /// group staged to `merkle` once the group is committed.
    pub(crate) fn open(
        path: &Path,
        setup: impl FnOnce(&Connection) -> Result<(), StoreError>,
        merkle: Arc<Mutex<MerkleTree>>,
    ) -> Result<Journal, StoreError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        setup(&conn)?;
        let (jobs, queue) = mpsc::channel::<Box<dyn Job>>();
        let writer = std::thread::Builder::new()
            .name("symbolon-journal".into())
            .spawn(move || write_groups(conn, queue, merkle))
            .map_err(StoreError::Thread)?;
        Ok(Journal {
            path: path.to_owned(),
            jobs: Mutex::new(Some(jobs)),
            writer: Mutex::new(Some(writer)),
            readers: Mutex::new(Vec::new()),
        })
    }

    /// Runs `work` in the next group commit and returns its result once the group is on disk.
    /// Blocks: call it off the async runtime.
    pub(crate) fn write<T, E>(
        &self,
        work: impl FnOnce(&mut WriteTx<'_>) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let (reply, answer) = mpsc::sync_channel(1);
        let job: Box<dyn Job> = Box::new(Pending {
            work: Some(work),
            outcome: None,
            reply,
        });
        {
            let jobs = self.jobs.lock().map_err(|_| StoreError::Poisoned)?;
            let sender = jobs.as_ref().ok_or(StoreError::Stopped)?;
            sender.send(job).map_err(|_| StoreError::Stopped)?;
        }
        answer.recv().map_err(|_| StoreError::Stopped)?
    }

    /// Runs `read` on a read connection, which sees the last commit.
    pub(crate) fn read<T, E>(&self, read: impl FnOnce(&Connection) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let idle = self.readers.lock().map_err(|_| StoreError::Poisoned)?.pop();
        let conn = match idle {
            Some(conn) => conn,
            None => self.open_reader().map_err(E::from)?,
        };
        let result = read(&conn);
        if let Ok(mut readers) = self.readers.lock() {
            if readers.len() < MAX_IDLE_READERS {
                readers.push(conn);
            }
        }
        result
    }

    fn open_reader(&self) -> Result<Connection, StoreError> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.pragma_update(None, "query_only", true)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        Ok(conn)
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        // Closing the queue ends the writer once it has answered every job it holds.
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.take();
        }
        if let Ok(mut writer) = self.writer.lock() {
            if let Some(writer) = writer.take() {
                let _ = writer.join();
            }
        }
    }
}

/// The writer thread: takes every waiting job, runs them in one transaction and commits.
fn write_groups(
    mut conn: Connection,
    queue: Receiver<Box<dyn Job>>,
    merkle: Arc<Mutex<MerkleTree>>,
) {
    while let Ok(first) = queue.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let (committed_len, committed_last) = match merkle.lock() {
            Ok(tree) => (
                tree.len(),
                tree.len().checked_sub(1).and_then(|i| tree.leaf(i)),
            ),
            Err(_) => {
                for job in group {
                    job.finish(Some(&Failure::Poisoned));
                }
                continue;
            }
        };
        let outcome = run_group(&mut conn, &mut group, committed_len, committed_last);
        match outcome {
            Ok(staged) => {
                if let Ok(mut tree) = merkle.lock() {
                    for hash in staged {
                        tree.push_hash(hash);
                    }
                }
                for job in group {
                    job.finish(None);
                }
            }
            Err(error) => {
                let failure = Failure::Sql(Arc::new(error));
                for job in group {
                    job.finish(Some(&failure));
                }
            }
        }
    }
}

/// Runs `group` in one transaction, each job in its own savepoint, and commits; returns the
/// hashes of the audit entries the kept jobs appended.
fn run_group(
    conn: &mut Connection,
    group: &mut [Box<dyn Job>],
    committed_len: u64,
    committed_last: Option<Hash>,
) -> Result<Vec<Hash>, rusqlite::Error> {
    let tx = conn.transaction()?;
    let mut write = WriteTx {
        conn: &tx,
        committed_len,
        committed_last,
        staged: Vec::new(),
    };
    for job in group.iter_mut() {
        write.conn.execute_batch("SAVEPOINT job")?;
        let mark = write.staged.len();
        if job.run(&mut write) {
            write.conn.execute_batch("RELEASE job")?;
        } else {
            write.staged.truncate(mark);
            write.conn.execute_batch("ROLLBACK TO job; RELEASE job")?;
        }
    }
    let staged = write.staged;
    tx.commit()?;
    Ok(staged)
}
