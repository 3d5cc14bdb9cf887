//! Fuzzy matching, set up once: the runbook search and the command palette
//! match the same way (case-insensitive, Unicode-normalized, fzf-like
//! pattern syntax).

use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher, Utf32Str};

/// A parsed query and the matcher state it scores with.
pub struct Fuzzy {
    matcher: Matcher,
    pattern: Pattern,
    buf: Vec<char>,
}

impl Fuzzy {
    pub fn new(query: &str) -> Fuzzy {
        Fuzzy {
            matcher: Matcher::new(Config::DEFAULT),
            pattern: Pattern::parse(query, CaseMatching::Ignore, Normalization::Smart),
            buf: Vec::new(),
        }
    }

    /// The score of `haystack`, or `None` when it does not match.
    pub fn score(&mut self, haystack: &str) -> Option<u32> {
        self.pattern
            .score(Utf32Str::new(haystack, &mut self.buf), &mut self.matcher)
    }

    /// The matching `items` with their scores, best first (ties keep their
    /// order); an empty query matches everything with score 0.
    pub fn rank<T: AsRef<str>>(&mut self, items: impl IntoIterator<Item = T>) -> Vec<(T, u32)> {
        self.pattern.match_list(items, &mut self.matcher)
    }
}
