//! ferrocket-store
