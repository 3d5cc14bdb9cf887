//! The one map from keys to actions, in layers: `BINDINGS` for the views,
//! `LAYER_BINDINGS` for what opens over them (the filter line, the command
//! palette, text input, the confirmation, the spinner, the first-run
//! screen). The handlers, the footer hints and the `?` help screen are all
//! derived from these tables; a character no binding of a text layer takes
//! is text.

use super::state::View;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

mod layers;
pub use layers::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Quit,
    Help,
    View(View),
    NextView,
    PrevView,
    Down,
    Up,
    Top,
    Bottom,
    PageDown,
    PageUp,
    Filter,
    Palette,
    Refresh,
    Details,
    Ack,
    Resolve,
    Note,
    Silence,
    Rollback,
    KillSwitch,
    FlagOn,
    OpenUrl,
    Copy,
    Back,
    ToggleItem,
    NextStep,
    PrevStep,
    RunBlock,
    /// Expire the selected silence.
    Expire,
    /// Sort the list by its next column.
    SortNext,
    /// Reverse the list's sort.
    SortReverse,
    /// The selected row's record as JSON (describe).
    Describe,
    /// Mark the incident for a bulk ack (or unmark it).
    Mark,
    /// Escalate the incident to its policy's next level.
    Escalate,
    /// Snooze the acknowledged incident for an hour.
    Snooze,
    /// Show the other SLO chart where only one fits.
    SloChart,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Global,
    Views(&'static [View]),
}

#[derive(Clone, Copy, Debug)]
pub struct Binding {
    pub keys: &'static [(KeyCode, KeyModifiers)],
    /// How the keys are shown, e.g. "j/↓".
    pub label: &'static str,
    pub action: Action,
    pub desc: &'static str,
    pub scope: Scope,
    /// Shown in the footer of the views it applies to.
    pub footer: bool,
    /// A write action (greyed out in read-only mode).
    pub write: bool,
}

const N: KeyModifiers = KeyModifiers::NONE;
const S: KeyModifiers = KeyModifiers::SHIFT;
const C: KeyModifiers = KeyModifiers::CONTROL;

const INC: &[View] = &[View::Dashboard, View::Incidents];
const DEP: &[View] = &[View::Deploys];
const FLG: &[View] = &[View::Flags];
const RB: &[View] = &[View::Runbooks];
const SIL: &[View] = &[View::Silences];
const INCL: &[View] = &[View::Incidents];
/// The lists with sortable columns (`tui::sort`).
pub const SORTABLE: &[View] = &[View::Incidents, View::Slos, View::Flags, View::Silences];
/// The lists whose rows `d` describes.
const DESCRIBED: &[View] = &[
    View::Dashboard,
    View::Incidents,
    View::Slos,
    View::Deploys,
    View::Flags,
    View::Silences,
];

macro_rules! b {
    ($keys:expr, $label:expr, $action:expr, $desc:expr, $scope:expr, $footer:expr, $write:expr) => {
        Binding {
            keys: $keys,
            label: $label,
            action: $action,
            desc: $desc,
            scope: $scope,
            footer: $footer,
            write: $write,
        }
    };
}

