//! Discovery, `--config`, `--no-config`, precedence, overrides and error reporting.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::*;

const IDS: [&str; 4] = ["multi-stage", "copy-order", "non-root-user", "exec-form"];

fn write(root: &Path, rel: &str, text: &str) -> PathBuf {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    fs::write(&path, text).expect("write");
    path
}

fn enabled(settings: &Settings) -> Vec<&'static str> {
    IDS.into_iter()
        .filter(|id| settings.is_enabled(id))
        .collect()
}

fn resolver(cli: CliOptions) -> ConfigResolver {
    ConfigResolver::new(cli).expect("valid config")
}

fn strings(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn defaults_without_any_config() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let r = resolver(CliOptions {
        config: ConfigChoice::None,
        ..CliOptions::default()
    });
    let s = r
        .settings_for(&tmp.path().join("Dockerfile"))
        .expect("settings");
    assert_eq!(s.select, Selection::All);
    assert_eq!(enabled(&s), IDS);
    assert!(!s.unsafe_fixes);
    assert_eq!(s.user_style, UserStyle::Numeric);
    assert_eq!(s.context, None);
    assert_eq!(s.config_file, None);
    assert!(s.knowledge.is_none());
}

#[test]
fn nearest_config_wins() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    let top = write(root, "restage.toml", "select = [\"multi-stage\"]\n");
    let near = write(root, "svc/restage.toml", "select = [\"copy-order\"]\n");
    let r = resolver(CliOptions::default());
    let deep = r
        .settings_for(&root.join("svc/api/Dockerfile"))
        .expect("settings");
    assert_eq!(enabled(&deep), ["copy-order"]);
    assert_eq!(deep.config_file.as_deref(), Some(near.as_path()));
    let other = r
        .settings_for(&root.join("web/Dockerfile"))
        .expect("settings");
    assert_eq!(enabled(&other), ["multi-stage"]);
    assert_eq!(other.config_file.as_deref(), Some(top.as_path()));
    let at_root = r.settings_for(&root.join("Dockerfile")).expect("settings");
    assert_eq!(at_root.config_file.as_deref(), Some(top.as_path()));
    // Same config, no overrides: the very same settings are shared.
    assert!(Arc::ptr_eq(&other, &at_root));
    assert_eq!(
        r.config_file_for(&root.join("svc/Dockerfile"))
            .expect("lookup"),
        Some(near)
    );
}

#[test]
fn relative_dockerfile_paths_are_resolved_against_the_current_directory() {
    let r = resolver(CliOptions::default());
    let here = std::env::current_dir().expect("cwd");
    let a = r.settings_for(Path::new("Dockerfile")).expect("settings");
    let b = r.settings_for(&here.join("Dockerfile")).expect("settings");
    assert_eq!(a.config_file, b.config_file);
}

#[test]
fn explicit_config_path_disables_the_search() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    let chosen = write(
        root,
        "ci/restage.toml",
        "ignore = [\"exec-form\"]\nunsafe-fixes = true\n",
    );
    write(root, "app/restage.toml", "select = [\"copy-order\"]\n");
    let r = resolver(CliOptions {
        config: ConfigChoice::Path(chosen.clone()),
        ..CliOptions::default()
    });
    let s = r
        .settings_for(&root.join("app/Dockerfile"))
        .expect("settings");
    assert_eq!(enabled(&s), ["multi-stage", "copy-order", "non-root-user"]);
    assert!(s.unsafe_fixes);
    assert_eq!(s.config_file.as_deref(), Some(chosen.as_path()));
}

