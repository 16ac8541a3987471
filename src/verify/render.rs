//! The result of `restage verify` as a table (terminal), JSON (tools) or Markdown (a PR comment).

use super::{Report, Side};

fn mb(bytes: Option<u64>) -> String {
    bytes.map_or("-".to_string(), |b| format!("{:.1} MB", b as f64 / 1e6))
}

fn secs(s: Option<f64>) -> String {
    s.map_or(String::new(), |s| format!(" ({s:.1} s)"))
}

fn build_cell(side: &Side) -> String {
    match (side.built, side.build_secs) {
        (true, s) => format!("ok{}", secs(s)),
        (false, None) => "-".to_string(),
        (false, s) => format!("FAILED{}", secs(s)),
    }
}

fn answer_cell(side: &Side) -> String {
    match &side.answer {
        None if side.built => "FAILED".to_string(),
        None => "-".to_string(),
        Some(a) => {
            let first = a.lines().next().unwrap_or_default();
            let first = if first.is_empty() && !a.is_empty() {
                "(output)"
            } else if first.is_empty() {
                "(no output)"
            } else {
                first
            };
            super::clip(first).chars().take(30).collect()
        }
    }
}

fn cache_cell(c: Option<(usize, usize)>) -> String {
    match c {
        None => "-".to_string(),
        Some((0, _)) => "no install step".to_string(),
        Some((n, k)) if k > 0 => format!("yes ({k}/{n})"),
        Some((n, _)) => format!("no (0/{n})"),
    }
}

/// One word for the outcome.
pub fn verdict(r: &Report) -> &'static str {
    match r.exit_code() {
        super::EXIT_SAME => "same",
        super::EXIT_DIFFERENT => "different",
        _ => "cannot verify",
    }
}

/// The terminal table.
pub fn table(r: &Report) -> String {
    let mut rows: Vec<(String, String, String)> = vec![
        (
            "build".into(),
            build_cell(&r.original),
            build_cell(&r.rewritten),
        ),
        (
            "size".into(),
            mb(r.original.size),
            match r.size_change_pct() {
                Some(p) => format!("{} ({p:+.0}%)", mb(r.rewritten.size)),
                None => mb(r.rewritten.size),
            },
        ),
        (
            "runs as uid".into(),
            r.original.uid.map_or("-".into(), |u| u.to_string()),
            r.rewritten.uid.map_or("-".into(), |u| u.to_string()),
        ),
        (
            format!("probe: {}", r.probe),
            answer_cell(&r.original),
            match (&r.original.answer, &r.rewritten.answer) {
                (Some(a), Some(b)) if a == b => "same".to_string(),
                _ => answer_cell(&r.rewritten),
            },
        ),
        (
            "image config".into(),
            String::new(),
            if !r.rewritten.built || r.original.config.is_null() {
                "-".into()
            } else if r.config_same {
                "same".into()
            } else {
                "DIFFERENT".into()
            },
        ),
    ];
    if let Some(edit) = &r.rebuild_edit {
        rows.push((
            format!("install cached after editing {edit}"),
            cache_cell(r.original.install_cached),
            cache_cell(r.rewritten.install_cached),
        ));
    }
    let w0 = rows
        .iter()
        .map(|r| r.0.chars().count())
        .max()
        .unwrap_or(0)
        .max(8);
    let w1 = rows
        .iter()
        .map(|r| r.1.chars().count())
        .max()
        .unwrap_or(0)
        .max(8);
    let mut out = format!(
        "restage verify: {} (context: {})\n{:w0$}  {:w1$}  {}\n",
        r.dockerfile, r.context, "", "original", "rewritten"
    );
    for (a, b, c) in &rows {
        out.push_str(format!("{a:w0$}  {b:w1$}  {c}").trim_end());
        out.push('\n');
    }
    for d in &r.differences {
        out.push_str(&format!("DIFFERENT: {d}\n"));
    }
    out.push_str(&match r.exit_code() {
        super::EXIT_SAME => "result: same behaviour\n".to_string(),
        super::EXIT_DIFFERENT => format!("result: {} difference(s)\n", r.differences.len()),
        _ => format!(
            "result: cannot verify: {}\n",
            r.cannot.as_deref().unwrap_or_default()
        ),
    });
    out
}

/// The report as pretty JSON, with the verdict and exit code.
pub fn json(r: &Report) -> String {
    let mut v = serde_json::to_value(r).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.insert("verdict".into(), verdict(r).into());
        o.insert("exit_code".into(), r.exit_code().into());
        o.insert(
            "size_change_pct".into(),
            r.size_change_pct()
                .map_or(serde_json::Value::Null, Into::into),
        );
    }
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
    s.push('\n');
    s
}