pub const BINDINGS: &[Binding] = &[
    b!(
        &[(KeyCode::Char('q'), N), (KeyCode::Char('c'), C)],
        "q",
        Action::Quit,
        "quit",
        Scope::Global,
        true,
        false
    ),
    b!(
        &[(KeyCode::Char('?'), N), (KeyCode::Char('?'), S)],
        "?",
        Action::Help,
        "help",
        Scope::Global,
        true,
        false
    ),
    b!(
        &[(KeyCode::Char('1'), N)],
        "1",
        Action::View(View::Dashboard),
        "dashboard",
        Scope::Global,
        false,
        false
    ),
    b!(
        &[(KeyCode::Char('2'), N)],
        "2",
        Action::View(View::Incidents),
        "incidents",
        Scope::Global,
        false,
        false
    ),
    b!(
        &[(KeyCode::Char('3'), N)],
        "3",
        Action::View(View::Slos),
        "SLOs",
        Scope::Global,
        false,
        false
    ),
    b!(
        &[(KeyCode::Char('4'), N)],
        "4",
        Action::View(View::Deploys),
        "deploys",
        Scope::Global,
        false,
        false
    ),
    b!(
        &[(KeyCode::Char('5'), N)],
        "5",
        Action::View(View::Flags),
        "flags",
        Scope::Global,
        false,
        false
    ),
    b!(
        &[(KeyCode::Char('6'), N)],
        "6",
        Action::View(View::Runbooks),
        "runbooks",
        Scope::Global,
        false,
        false
    ),
    b!(
        &[(KeyCode::Char('7'), N)],
        "7",
        Action::View(View::Audit),
        "audit log",
        Scope::Global,
        false,
        false
    ),
    b!(
        &[(KeyCode::Char('8'), N)],
        "8",
        Action::View(View::Timeline),
        "what changed (timeline)",
        Scope::Global,
        false,
        false
    ),
    b!(
        &[(KeyCode::Char('9'), N)],
        "9",
        Action::View(View::Providers),
        "providers: why one failed, next try",
        Scope::Global,
        false,
        false
    ),
    b!(
        &[(KeyCode::Char('0'), N)],
        "0",
        Action::View(View::Silences),
        "silences (Alertmanager)",
        Scope::Global,
        false,
        false
    ),
    b!(
        &[(KeyCode::Tab, N)],
        "Tab",
        Action::NextView,
        "next view",
        Scope::Global,
        true,
        false
    ),
    b!(
        &[(KeyCode::BackTab, S), (KeyCode::BackTab, N)],
        "S-Tab",
        Action::PrevView,
        "previous view",
        Scope::Global,
        false,
        false
    ),
    b!(
        &[(KeyCode::Char('j'), N), (KeyCode::Down, N)],
        "j/↓",
        Action::Down,
        "down",
        Scope::Global,
        false,
        false
    ),
    b!(
        &[(KeyCode::Char('k'), N), (KeyCode::Up, N)],
        "k/↑",
        Action::Up,
        "up",
        Scope::Global,
        false,
        false
    ),
    b!(
        &[(KeyCode::Char('g'), N), (KeyCode::Home, N)],
        "g",
        Action::Top,
        "first",
        Scope::Global,
        false,
        false
    ),
    b!(
        &[
            (KeyCode::Char('G'), S),
            (KeyCode::Char('G'), N),
            (KeyCode::End, N)
        ],
        "G",
        Action::Bottom,
        "last",
        Scope::Global,
        false,
        false
    ),
    b!(
        &[(KeyCode::PageDown, N), (KeyCode::Char('d'), C)],
        "PgDn",
        Action::PageDown,
        "page down",
        Scope::Global,
        false,
        false
    ),
    b!(
        &[(KeyCode::PageUp, N), (KeyCode::Char('u'), C)],
        "PgUp",
        Action::PageUp,
        "page up",
        Scope::Global,
        false,
        false
    ),
    b!(
        &[(KeyCode::Char('/'), N)],
        "/",
        Action::Filter,
        "filter",
        Scope::Global,
        true,
        false
    ),
    b!(
        &[(KeyCode::Char(':'), N), (KeyCode::Char(':'), S)],
        ":",
        Action::Palette,
        "command palette",
        Scope::Global,
        true,
        false
    ),
    b!(
        &[(KeyCode::Char('r'), N), (KeyCode::F(5), N)],
        "r",
        Action::Refresh,
        "refresh now",
        Scope::Global,
        false,
        false
    ),
    b!(
        &[(KeyCode::Enter, N)],
        "Enter",
        Action::Details,
        "details / open",
        Scope::Global,
        true,
        false
    ),
    b!(
        &[(KeyCode::Esc, N)],
        "Esc",
        Action::Back,
        "back / close",
        Scope::Global,
        false,
        false
    ),
    b!(
        &[(KeyCode::Char('a'), N)],
        "a",
        Action::Ack,
        "acknowledge",
        Scope::Views(INC),
        true,
        true
    ),
    b!(
        &[(KeyCode::Char('R'), S), (KeyCode::Char('R'), N)],
        "R",
        Action::Resolve,
        "resolve",
        Scope::Views(INC),
        true,
        true
    ),
    b!(
        &[(KeyCode::Char('n'), N)],
        "n",
        Action::Note,
        "add note",
        Scope::Views(&[View::Incidents]),
        true,
        true
    ),
    b!(
        &[(KeyCode::Char('s'), N)],
        "s",
        Action::Silence,
        "silence alert",
        Scope::Views(INC),
        true,
        true
    ),
    b!(
        &[(KeyCode::Char('b'), N)],
        "b",
        Action::Rollback,
        "roll back",
        Scope::Views(DEP),
        true,
        true
    ),
    b!(
        &[(KeyCode::Char('K'), S), (KeyCode::Char('K'), N)],
        "K",
        Action::KillSwitch,
        "kill switch: feature off",
        Scope::Views(FLG),
        true,
        true
    ),
    b!(
        &[(KeyCode::Char('O'), S), (KeyCode::Char('O'), N)],
        "O",
        Action::FlagOn,
        "turn flag on",
        Scope::Views(&[View::Flags]),
        true,
        true
    ),
    b!(
        &[(KeyCode::Char('o'), N)],
        "o",
        Action::OpenUrl,
        "open URL",
        Scope::Views(&[View::Incidents, View::Deploys, View::Flags, View::Slos]),
        false,
        false
    ),
    b!(
        &[(KeyCode::Char('y'), N)],
        "y",
        Action::Copy,
        "copy",
        Scope::Views(&[View::Incidents, View::Deploys, View::Flags, View::Runbooks]),
        false,
        false
    ),
    b!(
        &[(KeyCode::Char(' '), N)],
        "Space",
        Action::ToggleItem,
        "check item",
        Scope::Views(RB),
        true,
        false
    ),
    b!(
        &[(KeyCode::Char('l'), N), (KeyCode::Right, N)],
        "l/→",
        Action::NextStep,
        "next step",
        Scope::Views(RB),
        true,
        false
    ),
    b!(
        &[(KeyCode::Char('h'), N), (KeyCode::Left, N)],
        "h/←",
        Action::PrevStep,
        "previous step",
        Scope::Views(RB),
        false,
        false
    ),
    b!(
        &[(KeyCode::Char('x'), N)],
        "x",
        Action::RunBlock,
        "run action block",
        Scope::Views(RB),
        true,
        true
    ),
    b!(
        &[(KeyCode::Char('x'), N)],
        "x",
        Action::Expire,
        "expire silence",
        Scope::Views(SIL),
        true,
        true
    ),
    b!(
        &[(KeyCode::Char('c'), N)],
        "c",
        Action::SloChart,
        "the other SLO chart",
        Scope::Views(&[View::Slos]),
        false,
        false
    ),
    b!(
        &[(KeyCode::Char('S'), S), (KeyCode::Char('S'), N)],
        "S",
        Action::SortNext,
        "next sort column",
        Scope::Views(SORTABLE),
        false,
        false
    ),
    b!(
        &[(KeyCode::Char('-'), N)],
        "-",
        Action::SortReverse,
        "reverse the sort",
        Scope::Views(SORTABLE),
        false,
        false
    ),
    b!(
        &[(KeyCode::Char('d'), N)],
        "d",
        Action::Describe,
        "describe as JSON",
        Scope::Views(DESCRIBED),
        false,
        false
    ),
    // The details pane shows these where the provider can do them.
    b!(
        &[(KeyCode::Char(' '), N)],
        "Space",
        Action::Mark,
        "mark for bulk ack",
        Scope::Views(INCL),
        false,
        false
    ),
    b!(
        &[(KeyCode::Char('E'), S), (KeyCode::Char('E'), N)],
        "E",
        Action::Escalate,
        "escalate to the next level",
        Scope::Views(INCL),
        false,
        true
    ),
    b!(
        &[(KeyCode::Char('z'), N)],
        "z",
        Action::Snooze,
        "snooze acknowledged (1h)",
        Scope::Views(INCL),
        false,
        true
    ),
];

