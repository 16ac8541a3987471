//! Ruby: Bundler installs the gems into GEM_HOME (/usr/local/bundle in the official images,
//! which also holds Bundler's configuration, BUNDLE_APP_CONFIG) or into the BUNDLE_PATH the file
//! sets; the runtime stage, on the same version's slim image (an Alpine tag: the same image),
//! receives that directory and the application directory. When the app runs in a production environment (RAILS_ENV, RACK_ENV or
//! APP_ENV), the build stage first tells Bundler to leave the development and test groups out,
//! and to install Gemfile.lock frozen when the lockfile provably installs as it is. Gems with
//! native code that links libraries the slim image lacks (knowledge data) get those libraries;
//! on Alpine the runtime is the build image itself, so its libraries are the runtime libraries
//! of the `-dev` packages the file installs and keeps (mapped like every apk package);
//! the front-end asset tooling (nodejs, yarn) stays in the build stage unless the start command
//! or a gem that needs a JavaScript runtime (execjs) uses it. Refused: a start command that runs
//! `bundle install`, tests, or the Rails server in the development environment, and Bundler
//! settings restage cannot read.

use super::super::super::Context;
use super::super::super::analysis;
use super::super::super::effects;
use super::super::super::facts::{self, ImageFacts, PackageManager};
use super::super::super::start::StartCommand;
use super::super::{Analysis, Start, refuse};
use super::{Carry, Input, Recipe, Verdict};
use crate::edit::Edit;
use crate::syntax::{Document, Kind, Stage};

pub(super) struct Ruby;

/// GEM_HOME and BUNDLE_APP_CONFIG of the official ruby images.
const GEM_HOME: &str = "/usr/local/bundle";

/// The environments whose Bundler groups Rails and Sinatra load besides the default group.
const DEV_ENVIRONMENTS: &[&str] = &["development", "test"];

