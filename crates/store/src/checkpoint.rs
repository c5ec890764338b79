//! The `checkpoint` file (Java `StoreCheckpoint`, storage spec §3.8): 4 096 bytes. The first 40
//! hold Java's five big-endian i64 values; abnormal recovery of a Java-written store derives its
//! start point from them.
//!
//! Bytes 64..116 hold a Ferrocket extension that Java neither reads nor writes:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 64 | 4 | magic `FRKT` (`0x46524B54`) |
//! | 68 | 4 | version (1) |
//! | 72 | 8 | `recoverFromPhyOffset`: every record below it is forced to disk and so is its consume-queue entry |
//! | 80 | 8 | copy of `physicMsgTimestamp` |
//! | 88 | 8 | copy of `logicsMsgTimestamp` |
//! | 96 | 16 | boot id of the machine when the checkpoint was written |
//! | 112 | 4 | CRC32 of bytes 64..112 |
//!
//! The copies tie the extension to the Java fields: if a Java broker ran on the directory since
//! (it rewrites bytes 0..40 only), they no longer match and the extension is ignored. All 116
//! bytes are written by one `pwrite` inside one 512-byte sector and then `fdatasync`ed.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};

use crate::error::StoreError;
use crate::io::Io;

const FILE_SIZE: u64 = 4096;
const EXT_POS: usize = 64;
const EXT_MAGIC: i32 = 0x4652_4B54;
const EXT_VERSION: i32 = 1;
const WRITE_LEN: usize = 116;

/// What the Ferrocket extension said when the file was opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CheckpointExt {
    pub(crate) recover_from: i64,
    pub(crate) boot_id: [u8; 16],
}

pub(crate) struct StoreCheckpoint {
    io: Io,
    path: PathBuf,
    file: File,
    boot_id: [u8; 16],
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
    /// Ferrocket: commit-log offset from which recovery must scan (offset 72).
    pub(crate) recover_from: AtomicI64,
    /// The extension as found at open, if valid.
    loaded_ext: Option<CheckpointExt>,
}

fn get_i64(b: &[u8], at: usize) -> i64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(x)
}

fn get_i32(b: &[u8], at: usize) -> i32 {
    let mut x = [0u8; 4];
    x.copy_from_slice(&b[at..at + 4]);
    i32::from_be_bytes(x)
}

