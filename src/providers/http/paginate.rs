//! Offset/limit pagination.

use crate::providers::ProviderError;
use futures::StreamExt;
use std::future::Future;

/// One page of an offset/limit list.
#[derive(Debug)]
pub struct OffsetPage<T> {
    pub items: Vec<T>,
    pub more: bool,
    /// The total, when the API reports it (PagerDuty `total=true`).
    pub total: Option<usize>,
}

/// All items of an offset/limit list (PagerDuty classic pagination).
///
/// The first page is fetched alone; when it reports a total, the remaining
/// pages are fetched `concurrency` at a time (in order), then any growth
/// since is followed sequentially while `more`. `offset + limit` never
/// exceeds `cap` (PagerDuty: 10000, beyond → 400). Returns the items and
/// whether the list was cut at the cap.
pub async fn offset_pages<T, F, Fut>(
    limit: usize,
    cap: usize,
    concurrency: usize,
    fetch: F,
) -> Result<(Vec<T>, bool), ProviderError>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<OffsetPage<T>, ProviderError>>,
{
    let limit = limit.max(1);
    let max_offset = cap.saturating_sub(limit);
    let first = fetch(0).await?;
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
        let mut pages =
            futures::stream::iter(offsets.into_iter().map(&fetch)).buffered(concurrency.max(1));
        while let Some(p) = pages.next().await {
            let p = p?;
            more = p.more;
            items.extend(p.items);
        }
    }
    while more && next <= max_offset {
        let p = fetch(next).await?;
        more = p.more && !p.items.is_empty();
        items.extend(p.items);
        next += limit;
    }
    Ok((items, more))
}