/// The one-line summary a PR comment leads with: "image −81% (926 MB → 173 MB), runs as 1000,
/// install layer cached".
pub fn summary(r: &Report) -> String {
    let mut parts = Vec::new();
    if let (Some(a), Some(b), Some(p)) = (r.original.size, r.rewritten.size, r.size_change_pct()) {
        let sign = if p < 0.0 { "\u{2212}" } else { "+" };
        parts.push(format!(
            "image {sign}{:.0}% ({:.0} MB \u{2192} {:.0} MB)",
            p.abs(),
            a as f64 / 1e6,
            b as f64 / 1e6
        ));
    }
    if let Some(uid) = r.rewritten.uid {
        parts.push(if uid == 0 {
            "runs as root".to_string()
        } else {
            format!("runs as {uid}")
        });
    }
    match r.rewritten.install_cached {
        Some((n, k)) if n > 0 && k > 0 => parts.push("install layer cached".into()),
        Some((n, _)) if n > 0 => parts.push("install layer NOT cached".into()),
        _ => {}
    }
    parts.join(", ")
}

/// The PR-comment Markdown.
pub fn markdown(r: &Report) -> String {
    let head = match r.exit_code() {
        super::EXIT_SAME => "\u{2705} **restage verify**: same behaviour",
        super::EXIT_DIFFERENT => "\u{274c} **restage verify**: the rewrite behaves differently",
        _ => "\u{26a0}\u{fe0f} **restage verify**: cannot verify",
    };
    let summary = summary(r);
    let mut out = head.to_string();
    if !summary.is_empty() {
        out.push_str(&format!(": {summary}"));
    }
    out.push_str(&format!(
        "\n\n`{}` (context `{}`)\n\n",
        r.dockerfile, r.context
    ));
    out.push_str("| | original | rewritten |\n|---|---|---|\n");
    let rows = [
        ("build", build_cell(&r.original), build_cell(&r.rewritten)),
        ("size", mb(r.original.size), mb(r.rewritten.size)),
        (
            "runs as uid",
            r.original.uid.map_or("-".into(), |u| u.to_string()),
            r.rewritten.uid.map_or("-".into(), |u| u.to_string()),
        ),
        ("probe", answer_cell(&r.original), answer_cell(&r.rewritten)),
    ];
    for (a, b, c) in rows {
        out.push_str(&format!("| {a} | {} | {} |\n", md(&b), md(&c)));
    }
    if r.rebuild_edit.is_some() {
        out.push_str(&format!(
            "| install cached after a source edit | {} | {} |\n",
            cache_cell(r.original.install_cached),
            cache_cell(r.rewritten.install_cached)
        ));
    }
    out.push_str(&format!("\nProbe: {}.\n", md(&r.probe)));
    if !r.differences.is_empty() {
        out.push_str("\nDifferences:\n\n");
        for d in &r.differences {
            out.push_str(&format!("- {}\n", md(d)));
        }
    }
    if let Some(why) = &r.cannot {
        out.push_str(&format!("\nCannot verify: {}\n", md(why)));
    }
    out
}

fn md(s: &str) -> String {
    s.replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Report {
        Report {
            dockerfile: "Dockerfile".into(),
            context: ".".into(),
            probe: "GET :3000/health".into(),
            original: Side {
                built: true,
                build_secs: Some(40.0),
                size: Some(926_000_000),
                uid: Some(0),
                answer: Some("HTTP 200\n{}".into()),
                install_cached: Some((1, 0)),
                ..Side::default()
            },
            rewritten: Side {
                built: true,
                build_secs: Some(38.0),
                size: Some(173_000_000),
                uid: Some(1000),
                answer: Some("HTTP 200\n{}".into()),
                install_cached: Some((1, 1)),
                ..Side::default()
            },
            config_same: true,
            rebuild_edit: Some("src/server.ts".into()),
            ..Report::default()
        }
    }

    #[test]
    fn summary_reads_like_a_pr_comment() {
        assert_eq!(
            summary(&sample()),
            "image \u{2212}81% (926 MB \u{2192} 173 MB), runs as 1000, install layer cached"
        );
    }

    #[test]
    fn table_and_markdown() {
        let mut r = sample();
        r.original.config = serde_json::json!({});
        assert_eq!(
            table(&r),
            "restage verify: Dockerfile (context: .)\n\
             \x20                                           original     rewritten\n\
             build                                       ok (40.0 s)  ok (38.0 s)\n\
             size                                        926.0 MB     173.0 MB (-81%)\n\
             runs as uid                                 0            1000\n\
             probe: GET :3000/health                     HTTP 200     same\n\
             image config                                             same\n\
             install cached after editing src/server.ts  no (0/1)     yes (1/1)\n\
             result: same behaviour\n"
        );
        r.differences
            .push("Cmd changed: original [\"a\"], rewritten [\"b\"]".into());
        let md = markdown(&r);
        assert!(
            md.starts_with("\u{274c} **restage verify**: the rewrite behaves differently: image")
        );
        assert!(md.contains("\nDifferences:\n\n- Cmd changed"));
        assert_eq!(r.exit_code(), 1);
        let v: serde_json::Value = serde_json::from_str(&json(&r)).expect("JSON");
        assert_eq!(
            (&v["verdict"], &v["exit_code"], &v["size_change_pct"]),
            (&"different".into(), &1.into(), &(-81.0).into())
        );
        assert_eq!(
            v["rewritten"]["install_cached"],
            serde_json::json!({"steps": 1, "cached": 1})
        );
    }
}
