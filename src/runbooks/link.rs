//! Incident linking: which runbook an incident opens.

use super::Runbook;
use crate::config::ServiceConfig;
use crate::model::Incident;
use crate::text::SafeText;

/// Which runbook an incident should open: the incident's own `runbook`
/// (alert annotation `runbook`/`runbook_url`, matched by id or by the last
/// path segment of a URL), then the `[[service]] runbooks` of its service
/// (found by name or by one of its `pagerduty_services` ids),
/// then a runbook whose front matter lists the service and whose tags or id
/// words appear in the incident title (most hits, then the one the title
/// names first, then one made for the incident's severity, then the most
/// specific); no title match, no link.
pub fn runbook_for(
    incident: &Incident,
    services: &[ServiceConfig],
    runbooks: &[Runbook],
) -> Option<SafeText> {
    Linker::new(services, runbooks).runbook_for(incident)
}

/// Fill each incident's `runbook` with the id of its runbook
/// ([`runbook_for`]); an explicit link the catalog does not know is
/// kept as the provider gave it.
pub fn link_incidents(
    incidents: &mut [Incident],
    services: &[ServiceConfig],
    runbooks: &[Runbook],
) {
    let linker = Linker::new(services, runbooks);
    for i in incidents.iter_mut() {
        if let Some(id) = linker.runbook_for(i) {
            i.runbook = Some(id);
        }
    }
}

/// The runbooks with what matching needs made once, not per incident
/// (5,000 incidents lowercased every tag of every runbook 5,000 times).
struct Linker<'a> {
    services: &'a [ServiceConfig],
    runbooks: &'a [Runbook],
    /// Per runbook: its tags and id parts, lowercased.
    keys: Vec<Vec<String>>,
    /// Every runbook's keys, sorted: a title with none of them links to
    /// no runbook by its words (most titles), found without comparing it
    /// to each runbook.
    all_keys: Vec<String>,
    /// The keys with a digit in them ("x509"): a title with such a word
    /// is not kept by its shape.
    digit_keys: Vec<String>,
    /// An ASCII title's key words, by the title with its digits made '0'.
    by_shape: std::cell::RefCell<std::collections::HashMap<Vec<u8>, Vec<usize>>>,
    /// Per service: the runbooks that list it (or `*`), found once.
    by_service: std::cell::RefCell<std::collections::HashMap<String, Vec<usize>>>,
    /// Per service, then per severity and the title's words that are keys
    /// (as indexes into `all_keys`, sorted): the ranking's answer. Alerts
    /// repeat their titles with other numbers in them ("checkout-17 error
    /// rate"), so most incidents of a long list are ranked once.
    ranked: std::cell::RefCell<std::collections::HashMap<String, Ranked>>,
}

type Ranked = std::collections::HashMap<(crate::model::Severity, Vec<usize>), Option<SafeText>>;

impl<'a> Linker<'a> {
    fn new(services: &'a [ServiceConfig], runbooks: &'a [Runbook]) -> Self {
        let keys = runbooks
            .iter()
            .map(|r| {
                r.tags
                    .iter()
                    .map(|t| t.as_str())
                    .chain(r.id.as_str().split('-'))
                    .map(str::to_lowercase)
                    .collect()
            })
            .collect::<Vec<Vec<String>>>();
        let mut all_keys: Vec<String> = keys.iter().flatten().cloned().collect();
        all_keys.sort_unstable();
        all_keys.dedup();
        let digit_keys: Vec<String> = all_keys
            .iter()
            .filter(|k| k.bytes().any(|b| b.is_ascii_digit()))
            .cloned()
            .collect();
        Linker {
            services,
            runbooks,
            keys,
            all_keys,
            digit_keys,
            by_shape: Default::default(),
            by_service: Default::default(),
            ranked: Default::default(),
        }
    }

