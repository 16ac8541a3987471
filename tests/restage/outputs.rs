//! The output formats, the CI gates and how the binary ends: each case pins the whole stdout,
//! stderr and exit code.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::common::write_file as write;

/// What one run of the binary printed and returned.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn restage_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_restage"));
    cmd.args(args)
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .env_remove("CI")
        .env_remove("RESTAGE_TEST_PANIC");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("the restage binary runs");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).expect("UTF-8 stdout"),
        stderr: String::from_utf8(out.stderr).expect("UTF-8 stderr"),
    }
}

fn restage(dir: &Path, args: &[&str]) -> Run {
    restage_env(dir, args, &[])
}

/// A Node app's manifests (package.json with a start script, a lock file) in `dir` of `t`.
fn node_manifests(t: &Path, dir: &str) {
    write(
        t,
        &format!("{dir}package.json"),
        "{\"name\": \"a\", \"scripts\": {\"start\": \"node server.js\"}}\n",
    );
    write(
        t,
        &format!("{dir}package-lock.json"),
        "{\"lockfileVersion\": 3}\n",
    );
}

/// A small repository with one file of each kind: applied changes (`app`), a suggestion and an
/// applied change (`odd`), a pending unsafe fix (`root`), a suggestion only (`sugg`), an
/// unchanged file with a warning (`ok`) and an invalid file (`bad`).
fn tree() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    let t = tmp.path();
    write(
        t,
        "app/Dockerfile",
        "FROM node:20-slim\nWORKDIR /app\nCOPY . .\nRUN npm ci\nCMD node server.js\n",
    );
    node_manifests(t, "app/");
    write(t, "app/server.js", "x\n");
    write(
        t,
        "odd/Dockerfile",
        "FROM example.com/custom/base:1\nCOPY app /app\nCMD /app/run --port 80\n",
    );
    write(
        t,
        "root/Dockerfile",
        "FROM node:20-slim\nWORKDIR /app\nCOPY . .\nUSER root\nCMD [\"node\", \"s.js\"]\n",
    );
    write(
        t,
        "sugg/Dockerfile",
        "FROM example.com/custom/base:1\nCMD [\"/app/run\"]\n",
    );
    write(
        t,
        "ok/Dockerfile",
        "FROM node:20-slim\nUSER node\n# restage: ignore=exec-form\nCMD [\"node\", \"s.js\"]\n",
    );
    write(t, "bad/Dockerfile", "FROM alpine:3\nFRM x\n");
    tmp
}

/// The whole of a run, for a snapshot.
fn whole(run: &Run) -> String {
    format!(
        "exit: {:?}\n--- stdout\n{}--- stderr\n{}",
        run.code, run.stdout, run.stderr
    )
}

#[test]
fn text_is_the_diff_on_stdout_and_notes_on_stderr() {
    let tmp = tree();
    let run = restage(tmp.path(), &[]);
    insta::assert_snapshot!("text", whole(&run));
}

#[test]
fn json_document() {
    let tmp = tree();
    let run = restage(tmp.path(), &["--output-format", "json"]);
    assert_eq!(run.stderr, "");
    assert_eq!(run.code, Some(2));
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("one JSON document");
    assert_eq!(doc["version"], 1);
    insta::assert_snapshot!("json", run.stdout);
}

#[test]
fn json_with_write_reports_what_was_written() {
    let tmp = tree();
    let run = restage(tmp.path(), &["--output-format", "json", "--write", "odd"]);
    assert_eq!(run.stderr, "");
    assert_eq!(run.code, Some(0));
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("one JSON document");
    assert_eq!(doc["files"][0]["status"], "changed");
    assert_eq!(doc["summary"]["applied"], 1);
    assert_eq!(doc["summary"]["suggestions"], 1);
    let text = std::fs::read_to_string(tmp.path().join("odd/Dockerfile")).expect("read");
    assert_eq!(
        text,
        "FROM example.com/custom/base:1\nCOPY app /app\nCMD [\"/app/run\", \"--port\", \"80\"]\n"
    );
}

