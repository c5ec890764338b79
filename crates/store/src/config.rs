//! Store configuration (Java `MessageStoreConfig`, storage spec §9.2). Defaults are RocketMQ's.

use std::path::PathBuf;

/// How the commit log reaches the disk, and therefore what a successful put promises.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum FlushDiskType {
    /// `ASYNC_FLUSH` (default): a put completes once the record is in the page cache; a flusher
    /// thread forces dirty pages every `flush_interval_commitlog_ms` when at least
    /// `flush_commitlog_least_pages` pages are dirty, and everything every
    /// `flush_commitlog_thorough_interval_ms`. Survives a process crash; an OS crash or power loss
    /// can lose what was not flushed yet.
    #[default]
    AsyncFlush,
    /// `SYNC_FLUSH`: a put (whose `WAIT` property is not `false`) completes only after the record
    /// has been forced to disk by a group commit, or with `FlushDiskTimeout` after
    /// `sync_flush_timeout_ms` (the record is then stored but its durability is unknown). Records
    /// become visible to consumers only once flushed.
    SyncFlush,
}

/// Configuration of a [`crate::DefaultMessageStore`].
#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// `storePathRootDir`.
    pub root_dir: PathBuf,
    /// `storePathCommitLog`; default `<root>/commitlog`.
    pub commitlog_dir: Option<PathBuf>,
    /// `mappedFileSizeCommitLog`: 1 GiB.
    pub mapped_file_size_commitlog: u64,
    /// `mappedFileSizeConsumeQueue`: 300 000 × 20 bytes (rounded up to a multiple of 20).
    pub mapped_file_size_consume_queue: u64,
    /// `flushDiskType`.
    pub flush_disk_type: FlushDiskType,
    /// `maxMessageSize`: 4 MiB; limits the body (and a batch body); a record may add 64 KiB.
    pub max_message_size: usize,
    /// `flushIntervalCommitLog`: 500 ms (ASYNC_FLUSH period).
    pub flush_interval_commitlog_ms: u64,
    /// `flushCommitLogLeastPages`: 4 pages of 4 KiB.
    pub flush_commitlog_least_pages: usize,
    /// `flushCommitLogThoroughInterval`: 10 s.
    pub flush_commitlog_thorough_interval_ms: u64,
    /// `syncFlushTimeout`: 5 s.
    pub sync_flush_timeout_ms: u64,
    /// `flushIntervalConsumeQueue`: 1 s.
    pub flush_interval_consume_queue_ms: u64,
    /// `flushConsumeQueueLeastPages`: 2.
    pub flush_consume_queue_least_pages: usize,
    /// `flushConsumeQueueThoroughInterval`: 60 s.
    pub flush_consume_queue_thorough_interval_ms: u64,
    /// `fileReservedTime`: 72 hours of commit-log retention.
    pub file_reserved_time_hours: u64,
    /// `deleteWhen`: local hours (`;`-separated) at which expired commit-log files are deleted.
    pub delete_when: String,
    /// `diskMaxUsedSpaceRatio`: above this % of the commit-log partition, expired files are
    /// deleted at any hour; above 85 % even unexpired ones (`cleanFileForciblyEnable`).
    pub disk_max_used_space_ratio: u64,
    /// `cleanResourceInterval`: how often retention runs (ms).
    pub clean_resource_interval_ms: u64,
    /// `checkCRCOnRecover`: verify body CRCs while recovering.
    pub check_crc_on_recover: bool,
    /// `maxTransferBytesOnMessageInMemory`: 256 KiB.
    pub max_transfer_bytes_on_message_in_memory: usize,
    /// `maxTransferCountOnMessageInMemory`: 32.
    pub max_transfer_count_on_message_in_memory: usize,
    /// `maxTransferBytesOnMessageInDisk`: 64 KiB.
    pub max_transfer_bytes_on_message_in_disk: usize,
    /// `maxTransferCountOnMessageInDisk`: 8.
    pub max_transfer_count_on_message_in_disk: usize,
    /// `accessMessageInMemoryMaxRatio`: 40 (% of physical memory).
    pub access_message_in_memory_max_ratio: u64,
    /// `maxFilterMessageSize`: 16 000 bytes of consume queue scanned per get (at least).
    pub max_filter_message_size: usize,
    /// `messageDelayLevel`: delay of each level, used for `SCHEDULE_TOPIC_XXXX` tags codes.
    pub message_delay_level: String,
    /// `messageIndexEnable`: build the index file (by key / unique key).
    pub message_index_enable: bool,
    /// `maxHashSlotNum`: 5 000 000.
    pub max_hash_slot_num: u32,
    /// `maxIndexNum`: 20 000 000.
    pub max_index_num: u32,
    /// `maxMsgsNumBatch`: 64 results per index query at most.
    pub max_msgs_num_batch: usize,
    /// `osPageCacheBusyTimeOutMills`: 1 s. A put that has held the put lock longer than this
    /// makes new puts fail with `OsPageCacheBusy` (SYSTEM_BUSY) while it stays stuck.
    pub os_page_cache_busy_timeout_ms: u64,
    /// `diskSpaceWarningLevelRatio`: 90 (%, clamped 35–90). Above it the store refuses new
    /// messages (`ServiceNotAvailable`, Java's `DISK_FULL` flag) and cleans at once.
    pub disk_space_warning_level_ratio: u64,
    /// `diskSpaceCleanForciblyRatio`: 85 (%, clamped 30–85). Above it even unexpired commit-log
    /// files are deleted; at or below it a `DISK_FULL` store accepts messages again.
    pub disk_space_clean_forcibly_ratio: u64,
    /// `cleanFileForciblyEnable`: above `disk_space_clean_forcibly_ratio`, delete commit-log
    /// files even before `file_reserved_time_hours` (oldest first, never the current one).
    pub clean_file_forcibly_enable: bool,
    /// Ferrocket: how far (bytes of commit log) the recovery offset in the checkpoint may trail
    /// the flushed end. A consume queue whose oldest unflushed entry is further behind is forced
    /// even if it has fewer than `flush_consume_queue_least_pages` dirty pages, so the scan after
    /// a crash reads at most about this much plus one `flush_interval_consume_queue_ms` of
    /// writes, however large the log and however many queues. Default 128 MiB.
    pub recovery_scan_target_bytes: u64,
    /// Ferrocket: check each record's body CRC when it is read for a consumer or a query, and
    /// skip (with an error log naming file and offset) any that fails. Default true.
    pub verify_crc_on_read: bool,
    /// Ferrocket: how often (ms) the reput thread looks for confirmed records not dispatched
    /// yet. Appenders (ASYNC_FLUSH) and the group commit (SYNC_FLUSH) dispatch inline and wake it
    /// only to hand work over, so this is the backstop (and the retry period of a failing
    /// dispatch). Default 10.
    pub reput_interval_ms: u64,
    /// `warmMapedFileEnable` (RocketMQ's spelling): zero-fill each new commit-log file, ahead of
    /// need on the pre-allocation thread, forcing every `flushLeastPagesWhenWarmMapedFile` pages
    /// and at the end, so that its blocks are written extents before messages go in (a
    /// `fallocate`d file's first writes also convert extents, which every SYNC_FLUSH force then
    /// pays for). Costs one write of each file's size. Default false.
    pub warm_mapped_file_enable: bool,
    /// `flushLeastPagesWhenWarmMapedFile`: 4096 pages (16 MiB).
    pub flush_least_pages_when_warm_mapped_file: usize,
    /// `transientStorePoolEnable`: appends go to a memory buffer of the commit-log file and a
    /// commit thread writes them to the file (`pwrite`); records are readable (dispatched,
    /// served) once committed. Only under ASYNC_FLUSH, as in RocketMQ. Default false.
    pub transient_store_pool_enable: bool,
    /// `transientStorePoolSize` (5): RocketMQ's number of file-sized pooled buffers. Ferrocket
    /// stages only the uncommitted tail, so this bounds it: at most this many × 4 MiB are
    /// staged before a put commits itself (back-pressure).
    pub transient_store_pool_size: usize,
    /// `commitIntervalCommitLog` (ms, 200): the commit thread's wait between rounds.
    pub commit_interval_commitlog_ms: u64,
    /// `commitCommitLogLeastPages` (4): commit only once this many pages are staged...
    pub commit_commitlog_least_pages: usize,
    /// `commitCommitLogThoroughInterval` (ms, 200): ...or this long after the last commit.
    pub commit_commitlog_thorough_interval_ms: u64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
        StoreConfig {
            root_dir: home.join("store"),
            commitlog_dir: None,
            mapped_file_size_commitlog: 1024 * 1024 * 1024,
            warm_mapped_file_enable: false,
            flush_least_pages_when_warm_mapped_file: 4096,
            transient_store_pool_enable: false,
            transient_store_pool_size: 5,
            commit_interval_commitlog_ms: 200,
            commit_commitlog_least_pages: 4,
            commit_commitlog_thorough_interval_ms: 200,
            mapped_file_size_consume_queue: 300_000 * 20,
            flush_disk_type: FlushDiskType::AsyncFlush,
            max_message_size: 4 * 1024 * 1024,
            flush_interval_commitlog_ms: 500,
            flush_commitlog_least_pages: 4,
            flush_commitlog_thorough_interval_ms: 10_000,
            sync_flush_timeout_ms: 5_000,
            flush_interval_consume_queue_ms: 1_000,
            flush_consume_queue_least_pages: 2,
            flush_consume_queue_thorough_interval_ms: 60_000,
            file_reserved_time_hours: 72,
            delete_when: "04".into(),
            disk_max_used_space_ratio: 75,
            clean_resource_interval_ms: 10_000,
            check_crc_on_recover: true,
            max_transfer_bytes_on_message_in_memory: 256 * 1024,
            max_transfer_count_on_message_in_memory: 32,
            max_transfer_bytes_on_message_in_disk: 64 * 1024,
            max_transfer_count_on_message_in_disk: 8,
            access_message_in_memory_max_ratio: 40,
            max_filter_message_size: 16_000,
            message_delay_level: "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h"
                .into(),
            message_index_enable: true,
            max_hash_slot_num: 5_000_000,
            max_index_num: 20_000_000,
            max_msgs_num_batch: 64,
            os_page_cache_busy_timeout_ms: 1_000,
            disk_space_warning_level_ratio: 90,
            disk_space_clean_forcibly_ratio: 85,
            clean_file_forcibly_enable: true,
            recovery_scan_target_bytes: 128 * 1024 * 1024,
            verify_crc_on_read: true,
            reput_interval_ms: 10,
        }
    }
}

