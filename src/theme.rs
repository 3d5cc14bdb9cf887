//! Themes: semantic slots (sev1..sev4, ok, warn, crit, stale, muted, border,
//! focus...) read from TOML. Bundled themes are embedded; user themes live
//! in `<config dir>/themes/NAME.toml`. A broken user theme is a visible
//! warning and the default is used, never a crash.

use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

pub static BUNDLED: [(&str, &str); 4] = [
    ("default", include_str!("../themes/default.toml")),
    ("light", include_str!("../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../themes/high-contrast.toml"),
    ),
    ("colorblind", include_str!("../themes/colorblind.toml")),
];

/// Every slot a theme must define.
pub const SLOTS: [&str; 24] = [
    "text",
    "muted",
    "border",
    "focus",
    "title",
    "header",
    "footer",
    "key",
    "selection",
    "sev1",
    "sev2",
    "sev3",
    "sev4",
    "ok",
    "warn",
    "crit",
    "stale",
    "info",
    "on",
    "off",
    "prod",
    "readonly",
    "gauge",
    "chart",
];

#[derive(Clone, Debug, PartialEq)]
pub struct Theme {
    pub name: String,
    pub text: Style,
    pub muted: Style,
    pub border: Style,
    pub focus: Style,
    pub title: Style,
    pub header: Style,
    pub footer: Style,
    pub key: Style,
    pub selection: Style,
    pub sev: [Style; 4],
    pub ok: Style,
    pub warn: Style,
    pub crit: Style,
    pub stale: Style,
    pub info: Style,
    pub on: Style,
    pub off: Style,
    pub prod: Style,
    pub readonly: Style,
    pub gauge: Style,
    pub chart: Style,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    name: String,
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
    slots: BTreeMap<String, SlotDef>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum SlotDef {
    Color(String),
    Style(StyleDef),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StyleDef {
    fg: Option<String>,
    bg: Option<String>,
    #[serde(default)]
    bold: bool,
    #[serde(default)]
    italic: bool,
    #[serde(default)]
    underline: bool,
    #[serde(default)]
    reversed: bool,
    #[serde(default)]
    dim: bool,
}

/// The least contrast a selected row's text keeps (WCAG 2 AA, normal text).
pub const MIN_CONTRAST: f64 = 4.5;

/// The sRGB value of `c`; named and indexed colours as xterm draws them.
/// `None` for the terminal's own default (`Reset`), which is unknown.
pub fn rgb(c: Color) -> Option<(u8, u8, u8)> {
    const BASE: [(u8, u8, u8); 16] = [
        (0, 0, 0),
        (205, 0, 0),
        (0, 205, 0),
        (205, 205, 0),
        (0, 0, 238),
        (205, 0, 205),
        (0, 205, 205),
        (229, 229, 229),
        (127, 127, 127),
        (255, 0, 0),
        (0, 255, 0),
        (255, 255, 0),
        (92, 92, 255),
        (255, 0, 255),
        (0, 255, 255),
        (255, 255, 255),
    ];
    let indexed = |i: u8| -> (u8, u8, u8) {
        match i {
            0..=15 => BASE[usize::from(i)],
            16..=231 => {
                let i = i - 16;
                let step = |v: u8| if v == 0 { 0 } else { 55 + v * 40 };
                (step(i / 36), step((i / 6) % 6), step(i % 6))
            }
            _ => {
                let v = 8 + (i - 232) * 10;
                (v, v, v)
            }
        }
    };
    Some(match c {
        Color::Reset => return None,
        Color::Rgb(r, g, b) => (r, g, b),
        Color::Indexed(i) => indexed(i),
        Color::Black => BASE[0],
        Color::Red => BASE[1],
        Color::Green => BASE[2],
        Color::Yellow => BASE[3],
        Color::Blue => BASE[4],
        Color::Magenta => BASE[5],
        Color::Cyan => BASE[6],
        Color::Gray => BASE[7],
        Color::DarkGray => BASE[8],
        Color::LightRed => BASE[9],
        Color::LightGreen => BASE[10],
        Color::LightYellow => BASE[11],
        Color::LightBlue => BASE[12],
        Color::LightMagenta => BASE[13],
        Color::LightCyan => BASE[14],
        Color::White => BASE[15],
    })
}

/// WCAG 2 contrast ratio of two colours (1 to 21), when both are known.
pub fn contrast(a: Color, b: Color) -> Option<f64> {
    fn lum((r, g, b): (u8, u8, u8)) -> f64 {
        let ch = |v: u8| {
            let c = f64::from(v) / 255.0;
            if c <= 0.03928 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * ch(r) + 0.7152 * ch(g) + 0.0722 * ch(b)
    }
    let (la, lb) = (lum(rgb(a)?), lum(rgb(b)?));
    let (hi, lo) = if la > lb { (la, lb) } else { (lb, la) };
    Some((hi + 0.05) / (lo + 0.05))
}

fn parse_color(s: &str) -> Result<Color, String> {
    let s = s.trim();
    if let Some(hex) = s.strip_prefix('#') {
        if hex.len() == 6
            && let Ok(v) = u32::from_str_radix(hex, 16)
        {
            return Ok(Color::Rgb((v >> 16) as u8, (v >> 8) as u8, v as u8));
        }
        return Err(format!("bad colour {s:?} (expected #rrggbb)"));
    }
    if let Ok(i) = s.parse::<u8>() {
        return Ok(Color::Indexed(i));
    }
    Ok(
        match s.to_ascii_lowercase().replace(['-', '_'], "").as_str() {
            "reset" | "default" => Color::Reset,
            "black" => Color::Black,
            "red" => Color::Red,
            "green" => Color::Green,
            "yellow" => Color::Yellow,
            "blue" => Color::Blue,
            "magenta" => Color::Magenta,
            "cyan" => Color::Cyan,
            "gray" | "grey" => Color::Gray,
            "darkgray" | "darkgrey" => Color::DarkGray,
            "lightred" => Color::LightRed,
            "lightgreen" => Color::LightGreen,
            "lightyellow" => Color::LightYellow,
            "lightblue" => Color::LightBlue,
            "lightmagenta" => Color::LightMagenta,
            "lightcyan" => Color::LightCyan,
            "white" => Color::White,
            _ => return Err(format!("unknown colour {s:?}")),
        },
    )
}

fn to_style(d: &SlotDef) -> Result<Style, String> {
    match d {
        SlotDef::Color(c) => Ok(Style::new().fg(parse_color(c)?)),
        SlotDef::Style(s) => {
            let mut st = Style::new();
            if let Some(fg) = &s.fg {
                st = st.fg(parse_color(fg)?);
            }
            if let Some(bg) = &s.bg {
                st = st.bg(parse_color(bg)?);
            }
            let mut m = Modifier::empty();
            for (on, flag) in [
                (s.bold, Modifier::BOLD),
                (s.italic, Modifier::ITALIC),
                (s.underline, Modifier::UNDERLINED),
                (s.reversed, Modifier::REVERSED),
                (s.dim, Modifier::DIM),
            ] {
                if on {
                    m |= flag;
                }
            }
            Ok(st.add_modifier(m))
        }
    }
}

impl Theme {
    /// Parse a theme file; the error names the file and the slot.
    pub fn parse(text: &str, origin: &str) -> Result<Theme, String> {
        let f: ThemeFile = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            match line {
                Some(l) => format!("{origin}:{l}: {}", e.message().trim()),
                None => format!("{origin}: {}", e.message().trim()),
            }
        })?;
        for k in f.slots.keys() {
            if !SLOTS.contains(&k.as_str()) {
                return Err(format!("{origin}: unknown slot `{k}`"));
            }
        }
        let get = |k: &str| -> Result<Style, String> {
            let d = f
                .slots
                .get(k)
                .ok_or_else(|| format!("{origin}: missing slot `{k}`"))?;
            to_style(d).map_err(|e| format!("{origin}: slot `{k}`: {e}"))
        };
        Ok(Theme {
            name: f.name.clone(),
            text: get("text")?,
            muted: get("muted")?,
            border: get("border")?,
            focus: get("focus")?,
            title: get("title")?,
            header: get("header")?,
            footer: get("footer")?,
            key: get("key")?,
            selection: get("selection")?,
            sev: [get("sev1")?, get("sev2")?, get("sev3")?, get("sev4")?],
            ok: get("ok")?,
            warn: get("warn")?,
            crit: get("crit")?,
            stale: get("stale")?,
            info: get("info")?,
            on: get("on")?,
            off: get("off")?,
            prod: get("prod")?,
            readonly: get("readonly")?,
            gauge: get("gauge")?,
            chart: get("chart")?,
        })
    }

    pub fn bundled(name: &str) -> Option<Theme> {
        BUNDLED
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(n, t)| Theme::parse(t, &format!("themes/{n}.toml")).ok())
    }

