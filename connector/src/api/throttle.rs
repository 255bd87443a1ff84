//! Per-caller rate limits for the endpoints anyone may call (the VC-API's verify endpoints,
//! the Dataspace Protocol, DID resolution, status lists): a token bucket per client address,
//! in a map of bounded size. A handler that takes a [`Throttled`] argument answers 429, with a
//! JSON error and `Retry-After`, to a caller over its limit, before reading its body.
//!
//! The caller is the connection's peer address (an IPv6 address counts by its /64 prefix,
//! which one host usually holds whole); behind a reverse proxy every caller shares the
//! proxy's address, so limit there instead.

use std::collections::HashMap;
use std::future::{ready, Ready};
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};

use super::error::ApiError;

/// How many requests a caller may make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests a second, sustained (at least 1).
    pub per_second: u32,
    /// Requests a caller may make at once after being idle (at least 1).
    pub burst: u32,
    /// Most callers remembered; when more call, idle ones are forgotten first.
    pub max_callers: usize,
}

impl Default for RateLimit {
    /// 100 requests a second per caller, bursts of 500, 16,384 callers remembered.
    fn default() -> Self {
        RateLimit {
            per_second: 100,
            burst: 500,
            max_callers: 16_384,
        }
    }
}

/// The rate limiter of one server, shared by its workers: off, or a bucket per caller.
#[derive(Debug, Clone, Default)]
pub struct Throttle(Option<Arc<Limiter>>);

#[derive(Debug)]
struct Limiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Throttle {
    /// A throttle with `limit`, or none (every request passes) for `None`.
    pub fn new(limit: Option<RateLimit>) -> Self {
        Throttle(limit.map(|limit| {
            Arc::new(Limiter {
                limit: RateLimit {
                    per_second: limit.per_second.max(1),
                    burst: limit.burst.max(1),
                    max_callers: limit.max_callers.max(1),
                },
                buckets: Mutex::new(HashMap::new()),
            })
        }))
    }

    /// No limits.
    pub fn off() -> Self {
        Throttle(None)
    }

    /// Takes one request of `caller`'s allowance at `now`; `Err` says how long until the next
    /// one is allowed.
    pub fn check(&self, caller: IpAddr, now: Instant) -> Result<(), Duration> {
        let Some(limiter) = &self.0 else {
            return Ok(());
        };
        limiter.check(key(caller), now)
    }

    /// Whether `caller` has allowance left at `now`, without taking any; `Err` says how long
    /// until it has. With [`charge`](Self::charge), this limits only the requests that fail.
    pub fn admits(&self, caller: IpAddr, now: Instant) -> Result<(), Duration> {
        let Some(limiter) = &self.0 else {
            return Ok(());
        };
        limiter.take(key(caller), now, 0.0)
    }

    /// Takes one request of `caller`'s allowance at `now`, if it has any left.
    pub fn charge(&self, caller: IpAddr, now: Instant) {
        if let Some(limiter) = &self.0 {
            let _ = limiter.check(key(caller), now);
        }
    }

    /// How many callers are remembered.
    pub fn callers(&self) -> usize {
        self.0.as_ref().map_or(0, |limiter| {
            limiter.buckets.lock().map_or(0, |buckets| buckets.len())
        })
    }
}

impl Limiter {
    fn check(&self, caller: IpAddr, now: Instant) -> Result<(), Duration> {
        self.take(caller, now, 1.0)
    }

    /// Refills `caller`'s bucket to `now` and takes `cost` (0 only looks) when at least one
    /// request's worth is left.
    fn take(&self, caller: IpAddr, now: Instant, cost: f64) -> Result<(), Duration> {
        let RateLimit {
            per_second,
            burst,
            max_callers,
        } = self.limit;
        let (rate, burst) = (f64::from(per_second), f64::from(burst));
        // A poisoned map only means another request panicked; its buckets are still usable.
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !buckets.contains_key(&caller) && buckets.len() >= max_callers {
            prune(&mut buckets, now, burst / rate, max_callers);
        }
        let bucket = buckets.entry(caller).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let idle = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + idle * rate).min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= cost;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / rate;
            Err(Duration::try_from_secs_f64(wait).unwrap_or(Duration::from_secs(1)))
        }
    }
}

/// Makes room for one more caller: forgets every caller whose bucket has refilled (idle for
/// `refill` seconds, so forgetting it changes nothing), and if that is not enough, the one
/// idle longest.
fn prune(buckets: &mut HashMap<IpAddr, Bucket>, now: Instant, refill: f64, max_callers: usize) {
    buckets.retain(|_, bucket| now.saturating_duration_since(bucket.at).as_secs_f64() < refill);
    if buckets.len() < max_callers {
        return;
    }
    let oldest = buckets
        .iter()
        .min_by_key(|(_, bucket)| bucket.at)
        .map(|(caller, _)| *caller);
    if let Some(oldest) = oldest {
        buckets.remove(&oldest);
    }
}

