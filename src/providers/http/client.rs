//! The HTTP client of one provider, on a shared reqwest/rustls stack.

use super::{
    Auth, BodyBudget, CircuitBreaker, Failure, HttpConfig, ReadGuard, clamp_wait, decode_attempt,
    decode_json, error_excerpt, github_limit, header_str, link_rel, server_wait,
};
use super::{send_error, short_cause};
use crate::ops::PlannedRequest;
use crate::providers::{ErrorKind, ProviderError};
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::time::{Duration, SystemTime};

/// A response with its body read (under the cap).
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// The server answered `304 Not Modified` to a conditional GET: status,
    /// headers and body are the ones remembered with its validator.
    pub not_modified: bool,
    provider: String,
    what: String,
}

impl Response {
    /// Decode the body into `T` (see [`decode_json`]).
    pub fn json<'a, T: Deserialize<'a>>(&'a self) -> Result<T, ProviderError> {
        decode_json(&self.provider, &self.what, &self.body)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        header_str(&self.headers, name)
    }

    /// Decode the body into `T` as part of a read attempt (see
    /// [`decode_attempt`]: truncated JSON may be retried).
    pub fn json_attempt<'a, T: Deserialize<'a>>(&'a self) -> Result<T, Failure> {
        decode_attempt(&self.provider, &self.what, &self.body)
    }

    /// The next-page URL of a `Link` header (see [`link_next`](super::link_next)).
    pub fn link_next(&self) -> Option<String> {
        self.link("next")
    }

    /// The URL of relation `rel` (`next`, `last`) in the `Link` headers.
    pub fn link(&self, rel: &str) -> Option<String> {
        self.headers
            .get_all("link")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|h| link_rel(h, rel))
    }
}

/// The key a conditional GET's answer is remembered under: the URL with
/// the query as it is sent.
fn validator_key(url: &str, query: &[(&str, String)]) -> String {
    if query.is_empty() {
        return url.to_string();
    }
    let q = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())))
        .finish();
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{q}")
}

/// The reqwest client of one provider: rustls (ring), the configured
/// connect/read/total timeouts, same-origin redirects only, sitrep's
/// user agent.
///
/// `tls`: whether the base URL is `https`. A plain-HTTP provider (an
/// in-cluster Prometheus, a loopback fake) never speaks TLS (redirects
/// stay on the same origin), so its client loads no trust store: an empty
/// root set, never the system's certificates.
pub fn reqwest_client(
    provider: &str,
    cfg: &HttpConfig,
    tls: bool,
) -> Result<reqwest::Client, ProviderError> {
    // TLS: rustls with the ring provider (idempotent; main does it too).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let redirect = reqwest::redirect::Policy::custom(|attempt| {
        // Follow same-origin redirects only: credentials never travel to
        // another host (custom auth headers are not stripped by reqwest).
        let same = attempt
            .previous()
            .first()
            .is_some_and(|first| first.origin() == attempt.url().origin());
        if same && attempt.previous().len() < 5 {
            attempt.follow()
        } else {
            attempt.stop()
        }
    });
    let builder = reqwest::Client::builder();
    let builder = if tls {
        builder
    } else {
        builder.tls_certs_only(Vec::new())
    };
    builder
        .connect_timeout(cfg.connect_timeout)
        .read_timeout(cfg.read_timeout)
        .timeout(cfg.total_timeout.max(cfg.write_timeout))
        .redirect(redirect)
        .user_agent(concat!("sitrep/", env!("CARGO_PKG_VERSION")))
        .pool_idle_timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| ProviderError::config(provider, format!("HTTP client: {}", short_cause(&e))))
}

/// A GET answer remembered with its validator (`ETag`), for conditional
/// requests.
#[derive(Clone)]
struct Validated {
    etag: HeaderValue,
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
}

/// The answers remembered for conditional GETs, by URL with its query,
/// and the body bytes they hold.
type Validators = std::sync::Mutex<(std::collections::HashMap<String, Validated>, usize)>;

