//! A run's settings, validated before any request is sent: the target must be on loopback
//! and every run is bounded in operations and in time.

use crate::workload::{Workload, GIB, KIB, MIB};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// The longest run allowed, per workload.
pub const MAX_DURATION: Duration = Duration::from_secs(3600);
/// The most operations allowed, per workload.
pub const MAX_OPS: u64 = 100_000_000;
/// The most concurrent clients (each holds one connection).
pub const MAX_CONCURRENCY: usize = 1024;
/// The largest object (COS's single-PUT limit).
pub const MAX_SIZE: u64 = 5 * GIB;
/// The smallest part size: cosd's minimum rather than S3's 5 MiB, so that tests can use small
/// objects (and even then a 5 GiB object stays within the 10,000 parts allowed).
pub const MIN_PART_SIZE: u64 = MIB;
/// The most objects or keys any workload puts before it measures.
pub const MAX_PREFILL: u64 = 10_000_000;

/// How requests are signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signature {
    /// AWS Signature V4 in the `Authorization` header, `UNSIGNED-PAYLOAD` (as the AWS SDKs
    /// send over TLS, so that a body is never read twice by the client).
    SigV4,
    /// COS signature v5 in the `Authorization` header (what the COS SDKs send).
    CosV5,
}

impl Signature {
    pub fn parse(s: &str) -> Result<Signature, String> {
        match s {
            "sigv4" | "s3" => Ok(Signature::SigV4),
            "cos" | "cos-v5" => Ok(Signature::CosV5),
            _ => Err(format!("unknown signature {s:?} (sigv4 or cos)")),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Signature::SigV4 => "sigv4",
            Signature::CosV5 => "cos-v5",
        }
    }
}

/// The endpoint, checked to be plain HTTP on a loopback address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// What goes in `Host` (and is signed): the endpoint's authority as given.
    pub authority: String,
    pub host: String,
    pub port: u16,
}

impl Endpoint {
    /// Accepts `http://HOST[:PORT]` where HOST is a loopback IP, `localhost` or a name under
    /// `.localhost` (RFC 6761 reserves those for loopback; [`Endpoint::resolve`] checks that
    /// they really resolve there). Any other target is refused: this tool sends load.
    pub fn parse(url: &str) -> Result<Endpoint, String> {
        let uri: http::Uri = url.parse().map_err(|e| format!("endpoint {url:?}: {e}"))?;
        if uri.scheme_str() != Some("http") {
            return Err(format!("endpoint {url:?}: only http:// is supported"));
        }
        if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
            return Err(format!("endpoint {url:?}: give only scheme, host and port"));
        }
        let authority = uri.authority().ok_or("endpoint has no host")?;
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let loopback = match host.parse::<IpAddr>() {
            Ok(ip) => ip.is_loopback(),
            Err(_) => {
                let host = host.to_ascii_lowercase();
                host == "localhost" || host.ends_with(".localhost")
            }
        };
        if !loopback {
            return Err(format!(
                "endpoint {url:?}: refusing a target that is not on loopback (127.0.0.0/8, ::1, localhost)"
            ));
        }
        Ok(Endpoint {
            authority: authority.as_str().to_string(),
            host: host.to_string(),
            port: authority.port_u16().unwrap_or(80),
        })
    }

    /// The socket address to connect to; a name must resolve to loopback addresses only.
    pub async fn resolve(&self) -> Result<SocketAddr, String> {
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((self.host.as_str(), self.port))
            .await
            .map_err(|e| format!("cannot resolve {}: {e}", self.host))?
            .collect();
        if addrs.is_empty() || addrs.iter().any(|a| !a.ip().is_loopback()) {
            return Err(format!(
                "{} resolves to {addrs:?}, not only to loopback: refused",
                self.host
            ));
        }
        Ok(addrs[0])
    }
}

/// Everything a run needs.
#[derive(Debug, Clone)]
pub struct Config {
    pub endpoint: Endpoint,
    pub signature: Signature,
    pub secret_id: String,
    pub secret_key: String,
    /// SigV4's credential-scope region (COS v5 has none).
    pub region: String,
    pub bucket: String,
    pub workloads: Vec<Workload>,
    pub concurrency: usize,
    /// Each workload stops at whichever comes first: this long, or `max_ops` operations.
    pub duration: Duration,
    pub max_ops: u64,
    /// Overrides every object workload's default size.
    pub size: Option<u64>,
    /// The part size of `multipart-put`.
    pub part_size: u64,
    /// Overrides how many objects the GET and mixed workloads put first.
    pub objects: Option<u64>,
    /// How many keys the `list` workload puts first.
    pub list_keys: u64,
    /// Print a progress line every second (on stderr).
    pub progress: bool,
}

