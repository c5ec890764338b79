//! Recovery at startup (storage spec §5): make the commit log end at its last valid record and
//! make every consume queue agree with it.
//!
//! * Consume queues first (§5.2): each keeps its valid prefix.
//! * Where the commit-log scan starts: the checkpoint's `recoverFromPhyOffset` (Ferrocket
//!   extension, see `checkpoint.rs`) when it is valid — every record below it, and its
//!   consume-queue entry, was forced to disk, so only the tail written since the last checkpoint
//!   (about a second of writes) is read, however large the log is. Without it (a directory last
//!   written by Java, or a torn checkpoint) Java's rules apply: normal recovery (§5.3) starts at
//!   the newest file whose first record the queues already cover, abnormal recovery (§5.4) at the
//!   newest file whose first record is older than the checkpoint's `minTimestamp`.
//! * After a crash, consume-queue entries for records at or past the scan start are dropped
//!   before the scan rebuilds them: pages reach the disk in any order, so a queue can have holes
//!   anywhere in its unflushed part, not just a missing tail.
//! * The scan checks every record (magic, lengths, stored physical offset, body CRC) and
//!   re-dispatches it (queues and index ignore what they already hold).
//! * A record that fails its checks while its framing is intact (magic, lengths and stored
//!   offset agree) **and** is followed by valid records is a corrupted record in the middle of
//!   the log (a bit flip): it is logged with file and offset, never dispatched, and the scan goes
//!   on after it. Anything else that fails ends the log there — a torn tail — and is cut off: in
//!   the commit log (bytes zeroed) and in the consume queues. A corrupted length, magic or
//!   offset field cannot be told apart from a torn tail and is cut like one, as Java does.
//! * After a crash the recovered range of the commit log and every consume queue are forced to
//!   disk before the store accepts writes, so what recovery kept is durable, not just cached.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrocket_protocol::message::consts::PROPERTY_SEPARATOR;
use ferrocket_protocol::message::record::BLANK_HEADER_LEN;
use ferrocket_protocol::message::{RecordError, RecordView};

use crate::checkpoint::StoreCheckpoint;
use crate::commit_log::CommitLog;
use crate::consume_queue::ConsumeQueueStore;
use crate::dispatch::Dispatcher;
use crate::error::StoreError;
use crate::mapped_file::MappedFile;
use crate::mapped_file_queue::Tail;

/// What the last recovery did (`DefaultMessageStore::recovery_report`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// `true` after a clean shutdown (no `abort` file), `false` after a crash.
    pub normal: bool,
    /// The scan started at the checkpoint's recovery offset (not at a file chosen by time).
    pub from_checkpoint: bool,
    /// The checkpoint was written during this boot: the crash (if any) was a process crash and
    /// the page cache kept every write.
    pub same_boot: bool,
    /// Commit-log offset where the scan started.
    pub start_offset: i64,
    /// Recovered end of the commit log (next append position).
    pub end_offset: i64,
    /// Bytes of commit log read and checked by the scan.
    pub scanned_bytes: u64,
    /// Valid records found (and re-dispatched) by the scan.
    pub records: u64,
    /// Offsets of corrupted records skipped in the middle of the log.
    pub corrupt_records: Vec<i64>,
    /// Non-zero bytes after the recovered end had to be zeroed (a torn tail or stale data).
    pub truncated: bool,
    /// Wall time of the whole recovery (consume queues, scan, truncation, forcing).
    pub duration: Duration,
}

/// What recovery found.
#[derive(Debug, Clone)]
pub(crate) struct Recovered {
    /// End of the last valid record: new append position and reput start.
    pub(crate) process_offset: i64,
    /// Store time of the last valid record (0 if none).
    pub(crate) last_store_timestamp: i64,
    pub(crate) report: RecoveryReport,
}

/// Check the first record of a file: valid, with a non-zero store time.
fn first_record(f: &MappedFile, check_crc: bool) -> Option<(i64, i64)> {
    let data = f.read(0, f.file_size())?;
    let view = RecordView::parse(data).ok()?;
    if check_crc && view.verify_body_crc().is_err() {
        return None;
    }
    if view.commitlog_offset() != f.file_from_offset() as i64 || view.store_timestamp() == 0 {
        return None;
    }
    Some((view.commitlog_offset(), view.store_timestamp()))
}