pub(super) fn key_matches(spec: &(KeyCode, KeyModifiers), ev: &KeyEvent) -> bool {
    // Shifted letters arrive as uppercase chars with or without SHIFT.
    let mods = ev.modifiers - KeyModifiers::SHIFT;
    let spec_mods = spec.1 - KeyModifiers::SHIFT;
    spec.0 == ev.code && spec_mods == mods
}

fn in_scope(b: &Binding, view: View) -> bool {
    match b.scope {
        Scope::Global => true,
        Scope::Views(vs) => vs.contains(&view),
    }
}

/// The action for a key in a view. View-specific bindings win over global ones.
pub fn lookup(view: View, ev: &KeyEvent) -> Option<Action> {
    let hit = |global: bool| {
        BINDINGS.iter().find(|b| {
            (matches!(b.scope, Scope::Global) == global)
                && in_scope(b, view)
                && b.keys.iter().any(|k| key_matches(k, ev))
        })
    };
    hit(false).or_else(|| hit(true)).map(|b| b.action)
}

/// The footer hints for a view: view-specific first, then global.
pub fn footer(view: View) -> Vec<&'static Binding> {
    let mut v: Vec<&Binding> = BINDINGS
        .iter()
        .filter(|b| b.footer && !matches!(b.scope, Scope::Global) && in_scope(b, view))
        .collect();
    v.extend(
        BINDINGS
            .iter()
            .filter(|b| b.footer && matches!(b.scope, Scope::Global)),
    );
    v
}