impl Recipe for Ruby {
    fn carry(&self, input: &Input, a: &mut Analysis) -> Result<Carry, Verdict> {
        let Input {
            doc,
            stage,
            ctx,
            image,
            anchor,
            ..
        } = *input;
        let end = stage.instructions.end;
        // An Alpine tag is its own runtime image: the gems' libraries are there already, or
        // come from the `-dev` packages the file installs (their runtime names are mapped).
        let same_image = facts::maps_to_itself(ctx, &stage.image.value);
        if image.package_manager != PackageManager::Apt && !same_image {
            return Err(refuse(
                anchor,
                "restage knows the libraries of Ruby's native gems only by their Debian package names, and this image does not use apt",
            ));
        }
        // ENTRYPOINT and CMD together: `ENTRYPOINT ["./entrypoint.sh"]` with `CMD ["rails", "s"]`
        // starts the Rails server too.
        let words: Vec<String> = StartCommand::of(doc, stage.from + 1..end)
            .parts()
            .flat_map(|p| p.words.iter().cloned())
            .collect();
        let env = production_env(doc, stage, &words);
        start_check(&words, env.as_ref(), anchor)?;
        let config = bundler_config(doc, stage, &a.runs).map_err(|why| refuse(anchor, why))?;
        let installs: Vec<usize> = a
            .runs
            .iter()
            .filter(|(_, f)| f.installs.iter().any(|(m, _)| m == "bundler"))
            .map(|(ix, _)| *ix)
            .collect();

        let mut carry = Carry::default();
        // Where the gems, their executables and Bundler's configuration live.
        let gem_home = match analysis::variable_at(doc, stage, end, "GEM_HOME") {
            Some(r) if r.value.starts_with('/') => r.value,
            Some(_) => {
                return Err(refuse(
                    anchor,
                    "GEM_HOME is not an absolute path restage can read",
                ));
            }
            None if declares(doc, stage, "GEM_HOME") => {
                return Err(refuse(
                    anchor,
                    "GEM_HOME is set from a variable restage does not resolve",
                ));
            }
            None => GEM_HOME.to_string(),
        };
        carry.copies.push(analysis::normalize(&gem_home));
        // The official images set BUNDLE_APP_CONFIG to their GEM_HOME when they are built: Bundler's
        // settings stay there even when the file moves GEM_HOME.
        if analysis::normalize(&gem_home) != GEM_HOME {
            carry.copies.push(GEM_HOME.to_string());
        }
        for name in ["BUNDLE_PATH", "BUNDLE_APP_CONFIG", "BUNDLE_BIN"] {
            match analysis::variable_at(doc, stage, end, name) {
                Some(r) => {
                    // A relative value is relative to the application (the Gemfile's directory).
                    let path = analysis::join(&a.workdir, &r.value);
                    if let Some(p) = absolute_outside(&path, &a.workdir) {
                        carry.copies.push(p);
                    }
                }
                None if declares(doc, stage, name) => {
                    return Err(refuse(
                        anchor,
                        format!("{name} is set from a variable restage does not resolve"),
                    ));
                }
                None => {}
            }
        }
        for (ix, path) in &config.paths {
            // A relative bundle path is relative to the Gemfile's directory, where the RUN is.
            let base = effects::workdir(doc, stage, *ix, input.inherited)
                .unwrap_or_else(|| a.workdir.clone());
            if let Some(p) = absolute_outside(&analysis::join(&base, path), &a.workdir) {
                carry.copies.push(p);
            }
        }

        // The build stage: Bundler leaves the development and test groups out, and installs the
        // lockfile frozen, before the first `bundle install`.
        if let Some(&first) = installs.first() {
            let mut settings: Vec<(&str, String)> = Vec::new();
            // A `.bundle/config` the context sends is copied over the app's own after the
            // install, and would make Bundler look for the groups left out: keep them then.
            let sends_bundle_config =
                ctx.build.exists(".bundle/config") && !ctx.build.is_ignored(".bundle/config");
            if env.as_ref().is_some_and(|e| e.production) && !config.groups && !sends_bundle_config
            {
                settings.push(("without", "development test".to_string()));
                // On the same image the gems left out are what the split saves besides the
                // build packages, when the Gemfile has any (unread: it may).
                if ctx.build.dependencies.gemfile_dev_groups == Some(false) {
                    if same_image {
                        carry.kept_dev =
                            Some("the Gemfile has no development or test group".to_string());
                    }
                } else {
                    carry.drops_dev = same_image;
                }
            } else if same_image {
                carry.kept_dev = Some(match &env {
                    _ if config.groups => "the file chooses the Bundler groups itself".to_string(),
                    _ if sends_bundle_config => "the build context's .bundle/config chooses the Bundler groups".to_string(),
                    Some(e) => format!(
                        "{} is not production, so the Gemfile's development and test groups stay",
                        e.name
                    ),
                    None => "the file sets no production environment (RAILS_ENV, RACK_ENV or APP_ENV), so the Gemfile's development and test groups stay".to_string(),
                });
            }
            if !config.frozen
                && !config.changes_lock
                && lock_installs_frozen(doc, stage, ctx, first, input.inherited, image)
            {
                settings.push(("frozen", "true".to_string()));
            }
            if !settings.is_empty() {
                let legacy = image.version.as_deref().is_some_and(before_bundler_2_1);
                let nl = doc.style().nl();
                let run_kw = doc.style().keyword(Kind::Run);
                let commands: Vec<String> = settings
                    .iter()
                    .map(|(key, value)| bundle_config(key, value, legacy))
                    .collect();
                let at = analysis::extent_with_comments(doc, first).start;
                carry.inserts.push(Edit::insert(
                    at,
                    format!("{run_kw} {}{nl}", commands.join(" && ")),
                ));
            }
            if ctx.build.gemfile_lock.is_none() && !same_image {
                let why = match ctx.build.unsent("Gemfile.lock") {
                    Some(u) => u.describe("Gemfile.lock"),
                    None => "restage cannot read the build context's Gemfile.lock".to_string(),
                };
                a.unsafe_reasons.push(format!(
                    "{why}, so restage cannot tell which gems have native extensions that need libraries {} has and its slim image lacks",
                    stage.image.value
                ));
            }
        }
        if let Some(gems) = gem_installs(doc, &a.runs).filter(|_| !same_image) {
            a.unsafe_reasons.push(format!(
                "`gem install {gems}` installs gems no Gemfile.lock lists, so restage cannot tell whether their native extensions need libraries {} has and its slim image lacks",
                stage.image.value
            ));
        }
        // pip outside a virtualenv installs into the system Python, which the runtime stage
        // gets again from its package manager without the packages.
        for (ix, f) in &a.runs {
            if f.pip {
                let line = analysis::line_of(doc, *ix);
                a.unsafe_reasons.push(format!(
                    "the RUN at line {line} installs Python packages with pip into the system Python, which the runtime stage does not receive"
                ));
            }
        }
        carry
            .copies
            .extend(input.app_paths.clone().map_err(|why| refuse(anchor, why))?);
        Ok(carry)
    }

