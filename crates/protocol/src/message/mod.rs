//! Message encodings: properties string, stored record, batch body, message ids, tag hash.
