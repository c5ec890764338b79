//! ferrocket-remoting