    /// The default theme. The bundled file is tested to parse; should that
    /// ever fail, fall back to the monochrome theme rather than panic.
    pub fn default_theme() -> Theme {
        Theme::bundled("default").unwrap_or_else(Theme::no_color)
    }

    /// No colours (NO_COLOR): emphasis by bold/reverse only; severity is
    /// still a text label everywhere.
    pub fn no_color() -> Theme {
        let plain = Style::new();
        let bold = Style::new().add_modifier(Modifier::BOLD);
        let rev = Style::new().add_modifier(Modifier::REVERSED);
        Theme {
            name: "no-color".into(),
            text: plain,
            muted: plain,
            border: plain,
            focus: bold,
            title: bold,
            header: rev,
            footer: plain,
            key: bold,
            selection: rev.add_modifier(Modifier::BOLD),
            sev: [rev.add_modifier(Modifier::BOLD), bold, plain, plain],
            ok: plain,
            warn: bold,
            crit: bold,
            stale: Style::new().add_modifier(Modifier::ITALIC),
            info: plain,
            on: bold,
            off: bold,
            prod: rev.add_modifier(Modifier::BOLD),
            readonly: rev,
            gauge: plain,
            chart: plain,
        }
    }

    /// Resolve a theme name: a user theme in `themes_dir` wins over a
    /// bundled one. Returns the theme and a warning to show, if any.
    pub fn resolve(name: &str, themes_dir: &Path) -> (Theme, Option<String>) {
        let user = themes_dir.join(format!("{name}.toml"));
        if user.exists() {
            return match std::fs::read_to_string(&user)
                .map_err(|e| format!("{}: {e}", user.display()))
                .and_then(|t| Theme::parse(&t, &user.display().to_string()))
            {
                Ok(t) => (t, None),
                Err(e) => (
                    Theme::default_theme(),
                    Some(format!("theme {name:?} is broken, using default: {e}")),
                ),
            };
        }
        match Theme::bundled(name) {
            Some(t) => (t, None),
            None => (
                Theme::default_theme(),
                Some(format!(
                    "no theme {name:?} (bundled: {}), using default",
                    Theme::names().join(", ")
                )),
            ),
        }
    }

