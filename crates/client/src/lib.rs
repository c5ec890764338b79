//! ferrocket-client