#[test]
fn explicit_config_path_errors_up_front() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let missing = tmp.path().join("nope.toml");
    let err = ConfigResolver::new(CliOptions {
        config: ConfigChoice::Path(missing.clone()),
        ..CliOptions::default()
    })
    .expect_err("missing file");
    assert_eq!(err.path, missing);
    assert!(err.message().starts_with("cannot read:"), "{err}");
    let bad = write(tmp.path(), "bad.toml", "select = 3\n");
    let err = ConfigResolver::new(CliOptions {
        config: ConfigChoice::Path(bad),
        ..CliOptions::default()
    })
    .expect_err("bad file");
    assert_eq!(err.position, Some((1, 10)));
}

#[test]
fn no_config_ignores_files() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    write(root, "restage.toml", "select = []\n");
    let r = resolver(CliOptions {
        config: ConfigChoice::None,
        ..CliOptions::default()
    });
    let s = r.settings_for(&root.join("Dockerfile")).expect("settings");
    assert_eq!(enabled(&s), IDS);
    assert_eq!(s.config_file, None);
}

#[test]
fn precedence_table() {
    type Ids = &'static [&'static str];
    /// (file, --select, --ignore, --unsafe-fixes) => (enabled transforms, unsafe fixes)
    type Row = (&'static str, Option<Ids>, Ids, bool, Ids, bool);
    #[rustfmt::skip]
    let rows: [Row; 9] = [
        // Defaults: everything, safe fixes only.
        ("", None, &[], false, &IDS, false),
        // The file's select narrows the defaults.
        ("select = [\"multi-stage\", \"copy-order\"]", None, &[], false, &["multi-stage", "copy-order"], false),
        // --select replaces the file's select.
        ("select = [\"multi-stage\"]", Some(&["copy-order"]), &[], false, &["copy-order"], false),
        // Ignores add up: the file's and the command line's.
        ("ignore = [\"exec-form\"]", None, &["multi-stage"], false, &["copy-order", "non-root-user"], false),
        // The file's ignore holds against --select.
        ("ignore = [\"copy-order\"]", Some(&["copy-order", "exec-form"]), &[], false, &["exec-form"], false),
        // --ignore takes away from the file's select.
        ("select = [\"multi-stage\", \"copy-order\"]", None, &["copy-order"], false, &["multi-stage"], false),
        // An empty select runs nothing.
        ("select = []", None, &[], false, &[], false),
        // unsafe-fixes from the file.
        ("unsafe-fixes = true", None, &[], false, &IDS, true),
        // --unsafe-fixes beats the file's false.
        ("unsafe-fixes = false", None, &[], true, &IDS, true),
    ];
    for (index, (file, select, ignore, unsafe_fixes, expect_enabled, expect_unsafe)) in
        rows.into_iter().enumerate()
    {
        let tmp = tempfile::tempdir().expect("tempdir");
        write(tmp.path(), "restage.toml", file);
        let r = resolver(CliOptions {
            select: select.map(strings),
            ignore: strings(ignore),
            unsafe_fixes,
            ..CliOptions::default()
        });
        let s = r
            .settings_for(&tmp.path().join("Dockerfile"))
            .expect("settings");
        assert_eq!(enabled(&s), expect_enabled, "row {index}: {file}");
        assert_eq!(s.unsafe_fixes, expect_unsafe, "row {index}: {file}");
    }
}

