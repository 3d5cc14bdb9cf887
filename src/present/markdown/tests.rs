use super::*;
use ratatui::style::{Modifier, Style};

fn plain(md: &str, width: usize) -> String {
    let t = Theme::no_color();
    let opt = RenderOptions {
        width,
        plain: true,
        ..Default::default()
    };
    lines_to_string(&markdown_lines(md, &t, &opt))
}

fn tui(md: &str, width: usize) -> String {
    lines_to_string(&markdown_lines(
        md,
        &Theme::default_theme(),
        &RenderOptions::width(width),
    ))
}

#[test]
fn wraps_words_and_splits_long_ones() {
    let l = wrap(&[("aaa bbb ccc", Style::new())], 7);
    let s: Vec<String> = l
        .iter()
        .map(|l| l.iter().map(|(t, _)| t.as_str()).collect())
        .collect();
    assert_eq!(s, ["aaa bbb", "ccc"]);
    let l = wrap(&[("abcdefghij", Style::new())], 4);
    assert_eq!(l.len(), 3);
}

/// The word wrap as first written (a `String` per word and per
/// character run): `wrap` must give the same lines.
fn reference_wrap(spans: &[(String, Style)], width: usize) -> Vec<Vec<(String, Style)>> {
    enum Tok {
        Word(Vec<(String, Style)>, usize),
        Space(Style),
        Newline,
    }
    let mut toks = Vec::new();
    let mut word: Vec<(String, Style)> = Vec::new();
    let mut ww = 0usize;
    for (text, st) in spans {
        for ch in text.chars() {
            match ch {
                ' ' | '\n' => {
                    if !word.is_empty() {
                        toks.push(Tok::Word(std::mem::take(&mut word), ww));
                        ww = 0;
                    }
                    if ch == '\n' {
                        toks.push(Tok::Newline);
                    } else if !matches!(toks.last(), Some(Tok::Space(_))) {
                        toks.push(Tok::Space(*st));
                    }
                }
                c => {
                    match word.last_mut() {
                        Some((t, s)) if s == st => t.push(c),
                        _ => word.push((c.to_string(), *st)),
                    }
                    ww += c.width().unwrap_or(0);
                }
            }
        }
    }
    if !word.is_empty() {
        toks.push(Tok::Word(word, ww));
    }
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut cur: Vec<(String, Style)> = Vec::new();
    let mut col = 0usize;
    let mut space: Option<Style> = None;
    fn push(cur: &mut Vec<(String, Style)>, s: &str, st: Style) {
        match cur.last_mut() {
            Some((t, lst)) if *lst == st => t.push_str(s),
            _ => cur.push((s.to_string(), st)),
        }
    }
    for tok in toks {
        match tok {
            Tok::Newline => {
                lines.push(std::mem::take(&mut cur));
                col = 0;
                space = None;
            }
            Tok::Space(st) => {
                if col > 0 {
                    space = Some(st);
                }
            }
            Tok::Word(frags, w) => {
                let sp = usize::from(space.is_some());
                if col > 0 && col + sp + w > width {
                    lines.push(std::mem::take(&mut cur));
                    col = 0;
                    space = None;
                }
                if let Some(sst) = space.take() {
                    push(&mut cur, " ", sst);
                    col += 1;
                }
                if col + w <= width {
                    for (t, st) in &frags {
                        push(&mut cur, t, *st);
                    }
                    col += w;
                    continue;
                }
                for (t, st) in &frags {
                    for ch in t.chars() {
                        let cw = ch.width().unwrap_or(0);
                        if col + cw > width && col > 0 {
                            lines.push(std::mem::take(&mut cur));
                            col = 0;
                        }
                        let mut b = [0u8; 4];
                        push(&mut cur, ch.encode_utf8(&mut b), *st);
                        col += cw;
                    }
                }
            }
        }
    }
    if !cur.is_empty() || lines.is_empty() {
        lines.push(cur);
    }
    lines
}

