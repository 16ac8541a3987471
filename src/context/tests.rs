//! Reading whole contexts: the committed fixtures under `fixtures/context/` (snapshotted) and
//! trees built in temporary directories.

use std::fs;
use std::path::{Path, PathBuf};

use super::*;
use crate::context::fsread::MAX_FILE_BYTES;

fn fixture(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/context")
        .join(case)
}

/// The context with every absolute path made relative to the fixture directory, so the
/// snapshot does not depend on where the repository is checked out.
fn portable(mut ctx: BuildContext, base: &Path) -> BuildContext {
    let base = absolute_lexical(base);
    let rel = |p: &Path| -> PathBuf {
        let p = absolute_lexical(p);
        match p.strip_prefix(&base) {
            Ok(rest) if rest.as_os_str().is_empty() => PathBuf::from("."),
            Ok(rest) => rest.to_path_buf(),
            Err(_) => p,
        }
    };
    ctx.dockerfile = rel(&ctx.dockerfile);
    ctx.dir = rel(&ctx.dir);
    if let ContextSource::Compose { file, .. } = &mut ctx.source {
        *file = rel(file);
    }
    match &mut ctx.dockerignore {
        DockerIgnoreState::Rules { file, .. } | DockerIgnoreState::Unknown { file } => {
            *file = rel(file);
        }
        DockerIgnoreState::Absent => {}
    }
    ctx
}

fn read_fixture(case: &str, dockerfile: &str) -> BuildContext {
    let base = fixture(case);
    BuildContext::read(&base.join(dockerfile), None)
}

/// The contexts that hold a `Cargo.toml` are written by the tests, not committed under
/// `fixtures/context/`: cargo leaves a folder with a `Cargo.toml` out of the package, and these
/// tests also run from the published crate.
const RUST_APP: &[(&str, &str)] = &[
    ("Cargo.lock", "# lock\nversion = 4\n"),
    (
        "Cargo.toml",
        "[package]\nname = \"acme-server\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\nmembers = [\".\", \"crates/*\"]\n",
    ),
    (
        "Dockerfile",
        "FROM rust:1.80\nCOPY . .\nRUN cargo build --release\n",
    ),
    ("src/bin/migrate.rs", "fn main() {}\n"),
    ("src/main.rs", "fn main() {}\n"),
];

const MALFORMED: &[(&str, &str)] = &[
    (
        "Cargo.toml",
        "[package]\nname = \"broken\"\nversion = \"0.1.0\"\n[dependencies\nserde = \"1\"\n",
    ),
    ("Dockerfile", "FROM ubuntu:24.04\nCOPY . /src\n"),
    ("go.mod", "module example.com/still-fine\n\ngo 1.22\n"),
    (
        "package.json",
        "{\n  \"name\": \"broken\",\n  \"scripts\": {\n    \"start\": \"node index.js\"\n    \"build\": \"tsc\"\n  }\n}\n",
    ),
    (
        "pom.xml",
        "<project>\n  <artifactId>broken</artifactId>\n  <version>1.0</version>\n  <build>\n    <finalName>app</finalName>\n  </biuld>\n</project>\n",
    ),
];

/// A context of `files`, in a temporary folder.
fn written(files: &[(&str, &str)]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    for (rel, text) in files {
        write(tmp.path(), rel, text);
    }
    tmp
}

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    fs::write(path, text).expect("write");
}

#[test]
fn node_app_fixture() {
    let ctx = read_fixture("node-app", "Dockerfile");
    assert!(ctx.notes.is_empty(), "{:?}", ctx.notes);
    assert_eq!(ctx.source, ContextSource::DockerfileDir);
    let pkg = ctx.package_json.as_ref().expect("package.json read");
    assert!(pkg.script("postinstall").is_some());
    assert!(pkg.dev_dependencies.contains("typescript"));
    assert_eq!(ctx.ecosystems(), [Ecosystem::Node]);
    assert_eq!(
        ctx.summary(),
        "node (.npmrc, package-lock.json, package.json)"
    );
    insta::assert_yaml_snapshot!("node_app", portable(ctx, &fixture("node-app")));
}