/// Pairs of bindings the help shows as one row: (first, second, keys,
/// what they do).
const HELP_PAIRS: &[(Action, Action, &str, &str)] = &[
    (
        Action::NextView,
        Action::PrevView,
        "Tab",
        "next view (S-Tab: previous)",
    ),
    (Action::Down, Action::Up, "j/k ↓↑", "down / up"),
    (Action::Top, Action::Bottom, "g/G", "first / last"),
    (
        Action::PageDown,
        Action::PageUp,
        "PgDn/Up",
        "page down / page up",
    ),
    (
        Action::NextStep,
        Action::PrevStep,
        "l/h →←",
        "next / previous step",
    ),
    (Action::SortNext, Action::SortReverse, "S/-", "sort / flip"),
    (
        Action::Escalate,
        Action::Snooze,
        "E/z",
        "escalate / snooze 1h",
    ),
];

/// Every binding with where it applies, for the help screen: the views'
/// (the ten view keys as one row, the moves in pairs), then the layers'
/// (dialogs, filter) except those of the first-run screen and the
/// describe view, which show their own.
pub fn help_rows() -> Vec<(String, &'static str, String)> {
    let mut rows = Vec::new();
    let mut views_shown = false;
    for b in BINDINGS {
        if let Action::View(_) = b.action {
            if !views_shown {
                views_shown = true;
                rows.push((
                    "0-9".to_string(),
                    "views, 9: failures, 0: silences",
                    "everywhere".to_string(),
                ));
            }
            continue;
        }
        if HELP_PAIRS.iter().any(|p| p.1 == b.action) {
            continue;
        }
        let (label, desc) = match HELP_PAIRS.iter().find(|p| p.0 == b.action) {
            Some(p) => (p.2, p.3),
            None => (b.label, b.desc),
        };
        let scope = match b.scope {
            Scope::Global => "everywhere".to_string(),
            // Most of the lists: said so, the names would not fit at 80x24.
            Scope::Views(vs) if vs.len() >= 5 => "lists".to_string(),
            Scope::Views(vs) => vs.iter().map(|v| v.short()).collect::<Vec<_>>().join(","),
        };
        rows.push((label.to_string(), desc, scope));
    }
    for b in LAYER_BINDINGS {
        if b.layers.contains(&Layer::FirstRun) || b.layers.contains(&Layer::Describe) {
            continue;
        }
        let pair = |first: bool| {
            LAYER_HELP_PAIRS
                .iter()
                .find(|p| b.layers == [p.0] && if first { p.1 == b.key } else { p.2 == b.key })
        };
        if pair(false).is_some() {
            continue;
        }
        let (label, desc) = match pair(true) {
            Some(p) => (p.3, p.4),
            None => (b.label, b.desc),
        };
        // Several text layers read as "dialogs" (the filter line too).
        let scope = match b.layers {
            [one] => one.label().to_string(),
            _ => "dialogs".to_string(),
        };
        rows.push((label.to_string(), desc, scope));
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    #[test]
    fn lookup_respects_scope() {
        assert_eq!(
            lookup(View::Incidents, &k(KeyCode::Char('a'))),
            Some(Action::Ack)
        );
        assert_eq!(lookup(View::Slos, &k(KeyCode::Char('a'))), None);
        assert_eq!(
            lookup(
                View::Flags,
                &KeyEvent::new(KeyCode::Char('K'), KeyModifiers::SHIFT)
            ),
            Some(Action::KillSwitch)
        );
        assert_eq!(
            lookup(View::Deploys, &k(KeyCode::Char('b'))),
            Some(Action::Rollback)
        );
        assert_eq!(
            lookup(View::Slos, &k(KeyCode::Char('3'))),
            Some(Action::View(View::Slos))
        );
        assert_eq!(
            lookup(
                View::Slos,
                &KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)
            ),
            Some(Action::Quit)
        );
        assert_eq!(
            lookup(View::Slos, &k(KeyCode::Char('c'))),
            Some(Action::SloChart)
        );
        assert_eq!(lookup(View::Incidents, &k(KeyCode::Char('c'))), None);
    }

    #[test]
    fn layer_keys_are_found_and_unique_per_layer() {
        let ctrl = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL);
        assert_eq!(
            lookup_layer(Layer::Palette, &ctrl('n')),
            Some(LayerKey::Next)
        );
        assert_eq!(
            lookup_layer(Layer::Confirm, &k(KeyCode::Char('y'))),
            Some(LayerKey::Yes)
        );
        assert_eq!(lookup_layer(Layer::Input, &k(KeyCode::Char('y'))), None);
        assert_eq!(
            lookup_layer(Layer::Filter, &k(KeyCode::Esc)),
            Some(LayerKey::Cancel)
        );
        for layer in [
            Layer::FirstRun,
            Layer::Filter,
            Layer::Palette,
            Layer::Input,
            Layer::Confirm,
            Layer::Busy,
            Layer::Describe,
            Layer::Pick,
        ] {
            let mut seen = Vec::new();
            for b in LAYER_BINDINGS.iter().filter(|b| b.layers.contains(&layer)) {
                for key in b.keys {
                    assert!(!seen.contains(key), "{key:?} bound twice in {layer:?}");
                    seen.push(*key);
                }
            }
        }
        // Every layer binding is in the help, with its description.
        let rows = help_rows();
        for b in LAYER_BINDINGS.iter().filter(|b| {
            !b.layers.contains(&Layer::FirstRun) && !b.layers.contains(&Layer::Describe)
        }) {
            // Or the row of the pair it belongs to.
            let desc = LAYER_HELP_PAIRS
                .iter()
                .find(|p| b.layers == [p.0] && (p.1 == b.key || p.2 == b.key))
                .map(|p| p.4)
                .unwrap_or(b.desc);
            assert!(rows.iter().any(|r| r.1 == desc), "{} not in help", b.desc);
        }
    }

    #[test]
    fn no_key_is_bound_twice_in_one_view() {
        for view in View::ALL {
            for (i, a) in BINDINGS.iter().enumerate() {
                for b in &BINDINGS[i + 1..] {
                    if !(in_scope(a, view) && in_scope(b, view))
                        || matches!(a.scope, Scope::Global) != matches!(b.scope, Scope::Global)
                    {
                        continue;
                    }
                    for ka in a.keys {
                        assert!(
                            !b.keys.contains(ka),
                            "{:?} bound to {:?} and {:?} in {view:?}",
                            ka,
                            a.action,
                            b.action
                        );
                    }
                }
            }
        }
    }
}