/// The bucket a caller's address counts in: an IPv4 address, or an IPv6 /64 prefix.
fn key(caller: IpAddr) -> IpAddr {
    match caller {
        IpAddr::V4(_) => caller,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !u128::from(u64::MAX);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
    }
}

/// The caller's address, by which it is limited.
pub fn caller(request: &HttpRequest) -> IpAddr {
    request
        .peer_addr()
        .map_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED), |addr| addr.ip())
}

/// Answers `request` with `answer` under the caller's rate limit, charging only refusals: a
/// caller over its limit gets 429 at once, and an answer with a 4xx status counts against it.
/// So a stranger is held to the limit while a partner's calls, however many, are not.
pub async fn charging_refusals(
    request: &HttpRequest,
    answer: impl std::future::Future<Output = actix_web::HttpResponse>,
) -> actix_web::HttpResponse {
    let throttle = request.app_data::<web::Data<Throttle>>().cloned();
    let from = caller(request);
    if let Some(throttle) = &throttle {
        if let Err(retry_after) = throttle.admits(from, Instant::now()) {
            return actix_web::ResponseError::error_response(&ApiError::TooManyRequests {
                retry_after,
            });
        }
    }
    let response = answer.await;
    if let Some(throttle) = throttle {
        if response.status().is_client_error() {
            throttle.charge(from, Instant::now());
        }
    }
    response
}

/// Proof that the caller is within its rate limit (the server's [`Throttle`], when the
/// application has one).
#[derive(Debug, Clone, Copy)]
pub struct Throttled(());

impl FromRequest for Throttled {
    type Error = ApiError;
    type Future = Ready<Result<Throttled, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(throttle) = request.app_data::<web::Data<Throttle>>() else {
            return ready(Ok(Throttled(())));
        };
        ready(
            throttle
                .check(caller(request), Instant::now())
                .map(|()| Throttled(()))
                .map_err(|retry_after| ApiError::TooManyRequests { retry_after }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(per_second: u32, burst: u32, max_callers: usize) -> Throttle {
        Throttle::new(Some(RateLimit {
            per_second,
            burst,
            max_callers,
        }))
    }

    #[test]
    fn looking_takes_nothing_and_charging_takes_one() {
        let throttle = limit(1, 2, 10);
        let (caller, now) = ("192.0.2.7".parse().unwrap(), Instant::now());
        for _ in 0..10 {
            assert!(throttle.admits(caller, now).is_ok());
        }
        throttle.charge(caller, now);
        throttle.charge(caller, now);
        assert!(throttle.admits(caller, now).is_err());
        assert!(throttle
            .admits(caller, now + Duration::from_secs(1))
            .is_ok());
    }

    #[test]
    fn a_caller_gets_its_burst_then_its_rate() {
        let throttle = limit(2, 3, 10);
        let (caller, start) = ("192.0.2.1".parse().unwrap(), Instant::now());
        for _ in 0..3 {
            assert!(throttle.check(caller, start).is_ok());
        }
        let wait = throttle.check(caller, start).unwrap_err();
        assert!(wait > Duration::from_millis(400) && wait <= Duration::from_millis(500));
        // Half a second later one more request is allowed, and only one.
        let later = start + Duration::from_millis(500);
        assert!(throttle.check(caller, later).is_ok());
        assert!(throttle.check(caller, later).is_err());
        // Another caller has its own bucket.
        assert!(throttle.check("192.0.2.2".parse().unwrap(), start).is_ok());
        assert!(Throttle::off().check(caller, start).is_ok());
    }

    #[test]
    fn an_ipv6_host_counts_by_its_prefix() {
        let throttle = limit(1, 1, 10);
        let now = Instant::now();
        assert!(throttle.check("2001:db8::1".parse().unwrap(), now).is_ok());
        assert!(throttle
            .check("2001:db8::ffff:2".parse().unwrap(), now)
            .is_err());
        assert!(throttle
            .check("2001:db8:0:1::1".parse().unwrap(), now)
            .is_ok());
    }

    #[test]
    fn memory_is_bounded_and_idle_callers_are_forgotten_first() {
        let throttle = limit(1, 2, 100);
        let now = Instant::now();
        for i in 0..1000u32 {
            let caller = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            let _ = throttle.check(caller, now + Duration::from_millis(u64::from(i)));
        }
        assert!(throttle.callers() <= 100, "{}", throttle.callers());
        // A busy caller is remembered (its bucket stays empty), idle ones make room.
        let busy: IpAddr = "192.0.2.9".parse().unwrap();
        let at = now + Duration::from_secs(10);
        assert!(throttle.check(busy, at).is_ok());
        assert!(throttle.check(busy, at).is_ok());
        let mut at = at;
        for i in 0..150u32 {
            at += Duration::from_millis(1);
            let caller = IpAddr::from(std::net::Ipv4Addr::from(0x0b00_0000 + i));
            let _ = throttle.check(caller, at);
            let _ = throttle.check(busy, at);
        }
        assert!(throttle.callers() <= 100, "{}", throttle.callers());
        assert!(
            throttle.check(busy, at).is_err(),
            "the busy caller was forgotten"
        );
    }
}