/// How a record at a position looks.
enum Check<'a> {
    /// Passes every check.
    Valid(RecordView<'a>),
    /// Parses and sits where its stored offset says, but fails the body CRC (`crc_ok == false`)
    /// or only the completeness heuristics: its size can be trusted.
    Framed { view: RecordView<'a>, crc_ok: bool },
    /// A BLANK header covering exactly the rest of the file.
    Blank,
    /// Zero bytes (nothing was ever written here).
    Zero,
    /// Anything else: garbage, a torn header, a wrong offset.
    Bad(String),
}

fn check_at(f: &MappedFile, pos: usize, check_crc: bool) -> Check<'_> {
    let size = f.file_size();
    if pos + BLANK_HEADER_LEN > size {
        return Check::Blank; // fewer than 8 bytes left: implicitly the end of the file
    }
    let Some(data) = f.read(pos, size - pos) else {
        return Check::Bad("unreadable".into());
    };
    let phy = f.file_from_offset() as i64 + pos as i64;
    match RecordView::parse(data) {
        Ok(view) => {
            if view.commitlog_offset() != phy {
                return Check::Bad(format!(
                    "stored offset {} at offset {phy}",
                    view.commitlog_offset()
                ));
            }
            let crc_ok = !check_crc || view.verify_body_crc().is_ok();
            if crc_ok && looks_complete(&view) {
                Check::Valid(view)
            } else {
                Check::Framed { view, crc_ok }
            }
        }
        Err(RecordError::Blank { size: s }) if s as usize == size - pos => Check::Blank,
        Err(_) if data[..BLANK_HEADER_LEN].iter().all(|b| *b == 0) => Check::Zero,
        Err(e) => Check::Bad(e.to_string()),
    }
}

/// After a framed-but-failing record ending at `pos`: does the log go on with valid data (over
/// at most a few more framed records)? Then the failing record is a corruption in the middle,
/// not the torn tail.
fn continues_validly(f: &MappedFile, mut pos: usize, check_crc: bool) -> bool {
    for _ in 0..16 {
        match check_at(f, pos, check_crc) {
            Check::Valid(_) | Check::Blank => return true,
            Check::Framed { view, .. } => pos += view.total_size(),
            Check::Zero | Check::Bad(_) => return false,
        }
    }
    false
}

/// The checkpoint's recovery offset, if there is one that fits the files: every record below
/// it, and its consume-queue entry, is on disk.
fn durable_below(files: &[Arc<MappedFile>], checkpoint: &StoreCheckpoint) -> Option<i64> {
    let p = checkpoint.loaded_ext()?.recover_from;
    let first = files.first()?.file_from_offset() as i64;
    let last = files.last()?;
    let end = last.file_from_offset() as i64 + last.file_size() as i64;
    (p > 0 && p >= first && p <= end).then_some(p)
}

/// Whether `[from, to)` holds only records that have no consume-queue entry (prepared or
/// rolled-back transaction messages) and BLANK file ends — then queues ending at `from` are
/// complete up to `to`. Stops at the first queued or unreadable record.
fn only_unqueued_between(files: &[Arc<MappedFile>], from: i64, to: i64) -> bool {
    use ferrocket_protocol::message::consts::sys_flag;
    let first = files[0].file_from_offset() as i64;
    if from < first {
        return false;
    }
    let size = files[0].file_size() as i64;
    let mut at = from;
    while at < to {
        let idx = ((at - first) / size) as usize;
        let Some(f) = files.get(idx) else {
            return false;
        };
        let pos = (at - f.file_from_offset() as i64) as usize;
        match check_at(f, pos, false) {
            Check::Blank => at = f.file_from_offset() as i64 + size,
            Check::Valid(v) => {
                let tx = sys_flag::transaction_value(v.sys_flag());
                if tx == sys_flag::TRANSACTION_NOT_TYPE || tx == sys_flag::TRANSACTION_COMMIT_TYPE {
                    return false;
                }
                at += v.total_size() as i64;
            }
            _ => return false,
        }
    }
    at == to
}

/// Java's abnormal-recovery start (§5.4): the newest file whose first record is older than the
/// checkpoint's `minTimestamp` (file 0 if none).
fn timestamp_start(
    files: &[Arc<MappedFile>],
    checkpoint: &StoreCheckpoint,
    check_crc: bool,
) -> usize {
    let min_ts = checkpoint.min_timestamp();
    (0..files.len())
        .rev()
        .find(|&i| first_record(&files[i], check_crc).is_some_and(|(_, ts)| ts <= min_ts))
        .unwrap_or(0)
}