#[test]
fn dockerignore_with_exceptions_decides_what_can_be_copied() {
    let ctx = read_fixture("node-app", "Dockerfile");
    assert!(!ctx.is_ignored("package.json"));
    assert!(!ctx.is_ignored("./package-lock.json"));
    assert!(ctx.is_ignored(".npmrc"), "excluded by `*`, no exception");
    assert!(ctx.is_ignored("Dockerfile"));
    assert!(!ctx.is_ignored("src/index.js"));
    assert!(ctx.is_ignored("src/a/b.test.js"));
    assert!(ctx.is_copyable("package.json"));
    assert!(!ctx.is_copyable(".npmrc"), "exists but ignored");
    assert!(!ctx.is_copyable("tsconfig.json"), "not ignored but missing");
    assert!(
        ctx.is_ignored("../outside"),
        "outside the context is never copyable"
    );
}

#[test]
fn malformed_manifests_are_unknown_with_notes() {
    let dir = written(MALFORMED);
    let ctx = BuildContext::read(&dir.path().join("Dockerfile"), None);
    assert_eq!(ctx.package_json, None);
    assert_eq!(ctx.cargo, None);
    assert_eq!(ctx.pom, None);
    assert!(ctx.exists("package.json") && ctx.exists("Cargo.toml") && ctx.exists("pom.xml"));
    let go = ctx.go_mod.as_ref().expect("go.mod is fine");
    assert_eq!(go.binary_name(), "still-fine");
    assert_eq!(
        ctx.notes,
        [
            "package.json: invalid JSON: expected `,` or `}` at line 5 column 5",
            "Cargo.toml: TOML parse error at line 4, column 14: unclosed table, expected `]`",
            "pom.xml: invalid XML at line 6 column 3: expected 'build' tag, not 'biuld'",
        ],
        "{:#?}",
        ctx.notes
    );
}

#[test]
fn compose_file_chooses_the_context() {
    let base = fixture("compose");
    let ctx = BuildContext::read(&base.join("services/api/Dockerfile"), None);
    assert_eq!(
        ctx.source,
        ContextSource::Compose {
            file: absolute_lexical(&base.join("compose.yaml")),
            services: vec!["api".to_owned()],
        }
    );
    assert_eq!(ctx.dir, absolute_lexical(&base));
    assert_eq!(ctx.source.describe(), "compose.yaml service `api`");
    let go = ctx.go_mod.as_ref().expect("go.mod at the compose context");
    assert_eq!(go.binary_name(), "platform");
    assert!(go.vendor && go.has_requires);
    assert!(ctx.is_dir("vendor"));
    assert!(ctx.exists("services/api/Dockerfile"));
    insta::assert_yaml_snapshot!("compose", portable(ctx, &base));
}

#[test]
fn override_beats_compose() {
    let base = fixture("compose");
    let dockerfile = base.join("services/api/Dockerfile");
    let ctx = BuildContext::read(&dockerfile, Some(&base.join("services/api")));
    assert_eq!(ctx.source, ContextSource::Given);
    assert_eq!(ctx.go_mod, None);
    assert_eq!(ctx.summary(), "none");
}

#[test]
fn requirements_with_editable_install() {
    let ctx = read_fixture("python-editable", "Dockerfile");
    assert!(ctx.notes.is_empty(), "{:?}", ctx.notes);
    let names: Vec<&str> = ctx.requirements.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "requirements-dev.txt",
            "requirements-prod.txt",
            "requirements.txt"
        ]
    );
    let base = ctx.requirements_file("requirements.txt").expect("present");
    assert_eq!(base.needs_sources(), Some(true));
    let dev = ctx
        .requirements_file("requirements-dev.txt")
        .expect("present");
    assert_eq!(
        dev.needs_sources(),
        Some(true),
        "through -r requirements.txt"
    );
    assert_eq!(
        dev.refs.as_ref().map(|r| r.includes.clone()),
        Some(vec!["requirements.txt".to_owned()])
    );
    let prod = ctx
        .requirements_file("requirements-prod.txt")
        .expect("present");
    assert_eq!(prod.needs_sources(), Some(false));
    insta::assert_yaml_snapshot!(
        "python_editable",
        portable(ctx, &fixture("python-editable"))
    );
}