#[test]
fn per_path_overrides() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    write(
        root,
        "restage.toml",
        r#"ignore = ["exec-form"]
context = "."

[non-root-user]
user-style = "named"

[[overrides]]
paths = ["services/legacy/**"]
ignore = ["non-root-user"]
unsafe-fixes = true

[[overrides]]
paths = ["jobs"]
select = ["copy-order"]
context = "jobs/shared"
[overrides.non-root-user]
user-style = "numeric"

[[overrides]]
paths = ["services/*/Dockerfile.dev"]
select = ["multi-stage", "exec-form"]
"#,
    );
    let r = resolver(CliOptions::default());
    let settings = |rel: &str| r.settings_for(&root.join(rel)).expect("settings");

    let plain = settings("services/api/Dockerfile");
    assert_eq!(
        enabled(&plain),
        ["multi-stage", "copy-order", "non-root-user"]
    );
    assert_eq!(plain.user_style, UserStyle::Named);
    assert_eq!(
        plain.context.as_deref(),
        Some(absolute_lexical(root).as_path())
    );
    assert!(!plain.unsafe_fixes);

    let legacy = settings("services/legacy/worker/Dockerfile");
    assert_eq!(enabled(&legacy), ["multi-stage", "copy-order"]);
    assert!(legacy.unsafe_fixes);

    // A glob without `/` matches a directory at any depth, and everything below it.
    let job = settings("batch/jobs/nightly/Dockerfile");
    assert_eq!(enabled(&job), ["copy-order"]);
    assert_eq!(job.user_style, UserStyle::Numeric);
    assert_eq!(
        job.context.as_deref(),
        Some(absolute_lexical(&root.join("jobs/shared")).as_path())
    );
    let top_job = settings("jobs/Dockerfile");
    assert_eq!(enabled(&top_job), ["copy-order"]);

    // `*` does not cross `/`; a later override's select replaces, the exec-form ignore stays.
    let dev = settings("services/api/Dockerfile.dev");
    assert_eq!(enabled(&dev), ["multi-stage"]);
    let deep_dev = settings("services/api/x/Dockerfile.dev");
    assert_eq!(
        enabled(&deep_dev),
        ["multi-stage", "copy-order", "non-root-user"]
    );

    // Two overrides matching: both apply in file order.
    let legacy_dev = settings("services/legacy/Dockerfile.dev");
    assert_eq!(enabled(&legacy_dev), ["multi-stage"]);
    assert!(legacy_dev.unsafe_fixes);

    // Files matching the same overrides share one Settings.
    assert!(Arc::ptr_eq(&plain, &settings("web/Dockerfile")));
}

#[test]
fn cli_context_beats_the_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    write(tmp.path(), "restage.toml", "context = \"..\"\n");
    let r = resolver(CliOptions {
        context: Some(PathBuf::from("ctx")),
        ..CliOptions::default()
    });
    let s = r
        .settings_for(&tmp.path().join("Dockerfile"))
        .expect("settings");
    assert_eq!(s.context, Some(PathBuf::from("ctx")));
}

#[test]
fn unknown_key_is_an_error_with_line_and_column() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    let path = write(
        root,
        "restage.toml",
        "# restage\nignore = []\nselct = [\"multi-stage\"]\n",
    );
    let r = resolver(CliOptions::default());
    let err = r
        .settings_for(&root.join("a/Dockerfile"))
        .expect_err("bad key");
    assert_eq!(err.path, path);
    assert_eq!(err.position, Some((3, 1)));
    assert_eq!(
        err.to_string(),
        format!(
            "{}:3:1: unknown field `selct`, expected one of `select`, `ignore`, `unsafe-fixes`, \
             `context`, `non-root-user`, `overrides`, `knowledge`, `exclude`, `extend-exclude`, `verify`, `output-format`",
            path.display()
        )
    );
    // Every Dockerfile under it gets the same error; others are unaffected.
    let again = r
        .settings_for(&root.join("b/c/Dockerfile"))
        .expect_err("same error");
    assert_eq!(again, err);
    let elsewhere = tempfile::tempdir().expect("tempdir");
    assert!(r.settings_for(&elsewhere.path().join("Dockerfile")).is_ok());
}

