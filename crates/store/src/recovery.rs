//! Recovery at startup (storage spec §5): make the commit log end at its last valid record and
//! make every consume queue agree with it.
//!
//! * Consume queues first (§5.2): each keeps its valid prefix.
//! * Normal recovery (no `abort` file, §5.3): scan from the newest file whose first record is
//!   already covered by the consume queues; dispatch records past what the queues hold.
//! * Abnormal recovery (`abort` present, §5.4): scan from the newest file whose first record is
//!   older than the checkpoint's `minTimestamp` and re-dispatch every record (duplicates are
//!   ignored by the queues).
//!
//! Both scans check every record (magic, lengths, stored physical offset, body CRC) and stop at
//! the first bad one: that is the torn tail, and everything from it on is cut off — in the commit
//! log (bytes zeroed) and in the consume queues.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use ferrocket_protocol::message::consts::PROPERTY_SEPARATOR;
use ferrocket_protocol::message::record::BLANK_HEADER_LEN;
use ferrocket_protocol::message::{RecordError, RecordView};

use crate::checkpoint::StoreCheckpoint;
use crate::commit_log::CommitLog;
use crate::consume_queue::ConsumeQueueStore;
use crate::dispatch::Dispatcher;
use crate::error::StoreError;
use crate::mapped_file::MappedFile;

/// What recovery found.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Recovered {
    /// End of the last valid record: new append position and reput start.
    pub(crate) process_offset: i64,
    /// Store time of the last valid record (0 if none).
    pub(crate) last_store_timestamp: i64,
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

pub(crate) fn recover(
    cl: &CommitLog,
    cqs: &ConsumeQueueStore,
    checkpoint: &StoreCheckpoint,
    dispatcher: &Dispatcher,
    last_exit_ok: bool,
    check_crc: bool,
) -> Result<Recovered, StoreError> {
    let mut dispatch_from = 0i64;
    for cq in cqs.all() {
        cq.recover()?;
        dispatch_from = dispatch_from.max(cq.max_physic_offset());
    }

    let files: Vec<Arc<MappedFile>> = cl.queue.snapshot();
    if files.is_empty() {
        if !cqs.all().is_empty() {
            tracing::warn!("no commit-log files: destroying all consume queues");
        }
        cqs.destroy_all();
        cl.queue.set_flushed_where(0);
        return Ok(Recovered {
            process_offset: 0,
            last_store_timestamp: 0,
        });
    }

    let start = if last_exit_ok {
        (1..files.len())
            .rev()
            .find(|&i| {
                first_record(&files[i], check_crc).is_some_and(|(phy, _)| phy <= dispatch_from)
            })
            .unwrap_or(0)
    } else {
        let min_ts = checkpoint.min_timestamp();
        (0..files.len())
            .rev()
            .find(|&i| first_record(&files[i], check_crc).is_some_and(|(_, ts)| ts <= min_ts))
            .unwrap_or(0)
    };
    tracing::info!(
        normal = last_exit_ok,
        start_file = %files[start].path().display(),
        dispatch_from,
        "recovering commit log"
    );

    let mut idx = start;
    let mut pos = 0usize;
    let mut process_offset = files[idx].file_from_offset() as i64;
    let mut last_ts = 0i64;
    let mut dispatched = 0u64;
    loop {
        let f = &files[idx];
        let base = f.file_from_offset() as i64;
        let size = f.file_size();
        let at_end_of_file = pos + BLANK_HEADER_LEN > size;
        let parsed = if at_end_of_file {
            Err(RecordError::Blank { size: 0 })
        } else {
            f.read(pos, size - pos).map_or(
                Err(RecordError::Truncated {
                    needed: 8,
                    available: 0,
                }),
                RecordView::parse,
            )
        };
        match parsed {
            Ok(view) => {
                let phy = base + pos as i64;
                let valid = view.commitlog_offset() == phy
                    && (!check_crc || view.verify_body_crc().is_ok())
                    && (looks_complete(&view)
                        || next_is_valid(
                            f,
                            pos + view.total_size(),
                            phy + view.total_size() as i64,
                            check_crc,
                        ));
                if !valid {
                    tracing::warn!(
                        offset = phy,
                        "invalid record: end of the recovered commit log"
                    );
                    break;
                }
                // Java's normal recovery only dispatches records past `dispatch_from` (the max
                // over all queues); dispatching every scanned record instead also repairs a queue
                // that lags behind the others. Queues ignore entries they already hold.
                dispatcher.dispatch(&view, phy, false);
                dispatched += 1;
                last_ts = view.store_timestamp();
                pos += view.total_size();
                process_offset = base + pos as i64;
            }
            Err(RecordError::Blank { .. }) => {
                if idx + 1 >= files.len() {
                    break;
                }
                idx += 1;
                pos = 0;
                process_offset = files[idx].file_from_offset() as i64;
            }
            Err(e) => {
                if !(pos == 0 && is_zero_header(f, pos)) {
                    tracing::warn!(offset = base + pos as i64, error = %e, "end of the recovered commit log");
                }
                break;
            }
        }
    }
    drop(files);
    tracing::info!(process_offset, dispatched, "commit log recovered");

    if !last_exit_ok {
        for cq in cqs.all() {
            if let Err(e) = cq.flush(0) {
                tracing::error!(error = %e, "consume queue flush after recovery failed");
            }
        }
    }
    for cq in cqs.all() {
        cq.truncate_dirty(process_offset)?;
    }
    cl.queue.truncate_dirty(process_offset as u64, false)?;
    cl.queue.set_flushed_where(process_offset as u64);
    checkpoint
        .confirm_phy_offset
        .store(process_offset, Ordering::Release);
    Ok(Recovered {
        process_offset,
        last_store_timestamp: last_ts,
    })
}

/// Heuristics for a record whose last bytes were never written (body CRC does not cover the
/// topic and properties): stored properties end with `\x02` (the put path guarantees it), and a
/// topic never contains NUL.
fn looks_complete(view: &RecordView<'_>) -> bool {
    let props = view.properties_bytes();
    let props_ok = !matches!(props.last(), Some(b) if *b != PROPERTY_SEPARATOR as u8);
    props_ok && !view.topic().as_bytes().contains(&0)
}

/// Whether a valid record or BLANK follows at `pos`: then a record failing only the
/// [`looks_complete`] heuristics is not a torn tail (e.g. written by another implementation).
fn next_is_valid(f: &MappedFile, pos: usize, phy: i64, check_crc: bool) -> bool {
    let Some(data) = f.read(pos, f.file_size().saturating_sub(pos)) else {
        return false;
    };
    match RecordView::parse(data) {
        Ok(v) => v.commitlog_offset() == phy && (!check_crc || v.verify_body_crc().is_ok()),
        Err(RecordError::Blank { size }) => size as usize == f.file_size() - pos,
        Err(_) => false,
    }
}

fn is_zero_header(f: &MappedFile, pos: usize) -> bool {
    f.read(pos, BLANK_HEADER_LEN)
        .is_some_and(|b| b.iter().all(|x| *x == 0))
}
