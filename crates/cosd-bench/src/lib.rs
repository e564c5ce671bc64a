//! `cosd-bench`: a load generator for COS and S3 endpoints, modelled on MinIO's warp.
//!
//! N clients, each on its own keep-alive HTTP/1.1 connection, sign their requests (SigV4 or COS
//! v5, with cosd's own client-side signers) and run one workload at a time — small and large
//! PUT and GET, warp's mixed load, LIST pages, CORS preflights — until a deadline or an
//! operation count, whichever comes first. Targets must be on loopback. The results (ops/s,
//! MiB/s, latency percentiles, errors by status) print as a table and serialize to JSON.
//!
//! It is a library as well as a binary so that cosd's black-box tests can run it against the
//! real server.

pub mod client;
pub mod config;
pub mod histogram;
pub mod report;
pub mod runner;
pub mod workload;

pub use config::{Config, Endpoint, Signature};
pub use report::{RunResult, WorkloadResult};
pub use runner::{md5_rate, run};
pub use workload::Workload;
