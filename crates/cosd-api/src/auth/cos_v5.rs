//! COS signature v5.