/// Where the scan starts: (file index, position in it, whether at the checkpoint's offset).
fn choose_start(
    files: &[Arc<MappedFile>],
    durable_below: Option<i64>,
    crash_start_file: Option<usize>,
    dispatch_from: i64,
    check_crc: bool,
) -> (usize, usize, bool) {
    let first = files[0].file_from_offset() as i64;
    let size = files[0].file_size() as i64;
    let locate = |p: i64| -> (usize, usize) {
        let idx = (((p.max(first) - first) / size) as usize).min(files.len() - 1);
        let pos = (p.max(first) - files[idx].file_from_offset() as i64) as usize;
        (idx, pos.min(files[idx].file_size()))
    };
    if let Some(p) = durable_below {
        if dispatch_from < 0 {
            // no consume queue at all although the log has data: the operator deleted
            // `consumequeue/` to have it rebuilt (a common RocketMQ remedy) — rebuild everything
            tracing::info!("no consume queues: rebuilding them from the whole commit log");
            return (0, 0, false);
        }
        if dispatch_from < p && !only_unqueued_between(files, dispatch_from, p) {
            // the queues hold less than the checkpoint promised (lost or deleted queue files):
            // re-dispatch from where they end
            tracing::info!(
                recover_from = p,
                dispatch_from,
                "consume queues end before the checkpoint offset: scanning from their end"
            );
            let (idx, pos) = locate(dispatch_from);
            return (idx, pos, false);
        }
        let (idx, pos) = locate(p);
        let f = &files[idx];
        let plausible = f.file_from_offset() as i64 + pos as i64 == p
            && (pos == 0
                || pos == f.file_size()
                || matches!(
                    check_at(f, pos, check_crc),
                    Check::Valid(_) | Check::Blank | Check::Zero
                ));
        if plausible {
            return (idx, pos, true);
        }
        // Consume queues were already cut at `p`, so the scan must not start later than that:
        // take the start of its file (the bad bytes will be met, and judged, by the scan).
        tracing::warn!(
            recover_from = p,
            "checkpoint recovery offset does not point at a record; scanning its whole file"
        );
        return (idx, 0, false);
    }
    if let Some(idx) = crash_start_file {
        return (idx, 0, false);
    }
    // normal recovery of a directory without our checkpoint extension (Java's §5.3)
    let idx = (1..files.len())
        .rev()
        .find(|&i| first_record(&files[i], check_crc).is_some_and(|(phy, _)| phy <= dispatch_from))
        .unwrap_or(0);
    (idx, 0, false)
}