/// The SARIF document with each rule's help (the transform's whole documentation) checked
/// against the registry and left out of the snapshot.
fn sarif(dir: &Path, args: &[&str]) -> (Run, serde_json::Value) {
    let mut all = vec!["--output-format", "sarif"];
    all.extend_from_slice(args);
    let run = restage(dir, &all);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("one JSON document");
    (run, doc)
}

#[test]
fn sarif_document() {
    let tmp = tree();
    let (run, mut doc) = sarif(tmp.path(), &[]);
    assert_eq!(run.stderr, "");
    assert_eq!(run.code, Some(2));
    let rules = doc["runs"][0]["tool"]["driver"]["rules"]
        .as_array_mut()
        .expect("rules");
    let ids: Vec<&str> = restage::transforms::registry()
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(rules.len(), ids.len());
    for (rule, id) in rules.iter_mut().zip(ids) {
        assert_eq!(rule["id"], id);
        let doc = restage::transforms::find(id).expect("a transform").doc;
        assert_eq!(rule["help"]["text"], doc);
        assert_eq!(rule["help"]["markdown"], doc);
        rule["help"] = serde_json::json!("(transforms/ID.md)");
        rule["fullDescription"] = serde_json::json!("(summary and confidence)");
    }
    doc["runs"][0]["tool"]["driver"]["version"] = serde_json::json!("(version)");
    insta::assert_snapshot!(
        "sarif",
        serde_json::to_string_pretty(&doc).expect("serialize")
    );
}

/// `text` with the SARIF `replacements` made (regions in lines and code-point columns; line 1
/// starts after a BOM). Panics when two of them overlap.
fn apply_replacements(text: &str, replacements: &[&serde_json::Value]) -> String {
    let bom = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let mut starts = vec![bom];
    starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
    let offset = |line: u64, column: u64| -> usize {
        let Some(&start) = starts.get(line as usize - 1) else {
            return text.len();
        };
        let rest = &text[start..];
        start
            + rest
                .char_indices()
                .nth(column as usize - 1)
                .map_or(rest.len(), |(i, _)| i)
    };
    let mut spans: Vec<(usize, usize, &str)> = replacements
        .iter()
        .map(|r| {
            let d = &r["deletedRegion"];
            let n = |k: &str| d[k].as_u64().expect("a number");
            (
                offset(n("startLine"), n("startColumn")),
                offset(n("endLine"), n("endColumn")),
                r["insertedContent"]["text"].as_str().expect("text"),
            )
        })
        .collect();
    spans.sort();
    spans.dedup();
    for w in spans.windows(2) {
        assert!(w[0].1 <= w[1].0, "overlapping replacements: {w:?}");
    }
    let mut out = text.to_string();
    for (a, b, new) in spans.into_iter().rev() {
        out.replace_range(a..b, new);
    }
    out
}