impl StoreCheckpoint {
    pub(crate) fn open(io: &Io, path: &Path) -> Result<Self, StoreError> {
        let file = io.create_file(path, FILE_SIZE)?;
        let mut buf = [0u8; WRITE_LEN];
        file.read_exact_at(&mut buf, 0)
            .map_err(|e| StoreError::io("read", path, e))?;
        let loaded_ext = decode_ext(&buf);
        if loaded_ext.is_none() && buf[EXT_POS..].iter().any(|b| *b != 0) {
            tracing::warn!(path = %path.display(), "checkpoint extension is stale or torn; ignoring it");
        }
        Ok(StoreCheckpoint {
            io: io.clone(),
            path: path.to_path_buf(),
            file,
            boot_id: io.boot_id(),
            physic_msg_timestamp: AtomicI64::new(get_i64(&buf, 0)),
            logics_msg_timestamp: AtomicI64::new(get_i64(&buf, 8)),
            index_msg_timestamp: AtomicI64::new(get_i64(&buf, 16)),
            master_flushed_offset: AtomicI64::new(get_i64(&buf, 24)),
            confirm_phy_offset: AtomicI64::new(get_i64(&buf, 32)),
            recover_from: AtomicI64::new(loaded_ext.map_or(0, |e| e.recover_from)),
            loaded_ext,
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

    /// The valid extension read at open, if any.
    pub(crate) fn loaded_ext(&self) -> Option<CheckpointExt> {
        self.loaded_ext
    }

    /// Whether the checkpoint was last written during this boot of the machine: then any crash
    /// since was a process crash and the page cache kept every write.
    pub(crate) fn written_this_boot(&self) -> bool {
        self.loaded_ext
            .is_some_and(|e| e.boot_id != [0u8; 16] && e.boot_id == self.boot_id)
    }

    /// Write the Java values and the extension and force them to disk.
    pub(crate) fn flush(&self) -> Result<(), StoreError> {
        let mut buf = [0u8; WRITE_LEN];
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
        let physic = buf[0..8].to_vec();
        let logics = buf[8..16].to_vec();
        let e = &mut buf[EXT_POS..];
        e[0..4].copy_from_slice(&EXT_MAGIC.to_be_bytes());
        e[4..8].copy_from_slice(&EXT_VERSION.to_be_bytes());
        e[8..16].copy_from_slice(&self.recover_from.load(Ordering::Acquire).to_be_bytes());
        e[16..24].copy_from_slice(&physic);
        e[24..32].copy_from_slice(&logics);
        e[32..48].copy_from_slice(&self.boot_id);
        let crc = crc32fast::hash(&e[..48]);
        e[48..52].copy_from_slice(&crc.to_be_bytes());
        self.file
            .write_all_at(&buf, 0)
            .map_err(|e| StoreError::io("write", &self.path, e))?;
        self.io
            .sync_range(&self.path, 0, WRITE_LEN as u64, || self.file.sync_data())
    }
}

fn decode_ext(buf: &[u8; WRITE_LEN]) -> Option<CheckpointExt> {
    let e = &buf[EXT_POS..];
    if get_i32(e, 0) != EXT_MAGIC || get_i32(e, 4) != EXT_VERSION {
        return None;
    }
    if crc32fast::hash(&e[..48]) != get_i32(e, 48) as u32 {
        return None;
    }
    if e[16..24] != buf[0..8] || e[24..32] != buf[8..16] {
        return None; // the Java fields were rewritten by someone else since
    }
    let mut boot_id = [0u8; 16];
    boot_id.copy_from_slice(&e[32..48]);
    Some(CheckpointExt {
        recover_from: get_i64(e, 8),
        boot_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_layout() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("checkpoint");
        let io = Io::real();
        let c = StoreCheckpoint::open(&io, &p).unwrap();
        assert_eq!(c.min_timestamp(), 0);
        assert_eq!(c.loaded_ext(), None);
        c.physic_msg_timestamp.store(10_000, Ordering::Release);
        c.logics_msg_timestamp.store(9_000, Ordering::Release);
        c.index_msg_timestamp.store(1_000, Ordering::Release);
        c.confirm_phy_offset.store(77, Ordering::Release);
        c.recover_from.store(4242, Ordering::Release);
        c.flush().unwrap();
        drop(c);
        let raw = std::fs::read(&p).unwrap();
        assert_eq!(raw.len(), 4096);
        assert_eq!(&raw[0..8], &10_000i64.to_be_bytes());
        assert_eq!(&raw[8..16], &9_000i64.to_be_bytes());
        assert_eq!(&raw[32..40], &77i64.to_be_bytes());
        assert_eq!(&raw[64..68], b"FRKT");
        assert_eq!(&raw[72..80], &4242i64.to_be_bytes());
        let c = StoreCheckpoint::open(&io, &p).unwrap();
        assert_eq!(c.min_timestamp(), 6_000);
        assert_eq!(c.loaded_ext().unwrap().recover_from, 4242);
        assert!(c.written_this_boot());
        drop(c);

        // a Java broker rewrote the first 40 bytes: the extension no longer applies
        let mut raw = std::fs::read(&p).unwrap();
        raw[0..8].copy_from_slice(&20_000i64.to_be_bytes());
        std::fs::write(&p, &raw).unwrap();
        let c = StoreCheckpoint::open(&io, &p).unwrap();
        assert_eq!(c.loaded_ext(), None);
        assert_eq!(c.recover_from.load(Ordering::Acquire), 0);
        drop(c);

        // a torn extension (bad CRC) is ignored too
        raw[0..8].copy_from_slice(&10_000i64.to_be_bytes());
        raw[75] ^= 1;
        std::fs::write(&p, &raw).unwrap();
        assert_eq!(StoreCheckpoint::open(&io, &p).unwrap().loaded_ext(), None);
    }
}