#[test]
fn rust_maven_gradle_dotnet_fixtures() {
    let dir = written(RUST_APP);
    let rust = BuildContext::read(&dir.path().join("Dockerfile"), None);
    let cargo = rust.cargo.as_ref().expect("Cargo.toml");
    assert_eq!(
        cargo.bins,
        Some(vec!["acme-server".to_owned(), "migrate".to_owned()])
    );
    assert!(cargo.is_workspace_root());
    insta::assert_yaml_snapshot!("rust_app", portable(rust, dir.path()));

    let maven = read_fixture("maven-app", "Dockerfile");
    let pom = maven.pom.as_ref().expect("pom.xml");
    assert_eq!(pom.final_name.as_deref(), Some("orders"));
    insta::assert_yaml_snapshot!("maven_app", portable(maven, &fixture("maven-app")));

    let gradle = read_fixture("gradle-app", "Dockerfile");
    let g = gradle.gradle.as_ref().expect("gradle");
    assert_eq!(g.root_project_name.as_deref(), Some("billing"));
    assert!(g.wrapper);
    assert!(gradle.is_dir("gradle"));
    insta::assert_yaml_snapshot!("gradle_app", portable(gradle, &fixture("gradle-app")));

    let dotnet = read_fixture("dotnet-web", "Dockerfile");
    let proj = dotnet.csproj.as_ref().expect("csproj");
    assert_eq!(proj.assembly_name.as_deref(), Some("Acme.Api"));
    assert_eq!(proj.target_framework.as_deref(), Some("net8.0"));
    assert!(proj.is_web_sdk());
    assert!(dotnet.exists("NuGet.config"));
    insta::assert_yaml_snapshot!("dotnet_web", portable(dotnet, &fixture("dotnet-web")));
}

#[test]
fn huge_files_are_unknown_not_read() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    write(root, "Dockerfile", "FROM node\n");
    let mut big = String::from("{\"name\": \"x\", \"pad\": \"");
    big.push_str(&"a".repeat(MAX_FILE_BYTES as usize));
    big.push_str("\"}");
    write(root, "package.json", &big);
    write(root, "requirements.txt", &"flask\n".repeat(200_000));
    let ctx = BuildContext::read(&root.join("Dockerfile"), None);
    assert_eq!(ctx.package_json, None);
    assert!(ctx.exists("package.json"));
    assert_eq!(
        ctx.requirements_file("requirements.txt")
            .and_then(|r| r.needs_sources()),
        None
    );
    assert_eq!(
        ctx.notes,
        [
            "package.json: larger than 1024 KiB, not read",
            "requirements.txt: larger than 1024 KiB, not read",
        ]
    );
}

#[test]
fn dockerfile_specific_ignore_file_wins() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    write(root, "app.Dockerfile", "FROM node\n");
    write(root, "app.Dockerfile.dockerignore", "secrets\n");
    write(root, ".dockerignore", "*\n");
    let ctx = BuildContext::read(&root.join("app.Dockerfile"), None);
    assert!(!ctx.is_ignored("package.json"));
    assert!(ctx.is_ignored("secrets/key"));
    let other = BuildContext::read(&root.join("Dockerfile"), None);
    assert!(other.is_ignored("package.json"));
}

#[test]
fn unparsable_dockerignore_ignores_everything() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    write(root, "Dockerfile", "FROM node\n");
    write(root, ".dockerignore", "node_modules\n[oops\n");
    write(root, "package.json", "{}");
    let ctx = BuildContext::read(&root.join("Dockerfile"), None);
    assert!(ctx.is_ignored("package.json"));
    assert!(matches!(
        ctx.dockerignore,
        DockerIgnoreState::Unknown { .. }
    ));
    assert_eq!(ctx.notes.len(), 1);
    assert!(
        ctx.notes[0].starts_with(".dockerignore: line 2: bad pattern `[oops`"),
        "{:?}",
        ctx.notes
    );
}

