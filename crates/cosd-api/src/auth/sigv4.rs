//! AWS SigV4.
