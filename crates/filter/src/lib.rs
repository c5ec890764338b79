//! ferrocket-filter