    fn runtime_packages(&self, ctx: &Context, image: &ImageFacts) -> Result<Vec<String>, String> {
        let (Some(lock), Some(eco)) = (&ctx.build.gemfile_lock, ctx.knowledge.ecosystem("ruby"))
        else {
            return Ok(Vec::new());
        };
        // The same image has every library the build linked, but for the packages the file
        // installs, which the skeleton maps already.
        if facts::maps_to_itself(ctx, &image.reference) {
            return Ok(Vec::new());
        }
        super::native_libraries(
            ctx,
            image,
            &eco.native_packages,
            |gem| lock.gems.contains(gem),
            "the gem",
        )
    }

    fn writes_only_carried(&self, words: &[String]) -> bool {
        // Bundler writes its settings to BUNDLE_APP_CONFIG (GEM_HOME in the official images)
        // or the app's .bundle/config, gems to GEM_HOME or BUNDLE_PATH, the lockfile and
        // binstubs next to the Gemfile: all carried.
        let program = words.first().map(|p| crate::shell::base_name(p));
        let sub = words
            .iter()
            .skip(1)
            .find(|w| !w.starts_with('-'))
            .map(String::as_str);
        matches!(program, Some("bundle" | "bundler"))
            && matches!(
                sub,
                Some("config" | "update" | "lock" | "remove" | "binstubs" | "clean")
            )
    }

    fn may_drop_dev(&self, manager: &str) -> bool {
        // `bundle config set --local without 'development test'` before the install.
        manager == "bundler"
    }

    fn build_only_package(&self, ctx: &Context, start: &Start, name: &str) -> bool {
        let Some(eco) = ctx.knowledge.ecosystem("ruby") else {
            return false;
        };
        if !eco.asset_packages.iter().any(|p| p == name) {
            return false;
        }
        // The start command runs node, npm or yarn itself.
        let runs_js = start.words.iter().any(|w| {
            let base = crate::shell::base_name(w);
            matches!(
                base,
                "node" | "nodejs" | "npm" | "npx" | "yarn" | "yarnpkg" | "pnpm"
            )
        });
        if runs_js {
            return false;
        }
        if name == "nodejs" {
            // A gem that needs a JavaScript runtime when the app loads (execjs raises without
            // one); without a readable lockfile restage cannot tell, so node stays.
            return ctx.build.gemfile_lock.as_ref().is_some_and(|lock| {
                !eco.js_runtime_dependencies
                    .iter()
                    .any(|g| lock.gems.contains(g))
            });
        }
        true
    }
}

/// The environment the app starts in, when the file says.
struct AppEnv {
    /// `RAILS_ENV=production` or the like: not development or test.
    production: bool,
    /// The variable that decided (`RAILS_ENV`), for messages.
    name: String,
}