    /// The runbooks that list `svc` or any service (`*`), by index.
    fn candidates(&self, svc: &str) -> Vec<usize> {
        let mut memo = self.by_service.borrow_mut();
        memo.entry(svc.to_string())
            .or_insert_with(|| {
                self.runbooks
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| {
                        r.services
                            .iter()
                            .any(|s| s.as_str() == svc || s.as_str() == "*")
                    })
                    .map(|(n, _)| n)
                    .collect()
            })
            .clone()
    }

    /// The words of `title` (lowercased, longer than 2) that are keys, as
    /// indexes into `all_keys`. An ASCII title (most) is lowercased a word
    /// at a time, and its answer kept by its shape (below).
    fn key_words(&self, title: &str) -> Vec<usize> {
        let find = |w: &str| self.all_keys.binary_search_by(|k| k.as_str().cmp(w)).ok();
        if !title.is_ascii() {
            let title = title.to_lowercase();
            return title
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| w.len() > 2)
                .filter_map(find)
                .collect();
        }
        // Titles that differ only in their digits ("checkout-17 error rate
        // on shard 4") have the same key words unless a word with a digit
        // is a key ("x509"): kept per title with every digit made '0'.
        let digit_word_is_key = !self.digit_keys.is_empty()
            && title
                .split(|c: char| !c.is_ascii_alphanumeric())
                .filter(|w| w.len() > 2 && w.bytes().any(|b| b.is_ascii_digit()))
                .any(|w| self.digit_keys.iter().any(|k| k.eq_ignore_ascii_case(w)));
        let shape = (!digit_word_is_key).then(|| {
            let mut s = title.as_bytes().to_vec();
            s.iter_mut()
                .filter(|b| b.is_ascii_digit())
                .for_each(|b| *b = b'0');
            s
        });
        if let Some(s) = &shape
            && let Some(words) = self.by_shape.borrow().get(s)
        {
            return words.clone();
        }
        let mut lower = String::new();
        let words: Vec<usize> = title
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| w.len() > 2)
            .filter_map(|w| {
                if w.bytes().any(|b| b.is_ascii_uppercase()) {
                    lower.clear();
                    lower.push_str(w);
                    lower.make_ascii_lowercase();
                    find(&lower)
                } else {
                    find(w)
                }
            })
            .collect();
        if let Some(s) = shape {
            self.by_shape.borrow_mut().insert(s, words.clone());
        }
        words
    }

    fn runbook_for(&self, incident: &Incident) -> Option<SafeText> {
        let runbooks = self.runbooks;
        let known = |id: &str| runbooks.iter().find(|r| r.id.as_str() == id);
        if let Some(hint) = &incident.runbook {
            let h = hint.as_str().trim();
            if let Some(r) = known(h) {
                return Some(r.id.clone());
            }
            // https://wiki/runbooks/db-failover.md?x#y → db-failover
            let no_frag = h.split(['#', '?']).next().unwrap_or(h);
            let last = no_frag
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or("");
            let last = last.strip_suffix(".md").unwrap_or(last);
            if let Some(r) = known(last) {
                return Some(r.id.clone());
            }
        }
        let raw = incident.service.as_ref()?.as_str();
        // The incident's service is a sitrep service name, or a PagerDuty
        // service id that a `[[service]] pagerduty_services` maps to one.
        let mapped: Vec<&ServiceConfig> = self
            .services
            .iter()
            .filter(|s| s.name == raw || s.pagerduty_services.iter().any(|p| p == raw))
            .collect();
        for s in &mapped {
            for id in &s.runbooks {
                if let Some(r) = known(id) {
                    return Some(r.id.clone());
                }
            }
        }
        // Words of the incident title that are tags or id parts of a runbook
        // ("replication lag" → replication-lag, "disk will fill" → disk-full).
        // In title order, each once: a tie in hits goes to the runbook the
        // title names first (see `rank`).
        let mut words: Vec<usize> = Vec::new();
        for w in self.key_words(incident.title.as_str()) {
            if !words.contains(&w) {
                words.push(w);
            }
        }
        // No word of the title is any runbook's: no link (see below).
        if words.is_empty() {
            return None;
        }
        let svc = mapped.first().map(|s| s.name.as_str()).unwrap_or(raw);
        let key = (incident.severity, words);
        if let Some(hit) = self.ranked.borrow().get(svc).and_then(|m| m.get(&key)) {
            return hit.clone();
        }
        let found = self.rank(svc, key.0, &key.1);
        self.ranked
            .borrow_mut()
            .entry(svc.to_string())
            .or_default()
            .insert(key, found.clone());
        found
    }

    /// The best runbook for service `svc` at `severity` whose keys include
    /// some of `words` (indexes into `all_keys`), per [`runbook_for`].
    fn rank(
        &self,
        svc: &str,
        severity: crate::model::Severity,
        words: &[usize],
    ) -> Option<SafeText> {
        let runbooks = self.runbooks;
        let words: Vec<&str> = words
            .iter()
            .filter_map(|n| self.all_keys.get(*n).map(String::as_str))
            .collect();
        let sev = severity.label();
        let mut cands: Vec<(usize, &Runbook)> = self
            .candidates(svc)
            .into_iter()
            .filter_map(|n| runbooks.get(n).map(|r| (n, r)))
            .collect();
        if cands.is_empty() {
            return None;
        }
        let hits = |n: usize| {
            self.keys[n]
                .iter()
                .filter(|k| words.contains(&k.as_str()))
                .count()
        };
        // Where in the title a runbook's first key word is: between runbooks
        // with as many hits on other words, the title's subject comes first
        // ("login failures: token refresh errors" is an auth outage, not an
        // error spike; "error rate above threshold" an error spike, not
        // rate limiting).
        let first = |n: usize| {
            words
                .iter()
                .position(|w| self.keys[n].iter().any(|k| k == w))
                .unwrap_or(usize::MAX)
        };
        cands.sort_by_cached_key(|(n, r)| {
            (
                std::cmp::Reverse(hits(*n)),
                first(*n),
                !r.severity.iter().any(|s| s.as_str() == sev),
                // A runbook naming the service beats one for any service (`*`).
                r.services.iter().any(|s| s.as_str() == "*"),
                r.services.len(),
                r.id.as_str(),
            )
        });
        // A runbook that merely lists the service is not enough: a wrong
        // runbook at 3 AM is worse than none. It must also match the title.
        cands
            .first()
            .filter(|(n, _)| hits(*n) > 0)
            .map(|(_, r)| r.id.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{IncidentStatus, Severity};
    use crate::runbooks::Catalog;

    fn incident(service: Option<&str>, runbook: Option<&str>, sev: Severity) -> Incident {
        Incident {
            provider: SafeText::line("pd"),
            id: SafeText::line("Q1"),
            labels: Default::default(),
            title: SafeText::line("t"),
            severity: sev,
            status: IncidentStatus::Triggered,
            service: service.map(SafeText::line),
            created_at: chrono::Utc::now(),
            url: None,
            assignee: None,
            runbook: runbook.map(SafeText::line),
        }
    }

    /// The rule [`Linker::key_words`] keeps, written plainly: the words of
    /// the whole title lowercased, split on what is not a letter or digit,
    /// longer than 2, that are keys.
    fn reference_words(l: &Linker<'_>, title: &str) -> Vec<usize> {
        title
            .to_lowercase()
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.len() > 2)
            .filter_map(|w| l.all_keys.binary_search_by(|k| k.as_str().cmp(w)).ok())
            .collect()
    }

    proptest::proptest! {
        /// The words found are those of the whole title lowercased, split
        /// on what is not a letter or digit, longer than 2, that are keys:
        /// ASCII titles (each case) and others alike.
        #[test]
        fn key_words_are_the_lowercased_titles_words_that_are_keys(
            title in "([A-Za-z]{0,12}|DISK|Replication|lag|x509|X50[0-9]|fail[a-z]{0,3}|[0-9]{1,4}|[ ._/-]|İ|ß|É|Ω){0,12}"
        ) {
            let cat = Catalog::bundled();
            let l = Linker::new(&[], &cat.runbooks);
            let want = reference_words(&l, &title);
            proptest::prop_assert_eq!(l.key_words(&title), want.clone());
            // Again, from what was kept for its shape.
            proptest::prop_assert_eq!(l.key_words(&title), want);
        }

        /// Titles that differ only in their digits share what is kept only
        /// while no key has a digit: with a key `5xx`, "http 5xx" and "http
        /// 6xx" are told apart.
        #[test]
        fn titles_kept_by_shape_are_told_apart_by_keys_with_digits(
            a in "[0-9]{1}", b in "[0-9]{1}", words in "( error| rate| disk| lag){0,4}"
        ) {
            let text = "---\nid: http-5xx\ntitle: Errors\nservices: [\"*\"]\n---\n# Errors\n";
            let own = crate::runbooks::parse_runbook(text, "own.md", crate::runbooks::Source::Config, "own.md")
                .map_err(|e| proptest::test_runner::TestCaseError::fail(format!("{e:?}")))?;
            let mut rbs = Catalog::bundled().runbooks;
            rbs.push(own);
            for (l, digits) in [(Linker::new(&[], &rbs), vec!["5xx", "x509"]), (Linker::new(&[], &Catalog::bundled().runbooks), vec!["x509"])] {
                proptest::prop_assert_eq!(&l.digit_keys, &digits);
                for t in [format!("http {a}xx{words}"), format!("http {b}xx{words}")] {
                    proptest::prop_assert_eq!(l.key_words(&t), reference_words(&l, &t));
                }
            }
        }
    }

    #[test]
    fn linking_order() {
        let cat = Catalog::bundled();
        let rbs = &cat.runbooks;
        let svc: ServiceConfig =
            toml::from_str("name = \"checkout\"\nrunbooks = [\"db-failover\"]").unwrap();
        let id =
            |i: &Incident, s: &[ServiceConfig]| runbook_for(i, s, rbs).map(|x| x.into_string());
        // Annotation first, by id or URL.
        let i = incident(Some("checkout"), Some("auth-outage"), Severity::Sev1);
        assert_eq!(
            id(&i, std::slice::from_ref(&svc)).as_deref(),
            Some("auth-outage")
        );
        let i = incident(
            Some("checkout"),
            Some("https://wiki.acme.internal/runbooks/rollback.md#step-3"),
            Severity::Sev1,
        );
        assert_eq!(
            id(&i, std::slice::from_ref(&svc)).as_deref(),
            Some("rollback")
        );
        // Then the service mapping of the config.
        let i = incident(
            Some("checkout"),
            Some("https://nowhere/unknown"),
            Severity::Sev1,
        );
        assert_eq!(
            id(&i, std::slice::from_ref(&svc)).as_deref(),
            Some("db-failover")
        );
        // A PagerDuty service id maps through the config.
        let pd: ServiceConfig = toml::from_str(
            "name = \"payments\"\npagerduty_services = [\"PSRV9\"]\nrunbooks = [\"replication-lag\"]",
        )
        .unwrap();
        let i = incident(Some("PSRV9"), None, Severity::Sev2);
        assert_eq!(
            id(&i, std::slice::from_ref(&pd)).as_deref(),
            Some("replication-lag")
        );
        let mut pd2 = pd.clone();
        pd2.runbooks.clear();
        // ...and then to the runbooks that list the mapped service and
        // match the title; a title that names nothing links nothing.
        assert_eq!(id(&i, std::slice::from_ref(&pd2)), None);
        let mut i = i;
        i.title = SafeText::line("replication lag on the payments database");
        let got = id(&i, std::slice::from_ref(&pd2)).unwrap();
        assert!(
            cat.get(&got)
                .unwrap()
                .services
                .iter()
                .any(|s| s.as_str() == "payments" || s.as_str() == "*"),
            "{got}"
        );
        // Then front matter services, when the title names the runbook.
        let mut i = incident(Some("auth"), None, Severity::Sev1);
        assert_eq!(id(&i, &[]), None, "a service alone links nothing");
        i.title = SafeText::line("login failures: token refresh errors");
        assert_eq!(id(&i, &[]).as_deref(), Some("auth-outage"));
        // Among the service's runbooks, the title's words decide.
        let mut i = incident(Some("payments"), None, Severity::Sev2);
        i.title = SafeText::line("payments-db primary replication lag 94s on replica-2");
        assert_eq!(id(&i, &[]).as_deref(), Some("replication-lag"));
        i.title = SafeText::line("payments-db primary down, failover needed");
        assert_eq!(id(&i, &[]).as_deref(), Some("db-failover"));
        let mut i = incident(Some("search"), None, Severity::Sev3);
        i.title = SafeText::line("search-indexer-3 /var/lib/search disk will fill in 4h");
        assert_eq!(id(&i, &[]).as_deref(), Some("disk-full"));
        // Title words split between runbooks, as many each: the one the
        // title names first (not the first by id).
        let mut i = incident(Some("checkout"), None, Severity::Sev2);
        i.title = SafeText::line("checkout-17 error rate above threshold");
        assert_eq!(id(&i, &[]).as_deref(), Some("error-spike-triage"));
        i.title = SafeText::line("checkout-17 rate limited, errors returned");
        assert_eq!(id(&i, &[]).as_deref(), Some("ddos-rate-limit"));
        // More hits still come first: `rate` and `limit` against `errors`.
        i.title = SafeText::line("errors from the API: rate limit hit");
        assert_eq!(id(&i, &[]).as_deref(), Some("ddos-rate-limit"));
        let i = incident(Some("no-such-service"), None, Severity::Sev1);
        assert_eq!(id(&i, &[]), None);
        let i = incident(None, None, Severity::Sev1);
        assert_eq!(id(&i, &[]), None);
    }

    /// A list is ranked once per service, severity and title words: every
    /// incident of it links as it would alone, whatever came before it.
    #[test]
    fn a_list_links_as_each_incident_alone() {
        let cat = Catalog::bundled();
        let rbs = &cat.runbooks;
        let titles = [
            "payments-db primary replication lag 94s on replica-2",
            "payments-db primary replication lag 12s on replica-7",
            "payments-db primary down, failover needed",
            "login failures: token refresh errors",
            "search-indexer-3 /var/lib/search disk will fill in 4h",
            "nothing a runbook names",
        ];
        let mut list = Vec::new();
        for svc in ["payments", "auth", "search", "checkout"] {
            for sev in [Severity::Sev1, Severity::Sev2, Severity::Sev4] {
                for t in titles {
                    let mut i = incident(Some(svc), None, sev);
                    i.title = SafeText::line(t);
                    list.push(i);
                }
            }
        }
        let alone: Vec<Option<String>> = list
            .iter()
            .map(|i| runbook_for(i, &[], rbs).map(|x| x.into_string()))
            .collect();
        assert!(alone.iter().flatten().count() >= 4, "{alone:?}");
        let distinct: std::collections::BTreeSet<_> = alone.iter().flatten().collect();
        assert!(distinct.len() >= 3, "{distinct:?}");
        link_incidents(&mut list, &[], rbs);
        let linked: Vec<Option<String>> = list
            .iter()
            .map(|i| i.runbook.as_ref().map(|x| x.to_string()))
            .collect();
        assert_eq!(linked, alone);
    }
}