/// URLs remembered for conditional GETs at most; past it the memory is
/// cleared (every URL is asked for in full once more).
const MAX_VALIDATED: usize = 4096;
/// Body bytes remembered for conditional GETs at most, per client: an
/// answer that does not fit is not remembered (its URL is asked for in
/// full next time), so the memory stays bounded whatever the lists hold.
const MAX_VALIDATED_BYTES: usize = 8 * 1024 * 1024;

/// One provider's HTTP client.
pub struct HttpClient {
    provider: String,
    base: url::Url,
    base_str: String,
    client: reqwest::Client,
    auth: Auth,
    /// Non-secret headers sent on every request (Accept...).
    static_headers: Vec<(String, String)>,
    cfg: HttpConfig,
    /// Rate-limit block, breaker (naming the last failure), retry budget.
    guard: ReadGuard,
    /// Response bytes held at once across concurrent requests (≤ body_cap).
    body_budget: BodyBudget,
    /// Conditional GETs ([`HttpClient::with_conditional_gets`]).
    validators: Option<Validators>,
    /// Requests in flight at once ([`HttpClient::with_max_in_flight`]).
    in_flight: Option<tokio::sync::Semaphore>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("provider", &self.provider)
            .field("base", &self.base_str)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// Build a client. `base_url` is the provider's API root (no trailing
    /// slash needed); a bad URL or a value that cannot be a header is a
    /// `Config` error.
    pub fn new(
        provider: &str,
        base_url: &str,
        auth: Auth,
        cfg: HttpConfig,
    ) -> Result<HttpClient, ProviderError> {
        let base_str = base_url.trim_end_matches('/').to_string();
        let base = url::Url::parse(&base_str).map_err(|e| {
            ProviderError::config(provider, format!("base_url {base_str:?} is not a URL: {e}"))
        })?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(ProviderError::config(
                provider,
                format!("base_url {base_str:?} must be http or https"),
            ));
        }
        for (n, v, _) in auth.pairs() {
            if HeaderName::from_bytes(n.as_bytes()).is_err() || HeaderValue::from_str(&v).is_err() {
                return Err(ProviderError::config(
                    provider,
                    format!("the token for header {n} contains characters not allowed in a header"),
                ));
            }
        }
        let client = reqwest_client(provider, &cfg, base.scheme() == "https")?;
        Ok(HttpClient {
            provider: provider.to_string(),
            base,
            base_str,
            client,
            auth,
            static_headers: vec![("Accept".into(), "application/json".into())],
            guard: ReadGuard::new(provider, cfg.retry.clone(), cfg.breaker.clone())
                .with_last_failure()
                .with_sleeper(cfg.sleeper.clone()),
            body_budget: BodyBudget::new(cfg.body_cap),
            cfg,
            validators: None,
            in_flight: None,
        })
    }

    /// At most `n` requests of this client in flight at once (a vendor's
    /// concurrency limit); the others wait for a free slot before sending.
    pub fn with_max_in_flight(mut self, n: usize) -> Self {
        self.in_flight = Some(tokio::sync::Semaphore::new(n.max(1)));
        self
    }

    /// Send every GET conditionally: a 2xx answer with an `ETag` is
    /// remembered, the next GET of the same URL and query carries
    /// `If-None-Match`, and a `304 Not Modified` is answered from memory
    /// (`Response::not_modified`). At most 8 MiB of bodies are remembered
    /// per client. GitHub does not count a 304 to an
    /// authorized conditional request against its primary rate limit
    /// (docs.github.com, "Best practices for using the REST API"), so an
    /// unchanged refresh costs none of it.
    pub fn with_conditional_gets(mut self) -> Self {
        self.validators = Some(Default::default());
        self
    }

    fn validated(&self, key: &str) -> Option<Validated> {
        let v = self.validators.as_ref()?;
        v.lock()
            .unwrap_or_else(|p| p.into_inner())
            .0
            .get(key)
            .cloned()
    }

    fn remember(&self, key: &str, r: &Response) {
        let Some(v) = &self.validators else {
            return;
        };
        let mut guard = v.lock().unwrap_or_else(|p| p.into_inner());
        let (map, bytes) = &mut *guard;
        if let Some(old) = map.remove(key) {
            *bytes = bytes.saturating_sub(old.body.len());
        }
        let Some(etag) = r.headers.get("etag").cloned() else {
            return;
        };
        if map.len() >= MAX_VALIDATED {
            map.clear();
            *bytes = 0;
        }
        if *bytes + r.body.len() > MAX_VALIDATED_BYTES {
            return;
        }
        *bytes += r.body.len();
        map.insert(
            key.to_string(),
            Validated {
                etag,
                status: r.status,
                headers: r.headers.clone(),
                body: r.body.clone(),
            },
        );
    }

    /// Set a non-secret header sent on every request (replaces one of the
    /// same name, e.g. `Accept`). Invalid names or values are ignored.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        if HeaderName::from_bytes(name.as_bytes()).is_ok() && HeaderValue::from_str(value).is_ok() {
            self.static_headers
                .retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            self.static_headers.push((name.into(), value.into()));
        }
        self
    }

    pub fn provider(&self) -> &str {
        &self.provider
    }

    pub fn config(&self) -> &HttpConfig {
        &self.cfg
    }

    pub fn breaker(&self) -> &CircuitBreaker {
        self.guard.breaker()
    }

    /// The base URL without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_str
    }

    /// `base_url + path` (`path` starts with `/`; encode ids with [`seg`]).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_str, path)
    }

    /// Make a URL the server gave us (next page) safe to request with our
    /// credentials: relative URLs are resolved against the base; an absolute
    /// URL on another origin keeps its path and query but is sent to our
    /// origin (e.g. Sentry customer-domain `Link`s), so a token never
    /// travels to a host that was not configured.
    pub fn same_origin(&self, url: &str) -> Result<String, ProviderError> {
        let u = self.base.join(url).map_err(|e| {
            ProviderError::new(
                &self.provider,
                ErrorKind::Shape,
                format!("bad next-page URL: {e}"),
            )
        })?;
        if u.origin() == self.base.origin() {
            return Ok(u.to_string());
        }
        let mut v = self.base.clone();
        v.set_path(u.path());
        v.set_query(u.query());
        Ok(v.to_string())
    }

    /// The headers a request carries, credentials `<redacted>`: for `PlannedRequest`s.
    pub fn redacted_headers(&self, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = self.static_headers.clone();
        v.extend(self.auth.redacted());
        v.extend(
            extra
                .iter()
                .map(|(n, val)| (n.to_string(), val.to_string())),
        );
        v
    }

    /// A plan entry for a write this client would send.
    pub fn planned(
        &self,
        method: &Method,
        url: &str,
        body: Option<serde_json::Value>,
        extra: &[(&str, &str)],
    ) -> PlannedRequest {
        let mut headers = self.redacted_headers(extra);
        if body.is_some()
            && !headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        {
            headers.push(("Content-Type".into(), "application/json".into()));
        }
        PlannedRequest {
            method: method.as_str().to_string(),
            url: url.to_string(),
            headers,
            body,
        }
    }

    fn err(&self, kind: ErrorKind, detail: impl AsRef<str>) -> ProviderError {
        ProviderError::new(&self.provider, kind, detail)
    }

    fn headers(&self, extra: &[(&str, &str)]) -> Result<HeaderMap, ProviderError> {
        let mut h = HeaderMap::new();
        let bad = |n: &str| self.err(ErrorKind::Config, format!("invalid value for header {n}"));
        for (n, v) in &self.static_headers {
            let name = HeaderName::from_bytes(n.as_bytes()).map_err(|_| bad(n))?;
            h.insert(name, HeaderValue::from_str(v).map_err(|_| bad(n))?);
        }
        for (n, v) in extra {
            let name = HeaderName::from_bytes(n.as_bytes()).map_err(|_| bad(n))?;
            h.insert(name, HeaderValue::from_str(v).map_err(|_| bad(n))?);
        }
        for (n, v, _) in self.auth.pairs() {
            let name = HeaderName::from_bytes(n.as_bytes()).map_err(|_| bad(&n))?;
            let mut val = HeaderValue::from_str(&v).map_err(|_| bad(&n))?;
            val.set_sensitive(true);
            h.insert(name, val);
        }
        Ok(h)
    }

    fn path_of(url: &str) -> String {
        match url::Url::parse(url) {
            Ok(u) => u.path().to_string(),
            Err(_) => url.split('?').next().unwrap_or_default().to_string(),
        }
    }

    /// One attempt: send, read the body under the cap, map the outcome.
    async fn attempt(
        &self,
        method: &Method,
        url: &str,
        query: &[(&str, String)],
        body: Option<&serde_json::Value>,
        extra: &[(&str, &str)],
        timeout: Duration,
    ) -> Result<Response, Failure> {
        self.guard.precheck().map_err(|err| Failure {
            err,
            retryable: false,
            wait: None,
            not_sent: true,
        })?;
        let what = format!("{} {}", method, Self::path_of(url));
        let mut headers = self.headers(extra).map_err(|err| Failure {
            err,
            retryable: false,
            wait: None,
            not_sent: true,
        })?;
        // Conditional GET: the validator of the answer remembered for this
        // URL and query.
        let key = (*method == Method::GET && self.validators.is_some())
            .then(|| validator_key(url, query));
        let known = key.as_deref().and_then(|k| self.validated(k));
        if let Some(k) = &known {
            headers.insert(reqwest::header::IF_NONE_MATCH, k.etag.clone());
        }
        let mut rb = self
            .client
            .request(method.clone(), url)
            .headers(headers)
            .timeout(timeout);
        if !query.is_empty() {
            rb = rb.query(query);
        }
        if let Some(b) = body {
            rb = rb.json(b);
        }
        // A free slot first, when the client has a bound (never closed;
        // if it were, the request goes anyway).
        let _slot = match &self.in_flight {
            Some(s) => s.acquire().await.ok(),
            None => None,
        };
        // Belt and braces: reqwest's own timeout should fire first.
        let guard = timeout + Duration::from_secs(1);
        let result = tokio::time::timeout(guard, self.exchange(rb, &what, known)).await;
        let result = match result {
            Ok(r) => r,
            Err(_) => Err(Failure {
                err: self.err(
                    ErrorKind::Timeout,
                    format!("{what}: no answer within {}s", timeout.as_secs_f64()),
                ),
                retryable: true,
                wait: None,
                not_sent: false,
            }),
        };
        // Breaker: the server is healthy unless it timed out, refused or 5xx'd.
        self.guard
            .record_outcome(result.as_ref().err().map(|f| &f.err));
        if let (Some(k), Ok(r)) = (&key, &result)
            && !r.not_modified
        {
            self.remember(k, r);
        }
        result
    }

    async fn exchange(
        &self,
        rb: reqwest::RequestBuilder,
        what: &str,
        known: Option<Validated>,
    ) -> Result<Response, Failure> {
        let mut resp = rb.send().await.map_err(|e| {
            let (kind, detail, not_sent) = send_error(&e, what);
            Failure {
                err: self.err(kind.clone(), detail),
                retryable: kind != ErrorKind::Config,
                wait: None,
                not_sent,
            }
        })?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        if status == 304
            && let Some(k) = known
        {
            return Ok(Response {
                status: k.status,
                headers: k.headers,
                body: k.body,
                not_modified: true,
                provider: self.provider.clone(),
                what: what.to_string(),
            });
        }
        let cap = self.cfg.body_cap;
        let too_large = |n: String| Failure {
            err: self.err(
                ErrorKind::TooLarge,
                format!("{what}: body {n} exceeds the {cap}-byte cap"),
            ),
            retryable: false,
            wait: None,
            not_sent: false,
        };
        if let Some(len) = resp.content_length()
            && len > cap as u64
        {
            return Err(too_large(format!("of {len} bytes")));
        }
        // Chunks are kept as they come (no doubling copies) and counted
        // against the client's body budget, shared by its concurrent
        // requests: what one provider holds at once stays under the cap.
        let mut held = self.body_budget.hold();
        let mut chunks = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(c)) => {
                    if !held.grow(c.len()) {
                        return Err(too_large("size".into()));
                    }
                    chunks.push(c);
                }
                Ok(None) => break,
                Err(e) => {
                    let (kind, cause) = if e.is_timeout() {
                        (ErrorKind::Timeout, "body stalled".to_string())
                    } else {
                        (
                            ErrorKind::Malformed,
                            format!("body cut off: {}", short_cause(&e)),
                        )
                    };
                    return Err(Failure {
                        err: self.err(kind, format!("{what}: {cause}")),
                        retryable: true,
                        wait: None,
                        not_sent: false,
                    });
                }
            }
        }
        let body = chunks.concat();
        drop(chunks);
        drop(held);
        if (200..300).contains(&status) {
            return Ok(Response {
                status,
                headers,
                body,
                not_modified: false,
                provider: self.provider.clone(),
                what: what.to_string(),
            });
        }
        Err(self.status_failure(status, &headers, &body, what))
    }

    fn status_failure(&self, status: u16, h: &HeaderMap, body: &[u8], what: &str) -> Failure {
        let secrets = self.auth.secrets();
        let excerpt = error_excerpt(body, &secrets);
        let limit = github_limit(status, h, body);
        let mut detail = what.to_string();
        if let Some((note, _)) = &limit {
            detail.push_str(&format!(": {note}"));
        }
        if !excerpt.is_empty() {
            detail.push_str(&format!(": {excerpt}"));
        }
        // A redirect the client did not follow (another origin): say where.
        if (300..400).contains(&status)
            && let Some(loc) = header_str(h, "location")
        {
            let loc = error_excerpt(loc.as_bytes(), &secrets);
            detail.push_str(&format!(
                " (moved to {loc}; redirects to another origin are not followed)"
            ));
        }
        let wait = server_wait(h, SystemTime::now())
            .or(limit.as_ref().and_then(|(_, w)| *w))
            .map(|w| clamp_wait(&self.cfg.retry, w));
        let (kind, retryable) = match status {
            429 => (ErrorKind::RateLimited { retry_after: wait }, true),
            403 if limit.is_some() => (ErrorKind::RateLimited { retry_after: wait }, true),
            401 | 403 => (ErrorKind::Unauthorized { status }, false),
            404 => (ErrorKind::NotFound, false),
            408 | 425 => (ErrorKind::Http { status }, true),
            409 => (ErrorKind::Conflict { status }, false),
            501 | 505 => (ErrorKind::Server { status }, false),
            500..=599 => (ErrorKind::Server { status }, true),
            _ => (ErrorKind::Http { status }, false),
        };
        Failure {
            err: self.err(kind, detail),
            retryable,
            wait,
            not_sent: false,
        }
    }

    /// GET `url` (absolute; build it with [`HttpClient::url`]) with query
    /// pairs. Retried per the policy; returns a 2xx response.
    pub async fn get(
        &self,
        url: &str,
        query: &[(&str, String)],
    ) -> Result<Response, ProviderError> {
        self.get_with(url, query, &[]).await
    }

    /// GET with extra (non-secret) headers.
    pub async fn get_with(
        &self,
        url: &str,
        query: &[(&str, String)],
        extra: &[(&str, &str)],
    ) -> Result<Response, ProviderError> {
        self.guard
            .retry(|| {
                self.attempt(
                    &Method::GET,
                    url,
                    query,
                    None,
                    extra,
                    self.cfg.total_timeout,
                )
            })
            .await
    }

    /// GET, then `then` on the 2xx answer, in the same attempt: a failure
    /// `then` marks retryable (truncated JSON) is retried like the request's own.
    pub(super) async fn get_then<T, F>(
        &self,
        url: &str,
        query: &[(&str, String)],
        then: F,
    ) -> Result<T, ProviderError>
    where
        F: Fn(Response) -> Result<T, Failure>,
    {
        let then = &then;
        self.guard
            .retry(|| async move {
                let r = self
                    .attempt(&Method::GET, url, query, None, &[], self.cfg.total_timeout)
                    .await?;
                then(r)
            })
            .await
    }

    /// GET and decode JSON into `T` in the same attempt: an answer whose
    /// JSON ends early is retried (see [`decode_attempt`]).
    pub async fn get_json_retried<T: DeserializeOwned>(
        &self,
        url: &str,
        query: &[(&str, String)],
    ) -> Result<T, ProviderError> {
        self.get_then(url, query, |r| r.json_attempt()).await
    }

    /// GET and decode JSON into `T`.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        url: &str,
        query: &[(&str, String)],
    ) -> Result<T, ProviderError> {
        self.get(url, query).await?.json()
    }

    /// Send a write (POST/PUT/PATCH/DELETE). **Never retried.** With
    /// `idempotency_key`, an `Idempotency-Key` header is sent (only for
    /// vendors that honour it). If the request may have reached the server
    /// but no answer came back, the error is `ErrorKind::Unknown` ("outcome
    /// unknown"); if it certainly never left (refused connection, open
    /// circuit, rate-limit wait), the error says so with its own kind.
    pub async fn send(
        &self,
        method: Method,
        url: &str,
        body: Option<&serde_json::Value>,
        extra: &[(&str, &str)],
        idempotency_key: Option<&str>,
    ) -> Result<Response, ProviderError> {
        let mut hdrs: Vec<(&str, &str)> = extra.to_vec();
        if let Some(k) = idempotency_key {
            hdrs.push(("Idempotency-Key", k));
        }
        match self
            .attempt(&method, url, &[], body, &hdrs, self.cfg.write_timeout)
            .await
        {
            Ok(r) => Ok(r),
            Err(f) => Err(self.guard.write_failure(f)),
        }
    }

    /// Send a write exactly as it was planned, after checking that its
    /// method and URL are the ones this provider would build for the op
    /// (`expected`), so a plan cannot be turned into another request. The
    /// planned body is sent as is (who acts and why are in it: `ops::PlanCtx`). Never retried.
    pub async fn send_planned(
        &self,
        req: &PlannedRequest,
        expected: (&Method, &str),
        extra: &[(&str, &str)],
        idempotency_key: Option<&str>,
    ) -> Result<Response, ProviderError> {
        if !req.method.eq_ignore_ascii_case(expected.0.as_str()) || req.url != expected.1 {
            return Err(self.err(
                ErrorKind::Config,
                format!(
                    "the plan does not match the operation ({} {} planned, {} {} expected); nothing sent",
                    req.method,
                    Self::path_of(&req.url),
                    expected.0,
                    Self::path_of(expected.1)
                ),
            ));
        }
        self.send(
            expected.0.clone(),
            expected.1,
            req.body.as_ref(),
            extra,
            idempotency_key,
        )
        .await
    }

    /// A next page already read means the pages loop: an error naming the
    /// URL, never a list that looks complete.
    pub(crate) fn not_seen(
        &self,
        seen: &mut std::collections::HashSet<String>,
        url: &str,
    ) -> Result<(), ProviderError> {
        if seen.insert(url.to_string()) {
            return Ok(());
        }
        Err(ProviderError::new(
            &self.provider,
            ErrorKind::Shape,
            format!(
                "the pages loop: the next page {} was already read; the list is incomplete",
                crate::text::SafeText::line(url)
            ),
        ))
    }

    /// Follow a next-page URL carried in the body (`split` returns the items
    /// and the next URL, e.g. Opsgenie `paging.next`). Stops when there is
    /// no next URL, a page is empty, or at `max_pages`.
    pub async fn get_next_url_pages<P, T, F>(
        &self,
        url: &str,
        query: &[(&str, String)],
        split: F,
    ) -> Result<Vec<T>, ProviderError>
    where
        P: DeserializeOwned,
        F: Fn(P) -> (Vec<T>, Option<String>),
    {
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut page: P = self.get_json(url, query).await?;
        for _ in 0..self.cfg.max_pages.max(1) {
            let (items, next) = split(page);
            let empty = items.is_empty();
            out.extend(items);
            let Some(next) = next.filter(|n| !n.is_empty() && !empty) else {
                return Ok(out);
            };
            let next = self.same_origin(&next)?;
            self.not_seen(&mut seen, &next)?;
            page = self.get_json(&next, &[]).await?;
        }
        tracing::warn!(
            "{}: stopped after {} pages",
            self.provider,
            self.cfg.max_pages
        );
        Ok(out)
    }
}
