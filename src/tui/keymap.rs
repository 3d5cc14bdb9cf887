//! The one map from keys to actions, in layers: `BINDINGS` for the views,
//! `LAYER_BINDINGS` for what opens over them (the filter line, the command
//! palette, text input, the confirmation, the spinner, the first-run
//! screen). The handlers, the footer hints and the `?` help screen are all
//! derived from these tables; a character no binding of a text layer takes
//! is text.

use super::state::View;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

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
];

/// What opens over the views and takes the keys while it is open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layer {
    FirstRun,
    Filter,
    Palette,
    Input,
    Confirm,
    Busy,
}

impl Layer {
    pub fn label(self) -> &'static str {
        match self {
            Layer::FirstRun => "first run",
            Layer::Filter => "filter",
            Layer::Palette => "palette",
            Layer::Input => "input",
            Layer::Confirm => "confirm",
            Layer::Busy => "busy",
        }
    }
}

/// What a key does in a layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayerKey {
    /// Close without doing anything (nothing is sent).
    Cancel,
    /// Apply: run the palette entry, submit the text, confirm the plan.
    Submit,
    Next,
    Prev,
    /// Delete the last character.
    Erase,
    /// Confirm a plan that needs no typed name.
    Yes,
    /// Cancel a plan that needs no typed name.
    No,
    /// Scroll what a dialog shows (the confirm's request).
    ScrollDown,
    ScrollUp,
    /// Show the whole request (headers, bodies untruncated) or the summary.
    Full,
    /// Open the demo.
    Demo,
    Quit,
}

#[derive(Clone, Copy, Debug)]
pub struct LayerBinding {
    pub layers: &'static [Layer],
    pub keys: &'static [(KeyCode, KeyModifiers)],
    pub label: &'static str,
    pub key: LayerKey,
    pub desc: &'static str,
}

const DIALOGS: &[Layer] = &[Layer::Palette, Layer::Input, Layer::Confirm];
const TEXT: &[Layer] = &[Layer::Filter, Layer::Palette, Layer::Input, Layer::Confirm];

pub const LAYER_BINDINGS: &[LayerBinding] = &[
    LayerBinding {
        layers: DIALOGS,
        keys: &[(KeyCode::Esc, N), (KeyCode::Char('c'), C)],
        label: "Esc",
        key: LayerKey::Cancel,
        desc: "cancel, send nothing",
    },
    LayerBinding {
        layers: &[Layer::Filter],
        keys: &[(KeyCode::Esc, N)],
        label: "Esc",
        key: LayerKey::Cancel,
        desc: "clear the filter",
    },
    LayerBinding {
        layers: &[Layer::Busy],
        keys: &[(KeyCode::Esc, N), (KeyCode::Char('c'), C)],
        label: "Esc",
        key: LayerKey::Cancel,
        desc: "hide; it keeps running",
    },
    LayerBinding {
        layers: &[Layer::Filter, Layer::Palette, Layer::Input, Layer::Confirm],
        keys: &[(KeyCode::Enter, N)],
        label: "Enter",
        key: LayerKey::Submit,
        desc: "apply / run / confirm",
    },
    LayerBinding {
        layers: TEXT,
        keys: &[(KeyCode::Backspace, N)],
        label: "⌫",
        key: LayerKey::Erase,
        desc: "delete a character",
    },
    LayerBinding {
        layers: &[Layer::Palette],
        keys: &[
            (KeyCode::Down, N),
            (KeyCode::Tab, N),
            (KeyCode::Char('n'), C),
            (KeyCode::Char('j'), C),
        ],
        label: "↓/^N",
        key: LayerKey::Next,
        desc: "next entry",
    },
    LayerBinding {
        layers: &[Layer::Palette],
        keys: &[
            (KeyCode::Up, N),
            (KeyCode::BackTab, N),
            (KeyCode::BackTab, S),
            (KeyCode::Char('p'), C),
            (KeyCode::Char('k'), C),
        ],
        label: "↑/^P",
        key: LayerKey::Prev,
        desc: "previous entry",
    },
    LayerBinding {
        layers: &[Layer::Confirm],
        keys: &[(KeyCode::Char('y'), N)],
        label: "y",
        key: LayerKey::Yes,
        desc: "yes: run",
    },
    LayerBinding {
        layers: &[Layer::Confirm],
        keys: &[(KeyCode::Char('n'), N)],
        label: "n",
        key: LayerKey::No,
        desc: "no: cancel",
    },
    LayerBinding {
        layers: &[Layer::Confirm],
        keys: &[(KeyCode::Down, N), (KeyCode::PageDown, N)],
        label: "↓/PgDn",
        key: LayerKey::ScrollDown,
        desc: "scroll the request",
    },
    LayerBinding {
        layers: &[Layer::Confirm],
        keys: &[(KeyCode::Up, N), (KeyCode::PageUp, N)],
        label: "↑/PgUp",
        key: LayerKey::ScrollUp,
        desc: "scroll back",
    },
    LayerBinding {
        layers: &[Layer::Confirm],
        keys: &[(KeyCode::Tab, N)],
        label: "Tab",
        key: LayerKey::Full,
        desc: "the full request",
    },
    LayerBinding {
        layers: &[Layer::FirstRun],
        keys: &[(KeyCode::Char('d'), N)],
        label: "d",
        key: LayerKey::Demo,
        desc: "open the demo",
    },
    LayerBinding {
        layers: &[Layer::FirstRun],
        keys: &[
            (KeyCode::Char('q'), N),
            (KeyCode::Esc, N),
            (KeyCode::Char('c'), C),
        ],
        label: "q",
        key: LayerKey::Quit,
        desc: "quit",
    },
];