#[test]
fn sarif_fixes_hold_each_changes_edits_and_together_give_the_rewrite() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let t = tmp.path();
    let manifests = |dir: &str| {
        node_manifests(t, &format!("{dir}/"));
        write(t, &format!("{dir}/server.js"), "x\n");
    };
    // copy-order alone: its fix rewrites line 3 and inserts after line 4.
    manifests("order");
    write(
        t,
        "order/Dockerfile",
        "FROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm install\nCMD [\"node\",\"server.js\"]\n",
    );
    // Every transform at once, in three spellings of the same file.
    let naive =
        "FROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm install\nEXPOSE 8080\nCMD npm start\n";
    for (dir, text) in [
        ("lf", naive.to_string()),
        ("crlf", naive.replace('\n', "\r\n")),
        ("bom", format!("\u{feff}{naive}")),
        ("nonl", naive.trim_end().to_string()),
    ] {
        manifests(dir);
        write(t, &format!("{dir}/Dockerfile"), &text);
    }
    let originals: Vec<(String, String)> = ["order", "lf", "crlf", "bom", "nonl"]
        .iter()
        .map(|d| {
            let path = format!("{d}/Dockerfile");
            let text = std::fs::read_to_string(t.join(&path)).expect("read");
            (path, text)
        })
        .collect();
    let (_, doc) = sarif(t, &["--unsafe-fixes"]);
    let results = doc["runs"][0]["results"].as_array().expect("results");
    let written = restage(t, &["--unsafe-fixes", "--write", "-q"]);
    assert_eq!(written.code, Some(0), "{}", written.stderr);
    for (path, original) in &originals {
        let mine: Vec<&serde_json::Value> = results
            .iter()
            .filter(|r| {
                r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == path.as_str()
            })
            .collect();
        let mut all: Vec<&serde_json::Value> = Vec::new();
        for r in &mine {
            let fix = r["fixes"][0]["artifactChanges"][0]["replacements"]
                .as_array()
                .unwrap_or_else(|| panic!("{path}: an applied change without a fix: {r}"));
            // Each fix applies on its own.
            let alone: Vec<&serde_json::Value> = fix.iter().collect();
            apply_replacements(original, &alone);
            all.extend(alone);
        }
        let rewritten = std::fs::read_to_string(t.join(path)).expect("read");
        assert_ne!(&rewritten, original, "{path}: nothing was rewritten");
        assert_eq!(
            apply_replacements(original, &all),
            rewritten,
            "{path}: the fixes together are not the rewrite"
        );
    }
    // copy-order's own fix: `COPY . .` (line 3) becomes the manifests, and comes back after the
    // install (before line 5). (With every transform, the runtime stage is inserted at the same
    // place: that replacement then holds both.)
    std::fs::write(t.join("order/Dockerfile"), &originals[0].1).expect("write");
    let (_, doc) = sarif(t, &["--select", "copy-order", "order"]);
    let order = doc["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|r| {
            r["ruleId"] == "copy-order"
                && r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                    == "order/Dockerfile"
        })
        .expect("copy-order's result");
    let fix = &order["fixes"][0]["artifactChanges"][0]["replacements"];
    assert_eq!(
        serde_json::to_string(fix).expect("serialize"),
        r#"[{"deletedRegion":{"endColumn":1,"endLine":4,"startColumn":1,"startLine":3},"insertedContent":{"text":"COPY package.json package-lock.json ./\n"}},{"deletedRegion":{"endColumn":1,"endLine":5,"startColumn":1,"startLine":5},"insertedContent":{"text":"COPY . .\n"}}]"#
    );
}

/// The changes of a JSON run: (id, line, reason) of each.
fn json_changes(dir: &Path, args: &[&str]) -> Vec<(String, u64, String)> {
    let mut all = vec!["--output-format", "json"];
    all.extend_from_slice(args);
    let run = restage(dir, &all);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("one JSON document");
    doc["files"]
        .as_array()
        .expect("files")
        .iter()
        .flat_map(|f| f["changes"].as_array().expect("changes").clone())
        .map(|c| {
            (
                c["id"].as_str().expect("id").to_string(),
                c["line"].as_u64().expect("line"),
                c["reason"].as_str().expect("reason").to_string(),
            )
        })
        .collect()
}

