//! The real-engine proof tier. Each directory under `fixtures/e2e/` is a small realistic app with a
//! naive Dockerfile and an `e2e.toml` spec. For each case the harness lets restage rewrite a copy,
//! builds the original and the rewritten Dockerfile with a real Docker engine (BuildKit), runs
//! both, and checks that they answer the same, keep the same visible configuration, and reach the
//! spec's targets (smaller, non-root, dependency install reused after a source edit).
//!
//! `cargo test --test e2e` runs every case, one at a time. Knobs:
//! - `RESTAGE_E2E_CASES=node-ts-npm,go-http`: run a subset (the others pass without running).
//! - `RESTAGE_DOCKER` (default `docker`): the client; BuildKit is forced with `DOCKER_BUILDKIT=1`.
//! - `RESTAGE_E2E=0`: do not look for an engine (every case is SKIPPED).
//! - `RESTAGE_E2E_REQUIRE=1`: fail instead of skipping when no engine answers.
//! - `RESTAGE_E2E_EXPECT=warn`: report missed `[expect]` targets without failing (invariants such
//!   as "both images build and give the same answer" always fail the test).
//! - `RESTAGE_E2E_CACHE=1`: let the first builds use the build cache (faster, times not comparable).
//! - `RESTAGE_E2E_BUILD_TIMEOUT` (seconds, default 900), `RESTAGE_E2E_KEEP_IMAGES=1`.
//! - `RESTAGE_E2E_REBUILD=0`: skip the rebuild after a source edit (no cache-reuse claim, and
//!   `cache_reuse` is not checked).
//! - `RESTAGE_E2E_REFERENCE=1`: use the hand-written rewrites in `tests/e2e/reference/` instead of
//!   restage's. This proves each case's targets are reachable on the engine and that the harness
//!   accepts a good rewrite (and shows a transform author one correct answer).
//!
//! - `RESTAGE_REALPROJECTS=1`: also run the real-project tier (see `e2e/realprojects.rs`).
//!
//! Results: `target/e2e-report.md` (table + failures) and `target/e2e/<case>/` (build logs, the
//! restage diff, the rewritten Dockerfile, both answers).

#[path = "e2e/compare.rs"]
mod compare;
#[path = "e2e/docker.rs"]
mod docker;
#[path = "e2e/harness.rs"]
mod harness;
#[path = "e2e/http.rs"]
mod http;
#[path = "e2e/realprojects.rs"]
mod realprojects;
#[path = "e2e/report.rs"]
mod report;
#[path = "e2e/spec.rs"]
mod spec;

macro_rules! e2e_cases {
    ($($test:ident => $dir:literal,)*) => {
        /// Every case directory under fixtures/e2e, sorted.
        const CASES: &[&str] = &[$($dir),*];
        $(
            #[test]
            fn $test() {
                harness::run_case_test($dir, CASES);
            }
        )*
    };
}

e2e_cases! {
    go_cgo => "go-cgo",
    go_data_workdir => "go-data-workdir",
    go_http => "go-http",
    java_http => "java-http",
    java_plain => "java-plain",
    node_copy_order => "node-copy-order",
    node_entrypoint_reset => "node-entrypoint-reset",
    node_entrypoint_script => "node-entrypoint-script",
    node_mkdir_before_workdir => "node-mkdir-before-workdir",
    node_plain_npm => "node-plain-npm",
    node_ts_npm => "node-ts-npm",
    node_yarn => "node-yarn",
    python_compiled => "python-compiled",
    python_copy_order => "python-copy-order",
    python_flask => "python-flask",
    python_mkdir_workdir => "python-mkdir-workdir",
    python_no_workdir => "python-no-workdir",
    python_sqlite => "python-sqlite",
    python_sqlite_at_start => "python-sqlite-at-start",
    python_sqlite_migration => "python-sqlite-migration",
    rust_cargo_install => "rust-cargo-install",
    rust_cli => "rust-cli",
    rust_http => "rust-http",
}

#[test]
fn every_fixture_directory_has_a_test() {
    let mut dirs: Vec<String> = std::fs::read_dir(harness::fixtures_dir())
        .expect("fixtures/e2e exists")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    let mut listed: Vec<String> = CASES.iter().map(|c| c.to_string()).collect();
    listed.sort();
    assert_eq!(
        dirs, listed,
        "fixtures/e2e/* and the e2e_cases! list must match"
    );
    assert_eq!(listed, CASES, "keep e2e_cases! sorted");
}

#[test]
fn every_spec_is_valid() {
    let problems: Vec<String> = CASES
        .iter()
        .filter_map(|case| spec::Spec::load(&harness::fixtures_dir().join(case)).err())
        .collect();
    assert!(
        problems.is_empty(),
        "invalid e2e.toml:\n{}",
        problems.join("\n")
    );
}

#[test]
fn dockerfiles_only_use_what_builds_everywhere() {
    // The fixtures must build unchanged on the real official images and on the local stand-ins,
    // so nothing that only one of them supports.
    for case in CASES {
        let dir = harness::fixtures_dir().join(case);
        let spec = spec::Spec::load(&dir).expect("valid spec");
        let text =
            std::fs::read_to_string(dir.join(&spec.dockerfile)).expect("readable Dockerfile");
        let lower = text.to_lowercase();
        assert!(!lower.contains("# syntax="), "{case}: no # syntax= line");
        assert!(!text.contains("<<"), "{case}: no heredocs");
        assert!(!lower.contains("--link"), "{case}: no COPY --link");
        assert!(!lower.contains("alpine"), "{case}: no alpine images");
    }
}

/// The real-project tier (`fixtures/realprojects/projects.toml`): runs only with
/// `RESTAGE_REALPROJECTS=1` (or a comma list of names) and the contexts prepared by
/// `scripts/realprojects.sh`.
#[test]
fn real_projects() {
    realprojects::run_all();
}

#[test]
fn real_project_list_is_valid() {
    let list = realprojects::load().unwrap_or_else(|e| panic!("{e}"));
    assert!(!list.project.is_empty(), "the project list is empty");
    for p in &list.project {
        let mut seen = std::collections::BTreeSet::new();
        for id in &p.expect.changes {
            assert!(
                spec::TRANSFORM_IDS.contains(&id.as_str()) && seen.insert(id),
                "{}: expect.changes has an unknown or repeated id {id:?}",
                p.name
            );
        }
    }
}