/// What `ev` does in `layer`, if it is bound there.
pub fn lookup_layer(layer: Layer, ev: &KeyEvent) -> Option<LayerKey> {
    LAYER_BINDINGS
        .iter()
        .find(|b| b.layers.contains(&layer) && b.keys.iter().any(|k| key_matches(k, ev)))
        .map(|b| b.key)
}

fn key_matches(spec: &(KeyCode, KeyModifiers), ev: &KeyEvent) -> bool {
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

/// Every binding with where it applies, for the help screen: the views'
/// (the eight view keys as one row), then the layers' (dialogs, filter,
/// first run) except the first-run screen's, which it shows itself.
pub fn help_rows() -> Vec<(String, &'static str, String)> {
    let mut rows = Vec::new();
    let mut views_shown = false;
    for b in BINDINGS {
        if let Action::View(_) = b.action {
            if !views_shown {
                views_shown = true;
                let n = BINDINGS
                    .iter()
                    .filter(|b| matches!(b.action, Action::View(_)))
                    .count();
                rows.push((
                    format!("1-{n}"),
                    "views; 9: why one failed",
                    "everywhere".to_string(),
                ));
            }
            continue;
        }
        let scope = match b.scope {
            Scope::Global => "everywhere".to_string(),
            Scope::Views(vs) => vs.iter().map(|v| v.short()).collect::<Vec<_>>().join(","),
        };
        rows.push((b.label.to_string(), b.desc, scope));
    }
    for b in LAYER_BINDINGS {
        if b.layers.contains(&Layer::FirstRun) {
            continue;
        }
        // Several text layers read as "dialogs" (the filter line too).
        let scope = match b.layers {
            [one] => one.label().to_string(),
            _ => "dialogs".to_string(),
        };
        rows.push((b.label.to_string(), b.desc, scope));
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
        assert_eq!(lookup(View::Slos, &k(KeyCode::Char('c'))), None);
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
        for b in LAYER_BINDINGS
            .iter()
            .filter(|b| !b.layers.contains(&Layer::FirstRun))
        {
            assert!(rows.iter().any(|r| r.1 == b.desc), "{} not in help", b.desc);
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
