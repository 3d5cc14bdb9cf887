//! The page loops: offset/limit ([`offset_pages`]) and `Link` headers
//! ([`HttpClient::get_link_pages`], [`HttpClient::link_pages_after`]).

use super::HttpClient;
use crate::providers::ProviderError;
use futures::{StreamExt, TryStreamExt};
use serde::de::DeserializeOwned;
use std::future::Future;

/// One page of an offset/limit list.
#[derive(Debug)]
pub struct OffsetPage<T> {
    pub items: Vec<T>,
    pub more: bool,
    /// The total, when the API reports it (PagerDuty `total=true`).
    pub total: Option<usize>,
    /// Requests left in the vendor's rate-limit window, when the answer
    /// says (PagerDuty `ratelimit-remaining`).
    pub budget: Option<usize>,
}

/// How many of a list's pages go at once after the first.
#[derive(Clone, Copy, Debug)]
pub struct Fanout {
    /// At most this many in flight (the far case: one round trip for all).
    pub wide: usize,
    /// A first page back within this came from a near server (loopback,
    /// the same region): then at most `near_in_flight` go at once. Near,
    /// a wave costs little more than the server's own time, and a wide
    /// fan-out only adds connections, bodies held at once and CPU taken
    /// from the console (measured in benches/notes.md).
    pub near_rtt: std::time::Duration,
    pub near_in_flight: usize,
}

impl Fanout {
    /// `wide` at once, narrowed as `cfg` says for a near server.
    pub fn new(wide: usize, cfg: &super::HttpConfig) -> Fanout {
        Fanout {
            wide,
            near_rtt: cfg.near_rtt,
            near_in_flight: cfg.near_in_flight,
        }
    }

    /// Pages at once after a first page that took `rtt`.
    pub fn at_once(&self, rtt: std::time::Duration) -> usize {
        if rtt < self.near_rtt {
            self.wide.min(self.near_in_flight)
        } else {
            self.wide
        }
        .max(1)
    }
}

/// All items of an offset/limit list (PagerDuty classic pagination).
///
/// The first page is fetched alone; when it reports a total, the remaining
/// pages are fetched at once, at most [`Fanout::at_once`] in flight (all
/// of them from a far server, a few from a near one) and at most half of
/// the first page's rate-limit `budget` (kept in order: one round trip
/// more, not one per page), then any growth since is followed
/// sequentially while `more`. `offset + limit` never exceeds `cap`
/// (PagerDuty: 10000, beyond → 400). A failed page fails the list, naming
/// its offset. Returns the items and whether the list was cut at the cap.
pub async fn offset_pages<T, F, Fut>(
    limit: usize,
    cap: usize,
    fanout: Fanout,
    fetch: F,
) -> Result<(Vec<T>, bool), ProviderError>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<OffsetPage<T>, ProviderError>>,
{
    let limit = limit.max(1);
    let max_offset = cap.saturating_sub(limit);
    let started = std::time::Instant::now();
    let first = fetch(0).await?;
    let concurrency = fanout.at_once(started.elapsed());
    let mut items = first.items;
    let mut more = first.more;
    let mut next = limit;
    if more && let Some(total) = first.total {
        let offsets: Vec<usize> = (limit..total.min(cap))
            .step_by(limit)
            .filter(|o| *o <= max_offset)
            .collect();
        if let Some(last) = offsets.last() {
            next = last + limit;
        }
        // Room for the whole list at once, not doubled page by page (a
        // list of 5,000 would end in a block for 6,400 and, while it
        // grows, hold two).
        items.reserve(offsets.len() * limit);
        let at_once = match first.budget {
            Some(b) => concurrency.min(b / 2),
            None => concurrency,
        }
        .max(1);
        let fetch = &fetch;
        let mut pages = futures::stream::iter(
            offsets
                .into_iter()
                .map(|o| async move { fetch(o).await.map_err(|e| at_offset(e, o)) }),
        )
        .buffered(at_once);
        while let Some(p) = pages.next().await {
            let p = p?;
            more = p.more;
            items.extend(p.items);
        }
    }
    while more && next <= max_offset {
        let p = fetch(next).await.map_err(|e| at_offset(e, next))?;
        more = p.more && !p.items.is_empty();
        items.extend(p.items);
        next += limit;
    }
    Ok((items, more))
}

