//! ferrocket-namesrv
