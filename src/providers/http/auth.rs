//! Provider credentials as request headers.

use crate::secrets::Secret;
use base64::Engine as _;

/// How a provider authenticates. Values are secrets: they are put on the
/// wire as sensitive headers and never printed.
#[derive(Clone, Debug)]
pub enum Auth {
    None,
    /// `Authorization: Token token=<key>` (PagerDuty REST API keys).
    PagerDuty(Secret),
    /// `Authorization: GenieKey <key>` (Opsgenie).
    GenieKey(Secret),
    /// `Authorization: Bearer <token>` (Sentry, GitHub, Vercel, OAuth).
    Bearer(Secret),
    /// `Authorization: <token>` (LaunchDarkly, Unleash).
    Raw(Secret),
    /// Custom header pairs, e.g. Datadog `DD-API-KEY` + `DD-APPLICATION-KEY`.
    Headers(Vec<(String, Secret)>),
    /// `Authorization: Basic base64(user:password)`: the `user:password@`
    /// of a base_url, moved out of the URL so it is never printed.
    Basic(Secret),
}

impl Auth {
    pub(super) fn pairs(&self) -> Vec<(String, String, String)> {
        // (header name, full value, redacted value)
        let a = "Authorization".to_string();
        match self {
            Auth::None => vec![],
            Auth::PagerDuty(s) => vec![(
                a,
                format!("Token token={}", s.expose()),
                "Token token=<redacted>".into(),
            )],
            Auth::GenieKey(s) => vec![(
                a,
                format!("GenieKey {}", s.expose()),
                "GenieKey <redacted>".into(),
            )],
            Auth::Bearer(s) => vec![(
                a,
                format!("Bearer {}", s.expose()),
                "Bearer <redacted>".into(),
            )],
            Auth::Raw(s) => vec![(a, s.expose().to_string(), "<redacted>".into())],
            Auth::Basic(s) => vec![(
                a,
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(s.expose())
                ),
                "Basic <redacted>".into(),
            )],
            Auth::Headers(v) => v
                .iter()
                .map(|(n, s)| (n.clone(), s.expose().to_string(), "<redacted>".into()))
                .collect(),
        }
    }

    pub(super) fn secrets(&self) -> Vec<&str> {
        match self {
            Auth::None => vec![],
            Auth::PagerDuty(s) | Auth::GenieKey(s) | Auth::Bearer(s) | Auth::Raw(s) => {
                vec![s.expose()]
            }
            // `user:password`: the password alone too.
            Auth::Basic(s) => {
                let mut v = vec![s.expose()];
                if let Some((_, pass)) = s.expose().split_once(':') {
                    v.push(pass);
                }
                v
            }
            Auth::Headers(v) => v.iter().map(|(_, s)| s.expose()).collect(),
        }
    }

    /// The auth headers as shown in a plan: `[("Authorization", "Bearer <redacted>")]`.
    pub fn redacted(&self) -> Vec<(String, String)> {
        self.pairs().into_iter().map(|(n, _, r)| (n, r)).collect()
    }
}