#[test]
fn wrap_edge_cases() {
    let b = Style::new().add_modifier(Modifier::BOLD);
    let n = Style::new();
    let text = |l: &Vec<Vec<(String, Style)>>| -> Vec<String> {
        l.iter()
            .map(|l| l.iter().map(|(t, _)| t.as_str()).collect())
            .collect()
    };
    // A word whose style changes (and continues in the next span) is
    // kept whole and its runs merged by style.
    let l = wrap(&[("ab ", n), ("cd", b), ("e", n), ("f gh", n)], 5);
    assert_eq!(text(&l), ["ab", "cdef", "gh"]);
    assert_eq!(l[1], [("cd".to_string(), b), ("ef".to_string(), n)]);
    // A run of spaces across spans is one space, in the first one's style.
    let l = wrap(&[("a ", b), ("  b", n)], 10);
    assert_eq!(l, [vec![("a ".to_string(), b), ("b".to_string(), n)]]);
    // Spaces at the edges of lines go; `\n` keeps empty lines.
    assert_eq!(text(&wrap(&[("  a  \n\n b ", n)], 10)), ["a", "", "b"]);
    assert_eq!(text(&wrap(&[("", n)], 10)), [""]);
    assert_eq!(text(&wrap(&[("a\n", n)], 10)), ["a"]);
    // An over-long word is split by columns, wide characters kept whole;
    // one wider than the line still gets a line.
    assert_eq!(text(&wrap(&[("x 日本語テ", n)], 4)), ["x", "日本", "語テ"]);
    assert_eq!(text(&wrap(&[("日本", n)], 1)), ["日", "本"]);
    // A split crossing a style change keeps both styles.
    let l = wrap(&[("abc", n), ("def", b)], 4);
    assert_eq!(
        l,
        [
            vec![("abc".to_string(), n), ("d".to_string(), b)],
            vec![("ef".to_string(), b)]
        ]
    );
}

proptest::proptest! {
    #[test]
    fn wrap_agrees_with_the_reference(
        spans in proptest::collection::vec(("[ab \n日\u{301}-]{0,12}", 0u8..3), 0..6),
        width in 0usize..12,
    ) {
        let styles = [
            Style::new(),
            Style::new().add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::ITALIC),
        ];
        let spans: Vec<(String, Style)> = spans
            .into_iter()
            .map(|(t, s)| (t, styles[usize::from(s)]))
            .collect();
        proptest::prop_assert_eq!(wrap(&spans, width), reference_wrap(&spans, width));
    }
}

#[test]
fn text_output_is_the_lines_joined() {
    let mut docs: Vec<String> = crate::runbooks::BUNDLED
        .iter()
        .map(|(_, t)| t.to_string())
        .collect();
    docs.extend(
        [
            "Intro *em* **strong** [site](https://x.example) <https://auto.example>\n\n- a\n  - b\n- [ ] todo\n- [x] done\n\n1. one\n2. two\n\n> quoted\n",
            "```sh\necho hi  \n\n```\n\n```sitrep\nnope\n```\n\n~~~\na ``` b\n~~~\n",
            "| Left | Right |\n|:--|--:|\n| a | 1 |\n\n- a\n\n> q\n> > n\n>\n> - x\n>   > y\n",
            "<b>bold</b> &#x1b;[2J &#x9b;31m &#x202e;x\n\n<div onclick=x>\n  text\n</div>\n",
            "a  \nhard break\\\nagain\n\n---\n\n![img](u) [^1] `code`\n\n   \n",
            "- > - > - x\n  continued\n\n  - [ ] t\n\n    ```\n    in item\n    ```\n",
            "# H1\n## H2 ##\n###### h6\n\ntext\u{a0} \n",
        ]
        .map(String::from),
    );
    docs.push(format!("{}x\n", "> - ".repeat(30)));
    let theme = Theme::no_color();
    for md in &docs {
        for width in [0, 1, 20, 100] {
            let opt = RenderOptions {
                width,
                plain: true,
                ..Default::default()
            };
            let want = lines_to_string(&markdown_lines(md, &theme, &opt));
            let got = markdown_text("head\n".into(), md, &theme, &opt);
            assert_eq!(got, format!("head\n{want}"), "width {width}: {md:?}");
        }
    }
}

#[test]
fn lists_tasks_quotes_and_links() {
    let out = plain(
        "Intro *em* **strong** [site](https://x.example) <https://auto.example>\n\n- a\n  - b\n- [ ] todo\n- [x] done\n\n1. one\n2. two\n\n> quoted\n",
        80,
    );
    assert!(
        out.contains("Intro em strong site <https://x.example> https://auto.example"),
        "{out}"
    );
    assert!(out.contains("• a\n  ◦ b\n"), "{out}");
    assert!(
        out.contains("[ ] todo") && out.contains("[x] done"),
        "{out}"
    );
    assert!(out.contains("1. one\n2. two"), "{out}");
    assert!(out.contains("│ quoted"), "{out}");
}

#[test]
fn code_blocks_framed_in_tui_fenced_in_plain() {
    let md =
        "```sh\necho hi\n```\n\n```sitrep\nflag off k --reason r\n```\n\n```sitrep\nnope\n```\n";
    let p = plain(md, 40);
    assert!(p.contains("```sh\necho hi\n```"), "{p}");
    assert!(p.contains("not a valid sitrep action"), "{p}");
    let t = tui(md, 40);
    assert!(t.contains("┌─ sh ─"), "{t}");
    assert!(t.contains("│ echo hi"), "{t}");
    assert!(t.contains("▶ sitrep action"), "{t}");
    for l in t.lines() {
        assert!(str_width(l) <= 40, "{l:?} too wide");
    }
}