#[test]
fn nested_unknown_keys_and_bad_values_are_errors() {
    let cases = [
        (
            "[non-root-user]\nuser_style = \"named\"\n",
            (2, 1),
            "unknown field `user_style`",
        ),
        (
            "[non-root-user]\nuser-style = \"fancy\"\n",
            (2, 14),
            "unknown variant `fancy`",
        ),
        (
            "[[overrides]]\npaths = [\"a\"]\nignor = []\n",
            (3, 1),
            "unknown field `ignor`",
        ),
        (
            "[[overrides]]\nselect = []\n",
            (1, 1),
            "missing field `paths`",
        ),
        ("[[overrides]]\npaths = []\n", (2, 9), "`paths` is empty"),
        (
            "[[overrides]]\npaths = [\"ok\", \"a/[b\"]\n",
            (2, 16),
            "invalid glob `a/[b`",
        ),
        (
            "unsafe-fixes = \"yes\"\n",
            (1, 16),
            "invalid type: string \"yes\", expected a boolean",
        ),
        ("select = [\"a\"\n", (1, 14), ""),
    ];
    for (text, position, message) in cases {
        let tmp = tempfile::tempdir().expect("tempdir");
        write(tmp.path(), "restage.toml", text);
        let err = resolver(CliOptions::default())
            .settings_for(&tmp.path().join("Dockerfile"))
            .expect_err(text);
        assert_eq!(err.position, Some(position), "{text:?}: {err}");
        assert!(err.message().contains(message), "{text:?}: {err}");
        assert!(!err.message().contains('\n'), "{text:?}: {err}");
    }
}

#[test]
fn knowledge_table_is_carried_with_its_origin() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = write(
        tmp.path(),
        "restage.toml",
        "[knowledge.images.\"node\"]\nruntime = \"node:20-slim\"\n",
    );
    let s = resolver(CliOptions::default())
        .settings_for(&tmp.path().join("Dockerfile"))
        .expect("settings");
    let knowledge = s.knowledge.as_ref().expect("knowledge");
    assert_eq!(knowledge.origin, path);
    let runtime = knowledge.table["images"]["node"]["runtime"].as_str();
    assert_eq!(runtime, Some("node:20-slim"));
}

#[test]
fn ids_mentioned_carry_their_origin() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = write(
        tmp.path(),
        "restage.toml",
        "select = [\"multi-stage\", \"mutli-stage\"]\n[[overrides]]\npaths = [\"never/**\"]\nignore = [\"exec-frm\"]\n",
    );
    let s = resolver(CliOptions {
        select: Some(strings(&["copy-ordr"])),
        ignore: strings(&["exec-form"]),
        ..CliOptions::default()
    })
    .settings_for(&tmp.path().join("Dockerfile"))
    .expect("settings");
    let mentioned: Vec<(&str, &str)> = s
        .ids_mentioned()
        .iter()
        .map(|m| (m.id.as_str(), m.origin.as_str()))
        .collect();
    let at = |line: usize, col: usize| format!("{}:{line}:{col}", path.display());
    assert_eq!(
        mentioned,
        [
            ("copy-ordr", "--select"),
            ("exec-form", "--ignore"),
            ("multi-stage", at(1, 11).as_str()),
            ("mutli-stage", at(1, 26).as_str()),
            ("exec-frm", at(4, 11).as_str()),
        ]
    );
    assert_eq!(
        s.unknown_ids(&IDS)
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        [
            "--select: unknown transform id `copy-ordr`".to_owned(),
            format!("{}: unknown transform id `mutli-stage`", at(1, 26)),
            format!("{}: unknown transform id `exec-frm`", at(4, 11)),
        ]
    );
}