/// `e` with the page it happened on.
fn at_offset(e: ProviderError, offset: usize) -> ProviderError {
    let detail = format!("page at offset {offset}: {}", e.detail);
    ProviderError::new(&e.provider, e.kind, detail)
}

/// One page of a list paginated with `Link` headers: its items and the
/// `rel="next"` / `rel="last"` URLs as the server sent them.
#[derive(Debug)]
pub struct LinkPage<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
    pub last: Option<String>,
}

/// The URLs of pages `K..=N` when `next` asks for `page=K` and `last` for
/// `page=N` of the same list (same URL, same other parameters); `None`
/// when the links are not of that form (a cursor: then `next` is followed).
pub fn numbered_pages(next: Option<&str>, last: Option<&str>) -> Option<Vec<String>> {
    type Split<'a> = (&'a str, Vec<(String, String)>, usize);
    fn split(url: &str) -> Option<Split<'_>> {
        let (path, q) = url.split_once('?')?;
        let mut page = None;
        let mut rest = Vec::new();
        for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
            if k == "page" {
                page = Some(v.parse::<usize>().ok()?);
            } else {
                rest.push((k.into_owned(), v.into_owned()));
            }
        }
        Some((path, rest, page?))
    }
    let (path, rest, from) = split(next?)?;
    let (lpath, lrest, to) = split(last?)?;
    // A sane span only: never thousands of URLs from a hostile header.
    if path != lpath || rest != lrest || from < 2 || to < from || to - from > 1000 {
        return None;
    }
    Some(
        (from..=to)
            .map(|p| {
                let mut q = url::form_urlencoded::Serializer::new(String::new());
                for (k, v) in &rest {
                    q.append_pair(k, v);
                }
                q.append_pair("page", &p.to_string());
                format!("{path}?{}", q.finish())
            })
            .collect(),
    )
}

impl HttpClient {
    /// GET one page of a list whose body is a bare JSON array of `T`, with
    /// its `Link` URLs. Retried per the policy; the body is decoded within
    /// the attempt, so JSON that ends early is retried too.
    pub async fn get_link_page<T: DeserializeOwned>(
        &self,
        url: &str,
        query: &[(&str, String)],
    ) -> Result<LinkPage<T>, ProviderError> {
        self.get_then(url, query, |r| {
            Ok(LinkPage {
                items: r.json_attempt()?,
                next: r.link("next"),
                last: r.link("last"),
            })
        })
        .await
    }

    /// The items of `first` (a list's first page) and of the pages after
    /// it, up to `max_pages` in all. When the links number the pages
    /// (`next` asks for `page=2`, `last` for `page=N`), the rest are read
    /// `page_concurrency` at a time and kept in order; otherwise `next` is
    /// followed one page after the other until there is none (or it says
    /// `results="false"`). Every URL is rebased on the client's origin
    /// ([`HttpClient::same_origin`]).
    pub async fn link_pages_after<T: DeserializeOwned>(
        &self,
        mut first: LinkPage<T>,
        max_pages: usize,
    ) -> Result<Vec<T>, ProviderError> {
        let max_pages = max_pages.max(1);
        let stopped = || {
            tracing::warn!("{}: stopped after {max_pages} pages", self.provider());
        };
        let mut out = std::mem::take(&mut first.items);
        if let Some(urls) = numbered_pages(first.next.as_deref(), first.last.as_deref()) {
            if urls.len() + 1 > max_pages {
                stopped();
            }
            let urls = urls
                .into_iter()
                .take(max_pages - 1)
                .map(|u| self.same_origin(&u))
                .collect::<Result<Vec<_>, _>>()?;
            let pages: Vec<LinkPage<T>> = futures::stream::iter(urls)
                .map(|u| async move { self.get_link_page::<T>(&u, &[]).await })
                .buffered(self.config().page_concurrency.max(1))
                .try_collect()
                .await?;
            for mut p in pages {
                out.append(&mut p.items);
            }
            return Ok(out);
        }
        let mut next = first.next;
        let mut seen = std::collections::HashSet::new();
        for _ in 1..max_pages {
            let Some(url) = next else {
                return Ok(out);
            };
            let url = self.same_origin(&url)?;
            self.not_seen(&mut seen, &url)?;
            let mut page = self.get_link_page::<T>(&url, &[]).await?;
            out.append(&mut page.items);
            next = page.next;
        }
        if next.is_some() {
            stopped();
        }
        Ok(out)
    }

