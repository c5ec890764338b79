//! The `checkpoint` file (Java `StoreCheckpoint`, storage spec §3.8): 4 096 bytes, of which the
//! first 40 hold five big-endian i64 values. Abnormal recovery derives its start point from them.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};

use crate::error::StoreError;

const FILE_SIZE: u64 = 4096;

pub(crate) struct StoreCheckpoint {
    path: PathBuf,
    file: File,
    /// Store time of the last commit-log message known flushed (offset 0).
    pub(crate) physic_msg_timestamp: AtomicI64,
    /// Store time of the last message dispatched to consume queues that are known flushed (offset 8).
    pub(crate) logics_msg_timestamp: AtomicI64,
    /// End time of the last full index file flushed (offset 16).
    pub(crate) index_msg_timestamp: AtomicI64,
    /// Master flushed offset, for slaves (offset 24).
    pub(crate) master_flushed_offset: AtomicI64,
    /// Confirm offset (offset 32).
    pub(crate) confirm_phy_offset: AtomicI64,
}

impl StoreCheckpoint {
    pub(crate) fn open(path: &Path) -> Result<Self, StoreError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| StoreError::io("open", path, e))?;
        let len = file
            .metadata()
            .map_err(|e| StoreError::io("stat", path, e))?
            .len();
        if len < FILE_SIZE {
            file.set_len(FILE_SIZE)
                .map_err(|e| StoreError::io("set_len", path, e))?;
        }
        let mut buf = [0u8; 40];
        file.read_exact_at(&mut buf, 0)
            .map_err(|e| StoreError::io("read", path, e))?;
        let field = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&buf[i * 8..i * 8 + 8]);
            AtomicI64::new(i64::from_be_bytes(b))
        };
        Ok(StoreCheckpoint {
            path: path.to_path_buf(),
            file,
            physic_msg_timestamp: field(0),
            logics_msg_timestamp: field(1),
            index_msg_timestamp: field(2),
            master_flushed_offset: field(3),
            confirm_phy_offset: field(4),
        })
    }

    /// `minTimestamp = max(0, min(physic, logics) − 3000)`.
    pub(crate) fn min_timestamp(&self) -> i64 {
        let min = self
            .physic_msg_timestamp
            .load(Ordering::Acquire)
            .min(self.logics_msg_timestamp.load(Ordering::Acquire));
        (min - 3000).max(0)
    }

    /// Write the five values and force them to disk.
    pub(crate) fn flush(&self) -> Result<(), StoreError> {
        let mut buf = [0u8; 40];
        let vals = [
            &self.physic_msg_timestamp,
            &self.logics_msg_timestamp,
            &self.index_msg_timestamp,
            &self.master_flushed_offset,
            &self.confirm_phy_offset,
        ];
        for (i, v) in vals.iter().enumerate() {
            buf[i * 8..i * 8 + 8].copy_from_slice(&v.load(Ordering::Acquire).to_be_bytes());
        }
        self.file
            .write_all_at(&buf, 0)
            .map_err(|e| StoreError::io("write", &self.path, e))?;
        self.file
            .sync_data()
            .map_err(|e| StoreError::io("fdatasync", &self.path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_layout() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("checkpoint");
        let c = StoreCheckpoint::open(&p).unwrap();
        assert_eq!(c.min_timestamp(), 0);
        c.physic_msg_timestamp.store(10_000, Ordering::Release);
        c.logics_msg_timestamp.store(9_000, Ordering::Release);
        c.index_msg_timestamp.store(1_000, Ordering::Release);
        c.confirm_phy_offset.store(77, Ordering::Release);
        c.flush().unwrap();
        drop(c);
        let raw = std::fs::read(&p).unwrap();
        assert_eq!(raw.len(), 4096);
        assert_eq!(&raw[0..8], &10_000i64.to_be_bytes());
        assert_eq!(&raw[8..16], &9_000i64.to_be_bytes());
        assert_eq!(&raw[32..40], &77i64.to_be_bytes());
        let c = StoreCheckpoint::open(&p).unwrap();
        assert_eq!(c.min_timestamp(), 6_000);
    }
}