#[test]
fn shared_across_threads_with_one_answer_per_directory() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    write(
        root,
        "restage.toml",
        "ignore = [\"exec-form\"]\n[[overrides]]\npaths = [\"b\"]\nselect = []\n",
    );
    let r = resolver(CliOptions::default());
    let results: Vec<Vec<Arc<Settings>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(|| {
                    (0..50)
                        .map(|i| {
                            let dir = if i % 2 == 0 { "a" } else { "b" };
                            r.settings_for(&root.join(format!("{dir}/{i}/Dockerfile")))
                                .expect("settings")
                        })
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    for per_thread in &results {
        for (i, s) in per_thread.iter().enumerate() {
            let expected: &[&str] = if i % 2 == 0 {
                &["multi-stage", "copy-order", "non-root-user"]
            } else {
                &[]
            };
            assert_eq!(enabled(s), expected);
        }
    }
    fn assert_sync<T: Send + Sync>() {}
    assert_sync::<ConfigResolver>();
}

#[test]
fn glob_normalization() {
    assert_eq!(normalize_glob("./a/b/"), Some("a/b".to_owned()));
    assert_eq!(normalize_glob("/a/*"), Some("a/*".to_owned()));
    assert_eq!(normalize_glob("legacy"), Some("**/legacy".to_owned()));
    assert_eq!(
        normalize_glob("*.dev.Dockerfile"),
        Some("**/*.dev.Dockerfile".to_owned())
    );
    assert_eq!(normalize_glob("./"), None);
}

#[test]
fn the_search_stops_at_the_repository_root() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    let outer = write(root, "restage.toml", "select = [\"multi-stage\"]\n");
    fs::create_dir_all(root.join("repo/.git")).expect("mkdir");
    // A worktree or submodule has a `.git` file: it is a boundary too.
    write(root, "other/.git", "gitdir: elsewhere\n");
    let r = resolver(CliOptions::default());
    let inside = r
        .settings_for(&root.join("repo/svc/Dockerfile"))
        .expect("settings");
    assert_eq!(inside.config_file, None);
    assert_eq!(enabled(&inside), IDS);
    let in_other = r
        .settings_for(&root.join("other/Dockerfile"))
        .expect("settings");
    assert_eq!(in_other.config_file, None);
    // Outside any repository the search goes on upward.
    let outside = r
        .settings_for(&root.join("loose/Dockerfile"))
        .expect("settings");
    assert_eq!(outside.config_file.as_deref(), Some(outer.as_path()));
    // The repository root's own file applies, and `--config` names one anywhere.
    let at_root = write(root, "repo/restage.toml", "select = [\"copy-order\"]\n");
    let r = resolver(CliOptions::default());
    let inside = r
        .settings_for(&root.join("repo/svc/Dockerfile"))
        .expect("settings");
    assert_eq!(inside.config_file.as_deref(), Some(at_root.as_path()));
    let r = resolver(CliOptions {
        config: ConfigChoice::Path(outer.clone()),
        ..CliOptions::default()
    });
    let named = r
        .settings_for(&root.join("repo/svc/Dockerfile"))
        .expect("settings");
    assert_eq!(named.config_file.as_deref(), Some(outer.as_path()));
}

#[test]
fn config_reads_are_bounded() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let err = ConfigResolver::new(CliOptions {
        config: ConfigChoice::Path(PathBuf::from("/dev/zero")),
        ..CliOptions::default()
    })
    .expect_err("a device");
    assert_eq!(
        err.to_string(),
        "/dev/zero: cannot read: not a regular file"
    );
    let big = tmp.path().join("big.toml");
    let mut text = "# padding\n".repeat(110_000);
    text.push_str("select = []\n");
    fs::write(&big, &text).expect("write");
    let err = ConfigResolver::new(CliOptions {
        config: ConfigChoice::Path(big.clone()),
        ..CliOptions::default()
    })
    .expect_err("too large");
    assert_eq!(
        err.kind,
        ConfigErrorKind::Read(ReadFailure::TooLarge {
            size: text.len() as u64,
            limit: MAX_CONFIG_BYTES
        })
    );
    assert_eq!(
        err.message(),
        "cannot read: file of 1100012 bytes is over the 1 MiB limit"
    );
    let bad = write(tmp.path(), "latin1.toml", "");
    fs::write(&bad, b"# Jos\xe9\n").expect("write");
    let err = ConfigResolver::new(CliOptions {
        config: ConfigChoice::Path(bad),
        ..CliOptions::default()
    })
    .expect_err("not UTF-8");
    assert_eq!(err.position, Some((1, 6)));
    assert_eq!(
        err.kind,
        ConfigErrorKind::Invalid("invalid UTF-8".to_owned())
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_config_linking_to_a_kernel_file_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    std::os::unix::fs::symlink("/proc/self/status", tmp.path().join("restage.toml"))
        .expect("symlink");
    let err = resolver(CliOptions::default())
        .settings_for(&tmp.path().join("Dockerfile"))
        .expect_err("procfs");
    assert_eq!(
        err.kind,
        ConfigErrorKind::Read(ReadFailure::SpecialFs("procfs"))
    );
}