#[test]
fn positions_are_the_file_as_read_when_a_transform_meets_anothers_text() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let t = tmp.path();
    node_manifests(t, "");
    // copy-order moves `COPY . .` below the install, above line 5; non-root-user's USER goes
    // after that COPY, which is not the file's line 5 (the CMD).
    write(
        t,
        "Dockerfile",
        "FROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm install\nCMD [\"node\",\"server.js\"]\n",
    );
    let changes = json_changes(t, &["--select", "copy-order,non-root-user"]);
    let (_, _, reason) = changes
        .iter()
        .find(|(id, _, _)| id == "non-root-user")
        .expect("non-root-user's change");
    assert!(
        reason.contains("goes after the COPY at the line restage adds above line 5,"),
        "{reason}"
    );
    // Without a final newline, the runtime stage multi-stage writes ends the file with one; the
    // CMD exec-form rewrites is still the file's line 6, not the EXPOSE above it.
    write(
        t,
        "Dockerfile",
        "FROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm install\nEXPOSE 8080\nCMD npm start",
    );
    let changes = json_changes(t, &["--select", "multi-stage,exec-form"]);
    let lines: Vec<(&str, u64)> = changes.iter().map(|(id, l, _)| (id.as_str(), *l)).collect();
    assert_eq!(lines, [("multi-stage", 1), ("exec-form", 6)]);
    // multi-stage takes the ENTRYPOINT out with the lines around it and writes it back below
    // the runtime stage's FROM: non-root-user names it by its line as read, as the diff shows
    // it (unchanged), not as a line restage adds.
    write(t, "docker-entrypoint.sh", "#!/bin/sh\nexec \"$@\"\n");
    let non_root_suggestion = |text: &str| {
        write(t, "Dockerfile", text);
        let changes = json_changes(
            t,
            &["--select", "multi-stage,non-root-user", "--unsafe-fixes"],
        );
        let (_, line, reason) = changes
            .into_iter()
            .find(|(id, _, _)| id == "non-root-user")
            .expect("non-root-user's suggestion");
        (line, reason)
    };
    let (line, reason) = non_root_suggestion(
        "FROM node:20\nWORKDIR /usr/src/app\nCOPY package.json package-lock.json ./\nRUN npm ci --omit=dev\nCOPY . .\n\nEXPOSE 3000\nRUN chmod +x docker-entrypoint.sh\nENTRYPOINT [\"./docker-entrypoint.sh\"]\n\n\nCMD [\"npm\", \"start\"]\n",
    );
    assert!(reason.contains("the ENTRYPOINT (line 9) runs"), "{reason}");
    assert_eq!(line, 12, "the CMD, as read");
    // The same when the ENTRYPOINT is the file's last line, without a line ending: moved with
    // one added, it is still the user's line 8.
    let (line, reason) = non_root_suggestion(
        "FROM node:20\nWORKDIR /usr/src/app\nCOPY package.json package-lock.json ./\nRUN npm ci --omit=dev\nCOPY . .\n\nRUN chmod +x docker-entrypoint.sh\nENTRYPOINT [\"./docker-entrypoint.sh\"]",
    );
    assert!(reason.contains("the ENTRYPOINT (line 8) runs"), "{reason}");
    assert_eq!(line, 8, "the ENTRYPOINT, as read");
    // A change made to an instruction another transform moved is reported at its line as read:
    // exec-form rewrites the CMD multi-stage moves below the LABEL (line 12) into the runtime
    // stage; the CMD is line 9.
    write(
        t,
        "Dockerfile",
        "FROM node:20\nWORKDIR /usr/src/app\nCOPY package.json package-lock.json ./\nRUN npm ci --omit=dev\nCOPY . .\n\nEXPOSE 3000\nRUN chmod +x docker-entrypoint.sh\nCMD npm start\n\n\nLABEL a=b\n",
    );
    let changes = json_changes(t, &["--select", "multi-stage,exec-form", "--unsafe-fixes"]);
    let lines: Vec<(&str, u64)> = changes.iter().map(|(id, l, _)| (id.as_str(), *l)).collect();
    assert_eq!(lines, [("multi-stage", 1), ("exec-form", 9)]);
}