impl Config {
    /// Checks the bounds; call before running.
    pub fn validate(&self) -> Result<(), String> {
        if self.workloads.is_empty() {
            return Err("no workload given".into());
        }
        if !(1..=MAX_CONCURRENCY).contains(&self.concurrency) {
            return Err(format!("concurrency must be 1..={MAX_CONCURRENCY}"));
        }
        if self.duration.is_zero() || self.duration > MAX_DURATION {
            return Err(format!(
                "duration must be above 0 and at most {} s",
                MAX_DURATION.as_secs()
            ));
        }
        if !(1..=MAX_OPS).contains(&self.max_ops) {
            return Err(format!("max-ops must be 1..={MAX_OPS}"));
        }
        if self.size.is_some_and(|s| s > MAX_SIZE) {
            return Err(format!("size must be at most {MAX_SIZE} bytes"));
        }
        if !(MIN_PART_SIZE..=MAX_SIZE).contains(&self.part_size) {
            return Err(format!(
                "part size must be {MIN_PART_SIZE}..={MAX_SIZE} bytes"
            ));
        }
        if self
            .objects
            .is_some_and(|n| !(1..=MAX_PREFILL).contains(&n))
        {
            return Err(format!("objects must be 1..={MAX_PREFILL}"));
        }
        if !(1..=MAX_PREFILL).contains(&self.list_keys) {
            return Err(format!("list-keys must be 1..={MAX_PREFILL}"));
        }
        if self.bucket.is_empty() || self.bucket.contains(['/', '?', '#', '%', ' ']) {
            return Err(format!("bucket {:?} is not a bucket name", self.bucket));
        }
        Ok(())
    }

    pub fn size_of(&self, workload: Workload) -> u64 {
        match self.size {
            Some(size) if workload.has_objects() => size,
            _ => workload.default_size(),
        }
    }

    /// How many objects `workload` puts before it measures.
    pub fn prefill_of(&self, workload: Workload) -> u64 {
        match workload {
            Workload::List => self.list_keys,
            Workload::SmallGet | Workload::LargeGet | Workload::Mixed => {
                self.objects.unwrap_or(workload.default_objects())
            }
            _ => 0,
        }
    }
}

/// Parses a comma-separated workload list; `all` means every workload.
pub fn parse_workloads(list: &str) -> Result<Vec<Workload>, String> {
    if list == "all" {
        return Ok(Workload::ALL.to_vec());
    }
    let mut out = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let w = Workload::parse(name).ok_or_else(|| {
            let known: Vec<&str> = Workload::ALL.iter().map(|w| w.name()).collect();
            format!(
                "unknown workload {name:?} (known: {}, all)",
                known.join(", ")
            )
        })?;
        if !out.contains(&w) {
            out.push(w);
        }
    }
    Ok(out)
}

/// Parses a size: a plain byte count or a number with `B`, `KiB`/`K`, `MiB`/`M`, `GiB`/`G`
/// (all binary).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("size {s:?}: no number"))?;
    let unit_bytes = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" | "kb" => KIB,
        "m" | "mib" | "mb" => MIB,
        "g" | "gib" | "gb" => GIB,
        other => return Err(format!("size {s:?}: unknown unit {other:?}")),
    };
    n.checked_mul(unit_bytes)
        .ok_or_else(|| format!("size {s:?} is too large"))
}

