//! ferrocket-broker