    /// All pages of a list whose bodies are bare JSON arrays of `T`,
    /// following `Link` headers (Sentry, GitHub), up to `max_pages`.
    pub async fn get_link_pages<T: DeserializeOwned>(
        &self,
        url: &str,
        query: &[(&str, String)],
    ) -> Result<Vec<T>, ProviderError> {
        let first = self.get_link_page(url, query).await?;
        self.link_pages_after(first, self.config().max_pages).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn numbered_pages_only_for_the_same_list() {
        let next = "/repositories/1/deployments?per_page=100&page=2";
        let last = "/repositories/1/deployments?per_page=100&page=4";
        assert_eq!(
            numbered_pages(Some(next), Some(last)),
            Some(vec![
                "/repositories/1/deployments?per_page=100&page=2".to_string(),
                "/repositories/1/deployments?per_page=100&page=3".to_string(),
                "/repositories/1/deployments?per_page=100&page=4".to_string(),
            ])
        );
        // No last link, another list, other parameters, a cursor, a huge span.
        assert_eq!(numbered_pages(Some(next), None), None);
        assert_eq!(
            numbered_pages(
                Some(next),
                Some("/repositories/2/deployments?per_page=100&page=4")
            ),
            None
        );
        assert_eq!(
            numbered_pages(
                Some(next),
                Some("/repositories/1/deployments?per_page=50&page=4")
            ),
            None
        );
        assert_eq!(
            numbered_pages(Some("/x?after=abc"), Some("/x?page=9")),
            None
        );
        assert_eq!(
            numbered_pages(Some("/x?page=2"), Some("/x?page=999999")),
            None
        );
        assert_eq!(numbered_pages(Some("/x?page=3"), Some("/x?page=2")), None);
    }

    /// A first page back fast (a near server) narrows the fan-out to
    /// `near_in_flight`; one back slower than `near_rtt` goes wide.
    #[tokio::test]
    async fn offset_pages_fan_out_wide_only_to_a_far_server() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        async fn max_in_flight(fanout: Fanout, first_page: Duration) -> usize {
            let (now, max) = (AtomicUsize::new(0), AtomicUsize::new(0));
            let (items, _) = offset_pages(100, 10_000, fanout, |off| {
                let (now, max) = (&now, &max);
                async move {
                    if off == 0 {
                        tokio::time::sleep(first_page).await;
                    } else {
                        let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                        max.fetch_max(n, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        now.fetch_sub(1, Ordering::SeqCst);
                    }
                    Ok(OffsetPage {
                        items: (off..off + 100).collect::<Vec<usize>>(),
                        more: off + 100 < 5_000,
                        total: Some(5_000),
                        budget: None,
                    })
                }
            })
            .await
            .unwrap();
            assert_eq!(items.len(), 5_000);
            max.load(Ordering::SeqCst)
        }
        let fanout = Fanout {
            wide: 50,
            near_rtt: Duration::from_millis(20),
            near_in_flight: 6,
        };
        assert_eq!(max_in_flight(fanout, Duration::ZERO).await, 6);
        assert_eq!(max_in_flight(fanout, Duration::from_millis(40)).await, 49);
        assert_eq!(fanout.at_once(Duration::from_millis(19)), 6);
        assert_eq!(fanout.at_once(Duration::from_millis(20)), 50);
        // Never more than `wide`, never none.
        let small = Fanout { wide: 3, ..fanout };
        assert_eq!(small.at_once(Duration::ZERO), 3);
        let none = Fanout { wide: 0, ..fanout };
        assert_eq!(none.at_once(Duration::from_secs(1)), 1);
    }
}
