//! The layers' keys: what opens over the views (the filter line, the
//! command palette, text input, the confirmation, the spinner, the
//! first-run screen) and the keys it takes while it is open.

use super::{C, N, S, key_matches};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What opens over the views and takes the keys while it is open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layer {
    FirstRun,
    Filter,
    Palette,
    Input,
    Confirm,
    Busy,
    Describe,
    Pick,
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
            Layer::Describe => "describe",
            Layer::Pick => "picker",
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
    /// A page further or back (the describe view).
    PageDown,
    PageUp,
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
        layers: &[Layer::Describe],
        keys: &[
            (KeyCode::Esc, N),
            (KeyCode::Char('q'), N),
            (KeyCode::Char('d'), N),
            (KeyCode::Enter, N),
        ],
        label: "Esc/d",
        key: LayerKey::Cancel,
        desc: "close the JSON",
    },
    LayerBinding {
        layers: &[Layer::Describe],
        keys: &[(KeyCode::Char('j'), N), (KeyCode::Down, N)],
        label: "j/↓",
        key: LayerKey::ScrollDown,
        desc: "scroll the JSON",
    },
    LayerBinding {
        layers: &[Layer::Describe],
        keys: &[(KeyCode::Char('k'), N), (KeyCode::Up, N)],
        label: "k/↑",
        key: LayerKey::ScrollUp,
        desc: "scroll the JSON back",
    },
    LayerBinding {
        layers: &[Layer::Describe],
        keys: &[
            (KeyCode::PageDown, N),
            (KeyCode::Char(' '), N),
            (KeyCode::Char('d'), C),
        ],
        label: "PgDn",
        key: LayerKey::PageDown,
        desc: "a page further",
    },
    LayerBinding {
        layers: &[Layer::Describe],
        keys: &[(KeyCode::PageUp, N), (KeyCode::Char('u'), C)],
        label: "PgUp",
        key: LayerKey::PageUp,
        desc: "a page back",
    },
    LayerBinding {
        layers: &[Layer::Pick],
        keys: &[
            (KeyCode::Esc, N),
            (KeyCode::Char('q'), N),
            (KeyCode::Char('c'), C),
        ],
        label: "Esc",
        key: LayerKey::Cancel,
        desc: "keep production as is",
    },
    LayerBinding {
        layers: &[Layer::Pick],
        keys: &[(KeyCode::Enter, N)],
        label: "Enter",
        key: LayerKey::Submit,
        desc: "choose this target",
    },
    LayerBinding {
        layers: &[Layer::Pick],
        keys: &[(KeyCode::Char('j'), N), (KeyCode::Down, N)],
        label: "j/↓",
        key: LayerKey::Next,
        desc: "next target",
    },
    LayerBinding {
        layers: &[Layer::Pick],
        keys: &[(KeyCode::Char('k'), N), (KeyCode::Up, N)],
        label: "k/↑",
        key: LayerKey::Prev,
        desc: "previous target",
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

/// Pairs of one layer's bindings the help shows as one row: (layer,
/// first, second, keys, what they do).
pub const LAYER_HELP_PAIRS: &[(Layer, LayerKey, LayerKey, &str, &str)] = &[
    (
        Layer::Palette,
        LayerKey::Next,
        LayerKey::Prev,
        "↓↑",
        "next / previous",
    ),
    (
        Layer::Confirm,
        LayerKey::Yes,
        LayerKey::No,
        "y/n",
        "run / cancel",
    ),
    (
        Layer::Confirm,
        LayerKey::ScrollDown,
        LayerKey::ScrollUp,
        "↓↑ PgDn",
        "scroll the request",
    ),
    (
        Layer::Pick,
        LayerKey::Next,
        LayerKey::Prev,
        "j/k ↓↑",
        "next / previous target",
    ),
];

/// What `ev` does in `layer`, if it is bound there.
pub fn lookup_layer(layer: Layer, ev: &KeyEvent) -> Option<LayerKey> {
    LAYER_BINDINGS
        .iter()
        .find(|b| b.layers.contains(&layer) && b.keys.iter().any(|k| key_matches(k, ev)))
        .map(|b| b.key)
}
