//! aws-chunked bodies.
