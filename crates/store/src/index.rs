//! Index files (storage spec §3.7): hash index of `topic#key` and `topic#UNIQ_KEY`.
//! Placeholder until the index slice lands.

use ferrocket_protocol::message::RecordView;

pub(crate) struct IndexService;

impl IndexService {
    pub(crate) fn build_index(&self, _view: &RecordView<'_>, _phy_offset: i64) {}
}