#[test]
fn exists_answers_arbitrary_paths_cheaply() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    write(root, "Dockerfile", "FROM node\n");
    write(root, "src/main.js", "");
    fs::create_dir_all(root.join("package.json.d")).expect("mkdir");
    let ctx = BuildContext::read(&root.join("Dockerfile"), None);
    assert!(ctx.exists("src/main.js"));
    assert!(ctx.exists("./src/"));
    assert!(ctx.is_dir("src"));
    assert!(!ctx.is_dir("src/main.js"));
    assert!(ctx.exists(""));
    assert!(!ctx.exists("src/missing.js"));
    assert!(!ctx.exists("../outside"));
    assert!(
        !ctx.exists("package.json"),
        "known names come from the listing"
    );
    // The answer is memoized: a file appearing later does not change it within this context.
    write(root, "late.txt", "");
    let fresh = BuildContext::read(&root.join("Dockerfile"), None);
    assert!(fresh.exists("late.txt"));
    assert!(!ctx.lookups.0.lock().expect("lock").contains_key("late.txt"));
    assert!(!ctx.exists("never.txt"));
    write(root, "never.txt", "");
    assert!(!ctx.exists("never.txt"), "memoized");
}

#[cfg(unix)]
#[test]
fn symlinks_and_non_files() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    write(root, "Dockerfile", "FROM node\n");
    write(root, "real.json", "{\"name\": \"linked\"}");
    std::os::unix::fs::symlink(root.join("real.json"), root.join("package.json")).expect("link");
    std::os::unix::fs::symlink(root.join("gone"), root.join("go.mod")).expect("link");
    fs::create_dir_all(root.join("pom.xml")).expect("mkdir");
    let ctx = BuildContext::read(&root.join("Dockerfile"), None);
    assert_eq!(
        ctx.package_json.as_ref().and_then(|p| p.name.as_deref()),
        Some("linked")
    );
    assert_eq!(ctx.files.get("go.mod"), Some(&EntryKind::Other));
    assert_eq!(ctx.go_mod, None);
    assert_eq!(ctx.pom, None);
    assert_eq!(
        ctx.notes,
        ["go.mod: missing", "pom.xml: not a regular file, not read"]
    );
}

#[test]
fn missing_context_directory_is_a_note() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ctx = BuildContext::read(
        &tmp.path().join("Dockerfile"),
        Some(&tmp.path().join("nope")),
    );
    assert_eq!(ctx.source, ContextSource::Given);
    assert!(ctx.files.is_empty());
    assert_eq!(ctx.notes.len(), 1);
    assert!(ctx.notes[0].contains("cannot be listed"), "{:?}", ctx.notes);
    assert!(!ctx.exists(""));
}

#[test]
fn several_project_files_are_not_read() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    write(root, "Dockerfile", "FROM x\n");
    write(root, "A.csproj", "<Project/>");
    write(root, "B.csproj", "<Project/>");
    write(root, "All.sln", "");
    let ctx = BuildContext::read(&root.join("Dockerfile"), None);
    assert_eq!(ctx.csproj, None);
    assert_eq!(
        ctx.notes,
        ["2 project files at the root (A.csproj, B.csproj); none read"]
    );
    assert_eq!(ctx.summary(), "dotnet (A.csproj, All.sln, B.csproj)");
}

#[test]
fn unreadable_directory_build_props_makes_the_assembly_unknown() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    write(root, "Dockerfile", "FROM x\n");
    write(root, "Api.csproj", "<Project Sdk=\"Microsoft.NET.Sdk\"/>");
    write(root, "Directory.Build.targets", "<Project>");
    let ctx = BuildContext::read(&root.join("Dockerfile"), None);
    let proj = ctx.csproj.as_ref().expect("csproj read");
    assert_eq!(proj.assembly_name, None);
    assert_eq!(ctx.notes.len(), 1);
    assert!(
        ctx.notes[0].starts_with("Directory.Build.targets: invalid XML"),
        "{:?}",
        ctx.notes
    );
}

#[test]
fn several_ecosystems_in_one_context() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    write(root, "Dockerfile", "FROM x\n");
    write(root, "package.json", "{}");
    write(root, "yarn.lock", "");
    write(root, "Gemfile", "");
    write(root, "composer.json", "{}");
    write(root, "vendor/autoload.php", "");
    write(root, "settings.gradle", "");
    write(root, "settings.gradle.kts", "");
    let ctx = BuildContext::read(&root.join("Dockerfile"), None);
    assert_eq!(
        ctx.ecosystems(),
        [
            Ecosystem::Node,
            Ecosystem::Gradle,
            Ecosystem::Ruby,
            Ecosystem::Php
        ]
    );
    assert_eq!(
        ctx.summary(),
        "node (package.json, yarn.lock); gradle (settings.gradle, settings.gradle.kts); \
         ruby (Gemfile); php (composer.json, vendor/)"
    );
    assert_eq!(
        ctx.notes,
        ["settings.gradle and settings.gradle.kts both exist; rootProject.name unknown"]
    );
    assert_eq!(
        ctx.manifests().last().map(String::as_str),
        Some("yarn.lock")
    );
}