#[test]
fn a_listing_of_the_folder_answers_the_search_as_look_ups_do() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    let config = write(
        root,
        "a/restage.toml",
        "select = [\"exec-form\"]\nextend-exclude = [\"skip.Dockerfile\"]\n",
    );
    write(root, "a/b/.git", "gitdir: elsewhere\n");
    fs::create_dir_all(root.join("a/c")).expect("mkdir");
    // Names a case-insensitive file system could take for the ones searched: looked up.
    write(root, "a/d/RESTAGE.TOML", "select = [\"copy-order\"]\n");
    fs::create_dir_all(root.join("a/e/restage.toml")).expect("mkdir");
    fs::create_dir_all(root.join("a/f/.GIT")).expect("mkdir");
    let listed = Arc::new(resolver(CliOptions::default()));
    let looked_up = resolver(CliOptions::default());
    let listings = Listings::default();
    for dir in ["a", "a/b", "a/c", "a/d", "a/e", "a/f"] {
        let dockerfile = root.join(dir).join("Dockerfile");
        assert!(!listed.is_excluded_in(&dockerfile, false, Some(&listings)));
        assert_eq!(
            listed.config_file_for(&dockerfile).expect("settings"),
            looked_up.config_file_for(&dockerfile).expect("settings"),
            "{dir}"
        );
        // The listing is kept for the build context, once.
        let kept = listings.take(&root.join(dir)).expect("kept");
        assert!(kept.entries.is_ok());
        assert!(listings.take(&root.join(dir)).is_none());
    }
    assert_eq!(
        listed
            .config_file_for(&root.join("a/c/Dockerfile"))
            .expect("settings"),
        Some(config)
    );
    assert_eq!(
        listed
            .config_file_for(&root.join("a/b/Dockerfile"))
            .expect("settings"),
        None
    );
    assert!(listed.is_excluded_in(&root.join("a/skip.Dockerfile"), false, Some(&listings)));
}

#[test]
fn the_default_exclusion_leaves_out_its_names_at_any_depth_and_nothing_else() {
    // The quick check before the matcher holds for plain names only.
    for glob in DEFAULT_EXCLUDE {
        assert!(
            !glob.is_empty()
                && !glob.contains(['/', '*', '?', '[', ']', '{', '}', '\\', '!', '#', ' ']),
            "{glob}"
        );
    }
    let resolver = ConfigResolver::new(CliOptions {
        config: ConfigChoice::None,
        ..CliOptions::default()
    })
    .expect("resolver");
    let cwd = absolute_lexical(Path::new("."));
    for (rel, is_dir, excluded) in [
        ("node_modules", true, true),
        ("a/b/node_modules", true, true),
        ("a/node_modules", false, true),
        ("a/node_modules/x", true, false),
        ("node_modules/x/Dockerfile", false, false),
        ("a/node_modules.d", true, false),
        ("a/xnode_modules", true, false),
        ("a/Node_modules", true, false),
        ("a/b", true, false),
    ] {
        assert_eq!(
            resolver.is_excluded(&cwd.join(rel), is_dir),
            excluded,
            "{rel}"
        );
        assert_eq!(
            resolver.is_excluded(Path::new(rel), is_dir),
            excluded,
            "{rel}"
        );
    }
    assert!(resolver.is_excluded(Path::new("/elsewhere/node_modules"), true));
}