pub(crate) fn recover(
    cl: &CommitLog,
    cqs: &ConsumeQueueStore,
    checkpoint: &StoreCheckpoint,
    dispatcher: &Dispatcher,
    last_exit_ok: bool,
    check_crc: bool,
) -> Result<Recovered, StoreError> {
    let began = Instant::now();
    let mut report = RecoveryReport {
        normal: last_exit_ok,
        same_boot: checkpoint.written_this_boot(),
        ..RecoveryReport::default()
    };
    let files: Vec<Arc<MappedFile>> = cl.queue.snapshot();
    // Consume-queue entries for records from `cq_limit` on are dropped and rebuilt by the scan:
    // after a crash they may have holes anywhere (pages reach the disk in any order).
    let durable_below = durable_below(&files, checkpoint);
    let crash_start_file = (durable_below.is_none() && !last_exit_ok && !files.is_empty())
        .then(|| timestamp_start(&files, checkpoint, check_crc));
    let cq_limit =
        durable_below.or_else(|| crash_start_file.map(|i| files[i].file_from_offset() as i64));
    let mut dispatch_from = -1i64;
    // no holes in the queues' files unless the machine lost power
    let whole = last_exit_ok || report.same_boot;
    for cq in cqs.all() {
        cq.recover(cq_limit, whole)?;
        dispatch_from = dispatch_from.max(cq.max_physic_offset());
    }

    if files.is_empty() {
        if !cqs.all().is_empty() {
            tracing::warn!("no commit-log files: destroying all consume queues");
        }
        cqs.destroy_all();
        cl.queue.set_flushed_where(0);
        report.duration = began.elapsed();
        return Ok(Recovered {
            process_offset: 0,
            last_store_timestamp: 0,
            report,
        });
    }

    let (mut idx, mut pos, from_checkpoint) = choose_start(
        &files,
        durable_below,
        crash_start_file,
        dispatch_from,
        check_crc,
    );
    let start_offset = files[idx].file_from_offset() as i64 + pos as i64;
    report.from_checkpoint = from_checkpoint;
    report.start_offset = start_offset;
    tracing::info!(
        normal = last_exit_ok,
        from_checkpoint,
        same_boot = report.same_boot,
        start_offset,
        start_file = %files[idx].path().display(),
        "recovering commit log"
    );

    let mut process_offset = start_offset;
    let mut last_ts = 0i64;
    loop {
        let f = &files[idx];
        let base = f.file_from_offset() as i64;
        let phy = base + pos as i64;
        let checked = match check_at(f, pos, check_crc) {
            // only the completeness heuristics failed, and the log goes on: a complete record
            // written by another implementation
            Check::Framed { view, crc_ok: true }
                if continues_validly(f, pos + view.total_size(), check_crc) =>
            {
                Check::Valid(view)
            }
            other => other,
        };
        match checked {
            Check::Valid(view) => {
                // Java's normal recovery only dispatches records past `dispatch_from` (the max
                // over all queues); dispatching every scanned record instead also repairs a queue
                // that lags behind the others. Queues ignore entries they already hold.
                dispatcher.dispatch(&view, phy, false)?;
                report.records += 1;
                last_ts = view.store_timestamp();
                pos += view.total_size();
                report.scanned_bytes += view.total_size() as u64;
                process_offset = base + pos as i64;
            }
            Check::Framed { view, .. }
                if continues_validly(f, pos + view.total_size(), check_crc) =>
            {
                let n = view.total_size();
                tracing::error!(
                    file = %f.path().display(),
                    position = pos,
                    offset = phy,
                    size = n,
                    "corrupted commit-log record (body CRC or content check failed); it will \
                     never be served, the records after it are kept"
                );
                report.corrupt_records.push(phy);
                pos += n;
                report.scanned_bytes += n as u64;
                process_offset = base + pos as i64;
            }
            Check::Blank => {
                if idx + 1 >= files.len() {
                    break;
                }
                report.scanned_bytes += (f.file_size() - pos.min(f.file_size())) as u64;
                idx += 1;
                pos = 0;
                process_offset = files[idx].file_from_offset() as i64;
            }
            Check::Zero => break,
            Check::Framed { .. } => {
                tracing::warn!(
                    file = %f.path().display(),
                    position = pos,
                    offset = phy,
                    "torn or corrupted record at the end of the commit log: the log ends here"
                );
                break;
            }
            Check::Bad(why) => {
                tracing::warn!(
                    file = %f.path().display(),
                    position = pos,
                    offset = phy,
                    reason = %why,
                    "invalid record: the recovered commit log ends here"
                );
                break;
            }
        }
    }
    drop(files);
    report.end_offset = process_offset;
    tracing::info!(
        process_offset,
        records = report.records,
        scanned_bytes = report.scanned_bytes,
        corrupt = report.corrupt_records.len(),
        "commit log recovered"
    );

    for cq in cqs.all() {
        cq.truncate_dirty(process_offset)?;
    }
    report.truncated = cl
        .queue
        .truncate_dirty(process_offset as u64, Tail::UntilZeroChunk)?;
    cl.queue.set_flushed_where(process_offset as u64);
    if !last_exit_ok {
        // What survived a process crash may still be only in the page cache: force it before
        // anything is built on top of it (the checkpoint will claim it durable).
        // Entries for records below the scan start are durable by the checkpoint's promise;
        // without it (file-based start) everything from the start file on is forced.
        cl.queue
            .force_range(start_offset as u64, process_offset as u64)?;
        for cq in cqs.all() {
            cq.force_from_phy(start_offset)?;
        }
    }
    checkpoint
        .confirm_phy_offset
        .store(process_offset, Ordering::Release);
    checkpoint
        .recover_from
        .store(process_offset, Ordering::Release);
    report.duration = began.elapsed();
    Ok(Recovered {
        process_offset,
        last_store_timestamp: last_ts,
        report,
    })
}

/// Heuristics for a record whose last bytes were never written (body CRC does not cover the
/// topic and properties): stored properties end with `\x02` (the put path guarantees it), and a
/// topic never contains NUL. A record failing only these is still accepted when valid records
/// follow it (e.g. one written by another implementation) — see `continues_validly`.
fn looks_complete(view: &RecordView<'_>) -> bool {
    let props = view.properties_bytes();
    let props_ok = !matches!(props.last(), Some(b) if *b != PROPERTY_SEPARATOR as u8);
    props_ok && !view.topic().as_bytes().contains(&0)
}