/// The Rails/Rack environment the start command runs in: an assignment in the start command,
/// `rails server -e NAME`, else the stage's ENV (RAILS_ENV first, as Rails reads it). `None`
/// when the file sets none (Rails and Sinatra then default to development).
fn production_env(doc: &Document, stage: &Stage, words: &[String]) -> Option<AppEnv> {
    let end = stage.instructions.end;
    let flag = words
        .windows(2)
        .find_map(|w| matches!(w[0].as_str(), "-e" | "--environment").then(|| w[1].clone()));
    let flag = flag.or_else(|| {
        words
            .iter()
            .find_map(|w| w.strip_prefix("--environment=").map(str::to_string))
    });
    let value = |name: &str| -> Option<String> {
        words
            .iter()
            .find_map(|w| w.strip_prefix(&format!("{name}=")).map(str::to_string))
            .or_else(|| analysis::variable_at(doc, stage, end, name).map(|r| r.value))
    };
    let (name, v) = match flag {
        Some(v) if is_rails_server(words) => ("-e".to_string(), v),
        _ => ["RAILS_ENV", "RACK_ENV", "APP_ENV"]
            .iter()
            .find_map(|n| value(n).map(|v| (n.to_string(), v)))?,
    };
    Some(AppEnv {
        production: !v.is_empty() && !v.contains('$') && !DEV_ENVIRONMENTS.contains(&v.as_str()),
        name,
    })
}

/// The start command runs `rails server` (`rails s`, `bin/rails server`, after `bundle exec`).
fn is_rails_server(words: &[String]) -> bool {
    words.windows(2).any(|w| {
        let program = crate::shell::base_name(&w[0]);
        program == "rails" && matches!(w[1].as_str(), "s" | "server")
    })
}

/// Refuses start commands that need what the runtime stage leaves behind.
fn start_check(all: &[String], env: Option<&AppEnv>, anchor: usize) -> Result<(), Verdict> {
    let words: Vec<&str> = all.iter().map(String::as_str).collect();
    for w in words.windows(2) {
        let program = crate::shell::base_name(w[0]);
        let installs = matches!(
            (program, w[1]),
            ("bundle" | "bundler", "install" | "update") | ("gem", "install" | "update")
        );
        if installs {
            return Err(refuse(
                anchor,
                format!(
                    "the start command runs `{program} {}`, which installs gems when the container starts and needs the compilers and headers the runtime stage leaves behind",
                    w[1]
                ),
            ));
        }
    }
    // The program after `bundle exec`.
    let mut rest: &[&str] = &words;
    while let Some((first, tail)) = rest.split_first() {
        let base = crate::shell::base_name(first);
        if matches!(base, "bundle" | "bundler") && tail.first() == Some(&"exec") {
            rest = &tail[1..];
            continue;
        }
        if crate::shell::is_assignment(first) {
            rest = tail;
            continue;
        }
        break;
    }
    let program = rest
        .first()
        .map(|p| crate::shell::base_name(p))
        .unwrap_or("");
    let task = rest.get(1).copied().unwrap_or("");
    let tests = match program {
        "rspec" | "cucumber" | "rubocop" | "guard" | "standardrb" | "minitest" => true,
        "rake" => {
            rest.len() == 1
                || task.starts_with("spec")
                || task.starts_with("test")
                || matches!(task, "default" | "ci" | "rubocop")
        }
        "rails" => task == "test" || task.starts_with("test:"),
        _ => false,
    };
    if tests {
        return Err(refuse(
            anchor,
            format!(
                "the start command runs tests or checks (`{}`), which need the development and test gems; a runtime stage is for an image that runs the app",
                rest.iter().take(2).copied().collect::<Vec<_>>().join(" ")
            ),
        ));
    }
    if is_rails_server(all) && !env.is_some_and(|e| e.production) {
        let why = match env {
            Some(e) => format!("{} is not production", e.name),
            None => "RAILS_ENV is not set, so it defaults to development".to_string(),
        };
        return Err(refuse(
            anchor,
            format!(
                "the start command runs the Rails server in the development environment ({why}), which loads the Gemfile's development group and compiles assets on request; set RAILS_ENV=production"
            ),
        ));
    }
    Ok(())
}

