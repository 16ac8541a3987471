//! The real-engine proof tier. Each directory under `fixtures/e2e/` is a small realistic app with a
//! naive Dockerfile and an `e2e.toml` spec. For each case the harness lets restage rewrite a copy,
//! builds the original and the rewritten Dockerfile with a real Docker engine (BuildKit), runs
//! both, and checks that they answer the same, keep the same visible configuration, and reach the
//! spec's targets (smaller, non-root, dependency install reused after a source edit).
//!
//! The building, running and comparing is `restage verify`'s library code (`restage::verify`), so
//! the product and its proof are one code path; this tier adds the specs' targets and the table.
//!
//! `cargo test --test e2e` runs every case, one at a time (libtest-mimic, `harness = false`).
//! Before any case, the engine must answer and build a tiny image with BuildKit; when it cannot,
//! the tier prints `SKIPPED: <reason>; <how to fix>` and every engine case is reported as
//! ignored, not passed. Knobs:
//! - `RESTAGE_E2E_CASES=node-ts-npm,go-http`: run a subset (the others are reported ignored;
//!   add `verify` to run the `restage verify` CLI cases).
//! - `RESTAGE_DOCKER` (default `docker`): the client; BuildKit is forced with `DOCKER_BUILDKIT=1`.
//! - `RESTAGE_E2E=0`: do not look for an engine (every engine case is ignored).
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

#[path = "e2e/harness.rs"]
mod harness;
#[path = "e2e/realprojects.rs"]
mod realprojects;
#[path = "e2e/report.rs"]
mod report;
#[path = "e2e/spec.rs"]
mod spec;
#[path = "e2e/verify_cli.rs"]
mod verify_cli;

use libtest_mimic::{Arguments, Failed, Trial};

/// (test name, case directory under fixtures/e2e), sorted by directory.
const CASE_TESTS: &[(&str, &str)] = &[
    ("go_build_no_o", "go-build-no-o"),
    ("go_cgo", "go-cgo"),
    ("go_data_workdir", "go-data-workdir"),
    ("go_gopath_workdir", "go-gopath-workdir"),
    ("go_http", "go-http"),
    ("go_install", "go-install"),
    ("go_start_script", "go-start-script"),
    ("java_config", "java-config"),
    ("java_http", "java-http"),
    ("java_plain", "java-plain"),
    ("node_build_tsc_config", "node-build-tsc-config"),
    ("node_copy_order", "node-copy-order"),
    ("node_entrypoint_reset", "node-entrypoint-reset"),
    ("node_entrypoint_script", "node-entrypoint-script"),
    ("node_global_nodemon", "node-global-nodemon"),
    ("node_mkdir_before_workdir", "node-mkdir-before-workdir"),
    ("node_plain_npm", "node-plain-npm"),
    ("node_scratch_dir_removed", "node-scratch-dir-removed"),
    ("node_ts_npm", "node-ts-npm"),
    ("node_yarn", "node-yarn"),
    ("python_compiled", "python-compiled"),
    ("python_copy_order", "python-copy-order"),
    ("python_flask", "python-flask"),
    ("python_libarchive", "python-libarchive"),
    ("python_libpq_full_image", "python-libpq-full-image"),
    ("python_mkdir_workdir", "python-mkdir-workdir"),
    ("python_no_workdir", "python-no-workdir"),
    ("python_pipenv", "python-pipenv"),
    ("python_poetry", "python-poetry"),
    ("python_poetry_in_project", "python-poetry-in-project"),
    ("python_sqlite", "python-sqlite"),
    ("python_sqlite_at_start", "python-sqlite-at-start"),
    ("python_sqlite_migration", "python-sqlite-migration"),
    ("python_uv", "python-uv"),
    ("python_uv_pip", "python-uv-pip"),
    ("rust_cargo_install", "rust-cargo-install"),
    ("rust_cli", "rust-cli"),
    ("rust_http", "rust-http"),
];

fn cases() -> Vec<&'static str> {
    CASE_TESTS.iter().map(|(_, dir)| *dir).collect()
}

fn check(f: fn()) -> impl FnOnce() -> Result<(), Failed> + Send + 'static {
    move || {
        f();
        Ok(())
    }
}

