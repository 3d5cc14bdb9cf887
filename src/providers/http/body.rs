//! The response bytes a provider may hold at once.

/// The response bytes one provider may hold at once, across all its
/// concurrent requests. A single body over the cap is refused, and so is a
/// body that would push the sum of the bodies being read past it: memory
/// stays bounded by the cap whatever the request concurrency.
#[derive(Debug)]
pub struct BodyBudget {
    cap: usize,
    used: std::sync::atomic::AtomicUsize,
}

/// Bytes held against a [`BodyBudget`]; given back when dropped.
#[derive(Debug)]
pub struct BodyHold<'a> {
    budget: &'a BodyBudget,
    held: usize,
}

impl BodyBudget {
    pub fn new(cap: usize) -> Self {
        BodyBudget {
            cap,
            used: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    pub fn hold(&self) -> BodyHold<'_> {
        BodyHold {
            budget: self,
            held: 0,
        }
    }

    /// Bytes held right now.
    pub fn used(&self) -> usize {
        self.used.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl BodyHold<'_> {
    /// Hold `n` more bytes; false (and nothing held) when that would pass the cap.
    pub fn grow(&mut self, n: usize) -> bool {
        use std::sync::atomic::Ordering;
        let prev = self.budget.used.fetch_add(n, Ordering::SeqCst);
        if prev.saturating_add(n) > self.budget.cap {
            self.budget.used.fetch_sub(n, Ordering::SeqCst);
            return false;
        }
        self.held += n;
        true
    }
}

impl Drop for BodyHold<'_> {
    fn drop(&mut self) {
        self.budget
            .used
            .fetch_sub(self.held, std::sync::atomic::Ordering::SeqCst);
    }
}