#[test]
fn sarif_notifications_count_columns_in_code_points() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let t = tmp.path();
    // A line ending in an escaped escape character, which restage does not handle, after three
    // two-byte characters: byte column 25, code point 22.
    write(
        t,
        "a.Dockerfile",
        "FROM alpine:3.20\nENV A=\"ééé\" B=1 C foo\\\\\n",
    );
    let (_, doc) = sarif(t, &[]);
    let json = restage(t, &["--output-format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&json.stdout).expect("one JSON document");
    let notes = doc["runs"][0]["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .expect("notifications");
    let at = |uri: &str| {
        notes
            .iter()
            .filter(|n| n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == uri)
            .map(|n| {
                let r = &n["locations"][0]["physicalLocation"]["region"];
                (r["startLine"].as_u64(), r["startColumn"].as_u64())
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(at("a.Dockerfile"), [(Some(2), Some(22))], "{notes:?}");
    assert_eq!(json["files"][0]["error"]["column"], 25, "JSON counts bytes");
}

#[test]
fn a_change_made_after_the_last_line_is_reported_on_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let t = tmp.path();
    node_manifests(t, "");
    // The comment after the CMD stays where it is, so the runtime stage, and the USER
    // non-root-user adds to it, are written after the file's last line (line 6): a line 7
    // would be a line the file does not have. Its end, just past the last line's terminator, is
    // the start of the line after, as every instruction's end is.
    for (eol, column) in [("\n", 11), ("\r\n", 11)] {
        let text = ["FROM node:20", "WORKDIR /app", "COPY . .", "RUN npm ci"]
            .iter()
            .chain(&["CMD [\"node\",\"server.js\"]", "# trailing", ""])
            .copied()
            .collect::<Vec<_>>()
            .join(eol);
        write(t, "Dockerfile", &text);
        let run = restage(t, &["--output-format", "json"]);
        let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("one JSON document");
        let changes = doc["files"][0]["changes"]
            .as_array()
            .expect("changes")
            .clone();
        let user = changes
            .iter()
            .find(|c| c["id"] == "non-root-user")
            .expect("non-root-user's change");
        let at = |k: &str| user[k].as_u64().expect(k);
        assert_eq!(
            (at("line"), at("column"), at("end_line"), at("end_column")),
            (6, column, 7, 1),
            "{eol:?}: {user}"
        );
        for c in &changes {
            assert!(c["line"].as_u64().expect("line") <= 6, "{eol:?}: {c}");
        }
    }
}

/// The official SARIF 2.1.0 schema, from the npm package `@microsoft/jest-sarif`, or why not.
fn sarif_schema(dir: &Path) -> Result<std::path::PathBuf, String> {
    let pack = Command::new("npm")
        .args(["pack", "--silent", "@microsoft/jest-sarif@1.0.0-beta.0"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("npm: {e}"))?;
    if !pack.status.success() {
        return Err(format!(
            "npm pack failed: {}",
            String::from_utf8_lossy(&pack.stderr)
        ));
    }
    let tarball = String::from_utf8_lossy(&pack.stdout).trim().to_string();
    let tar = Command::new("tar")
        .args([
            "xzf",
            &tarball,
            "package/lib/schemas/sarif-2.1.0-rtm.5.json",
        ])
        .current_dir(dir)
        .status()
        .map_err(|e| format!("tar: {e}"))?;
    if !tar.success() {
        return Err(format!("tar could not extract the schema from {tarball}"));
    }
    Ok(dir.join("package/lib/schemas/sarif-2.1.0-rtm.5.json"))
}

/// Validates `doc` against `schema` with python3's jsonschema: Ok(errors) or why it cannot.
fn validate(schema: &Path, doc: &Path) -> Result<String, String> {
    let script = "import json, sys, jsonschema\n\
        schema = json.load(open(sys.argv[1]))\n\
        doc = json.load(open(sys.argv[2]))\n\
        v = jsonschema.validators.validator_for(schema)(schema)\n\
        errors = sorted(v.iter_errors(doc), key=lambda e: list(e.path))\n\
        print(''.join('%s: %s\\n' % (list(e.path), e.message) for e in errors), end='')\n";
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(schema)
        .arg(doc)
        .output()
        .map_err(|e| format!("python3: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "python3 jsonschema: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn sarif_validates_against_the_official_schema() {
    let tmp = tree();
    let (_, doc) = sarif(tmp.path(), &[]);
    let (_, unsafe_doc) = sarif(tmp.path(), &["--unsafe-fixes"]);
    let work = tempfile::tempdir().expect("tempdir");
    let schema = match sarif_schema(work.path()) {
        Ok(p) => p,
        Err(why) => {
            let message = format!("SKIPPED: SARIF schema validation: {why}");
            eprintln!("\n{message}\n");
            assert!(
                std::env::var_os("RESTAGE_SARIF_SCHEMA_REQUIRE").is_none_or(|v| v != "1"),
                "{message}"
            );
            return;
        }
    };
    let mut broken = doc.clone();
    broken["runs"][0]["results"][0]["level"] = serde_json::json!("loud");
    for (name, d, valid) in [
        ("restage.sarif", &doc, true),
        ("unsafe.sarif", &unsafe_doc, true),
        ("broken.sarif", &broken, false),
    ] {
        let path = work.path().join(name);
        std::fs::write(&path, serde_json::to_string(d).expect("serialize")).expect("write");
        match validate(&schema, &path) {
            Ok(errors) => assert_eq!(errors.is_empty(), valid, "{name}: {errors}"),
            Err(why) => {
                let message = format!("SKIPPED: SARIF schema validation: {why}");
                eprintln!("\n{message}\n");
                assert!(
                    std::env::var_os("RESTAGE_SARIF_SCHEMA_REQUIRE").is_none_or(|v| v != "1"),
                    "{message}"
                );
                return;
            }
        }
    }
}

#[test]
fn github_annotations() {
    let tmp = tree();
    let run = restage(tmp.path(), &["--output-format", "github"]);
    insta::assert_snapshot!("github", whole(&run));
}

#[test]
fn gitlab_code_quality() {
    let tmp = tree();
    let run = restage(tmp.path(), &["--output-format", "gitlab"]);
    assert_eq!(run.stderr, "");
    insta::assert_snapshot!("gitlab", run.stdout);
}

fn fingerprints(run: &Run) -> Vec<(String, String)> {
    let issues: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    let mut out: Vec<(String, String)> = issues
        .as_array()
        .expect("an array")
        .iter()
        .map(|i| {
            (
                i["check_name"].as_str().expect("check_name").to_string(),
                i["fingerprint"].as_str().expect("fingerprint").to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn gitlab_fingerprints_are_unique_and_survive_lines_added_above() {
    let tmp = tree();
    let before = fingerprints(&restage(tmp.path(), &["--output-format", "gitlab", "odd"]));
    let mut unique: Vec<&String> = before.iter().map(|(_, f)| f).collect();
    unique.dedup();
    assert_eq!(unique.len(), before.len());
    write(
        tmp.path(),
        "odd/Dockerfile",
        "# The service image.\n\nFROM example.com/custom/base:1\nCOPY app /app\nCMD /app/run --port 80\n",
    );
    let after = fingerprints(&restage(tmp.path(), &["--output-format", "gitlab", "odd"]));
    assert_eq!(before, after);
    write(
        tmp.path(),
        "odd/Dockerfile",
        "FROM example.com/custom/base:1\nCOPY app /app\nCMD /app/run --port 8080\n",
    );
    let changed = fingerprints(&restage(tmp.path(), &["--output-format", "gitlab", "odd"]));
    assert_ne!(before, changed);
}

#[test]
fn markdown_comment() {
    let tmp = tree();
    let run = restage(tmp.path(), &["--output-format", "markdown"]);
    insta::assert_snapshot!("markdown", whole(&run));
}

#[test]
fn statistics_and_show_fixes_follow_the_summary() {
    let tmp = tree();
    let run = restage(
        tmp.path(),
        &["-q", "--statistics", "--show-fixes", "app", "odd", "root"],
    );
    insta::assert_snapshot!("statistics-show-fixes", whole(&run));
    let none = restage(tmp.path(), &["--statistics", "--show-fixes", "ok"]);
    insta::assert_snapshot!("statistics-show-fixes-none", whole(&none));
}

#[test]
fn fail_levels_and_exit_zero() {
    let tmp = tree();
    let t = tmp.path();
    let code = |args: &[&str]| restage(t, args).code;
    // `root` has only an unsafe fix not applied, `sugg` only a suggestion, `app` safe changes.
    let table: &[(&[&str], Option<i32>)] = &[
        (&["--check", "root"], Some(0)),
        (&["--check", "--fail-level", "safe", "root"], Some(0)),
        (&["--check", "--fail-level", "unsafe", "root"], Some(1)),
        (&["--check", "--fail-level", "suggestion", "root"], Some(1)),
        (&["--check", "--fail-level", "unsafe", "sugg"], Some(0)),
        (&["--check", "--fail-level", "suggestion", "sugg"], Some(1)),
        (&["--check", "--fail-level", "suggestion", "ok"], Some(0)),
        (&["--check", "app"], Some(1)),
        (&["--check", "--exit-zero", "app"], Some(0)),
        (
            &[
                "--check",
                "--exit-zero",
                "--fail-level",
                "suggestion",
                "sugg",
            ],
            Some(0),
        ),
        (&["--check", "--exit-zero", "bad"], Some(2)),
        (&["--exit-zero", "bad"], Some(2)),
        (&["app"], Some(0)),
        (&["--check", "--output-format", "json", "app"], Some(1)),
    ];
    for (args, want) in table {
        assert_eq!(code(args), *want, "restage {}", args.join(" "));
    }
    let run = restage(t, &["--fail-level", "unsafe", "root"]);
    assert_eq!(run.code, Some(2));
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr
            .starts_with("error: the following required arguments were not provided:\n  --check\n"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_full_disk_is_an_error() {
    if !Path::new("/dev/full").exists() {
        eprintln!("SKIPPED: no /dev/full");
        return;
    }
    let tmp = tree();
    for (args, what) in [
        (&["app"][..], "the diff"),
        (&["--output-format", "json", "app"][..], "json"),
        (&["list"][..], "list"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_restage"))
            .args(args)
            .current_dir(tmp.path())
            .stdout(std::fs::File::create("/dev/full").expect("open /dev/full"))
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(2), "{what}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr.lines().last().unwrap_or("");
        assert_eq!(
            last, "restage: error: writing to stdout: No space left on device (os error 28)",
            "{what}: {stderr}"
        );
    }
}

/// Runs restage with a stdout pipe whose reader is already closed.
fn with_closed_stdout(dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` is a valid array of two descriptors for pipe(2) to fill.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: the read end is ours and used nowhere else.
    unsafe { libc::close(fds[0]) };
    // SAFETY: the write end is an open descriptor owned by nothing else.
    let writer = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fds[1]) };
    let out = Command::new(env!("CARGO_BIN_EXE_restage"))
        .args(args)
        .current_dir(dir)
        .stdout(writer)
        .output()
        .expect("runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_closed_pipe_ends_the_output_quietly_with_the_runs_exit_code() {
    let tmp = tree();
    assert_eq!(
        with_closed_stdout(tmp.path(), &["app"]),
        (Some(0), String::new())
    );
    assert_eq!(
        with_closed_stdout(tmp.path(), &["--check", "app"]),
        (Some(1), String::new())
    );
    assert_eq!(
        with_closed_stdout(tmp.path(), &["list"]),
        (Some(0), String::new())
    );
}

/// Replaces `src/run.rs:LINE:COLUMN` with `src/run.rs:_:_`, so the snapshot survives edits.
fn without_line(s: &str) -> String {
    let re = regex::Regex::new(r"(src/[a-z_/]+\.rs):\d+:\d+").expect("a regex");
    re.replace_all(s, "$1:_:_").into_owned()
}

#[test]
fn panics_are_reported_with_their_place() {
    let tmp = tree();
    let file = restage_env(tmp.path(), &["ok"], &[("RESTAGE_TEST_PANIC", "file")]);
    let run = restage_env(tmp.path(), &["ok"], &[("RESTAGE_TEST_PANIC", "run")]);
    let worker = restage_env(tmp.path(), &["ok"], &[("RESTAGE_TEST_PANIC", "worker")]);
    insta::assert_snapshot!(
        "panics",
        without_line(&format!(
            "inside a file:\n{}\noutside:\n{}\non a worker thread, outside a file:\n{}",
            whole(&file),
            whole(&run),
            whole(&worker)
        ))
    );
}

/// A tree of `n` unchanged Dockerfiles.
fn many(n: usize) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    for i in 0..n {
        write(
            tmp.path(),
            &format!("s{i:03}/Dockerfile"),
            "FROM node:20-slim\nUSER node\nCMD [\"node\", \"s.js\"]\n",
        );
    }
    tmp
}

/// The bar shows at once in these tests (debug builds read the delay from the environment).
const NO_DELAY: (&str, &str) = ("RESTAGE_TEST_PROGRESS_DELAY_MS", "0");

#[test]
fn no_progress_bar_when_stderr_is_not_a_terminal() {
    let tmp = many(20);
    let run = restage_env(tmp.path(), &["-j1"], &[NO_DELAY]);
    assert_eq!(
        whole(&run),
        "exit: Some(0)\n--- stdout\n--- stderr\nrestage: 20 files: 0 would change, 20 unchanged\n"
    );
}

/// What restage prints on a terminal (`script` gives it one), or None without `script`.
fn on_a_terminal(dir: &Path, args: &str, env: &[(&str, &str)]) -> Option<String> {
    let bin = env!("CARGO_BIN_EXE_restage");
    let mut cmd = Command::new("script");
    cmd.args(["-qec", &format!("{bin} {args}"), "/dev/null"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .env_remove("CI")
        .env("TERM", "xterm");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().ok()?;
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn progress_bar_only_on_a_terminal_outside_ci_without_quiet_in_text() {
    let tmp = many(20);
    let Some(shown) = on_a_terminal(tmp.path(), "-j1", &[NO_DELAY]) else {
        eprintln!("SKIPPED: no `script` to run restage on a terminal");
        return;
    };
    assert!(shown.contains("/20 files"), "{shown:?}");
    for (args, env) in [
        ("-j1", &[NO_DELAY, ("CI", "true")][..]),
        ("-j1 -q", &[NO_DELAY][..]),
        ("-j1 --output-format json", &[NO_DELAY][..]),
    ] {
        let out = on_a_terminal(tmp.path(), args, env).expect("script ran before");
        assert!(!out.contains("files "), "restage {args} {env:?}: {out:?}");
    }
}

#[test]
fn output_format_setting_in_restage_toml_and_the_command_line_wins() {
    let plain = tree();
    let text = restage(plain.path(), &[]);
    let tmp = tree();
    write(tmp.path(), "restage.toml", "output-format = \"github\"\n");
    let from_file = restage(tmp.path(), &[]);
    let from_flag = restage(tmp.path(), &["--output-format", "github"]);
    assert!(from_file.stdout.starts_with("::"), "{}", from_file.stdout);
    assert_eq!(whole(&from_file), whole(&from_flag));
    // The flag wins over the file, and `text` is the default without either.
    let flag_text = restage(tmp.path(), &["--output-format", "text"]);
    assert_eq!(whole(&flag_text), whole(&text));
    // `--no-config` ignores the setting with the rest of the file.
    let no_config = restage(tmp.path(), &["--no-config"]);
    assert_eq!(whole(&no_config), whole(&text));
    // From a subdirectory, the file above still applies to the run.
    let sub = restage(&tmp.path().join("app"), &[]);
    assert!(sub.stdout.starts_with("::"), "{}", sub.stdout);
}

#[test]
fn output_format_setting_errors_name_the_place() {
    let tmp = tree();
    write(tmp.path(), "restage.toml", "output-format = \"xml\"\n");
    let bad_value = restage(tmp.path(), &["app/Dockerfile"]);
    write(
        tmp.path(),
        "restage.toml",
        "[[overrides]]\npaths = [\"app\"]\noutput-format = \"json\"\n",
    );
    let in_override = restage(tmp.path(), &["app/Dockerfile"]);
    insta::assert_snapshot!(
        "output_format_setting_errors",
        format!(
            "{}\n=== in an override\n{}",
            whole(&bad_value),
            whole(&in_override)
        )
    );
}
