//! The parts of the screen's state: views, lists, messages, dialogs.
//! Plain data, no I/O.

use crate::model::*;
use crate::ops::{Plan, WriteOp};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum View {
    Dashboard,
    Incidents,
    Slos,
    Deploys,
    Flags,
    Runbooks,
    Audit,
    Timeline,
    Providers,
    Silences,
}

impl View {
    pub const ALL: [View; 10] = [
        View::Dashboard,
        View::Incidents,
        View::Slos,
        View::Deploys,
        View::Flags,
        View::Runbooks,
        View::Audit,
        View::Timeline,
        View::Providers,
        View::Silences,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn title(self) -> &'static str {
        match self {
            View::Dashboard => "Dashboard",
            View::Incidents => "Incidents",
            View::Slos => "SLOs",
            View::Deploys => "Deploys",
            View::Flags => "Flags",
            View::Runbooks => "Runbooks",
            View::Audit => "Audit",
            View::Timeline => "Timeline",
            View::Providers => "Providers",
            View::Silences => "Silences",
        }
    }

    /// A short title for narrow terminals.
    pub fn short(self) -> &'static str {
        match self {
            View::Dashboard => "Dash",
            View::Incidents => "Inc",
            View::Slos => "SLO",
            View::Deploys => "Dep",
            View::Flags => "Flag",
            View::Runbooks => "Book",
            View::Audit => "Audit",
            View::Timeline => "Time",
            View::Providers => "Prov",
            View::Silences => "Sil",
        }
    }

    /// The key that shows it: `1`..`9`, then `0`.
    pub fn key(self) -> char {
        char::from_digit((self.index() as u32 + 1) % 10, 10).unwrap_or('?')
    }

    pub fn next(self) -> View {
        View::ALL[(self.index() + 1) % View::ALL.len()]
    }

    pub fn prev(self) -> View {
        View::ALL[(self.index() + View::ALL.len() - 1) % View::ALL.len()]
    }
}

/// Which kind of data a pane shows, to tell "none" from "its provider
/// failed".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Supplies {
    Incidents,
    Slos,
    Deploys,
    Flags,
    Silences,
}

impl Supplies {
    /// Does a provider of `kind` (its config name) supply this?
    pub fn by_kind(self, kind: &str) -> bool {
        match self {
            Supplies::Incidents => {
                matches!(kind, "pagerduty" | "alertmanager" | "opsgenie" | "sentry")
            }
            Supplies::Slos => matches!(kind, "prometheus" | "datadog"),
            Supplies::Deploys => matches!(kind, "github" | "vercel"),
            Supplies::Flags => matches!(kind, "launchdarkly" | "unleash" | "flagd"),
            Supplies::Silences => kind == "alertmanager",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ListState {
    pub selected: usize,
    pub filter: String,
    /// The column sorted by (`S` cycles): `None` is the list's own order.
    pub sort: Option<usize>,
    /// The sort is reversed (`-`).
    pub reverse: bool,
}

impl ListState {
    /// Shows the same rows in the same order as `other` (the selection
    /// aside).
    pub fn same_rows(&self, other: &ListState) -> bool {
        self.filter == other.filter && self.sort == other.sort && self.reverse == other.reverse
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ToastKind {
    Info,
    Ok,
    Error,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Toast {
    pub kind: ToastKind,
    pub text: String,
    pub at: Time,
}

/// Whether the action whose reason is being typed can be done: checked by
/// planning it once without the reason.
#[derive(Clone, Debug, PartialEq)]
pub struct Probe {
    pub op: WriteOp,
    /// `None` while checking; the plan's summary once it could be planned.
    pub summary: Option<String>,
}

/// What a text-input modal is for.
#[derive(Clone, Debug, PartialEq)]
pub enum InputPurpose {
    /// Reason for an action (then it is planned).
    Reason(WriteOp),
    /// The text of an incident note.
    NoteText { provider: String, id: String },
    /// Silence matchers, space-separated `k=v`, then a duration.
    SilenceMatchers { provider: String },
    /// The value of a runbook placeholder the walk could not bind.
    Binding { name: String },
}

#[derive(Clone, Debug, PartialEq)]
pub enum Modal {
    /// Asking the provider what the action would do.
    Planning { what: String },
    /// The exact plan, waiting for confirmation.
    Confirm {
        plan: Box<Plan>,
        reason: String,
        /// What must be typed (the target's name) or None for a single key.
        need: Option<String>,
        typed: String,
        /// Environment is production: shown loud.
        production: bool,
        /// Current SLO burn of the service, if known.
        burn: Option<String>,
        error: Option<String>,
        /// Lines of the request scrolled past (the controls stay pinned).
        scroll: u16,
        /// The whole request: headers and pretty-printed bodies, untruncated.
        full: bool,
        /// Team mode: confirming takes over another responder's lease.
        take_over: bool,
    },
    /// Running; the result arrives as a toast.
    Running { what: String },
    /// Free text input.
    Input {
        title: String,
        prompt: String,
        text: String,
        purpose: InputPurpose,
    },
    /// Details of the selected item.
    Details,
    /// The command palette.
    Palette { query: String, selected: usize },
    /// An error that needs reading (e.g. plan failed).
    Error { title: String, text: String },
    /// The raw record of a row (`d`, describe): its JSON, scrolled.
    Describe {
        title: String,
        lines: Vec<String>,
        scroll: u16,
    },
    /// The rollback target (`b` in Deploys): the live deploy, then the
    /// deploys production can go back (or, Vercel, be promoted) to.
    RollbackPick(Box<crate::tui::pick::Pick>),
}