    /// `s` as drawn in a selected row: on the selection's background, and
    /// with the selection's foreground wherever `s`'s own would read below
    /// [`MIN_CONTRAST`] against it (WCAG AA). A style with a background of
    /// its own (a severity badge) keeps it.
    pub fn on_selection(&self, s: Style) -> Style {
        let sel = self.selection;
        let mut out = sel.patch(s);
        if s.bg.is_some_and(|b| b != Color::Reset) {
            return out;
        }
        out.bg = sel.bg;
        if let (Some(fg), Some(bg)) = (out.fg, out.bg)
            && contrast(fg, bg).is_some_and(|c| c < MIN_CONTRAST)
        {
            out.fg = sel.fg;
        }
        out
    }

    /// Make the selected row `area` of `buf` readable: every cell drawn
    /// with the selection's background gets [`Theme::on_selection`]'s
    /// foreground.
    pub fn fix_selection(&self, buf: &mut ratatui::buffer::Buffer, area: Rect) {
        let Some(bg) = self.selection.bg else { return };
        let area = area.intersection(buf.area);
        for y in area.top()..area.bottom() {
            for x in area.left()..area.right() {
                let cell = &mut buf[(x, y)];
                if cell.bg != bg {
                    continue;
                }
                let fixed = self.on_selection(Style::new().fg(cell.fg));
                if let Some(fg) = fixed.fg {
                    cell.fg = fg;
                }
            }
        }
    }

    pub fn names() -> Vec<&'static str> {
        BUNDLED.iter().map(|(n, _)| *n).collect()
    }

    pub fn sev(&self, s: crate::model::Severity) -> Style {
        self.sev[s.index()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bundled_theme_parses_with_every_slot() {
        for (name, text) in BUNDLED {
            let t = Theme::parse(text, name).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(t.name, name, "theme file name and `name` differ");
        }
        assert!(BUNDLED.len() >= 4);
    }

    #[test]
    fn broken_theme_is_a_warning_not_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("mine.toml"),
            "name = \"mine\"\n[slots]\ntext = \"#zzzzzz\"\n",
        )
        .unwrap();
        let (t, w) = Theme::resolve("mine", dir.path());
        assert_eq!(t.name, "default");
        let w = w.unwrap();
        assert!(w.contains("mine.toml") && w.contains("bad colour"), "{w}");
        let (t, w) = Theme::resolve("nope", dir.path());
        assert_eq!(t.name, "default");
        assert!(w.unwrap().contains("no theme \"nope\""));
    }

    #[test]
    fn missing_and_unknown_slots_are_named() {
        let e = Theme::parse("name = \"x\"\n[slots]\ntext = \"red\"\n", "x.toml").unwrap_err();
        assert!(e.contains("missing slot `muted`"), "{e}");
        let mut t = BUNDLED[0].1.to_string();
        t.push_str("bogus = \"red\"\n");
        let e = Theme::parse(&t, "x.toml").unwrap_err();
        assert!(e.contains("unknown slot `bogus`"), "{e}");
    }
}