/// What the file already tells Bundler.
#[derive(Debug, Default)]
struct BundlerConfig {
    /// Groups are chosen (`--without`, `BUNDLE_WITHOUT`, `bundle config ... without/only`).
    groups: bool,
    /// The lockfile is installed frozen (`--deployment`, `--frozen`, BUNDLE_DEPLOYMENT, ...).
    frozen: bool,
    /// A command changes the lockfile (`bundle update`, `bundle add`, `bundle lock`), which a
    /// frozen bundle refuses.
    changes_lock: bool,
    /// Bundle paths set by a command: (the RUN, the path as written).
    paths: Vec<(usize, String)>,
}

/// The Bundler settings of the stage's ENVs and commands; `Err` when one that chooses groups or
/// the bundle path uses a variable restage cannot read.
fn bundler_config(
    doc: &Document,
    stage: &Stage,
    runs: &[(usize, super::super::RunFacts)],
) -> Result<BundlerConfig, String> {
    let mut config = BundlerConfig::default();
    let instructions = doc.instructions();
    let end = stage.instructions.end;
    for name in ["BUNDLE_WITHOUT", "BUNDLE_ONLY", "BUNDLE_WITH"] {
        if declares(doc, stage, name) {
            if analysis::variable_at(doc, stage, end, name).is_none() {
                return Err(format!(
                    "{name} is set from a variable, so restage cannot read which Bundler groups are installed"
                ));
            }
            if name != "BUNDLE_WITH" {
                config.groups = true;
            }
        }
    }
    for name in ["BUNDLE_DEPLOYMENT", "BUNDLE_FROZEN"] {
        if declares(doc, stage, name) {
            config.frozen = true;
        }
    }
    for (ix, _) in runs {
        let Some(commands) = analysis::run_commands(doc, &instructions[*ix]) else {
            continue;
        };
        for cmd in &commands {
            for a in cmd.assignments() {
                if a.starts_with("BUNDLE_WITHOUT=") || a.starts_with("BUNDLE_ONLY=") {
                    config.groups = true;
                }
                if a.starts_with("BUNDLE_DEPLOYMENT=") || a.starts_with("BUNDLE_FROZEN=") {
                    config.frozen = true;
                }
            }
            let words: Vec<&str> = cmd.program_words().iter().map(String::as_str).collect();
            let Some((program, args)) = words.split_first() else {
                continue;
            };
            let program = crate::shell::base_name(program);
            if !matches!(program, "bundle" | "bundler") {
                continue;
            }
            let Some(sub) = args.iter().position(|w| !w.starts_with('-')) else {
                continue;
            };
            let (sub, rest) = (args[sub], &args[sub + 1..]);
            if matches!(sub, "update" | "add" | "lock" | "remove" | "inject") {
                config.changes_lock = true;
            }
            match sub {
                "install" | "" => {
                    let mut i = 0;
                    while i < rest.len() {
                        let w = rest[i];
                        let (flag, value) = match w.split_once('=') {
                            Some((f, v)) => (f, Some(v)),
                            None => (w, rest.get(i + 1).copied()),
                        };
                        match flag {
                            "--without" | "--only" => {
                                let v = value.unwrap_or("");
                                if v.contains('$') {
                                    return Err(format!(
                                        "`bundle install {flag}` takes its groups from a variable, so restage cannot read which Bundler groups are installed"
                                    ));
                                }
                                config.groups = true;
                            }
                            "--deployment" | "--frozen" => config.frozen = true,
                            "--path" => {
                                let v = value.unwrap_or("");
                                if v.contains('$') {
                                    return Err(
                                        "`bundle install --path` takes its path from a variable, so restage cannot tell where the gems are".into(),
                                    );
                                }
                                config.paths.push((*ix, v.to_string()));
                            }
                            _ => {}
                        }
                        if w.contains('=') || !matches!(flag, "--without" | "--only" | "--path") {
                            i += 1;
                        } else {
                            i += 2;
                        }
                    }
                    if rest.contains(&"--deployment") {
                        config.paths.push((*ix, "vendor/bundle".into()));
                    }
                }
                "config" => {
                    // bundle config [set|unset] [--local|--global] KEY VALUE...
                    let plain: Vec<&str> = rest
                        .iter()
                        .copied()
                        .filter(|w| !w.starts_with('-') && *w != "set")
                        .collect();
                    if rest.first() == Some(&"unset") || plain.first() == Some(&"unset") {
                        continue;
                    }
                    let Some((key, values)) = plain.split_first() else {
                        continue;
                    };
                    let key = key.to_ascii_lowercase().replace('_', ".");
                    let key = key.strip_prefix("bundle.").unwrap_or(&key).to_string();
                    let variable = values.iter().any(|v| v.contains('$'));
                    match key.as_str() {
                        "without" | "only" => {
                            if variable {
                                return Err(format!(
                                    "`bundle config {key}` takes its groups from a variable, so restage cannot read which Bundler groups are installed"
                                ));
                            }
                            config.groups = true;
                        }
                        "deployment" | "frozen" => config.frozen = true,
                        "path" => {
                            if variable {
                                return Err(
                                    "`bundle config path` takes its path from a variable, so restage cannot tell where the gems are".into(),
                                );
                            }
                            if let Some(v) = values.first() {
                                config.paths.push((*ix, v.to_string()));
                            }
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
        }
    }
    Ok(config)
}

/// The gems the stage's `gem install` commands name, besides Bundler itself (which has no
/// native code), joined for a message; `None` when there are none.
fn gem_installs(doc: &Document, runs: &[(usize, super::super::RunFacts)]) -> Option<String> {
    let mut gems: Vec<String> = Vec::new();
    for (ix, _) in runs {
        let Some(commands) = analysis::run_commands(doc, &doc.instructions()[*ix]) else {
            continue;
        };
        for cmd in &commands {
            let words = cmd.program_words();
            let program = words.first().map(|p| crate::shell::base_name(p));
            if program != Some("gem") || words.get(1).map(String::as_str) != Some("install") {
                continue;
            }
            let mut skip = false;
            for w in &words[2..] {
                if skip {
                    skip = false;
                    continue;
                }
                if matches!(
                    w.as_str(),
                    "-v" | "--version"
                        | "-i"
                        | "--install-dir"
                        | "-n"
                        | "--bindir"
                        | "--source"
                        | "-s"
                ) {
                    skip = true;
                    continue;
                }
                let name = w.split(':').next().unwrap_or(w);
                if w.starts_with('-') || matches!(name, "bundler" | "bundle" | "rubygems-update") {
                    continue;
                }
                if !gems.iter().any(|g| g == name) {
                    gems.push(name.to_string());
                }
            }
        }
    }
    (!gems.is_empty()).then(|| gems.join(" "))
}

/// Whether an ENV or ARG of the stage names `name`.
fn declares(doc: &Document, stage: &Stage, name: &str) -> bool {
    doc.stage_instructions(stage)
        .iter()
        .filter(|i| matches!(i.kind, Kind::Env | Kind::Arg))
        .any(|i| analysis::defined_names(doc, i).iter().any(|n| n == name))
}

/// `path` when it is an absolute path outside `workdir` (inside it, the app directory carries it).
fn absolute_outside(path: &str, workdir: &str) -> Option<String> {
    let p = analysis::normalize(path);
    (path.starts_with('/')
        && !p.contains('$')
        && (workdir == "/" || !analysis::is_within(&p, workdir)))
    .then_some(p)
}

/// Ruby versions before 2.7, whose images ship Bundler 1 (no `bundle config set`). A tag
/// without a minor version (`ruby:2`) is the last of its major, 2.7.
fn before_bundler_2_1(version: &str) -> bool {
    let mut parts = version.split('.').map(|p| {
        p.chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse::<u64>()
            .ok()
    });
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(major), _) if major < 2 => true,
        (Some(2), Some(minor)) => minor < 7,
        _ => false,
    }
}

/// One Bundler setting, in the syntax of the image's Bundler: `bundle config set --local` from
/// Bundler 2.1 (Ruby 2.7 images), the older `bundle config --local` before.
fn bundle_config(key: &str, value: &str, legacy: bool) -> String {
    let quoted = if value.contains(' ') {
        format!("'{value}'")
    } else {
        value.to_string()
    };
    if legacy {
        format!("bundle config --local {key} {}", value.replace(' ', ":"))
    } else {
        format!("bundle config set --local {key} {quoted}")
    }
}

/// Whether Gemfile.lock can be installed frozen: the build context's lockfile was read, lists
/// `ruby` or a Linux platform (on Alpine a musl one: Bundler tells `x86_64-linux-musl` from
/// `x86_64-linux`, and a frozen install never adds a platform), records every gem the Gemfile
/// declares, and a COPY before the first install brings it next to the Gemfile.
fn lock_installs_frozen(
    doc: &Document,
    stage: &Stage,
    ctx: &Context,
    first_install: usize,
    inherited: &str,
    image: &ImageFacts,
) -> bool {
    let Some(lock) = &ctx.build.gemfile_lock else {
        return false;
    };
    let platform = if image.package_manager == PackageManager::Apk {
        lock.platforms
            .iter()
            .any(|p| p == "ruby" || p.ends_with("-linux-musl"))
    } else {
        lock.installs_on_linux()
    };
    let declared = ctx.build.dependencies.names.get("gem");
    if !platform || !declared.is_some_and(|d| lock.records(d)) {
        return false;
    }
    let install_dir = effects::workdir(doc, stage, first_install, inherited);
    (stage.from + 1..first_install).any(|ix| {
        let ins = &doc.instructions()[ix];
        if !analysis::copies_from_context(ins) {
            return false;
        }
        let brings = analysis::sources(ins).iter().any(|s| {
            let v = s.value.trim_start_matches("./").trim_end_matches('/');
            matches!(v, "Gemfile.lock" | "Gemfile*" | "*" | "." | "")
        });
        let dest = effects::destination(doc, stage, ix, inherited);
        brings
            && match (&dest, &install_dir) {
                (Some(d), Some(w)) => d == w || analysis::is_within(d, w),
                _ => false,
            }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundler_1_images_get_the_old_config_syntax() {
        assert!(
            before_bundler_2_1("2.6.5") && before_bundler_2_1("2.3") && before_bundler_2_1("1.9.3")
        );
        assert!(
            !before_bundler_2_1("2.7") && !before_bundler_2_1("2") && !before_bundler_2_1("3.3.1")
        );
        assert_eq!(
            bundle_config("without", "development test", true),
            "bundle config --local without development:test"
        );
        assert_eq!(
            bundle_config("without", "development test", false),
            "bundle config set --local without 'development test'"
        );
        assert_eq!(
            bundle_config("frozen", "true", false),
            "bundle config set --local frozen true"
        );
    }

    #[test]
    fn rails_server_is_read_after_bundle_exec_and_paths() {
        let w = |s: &str| s.split(' ').map(str::to_string).collect::<Vec<_>>();
        assert!(is_rails_server(&w("bundle exec rails s -b 0.0.0.0")));
        assert!(is_rails_server(&w("./bin/rails server")));
        assert!(!is_rails_server(&w("bin/rails assets:precompile")));
        assert!(!is_rails_server(&w("bundle exec puma")));
    }

    #[test]
    fn outside_the_app_only() {
        assert_eq!(absolute_outside("/gems/", "/app"), Some("/gems".into()));
        assert_eq!(absolute_outside("/app/vendor/bundle", "/app"), None);
        assert_eq!(absolute_outside("vendor/bundle", "/app"), None);
        assert_eq!(absolute_outside("$HOME/gems", "/app"), None);
    }
}