/// Parses a duration: a number of seconds, or a number with `ms`, `s` or `m`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("duration {s:?}: no number"))?;
    match unit {
        "" | "s" => Ok(Duration::from_secs(n)),
        "ms" => Ok(Duration::from_millis(n)),
        "m" => n
            .checked_mul(60)
            .map(Duration::from_secs)
            .ok_or_else(|| format!("duration {s:?} is too long")),
        other => Err(format!("duration {s:?}: unknown unit {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config {
            endpoint: Endpoint::parse("http://127.0.0.1:9000").unwrap(),
            signature: Signature::SigV4,
            secret_id: "id".into(),
            secret_key: "key".into(),
            region: "ap-guangzhou".into(),
            bucket: "bench-1250000000".into(),
            workloads: vec![Workload::SmallPut],
            concurrency: 8,
            duration: Duration::from_secs(5),
            max_ops: 1000,
            size: None,
            part_size: 16 * MIB,
            objects: None,
            list_keys: 10_000,
            progress: false,
        }
    }

    #[test]
    fn loopback_endpoints_are_accepted() {
        for (url, host, port) in [
            ("http://127.0.0.1:9000", "127.0.0.1", 9000),
            ("http://127.3.2.1:80/", "127.3.2.1", 80),
            ("http://[::1]:9000", "::1", 9000),
            ("http://localhost:8080", "localhost", 8080),
            ("http://bench.cos.localhost:1", "bench.cos.localhost", 1),
            ("http://127.0.0.1", "127.0.0.1", 80),
        ] {
            let e = Endpoint::parse(url).unwrap();
            assert_eq!((e.host.as_str(), e.port), (host, port), "{url}");
        }
        assert_eq!(
            Endpoint::parse("http://[::1]:9000").unwrap().authority,
            "[::1]:9000"
        );
    }

    #[test]
    fn other_endpoints_are_refused() {
        for url in [
            "http://10.0.0.1:9000",
            "http://192.168.1.2",
            "http://0.0.0.0:9000",
            "http://example.com",
            "http://localhost.example.com",
            "http://[::2]:9000",
            "https://127.0.0.1:9000",
            "http://127.0.0.1:9000/bucket",
            "127.0.0.1:9000",
        ] {
            assert!(Endpoint::parse(url).is_err(), "{url}");
        }
    }

    #[tokio::test]
    async fn localhost_resolves_to_loopback() {
        let addr = Endpoint::parse("http://localhost:9")
            .unwrap()
            .resolve()
            .await
            .unwrap();
        assert!(addr.ip().is_loopback());
        assert_eq!(addr.port(), 9);
    }

    #[test]
    fn sizes_and_durations_parse() {
        assert_eq!(parse_size("4KiB"), Ok(4096));
        assert_eq!(parse_size("64MiB"), Ok(64 * MIB));
        assert_eq!(parse_size("1g"), Ok(GIB));
        assert_eq!(parse_size("100"), Ok(100));
        assert!(parse_size("4 KB?").is_err());
        assert!(parse_size("KiB").is_err());
        assert!(parse_size("99999999999999999999G").is_err());
        assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("1h").is_err());
        assert!(parse_duration("-1").is_err());
    }

    #[test]
    fn workload_lists_parse() {
        assert_eq!(
            parse_workloads("small-put, list,small-put"),
            Ok(vec![Workload::SmallPut, Workload::List])
        );
        assert_eq!(parse_workloads("all").unwrap().len(), Workload::ALL.len());
        assert!(parse_workloads("small-put,warp").is_err());
    }

    #[test]
    fn runs_must_be_bounded() {
        assert!(config().validate().is_ok());
        let bad: [fn(&mut Config); 9] = [
            |c| c.part_size = MIN_PART_SIZE - 1,
            |c| c.concurrency = 0,
            |c| c.concurrency = MAX_CONCURRENCY + 1,
            |c| c.duration = Duration::ZERO,
            |c| c.duration = MAX_DURATION + Duration::from_secs(1),
            |c| c.max_ops = 0,
            |c| c.size = Some(MAX_SIZE + 1),
            |c| c.objects = Some(0),
            |c| c.bucket = "a/b".into(),
        ];
        for (i, change) in bad.iter().enumerate() {
            let mut c = config();
            change(&mut c);
            assert!(c.validate().is_err(), "case {i}");
        }
    }

    #[test]
    fn sizes_and_prefills_follow_the_workload() {
        let mut c = config();
        assert_eq!(c.size_of(Workload::SmallPut), 4 * KIB);
        assert_eq!(c.size_of(Workload::LargeGet), 64 * MIB);
        c.size = Some(MIB);
        assert_eq!(c.size_of(Workload::SmallGet), MIB);
        assert_eq!(c.size_of(Workload::Preflight), 0);
        assert_eq!(c.prefill_of(Workload::List), 10_000);
        assert_eq!(c.prefill_of(Workload::LargeGet), 4);
        c.objects = Some(9);
        assert_eq!(c.prefill_of(Workload::Mixed), 9);
        assert_eq!(c.prefill_of(Workload::SmallPut), 0);
    }
}