impl StoreConfig {
    /// A default config rooted at `root`.
    pub fn with_root(root: impl Into<PathBuf>) -> Self {
        StoreConfig {
            root_dir: root.into(),
            ..StoreConfig::default()
        }
    }

    /// Whether commit-log appends are staged in memory and committed by a thread (RocketMQ's
    /// `isTransientStorePoolEnable`: the key, and ASYNC_FLUSH).
    pub fn staging_enabled(&self) -> bool {
        self.transient_store_pool_enable && self.flush_disk_type == FlushDiskType::AsyncFlush
    }

    /// Directory of the commit-log files.
    pub fn commitlog_path(&self) -> PathBuf {
        self.commitlog_dir
            .clone()
            .unwrap_or_else(|| self.root_dir.join("commitlog"))
    }

    /// Directory of the consume queues.
    pub fn consume_queue_path(&self) -> PathBuf {
        self.root_dir.join("consumequeue")
    }

    /// Directory of the index files.
    pub fn index_path(&self) -> PathBuf {
        self.root_dir.join("index")
    }

    /// The `checkpoint` file.
    pub fn checkpoint_path(&self) -> PathBuf {
        self.root_dir.join("checkpoint")
    }

    /// The `abort` file.
    pub fn abort_path(&self) -> PathBuf {
        self.root_dir.join("abort")
    }