#[test]
fn in_memory_contexts_never_touch_the_disk() {
    let mut files = BTreeMap::new();
    files.insert("package.json".to_owned(), EntryKind::File);
    files.insert("src/app.ts".to_owned(), EntryKind::File);
    let ctx = BuildContext {
        files,
        package_json: Some(PackageJson::default()),
        dockerignore: DockerIgnoreState::Rules {
            file: PathBuf::from(".dockerignore"),
            rules: DockerIgnore::parse("*.md").expect("valid"),
        },
        ..BuildContext::default()
    };
    assert!(ctx.exists("package.json"));
    assert!(ctx.exists("/src/app.ts"));
    assert!(!ctx.exists("Cargo.toml"));
    assert!(!ctx.exists("src/main.rs"));
    assert!(ctx.is_ignored("README.md"));
    assert!(ctx.is_copyable("package.json"));
    let copy = ctx.clone();
    assert_eq!(copy.files, ctx.files);
}

#[test]
fn context_is_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<BuildContext>();
}

#[test]
fn shared_reader_reads_each_compose_file_once() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    write(
        root,
        "compose.yaml",
        "services:\n  a:\n    build: ./a\n  b:\n    build:\n      context: .\n      dockerfile: b/Dockerfile\n",
    );
    write(root, "a/Dockerfile", "FROM x\n");
    write(root, "b/Dockerfile", "FROM x\n");
    let reader = ContextReader::new();
    let a = reader.read(&root.join("a/Dockerfile"), None);
    assert_eq!(a.dir, absolute_lexical(&root.join("a")));
    // The reader remembers the Compose file: removing it mid-run changes nothing for it,
    // while a fresh read sees the change.
    fs::remove_file(root.join("compose.yaml")).expect("remove");
    let b = reader.read(&root.join("b/Dockerfile"), None);
    assert_eq!(b.dir, absolute_lexical(root));
    assert!(matches!(b.source, ContextSource::Compose { .. }));
    let fresh = BuildContext::read(&root.join("b/Dockerfile"), None);
    assert_eq!(fresh.source, ContextSource::DockerfileDir);
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<ContextReader>();
}

#[test]
fn known_names_and_source_descriptions() {
    for name in [
        "package.json",
        "requirements.txt",
        "requirements-dev.txt",
        "Api.csproj",
        "All.sln",
        "nuget.config",
        "NuGet.Config",
        "vendor",
    ] {
        assert!(is_known_name(name), "{name}");
    }
    for name in ["README.md", ".csproj", "requirements.in", "src"] {
        assert!(!is_known_name(name), "{name}");
    }
    assert_eq!(ContextSource::Given.describe(), "given context");
    assert_eq!(
        ContextSource::DockerfileDir.describe(),
        "Dockerfile's directory"
    );
    let both = ContextSource::Compose {
        file: PathBuf::from("/repo/docker-compose.yml"),
        services: vec!["web".to_owned(), "worker".to_owned()],
    };
    assert_eq!(
        both.describe(),
        "docker-compose.yml services `web`, `worker`"
    );
}