fn main() {
    let args = Arguments::from_args();
    let listing = args.list;
    let mut trials = vec![
        Trial::test(
            "every_fixture_directory_has_a_test",
            check(every_fixture_directory_has_a_test),
        ),
        Trial::test("every_spec_is_valid", check(every_spec_is_valid)),
        Trial::test(
            "dockerfiles_only_use_what_builds_everywhere",
            check(dockerfiles_only_use_what_builds_everywhere),
        ),
        Trial::test(
            "real_project_list_is_valid",
            check(real_project_list_is_valid),
        ),
        Trial::test(
            "verify_cli::no_engine_exits_2_with_one_line",
            check(verify_cli::no_engine_exits_2_with_one_line),
        ),
    ];
    // The engine is looked for (with a tiny BuildKit build) once, unless only listing.
    let require = harness::env_flag("RESTAGE_E2E_REQUIRE");
    let skip = if listing {
        None
    } else {
        match harness::engine() {
            Ok(_) => None,
            Err(why) => {
                harness::loud(&format!(
                    "SKIPPED: {why}\n  the real-engine tier was NOT run and proves nothing{}",
                    if require {
                        "; RESTAGE_E2E_REQUIRE=1 makes every engine case fail"
                    } else {
                        ""
                    }
                ));
                Some(why.clone())
            }
        }
    };
    let ignore_engine = skip.is_some() && !require;
    let all = cases();
    let selection = harness::selected(&all);
    for (test, dir) in CASE_TESTS {
        let selected = selection.iter().any(|c| c == dir);
        let all = all.clone();
        trials.push(
            Trial::test(*test, move || {
                harness::run_case_test(dir, &all);
                Ok(())
            })
            .with_ignored_flag(ignore_engine || !selected),
        );
    }
    let verify_selected = match std::env::var("RESTAGE_E2E_CASES") {
        Ok(list) if !list.trim().is_empty() => list.split(',').any(|c| c.trim() == "verify"),
        _ => true,
    };
    for &(name, f) in verify_cli::ENGINE_TESTS {
        trials.push(
            Trial::test(format!("verify_cli::{name}"), move || {
                // One build at a time, like the cases.
                if let Err(why) = harness::engine() {
                    panic!("RESTAGE_E2E_REQUIRE=1 but there is no engine that builds: {why}");
                }
                let _gate = harness::GATE.lock().unwrap_or_else(|e| e.into_inner());
                f();
                Ok(())
            })
            .with_ignored_flag(ignore_engine || !verify_selected),
        );
    }
    // The real-project tier (`fixtures/realprojects/projects.toml`) on the contexts prepared by
    // `scripts/realprojects.sh`: the sample by default, `RESTAGE_REALPROJECTS=1` (or a comma
    // list of names) for more.
    // Unset: the sample; `0` or empty: none.
    let realprojects = std::env::var("RESTAGE_REALPROJECTS")
        .map_or(true, |v| !v.trim().is_empty() && v.trim() != "0");
    trials.push(
        Trial::test("real_projects", check(realprojects::run_all))
            .with_ignored_flag(ignore_engine || !realprojects),
    );
    libtest_mimic::run(&args, trials).exit();
}

fn every_fixture_directory_has_a_test() {
    let mut dirs: Vec<String> = std::fs::read_dir(harness::fixtures_dir())
        .expect("fixtures/e2e exists")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    let mut listed: Vec<String> = cases().iter().map(|c| c.to_string()).collect();
    listed.sort();
    assert_eq!(dirs, listed, "fixtures/e2e/* and CASE_TESTS must match");
    assert_eq!(listed, cases(), "keep CASE_TESTS sorted");
    for (test, dir) in CASE_TESTS {
        assert_eq!(*test, dir.replace('-', "_"), "test name of {dir}");
    }
}

fn every_spec_is_valid() {
    let problems: Vec<String> = cases()
        .iter()
        .filter_map(|case| spec::Spec::load(&harness::fixtures_dir().join(case)).err())
        .collect();
    assert!(
        problems.is_empty(),
        "invalid e2e.toml:\n{}",
        problems.join("\n")
    );
}

fn dockerfiles_only_use_what_builds_everywhere() {
    // The fixtures must build unchanged on the real official images and on the local stand-ins,
    // so nothing that only one of them supports.
    for case in cases() {
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
