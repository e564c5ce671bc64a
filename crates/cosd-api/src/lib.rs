//! The COS/S3 protocol for cosd.
//!
//! One request walks one path, one module per step:
//! [`route`] (host, path, query → [`route::Op`]) → [`auth`] (signature → principal) →
//! [`cors`] (preflight answered) → [`authorize`] (principal × bucket) → [`ops`] (the
//! operation, against `cosd_store`) → [`response`] (status, headers, XML). [`service`] is the
//! hyper glue that drives a request along that path; [`xml`] holds the documents and
//! [`error`] the COS error codes.

pub mod accounts;
pub mod acl;
pub mod admin;
pub mod auth;
pub mod authorize;
pub mod body;
pub mod config_cache;
pub mod cors;
pub mod error;
pub mod header_case;
pub mod ops;
pub mod policy;
pub mod response;
pub mod route;
pub mod service;
pub mod xml;