/// Dockerfiles sharing a directory share one listing and one read of the manifests, and each
/// still gets its own `.dockerignore` and the notes in reading order, as a fresh reader gives.
#[test]
fn one_directory_is_read_once_for_all_its_dockerfiles() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    write(root, "api.Dockerfile", "FROM node:22\n");
    write(root, "web.Dockerfile", "FROM node:22\n");
    write(root, "web.Dockerfile.dockerignore", "secrets\n");
    write(root, "package.json", "{\"name\": \"x\",");
    write(root, ".dockerignore", "[\n");
    let reader = ContextReader::new();
    let api = reader.read(&root.join("api.Dockerfile"), None);
    let web = reader.read(&root.join("web.Dockerfile"), None);
    let listing = |c: &BuildContext| c.listing.clone().expect("listed");
    assert!(Arc::ptr_eq(&listing(&api).0, &listing(&web).0));
    assert!(Arc::ptr_eq(&api.root_names.0, &web.root_names.0));
    for (shared, name) in [(&api, "api.Dockerfile"), (&web, "web.Dockerfile")] {
        let fresh = BuildContext::read(&root.join(name), None);
        assert_eq!(shared.dockerfile, fresh.dockerfile);
        assert_eq!(shared.notes, fresh.notes);
        assert_eq!(
            serde_json::to_string(shared).expect("json"),
            serde_json::to_string(&fresh).expect("json")
        );
    }
    assert!(
        api.is_ignored("src"),
        "the broken .dockerignore ignores everything"
    );
    assert!(!web.is_ignored("src") && web.is_ignored("secrets"));
    assert_eq!(
        api.notes.len(),
        2,
        "ignore file then package.json: {:?}",
        api.notes
    );
}

/// The filtered root names are computed once per key and directory, and answer as a filter.
#[test]
fn root_names_matching_is_shared_by_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    for name in ["a.Dockerfile", "b.Dockerfile", "app.db", "notes.txt"] {
        write(root, name, "FROM scratch\n");
    }
    let reader = ContextReader::new();
    let a = reader.read(&root.join("a.Dockerfile"), None);
    let b = reader.read(&root.join("b.Dockerfile"), None);
    let dbs = a.root_names_matching("*.db", |n| n.ends_with(".db"));
    assert_eq!(*dbs, vec!["app.db".to_string()]);
    // Same key: the first answer, not a new filter.
    let again = b.root_names_matching("*.db", |_| panic!("not filtered again"));
    assert!(Arc::ptr_eq(&dbs.0, &again.0));
    let txt = b.root_names_matching("*.txt", |n| n.ends_with(".txt"));
    assert_eq!(*txt, vec!["notes.txt".to_string()]);
}

#[test]
fn a_shared_context_directory_stays_cached_while_single_use_ones_come_and_go() {
    // A Compose root shared by every service is asked for by each Dockerfile, between the
    // Dockerfiles' own directories: it must not be read again when a shard fills up.
    let cache = super::DirCache::default();
    let listings = super::Listings::default();
    let root = std::path::Path::new("/nonexistent-restage-test/root");
    let first = cache.get(root, &listings);
    for i in 0..(super::DIR_SHARDS * super::DIR_SHARD_CAPACITY * 3) {
        let own = std::path::PathBuf::from(format!("/nonexistent-restage-test/svc-{i}"));
        cache.get(&own, &listings);
        let again = cache.get(root, &listings);
        assert!(
            std::sync::Arc::ptr_eq(&first, &again),
            "the shared directory was read again after {i} others"
        );
    }
}

#[test]
fn a_folder_listed_before_its_context_is_read_is_read_from_that_listing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    std::fs::write(root.join("Dockerfile"), "FROM node:20\n").expect("write");
    std::fs::write(root.join("package.json"), "{\"name\": \"x\"}").expect("write");
    std::fs::write(root.join("later.txt"), "").expect("write");
    std::fs::create_dir(root.join("src")).expect("mkdir");
    let fresh = BuildContext::read(&root.join("Dockerfile"), None);
    let reader = ContextReader::new();
    reader.listings().list_with(root, |_| ());
    // Removed after the listing: the context is the folder as listed.
    std::fs::remove_file(root.join("later.txt")).expect("remove");
    let prelisted = reader.read(&root.join("Dockerfile"), None);
    assert_eq!(
        prelisted.listing.as_deref(),
        fresh.listing.as_deref(),
        "the same names and kinds"
    );
    assert_eq!(*prelisted.root_names, *fresh.root_names);
    assert_eq!(prelisted.files, fresh.files);
    assert_eq!(prelisted.notes, fresh.notes);
    assert!(
        prelisted
            .listing
            .as_ref()
            .expect("listed")
            .contains_key("later.txt")
    );
    // Taken once: the folder read again by another reader is listed as it is now.
    let now = BuildContext::read(&root.join("Dockerfile"), None);
    assert!(
        !now.listing
            .as_ref()
            .expect("listed")
            .contains_key("later.txt")
    );
}