#[test]
fn tables_fit_the_width() {
    let md = "| Sev | Meaning | Examples |\n|---|---|---|\n| SEV1 | Critical customer impact across the board | checkout down, data loss, security breach |\n| SEV4 | Minor | cosmetic |\n";
    for w in [30, 60, 120] {
        let t = tui(md, w);
        assert!(t.contains("SEV1"), "{t}");
        assert!(t.contains("─┼─"), "{t}");
        for l in t.lines() {
            assert!(str_width(l) <= w, "{l:?} wider than {w}");
        }
    }
}

#[test]
fn table_alignment_and_quote_spacing() {
    let out = plain("| L | R |\n|:--|--:|\n| a | 1 |\n", 40);
    assert!(out.contains("a │ 1"), "{out}");
    let out = plain("| Left | Right |\n|:--|--:|\n| a | 1 |\n", 40);
    assert!(out.contains("a    │     1"), "{out}");
    let out = plain("- a\n\n> q\n> > n\n", 40);
    assert_eq!(out, "• a\n\n│ q\n│\n│ │ n\n", "{out}");
}

#[test]
fn html_is_text_and_entities_are_sanitized() {
    let out = plain(
        "<b>bold</b> &#x1b;[2J &#x9b;31m &#x202e;x\n\n<div onclick=x>\n",
        80,
    );
    assert!(out.contains("<b>bold</b>"), "{out}");
    assert!(out.contains("<div onclick=x>"), "{out}");
    assert!(
        !out.chars()
            .any(|c| c == '\u{1b}' || c == '\u{9b}' || c == '\u{202e}'),
        "{out:?}"
    );
}

#[test]
fn walk_mode_uses_progress() {
    let md = "## s\n- [ ] a\n- [ ] b\n";
    let t = Theme::default_theme();
    let opt = RenderOptions {
        width: 40,
        checked: Some(vec![false, true]),
        selected_item: Some(1),
        ..Default::default()
    };
    let out = lines_to_string(&markdown_lines(md, &t, &opt));
    assert!(out.contains("[ ] a") && out.contains("[x] b"), "{out}");
}

/// Team mode: who ticked an item follows its text, on its line only,
/// sanitized.
#[test]
fn walk_mode_names_who_ticked() {
    let md = "## s\n- [ ] a\n- [ ] b\n- [ ] c\n\nafter\n";
    let t = Theme::default_theme();
    let opt = RenderOptions {
        width: 60,
        checked: Some(vec![true, true, false]),
        ticked_by: Some(vec![
            Some("✓ dana@laptop 14:02".into()),
            Some("✓ eve\u{1b}[2J@h 14:03".into()),
            None,
        ]),
        ..Default::default()
    };
    let out = lines_to_string(&markdown_lines(md, &t, &opt));
    let line = |s: &str| out.lines().find(|l| l.contains(s)).unwrap_or_default();
    assert!(line("[x] a").ends_with("✓ dana@laptop 14:02"), "{out}");
    assert!(line("[x] b").contains("✓ eve"), "{out}");
    assert!(
        !line("[ ] c").contains('✓') && !line("after").contains('✓'),
        "{out}"
    );
    assert!(!out.contains('\u{1b}'), "{out:?}");
}

#[test]
fn defuse_only_touches_deep_lines() {
    let normal = "- a\n  - b\n> > q\n1. x\n";
    assert!(matches!(
        defuse_nesting(normal),
        std::borrow::Cow::Borrowed(_)
    ));
    let deep = format!("{}x\n- ok\n", "- ".repeat(40));
    let d = defuse_nesting(&deep);
    assert_eq!(d.matches('\\').count(), 1);
    assert_eq!(defuse_nesting(&d), d, "idempotent");
    let deep = format!("{}x\n", "1. ".repeat(40));
    assert!(defuse_nesting(&deep).contains("1\\. "));
}

#[test]
fn deep_nesting_is_capped() {
    let md = format!("{}x\n", "> ".repeat(200));
    let out = tui(&md, 60);
    assert!(out.lines().all(|l| str_width(l) <= 60), "{out}");
    let md = format!("{}x\n", "- ".repeat(200));
    let out = tui(&md, 60);
    assert!(out.lines().all(|l| str_width(l) <= 60), "{out}");
}

#[test]
fn block_markers_label_the_frame() {
    let md = "```sh on=old-primary\nsystemctl stop patroni\n```\n\n```sh run\nset -eu\n```\n\n```sh interactive\nvault login\n```\n";
    let t = tui(md, 80);
    assert!(t.contains("sh · on old-primary, not here"), "{t}");
    assert!(t.contains("sh · runnable here"), "{t}");
    assert!(t.contains("interactive: run it yourself"), "{t}");
}