    /// The `lock` file.
    pub fn lock_path(&self) -> PathBuf {
        self.root_dir.join("lock")
    }

    /// Consume-queue file size rounded up to a whole number of 20-byte entries.
    pub fn consume_queue_file_size(&self) -> u64 {
        let unit = crate::consume_queue::CQ_STORE_UNIT_SIZE as u64;
        self.mapped_file_size_consume_queue.div_ceil(unit).max(1) * unit
    }

    /// `diskSpaceWarningLevelRatio` as a share (0.35–0.90).
    pub fn disk_full_ratio(&self) -> f64 {
        self.disk_space_warning_level_ratio.clamp(35, 90) as f64 / 100.0
    }

    /// `diskSpaceCleanForciblyRatio` as a share (0.30–0.85).
    pub fn clean_forcibly_ratio(&self) -> f64 {
        self.disk_space_clean_forcibly_ratio.clamp(30, 85) as f64 / 100.0
    }

    /// Delay of each level in ms (index 0 = level 1), parsed from `message_delay_level`.
    pub fn delay_level_table(&self) -> Vec<i64> {
        self.message_delay_level
            .split_whitespace()
            .filter_map(|item| {
                let (num, unit) = item.split_at(item.len().checked_sub(1)?);
                let n: i64 = num.parse().ok()?;
                let ms = match unit {
                    "s" => 1_000,
                    "m" => 60_000,
                    "h" => 3_600_000,
                    "d" => 86_400_000,
                    _ => return None,
                };
                Some(n * ms)
            })
            .collect()
    }

    pub(crate) fn validate(&self) -> Result<(), crate::StoreError> {
        let min = 4096;
        if self.mapped_file_size_commitlog < min {
            return Err(crate::StoreError::Config(format!(
                "mapped_file_size_commitlog must be at least {min}"
            )));
        }
        if self.mapped_file_size_commitlog > i32::MAX as u64 {
            return Err(crate::StoreError::Config(
                "mapped_file_size_commitlog must fit in an i32".into(),
            ));
        }
        if self.mapped_file_size_consume_queue < 20 {
            return Err(crate::StoreError::Config(
                "mapped_file_size_consume_queue must hold at least one entry".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_delay_levels() {
        let c = StoreConfig::with_root("/tmp/x");
        assert_eq!(c.commitlog_path(), PathBuf::from("/tmp/x/commitlog"));
        assert_eq!(c.consume_queue_file_size(), 6_000_000);
        let t = c.delay_level_table();
        assert_eq!(t.len(), 18);
        assert_eq!(t[0], 1_000);
        assert_eq!(t[4], 60_000);
        assert_eq!(t[17], 7_200_000);
        let odd = StoreConfig {
            mapped_file_size_consume_queue: 30,
            ..c
        };
        assert_eq!(odd.consume_queue_file_size(), 40);
    }
}