/// The ignore file of a Dockerfile whose context is another folder (a Compose root): its own
/// `NAME.dockerignore` next to it wins, else the root's `.dockerignore`; a folder whose listing
/// holds no ignore file is not looked up again.
#[test]
fn ignore_files_of_a_context_elsewhere() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    let compose = "services:\n  a:\n    build:\n      context: .\n      dockerfile: svc/a/Dockerfile\n  b:\n    build:\n      context: .\n      dockerfile: svc/b/Dockerfile\n  c:\n    build:\n      context: .\n      dockerfile: svc/c/Dockerfile\n";
    write(root, "compose.yaml", compose);
    write(root, "svc/a/Dockerfile", "FROM node:22\n");
    write(root, "svc/a/Dockerfile.dockerignore", "secrets\n");
    write(root, "svc/b/Dockerfile", "FROM node:22\n");
    write(root, "svc/c/Dockerfile", "FROM node:22\n");
    write(root, "svc/c/notes.txt", "");
    let reader = ContextReader::new();
    let read = |reader: &ContextReader, svc: &str| {
        let ctx = reader.read(&root.join(format!("svc/{svc}/Dockerfile")), None);
        assert_eq!(ctx.dir, root, "{svc}: the Compose root is the context");
        ctx
    };
    // No `.dockerignore` at the root: only `a` has an ignore file.
    let a = read(&reader, "a");
    assert!(a.is_ignored("secrets/key") && !a.is_ignored("src"));
    let b = read(&reader, "b");
    assert!(!b.is_ignored("secrets/key"));
    assert!(matches!(b.dockerignore, DockerIgnoreState::Absent));
    // With one at the root (a fresh reader: listings are facts of the time they were made).
    write(root, ".dockerignore", "src\n");
    let reader = ContextReader::new();
    let a = read(&reader, "a");
    assert!(
        a.is_ignored("secrets/key") && !a.is_ignored("src"),
        "its own wins"
    );
    for svc in ["b", "c"] {
        let ctx = read(&reader, svc);
        assert!(
            ctx.is_ignored("src") && !ctx.is_ignored("secrets/key"),
            "{svc}"
        );
    }
    // A context named on the command line: the Dockerfile's folder is not listed, its
    // ignore file is looked up.
    let given = ContextReader::new().read(&root.join("svc/a/Dockerfile"), Some(root));
    assert!(given.is_ignored("secrets/key") && !given.is_ignored("src"));
}

/// A small root listing read whole answers for a root-level name it does not hold; a name it
/// holds in another letter case, a non-ASCII name in it, or a large listing: the file system is
/// asked.
#[test]
fn a_small_whole_listing_answers_for_missing_root_names() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    write(root, "Dockerfile", "FROM node:22\n");
    write(root, "README.MD", "");
    let ctx = BuildContext::read(&root.join("Dockerfile"), None);
    assert!(ctx.listing_is_whole);
    // Created after the listing: the listing's answer, not a look-up.
    write(root, "binding.gyp", "{}");
    assert!(!ctx.exists("binding.gyp"));
    assert!(ctx.exists("README.MD"));
    // Held in another letter case: looked up (absent on a case-sensitive file system).
    write(root, "readme.md", "");
    assert!(ctx.exists("readme.md"));
    assert!(!ctx.exists("sub/binding.gyp"));

    let non_ascii = tempfile::tempdir().expect("temp dir");
    write(non_ascii.path(), "Dockerfile", "FROM node:22\n");
    write(non_ascii.path(), "caf\u{e9}", "");
    let ctx = BuildContext::read(&non_ascii.path().join("Dockerfile"), None);
    assert!(!ctx.listing_is_whole);
    write(non_ascii.path(), "binding.gyp", "{}");
    assert!(ctx.exists("binding.gyp"));

    let large = tempfile::tempdir().expect("temp dir");
    write(large.path(), "Dockerfile", "FROM node:22\n");
    for i in 0..super::WHOLE_LISTING_NAMES {
        write(large.path(), &format!("f{i}"), "");
    }
    let ctx = BuildContext::read(&large.path().join("Dockerfile"), None);
    assert!(!ctx.listing_is_whole);
    write(large.path(), "binding.gyp", "{}");
    assert!(ctx.exists("binding.gyp"));
}
