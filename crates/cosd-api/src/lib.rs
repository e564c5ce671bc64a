//! The COS/S3 protocol for cosd.
//!
//! One request walks one path, one module per step:
//! [`route`] (host, path, query → [`route::Op`]) → [`auth`] (signature → principal) →
//! [`cors`] (preflight answered, responses decorated) → [`ops`] (the operation, against
//! `cosd_store`) → [`response`] (status, headers, XML). [`service`] is the hyper glue that
//! drives a request along that path.

pub mod auth;
pub mod error;
