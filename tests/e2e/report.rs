//! The results table: one row per case run in this process, rewritten to
//! `<target>/e2e-report.md` after every case and printed once the last selected case is done.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::harness::{Failure, loud, target_dir};
use restage::verify::engine::Engine;

#[derive(Clone, Debug)]
pub struct Row {
    pub case: String,
    /// Transform ids that fired (`None`: restage could not tell).
    pub fired: Option<Vec<String>>,
    pub changed: Option<bool>,
    pub size_mb: [Option<f64>; 2],
    pub build_secs: [Option<f64>; 2],
    pub run: String,
    pub uid: [Option<u32>; 2],
    pub cache: [String; 2],
    pub rebuild_secs: [Option<f64>; 2],
    pub total_secs: Option<f64>,
    pub failures: Vec<Failure>,
    pub skipped: Option<String>,
    /// The rewrite came from tests/e2e/reference, not from restage.
    pub reference: bool,
}

impl Row {
    pub fn new(case: &str) -> Row {
        Row {
            case: case.to_string(),
            fired: None,
            changed: None,
            size_mb: [None, None],
            build_secs: [None, None],
            run: "-".to_string(),
            uid: [None, None],
            cache: ["-".to_string(), "-".to_string()],
            rebuild_secs: [None, None],
            total_secs: None,
            failures: Vec::new(),
            skipped: None,
            reference: false,
        }
    }

    pub fn fail(&mut self, target: bool, msg: String) {
        self.failures.push(Failure { target, msg });
    }

    pub fn result(&self) -> String {
        if let Some(why) = &self.skipped {
            return format!("SKIPPED ({why})");
        }
        let hard = self.failures.iter().filter(|f| !f.target).count();
        let targets = self.failures.len() - hard;
        match (hard, targets) {
            (0, 0) => "pass".to_string(),
            (0, t) => format!("targets missed: {t}"),
            (h, 0) => format!("FAIL: {h}"),
            (h, t) => format!("FAIL: {h}, targets missed: {t}"),
        }
    }

    fn cells(&self) -> Vec<String> {
        let mb = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.1}"));
        let secs = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.1}"));
        let uid = |v: Option<u32>| v.map_or("-".to_string(), |v| v.to_string());
        let reduction = match self.size_mb {
            [Some(a), Some(b)] if a > 0.0 => {
                // Rounded first so that a few bytes of difference print as 0%, not -0%.
                let pct = ((a - b) / a * 100.0).round() + 0.0;
                format!("{pct:.0}%")
            }
            _ => "-".to_string(),
        };
        let fired = match &self.fired {
            None if self.reference => "(reference rewrite)".to_string(),
            None => "?".to_string(),
            Some(ids) if ids.is_empty() => "none".to_string(),
            Some(ids) => ids.join(", "),
        };
        let changed = match self.changed {
            None => "-",
            Some(true) => "yes",
            Some(false) => "no",
        };
        vec![
            self.case.clone(),
            self.result(),
            fired,
            changed.to_string(),
            mb(self.size_mb[0]),
            mb(self.size_mb[1]),
            reduction,
            format!(
                "{} / {}",
                secs(self.build_secs[0]),
                secs(self.build_secs[1])
            ),
            self.run.clone(),
            format!("{} / {}", uid(self.uid[0]), uid(self.uid[1])),
            format!("{} / {}", self.cache[0], self.cache[1]),
            format!(
                "{} / {}",
                secs(self.rebuild_secs[0]),
                secs(self.rebuild_secs[1])
            ),
            secs(self.total_secs),
        ]
    }
}

const HEADER: &[&str] = &[
    "case",
    "result",
    "transforms fired",
    "changed",
    "orig MB",
    "rewritten MB",
    "reduction",
    "build s orig / rewr",
    "run",
    "uid orig / rewr",
    "install cached orig / rewr",
    "rebuild s orig / rewr",
    "case s",
];

/// Rows per report file name (`e2e-report.md`, `realprojects-report.md`).
static ROWS: Mutex<BTreeMap<String, BTreeMap<String, Row>>> = Mutex::new(BTreeMap::new());

/// The report of the fixture cases.
pub const E2E_REPORT: &str = "e2e-report.md";

pub fn record(engine: &Engine, row: Row, selection: &[String]) {
    record_in(E2E_REPORT, engine, row, selection);
}

pub fn record_skip(case: &str, why: &str, selection: &[String]) {
    let line = format!("SKIPPED: no Docker engine ({why})");
    record_skip_in(E2E_REPORT, case, why, &line, selection);
}

/// Records a row in the report `file` (under the target directory).
pub fn record_in(file: &str, engine: &Engine, row: Row, selection: &[String]) {
    let version = format!(
        "Docker engine {} via `{}`",
        engine.server_version, engine.bin
    );
    store(file, row, selection, &version);
}

/// Records a case that did not run, with the reason, in the report `file`.
pub fn record_skip_in(file: &str, case: &str, why: &str, line: &str, selection: &[String]) {
    let mut row = Row::new(case);
    row.skipped = Some(why.to_string());
    store(file, row, selection, line);
}

fn store(file: &str, row: Row, selection: &[String], engine_line: &str) {
    let mut all = ROWS.lock().unwrap_or_else(|e| e.into_inner());
    let rows = all.entry(file.to_string()).or_default();
    rows.insert(row.case.clone(), row);
    let text = render(rows, selection, engine_line);
    let path = target_dir().join(file);
    let _ = std::fs::create_dir_all(target_dir());
    if let Err(e) = std::fs::write(&path, &text) {
        loud(&format!("[e2e] could not write {}: {e}", path.display()));
    }
    if selection.iter().all(|c| rows.contains_key(c)) {
        loud(&format!(
            "\n{text}\n[e2e] report written to {}",
            path.display()
        ));
    }
}

fn render(rows: &BTreeMap<String, Row>, selection: &[String], engine_line: &str) -> String {
    let mut out = String::from("# restage real-engine e2e report\n\n");
    out.push_str(&format!(
        "{engine_line}. Cases run in this invocation: {} of {} selected.\n",
        rows.len(),
        selection.len()
    ));
    let initial = if std::env::var("RESTAGE_E2E_CACHE").is_ok_and(|v| v == "1") {
        "with the build cache (RESTAGE_E2E_CACHE=1)"
    } else {
        "with --no-cache"
    };
    out.push_str(&format!(
        "First builds {initial}; rebuilds after appending a comment to the spec's `edit` file use the cache.\n\
         \"install cached\" is whether a RUN step containing the spec's `cache_step` was CACHED in that rebuild.\n\n"
    ));
    if std::env::var("RESTAGE_E2E_REFERENCE").is_ok_and(|v| v == "1") {
        out.push_str(
            "RESTAGE_E2E_REFERENCE=1: the rewritten Dockerfiles are the hand-written ones in \
             tests/e2e/reference/, not restage's output.\n\n",
        );
    }
    out.push_str(&format!("| {} |\n", HEADER.join(" | ")));
    out.push_str(&format!("|{}\n", "---|".repeat(HEADER.len())));
    for row in rows.values() {
        out.push_str(&format!("| {} |\n", row.cells().join(" | ")));
    }
    let failing: Vec<&Row> = rows.values().filter(|r| !r.failures.is_empty()).collect();
    if !failing.is_empty() {
        out.push_str("\n## Failures\n");
        for row in failing {
            out.push_str(&format!("\n### {}\n\n", row.case));
            for f in &row.failures {
                let kind = if f.target { "target" } else { "invariant" };
                out.push_str(&format!("- [{kind}] {}\n", f.msg.replace('\n', " ")));
            }
        }
    }
    out
}
