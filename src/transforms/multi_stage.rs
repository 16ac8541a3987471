//! `multi-stage`: a naive single-stage Dockerfile built FROM an SDK image becomes a `build` stage
//! (the original instructions) and a runtime stage FROM the mapped slim image that receives only
//! what the app needs: the application directory (dev dependencies pruned), a virtualenv, or the
//! built binary, at the same absolute paths, with the same WORKDIR, ENV, CMD, ENTRYPOINT, EXPOSE,
//! LABEL, VOLUME, HEALTHCHECK, STOPSIGNAL, SHELL and USER. Runtime packages are installed again;
//! build-only packages stay behind. When a fact is missing the change is unsafe or only a
//! suggestion.

use std::collections::BTreeSet;

use super::Context;
use super::analysis::{self, Workdir};
use super::facts::{self, Ecosystem, Needs, PackageClass, PackageManager, Role};
use crate::edit::{Applicability, Change, Edit};
use crate::shell::SimpleCommand;
use crate::syntax::{Document, Form, Instruction, Kind, Stage};

const ID: &str = "multi-stage";

/// The default PATH of the Debian-based and distroless runtime images.
const DEFAULT_PATH: &[&str] = &[
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

/// Instructions whose effect is on the image's configuration: they move to the runtime stage.
const MOVED: &[Kind] = &[
    Kind::Expose,
    Kind::Label,
    Kind::Volume,
    Kind::Healthcheck,
    Kind::Stopsignal,
    Kind::Cmd,
    Kind::Entrypoint,
    Kind::Maintainer,
    Kind::User,
];

/// Commands that prepare the runtime filesystem without build tools: a RUN made only of these
/// (and neutral commands) is carried into the runtime stage.
const PREP: &[&str] = &[
    "mkdir", "chmod", "chown", "chgrp", "ln", "touch", "useradd", "groupadd", "adduser",
    "addgroup", "usermod", "install",
];

/// Commands with no effect on what the runtime needs (cleanup, navigation, output).
const NEUTRAL: &[&str] = &[
    "rm", "cd", "true", "echo", "printf", "set", ":", "ls", "cat", "pwd", "id", "whoami", "sync",
];

pub(super) fn run(doc: &Document, ctx: &Context) -> Vec<Change> {
    match plan(doc, ctx) {
        Ok(change) => vec![change],
        Err(Verdict::NotApplicable) => Vec::new(),
        Err(Verdict::Refuse {
            anchor,
            title,
            reason,
        }) => {
            vec![Change::new(
                ID,
                Applicability::DisplayOnly,
                anchor,
                title,
                reason,
            )]
        }
    }
}

/// Why no change is made.
enum Verdict {
    /// Nothing to say: not a single-stage file on a known SDK image.
    NotApplicable,
    /// Worth telling the user: the file would benefit, but restage cannot do it safely.
    Refuse {
        anchor: usize,
        title: String,
        reason: String,
    },
}

fn refuse(anchor: usize, reason: impl Into<String>) -> Verdict {
    Verdict::Refuse {
        anchor,
        title: "Split into a build stage and a slim runtime stage".into(),
        reason: reason.into(),
    }
}

/// What one RUN instruction contributes.
#[derive(Debug, Default)]
struct RunFacts {
    /// Packages installed with apt-get/apt or apk.
    packages: Vec<(PackageManager, String)>,
    /// Every command is a filesystem preparation or neutral: the RUN can run in the runtime too.
    prep_only: bool,
    /// The RUN builds, installs dependencies, or otherwise needs the SDK.
    builds: bool,
    /// Why restage cannot tell what the RUN leaves behind, if so.
    unknown: Option<String>,
    /// Dependency installs seen: (manager id, omits dev dependencies already).
    installs: Vec<(String, bool)>,
    /// Absolute paths of binaries the RUN builds (Go `-o`, Rust target/release/<bin>).
    binaries: Vec<Binary>,
    /// The RUN uses pip (a virtualenv will capture what it installs).
    pip: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Binary {
    path: String,
    /// Go built with CGO_ENABLED=0.
    static_link: bool,
}

struct Analysis {
    ecosystem: Ecosystem,
    workdir: String,
    runs: Vec<(usize, RunFacts)>,
    unsafe_reasons: Vec<String>,
}

fn plan(doc: &Document, ctx: &Context) -> Result<Change, Verdict> {
    if doc.stages().len() != 1 {
        return Err(Verdict::NotApplicable);
    }
    let stage = doc.final_stage();
    let from = &doc.instructions()[stage.from];
    let image = facts::image(ctx, &stage.image.value).ok_or(Verdict::NotApplicable)?;
    let Role::Build(ecosystem) = image.role else {
        return Err(Verdict::NotApplicable);
    };
    let anchor = from.extent.start;
    if let Some(why) = facts::unsupported_version(ctx, &image, ecosystem) {
        return Err(refuse(anchor, why));
    }
    let body = stage.from + 1..stage.instructions.end;
    let instructions = doc.instructions();
    if instructions[body.clone()]
        .iter()
        .any(|i| i.kind == Kind::Onbuild)
    {
        return Err(refuse(
            anchor,
            "the stage has ONBUILD triggers, which belong to an image built FROM it, not to a runtime stage",
        ));
    }
    let end = stage.instructions.end;
    let resolved = analysis::workdir_resolution(doc, stage, end);
    let workdir = match resolved.value.clone() {
        Workdir::Known(w) if w != "/" => w,
        Workdir::Known(_) | Workdir::Inherited => {
            return Err(refuse(
                anchor,
                "the app has no WORKDIR of its own, so restage cannot tell the application directory from the SDK's files; add a WORKDIR such as /app",
            ));
        }
        Workdir::Unknown => {
            return Err(refuse(
                anchor,
                "the WORKDIR uses a variable restage does not resolve",
            ));
        }
    };

    let mut a = Analysis {
        ecosystem,
        workdir,
        runs: Vec::new(),
        unsafe_reasons: resolved.arg_reason().into_iter().collect(),
    };
    for ix in body.clone() {
        let ins = &instructions[ix];
        if ins.kind == Kind::Run {
            let f = run_facts(doc, stage, ix, ctx);
            a.runs.push((ix, f));
        }
    }
    let start = start_command(doc, stage);
    if let Some(tool) = start.as_ref().and_then(|s| s.toolchain.as_ref()) {
        return Err(refuse(
            anchor,
            format!(
                "the start command runs `{tool}`, so the toolchain is needed at runtime; build the app in a RUN step and start the result directly"
            ),
        ));
    }
    if !a
        .runs
        .iter()
        .any(|(_, f)| f.builds || !f.packages.is_empty())
    {
        // No build step and no toolchain installed: a slim base alone is not restage's call.
        return Err(Verdict::NotApplicable);
    }
    let system_installers: Vec<&str> = a
        .runs
        .iter()
        .flat_map(|(_, f)| f.installs.iter().map(|(m, _)| m.as_str()))
        .filter(|m| matches!(*m, "poetry" | "pipenv" | "uv" | "pdm" | "conda"))
        .collect();
    if let Some(m) = system_installers.first() {
        return Err(refuse(
            anchor,
            format!(
                "{m} installs the dependencies; restage splits pip installs (into a virtualenv) but not {m}'s environment yet"
            ),
        ));
    }
    for (ix, f) in &a.runs {
        if let Some(why) = &f.unknown {
            let line = doc.line_col(instructions[*ix].extent.start).0;
            a.unsafe_reasons.push(format!("RUN at line {line} {why}; what it leaves outside {} would not reach the runtime stage", a.workdir));
        }
    }
    let start = start.ok_or_else(|| {
        refuse(
            anchor,
            "the stage has no CMD or ENTRYPOINT, so restage cannot tell what the runtime needs",
        )
    })?;

    // Per ecosystem: what the runtime receives.
    let mut copies: Vec<String> = Vec::new();
    let mut inserts: Vec<Edit> = Vec::new();
    let mut runtime_env: Vec<String> = Vec::new();
    let mut static_link = false;
    let nl = doc.style().nl();
    let run_kw = doc.style().keyword(Kind::Run);
    let env_kw = doc.style().keyword(Kind::Env);
    match ecosystem {
        Ecosystem::Node => {
            node_start_check(ctx, &start, anchor)?;
            let installs: Vec<(String, bool, usize)> = a
                .runs
                .iter()
                .flat_map(|(ix, f)| f.installs.iter().map(move |(m, p)| (m.clone(), *p, *ix)))
                .collect();
            if let Some((pm, omits_dev, install_ix)) = installs.last().cloned()
                && !omits_dev
                && !env_sets_before(doc, stage, install_ix, "NODE_ENV", "production")
                && facts::has_dev_dependencies(ctx) != Some(false)
            {
                if pm == "yarn" && facts::yarn_major(ctx).is_some_and(|v| v >= 2) {
                    return Err(refuse(
                        anchor,
                        "the app uses Yarn 2 or later, whose production install needs a plugin restage cannot assume",
                    ));
                }
                let prune = facts::prune_command(ctx, &image, &pm).ok_or_else(|| {
                    refuse(anchor, "restage knows no command to drop dev dependencies for this package manager")
                })?;
                let last = a
                    .runs
                    .iter()
                    .rev()
                    .find(|(_, f)| f.builds)
                    .map(|(ix, _)| *ix)
                    .expect("a build RUN exists");
                inserts.push(Edit::insert(
                    instructions[last].extent.end,
                    format!(
                        "{}{run_kw} {prune}{nl}",
                        if instructions[last].extent.end == doc.text().len()
                            && !doc.text().ends_with('\n')
                        {
                            nl
                        } else {
                            ""
                        }
                    ),
                ));
            }
            copies.push(a.workdir.clone());
        }
        Ecosystem::Python => {
            if let Some(w) = start.program_word()
                && w.starts_with("/usr/local/bin/python")
            {
                return Err(refuse(
                    anchor,
                    "the start command names the system interpreter by path, which would bypass the virtualenv that carries the packages",
                ));
            }
            if let Some((ix, _)) = a.runs.iter().find(|(_, f)| f.pip) {
                let at = analysis::extent_with_comments(doc, *ix).start;
                inserts.push(Edit::insert(
                    at,
                    format!("{run_kw} python3 -m venv /opt/venv{nl}{env_kw} PATH=\"/opt/venv/bin:$PATH\"{nl}"),
                ));
                runtime_env.push(format!("{env_kw} PATH=\"/opt/venv/bin:$PATH\"{nl}"));
                copies.push("/opt/venv".to_string());
            }
            copies.push(a.workdir.clone());
        }
        Ecosystem::Go | Ecosystem::Rust => {
            let binaries: Vec<Binary> = a
                .runs
                .iter()
                .flat_map(|(_, f)| f.binaries.clone())
                .collect();
            let candidates = start.program_paths(&a.workdir);
            let chosen = binaries.iter().find(|b| candidates.contains(&b.path));
            match chosen {
                Some(bin) => {
                    static_link = bin.static_link;
                    copies.push(bin.path.clone());
                    if facts::has_runtime_assets(ctx) {
                        // Templates, static files, config: the app may read them from its directory.
                        copies.push(a.workdir.clone());
                    }
                }
                None => {
                    copies.push(a.workdir.clone());
                    let built: Vec<&str> = binaries.iter().map(|b| b.path.as_str()).collect();
                    if !built.iter().any(|b| analysis::is_within(b, &a.workdir)) {
                        return Err(refuse(
                            anchor,
                            format!(
                                "the start command does not run a binary restage saw being built ({}), so it cannot tell what to copy",
                                if built.is_empty() {
                                    "none found".to_string()
                                } else {
                                    built.join(", ")
                                }
                            ),
                        ));
                    }
                }
            }
        }
        Ecosystem::Java | Ecosystem::Dotnet => {
            copies.push(a.workdir.clone());
        }
    }

    // Files copied from the context outside the application directory, unless the build ran in
    // them (a source tree).
    for ix in body.clone() {
        let ins = &instructions[ix];
        if !analysis::copies_from_context(ins) {
            continue;
        }
        let Some(dest) = analysis::destination_resolution(doc, stage, ix) else {
            a.unsafe_reasons
                .push(format!("a {} destination uses a variable", ins.kind));
            continue;
        };
        if let Some(why) = dest.arg_reason()
            && !a.unsafe_reasons.contains(&why)
        {
            a.unsafe_reasons.push(why);
        }
        let dest = dest.value;
        if copies.iter().any(|c| analysis::is_within(&dest, c)) {
            continue;
        }
        let build_dirs: Vec<String> = a
            .runs
            .iter()
            .filter(|(_, f)| f.builds)
            .filter_map(|(rix, _)| {
                analysis::workdir_at(doc, stage, *rix)
                    .known()
                    .map(str::to_string)
            })
            .collect();
        if build_dirs
            .iter()
            .any(|d| analysis::is_within(d, &dest) || analysis::is_within(&dest, d))
        {
            continue;
        }
        copies.push(dest);
    }

    // OS packages: build-only ones stay; runtime ones are installed again.
    let mut runtime_packages: BTreeSet<String> = BTreeSet::new();
    let mut manager = None;
    for (_, f) in &a.runs {
        for (pm, name) in &f.packages {
            manager = Some(*pm);
            match facts::package(ctx, &image, *pm, name) {
                PackageClass::NoRuntimeName(why) => return Err(refuse(anchor, why)),
                PackageClass::BuildOnly => {}
                PackageClass::RuntimeLibraries(libs) => {
                    runtime_packages.extend(libs);
                }
                PackageClass::Runtime | PackageClass::Unknown => {
                    runtime_packages.insert(name.clone());
                }
            }
        }
    }
    if ecosystem == Ecosystem::Rust && facts::links_openssl(ctx) {
        // The binary links libssl dynamically; the builder had it, the runtime must too.
        let ssl = facts::openssl_runtime(ctx, &image).map_err(|why| refuse(anchor, why))?;
        runtime_packages.extend(ssl);
        runtime_packages.insert("ca-certificates".to_string());
        manager.get_or_insert(image.package_manager);
    }
    let healthcheck_tools = healthcheck_programs(doc, stage);
    for tool in ["curl", "wget"] {
        if healthcheck_tools.iter().any(|t| t == tool) {
            runtime_packages.insert(tool.to_string());
            manager.get_or_insert(image.package_manager);
        }
    }

    // What the runtime image must offer.
    let carried: Vec<usize> = a
        .runs
        .iter()
        .filter(|(_, f)| f.prep_only)
        .map(|(ix, _)| *ix)
        .collect();
    let needs = Needs {
        shell: start.shell_form
            || !carried.is_empty()
            || healthcheck_needs_shell(doc, stage)
            || !runtime_packages.is_empty(),
        cgo: !static_link,
        packages: !runtime_packages.is_empty(),
    };
    let web = if ecosystem == Ecosystem::Dotnet {
        facts::dotnet_web(ctx)
    } else {
        None
    };
    let runtime = facts::runtime_image(ctx, &stage.image.value, needs, web).ok_or_else(|| {
        refuse(
            anchor,
            "restage knows no runtime image for this base image with what the start command needs",
        )
    })?;
    if !runtime.confident {
        a.unsafe_reasons.push(format!(
            "the runtime image {} is a best match, not a certain one ({})",
            runtime.reference, runtime.note
        ));
    }
    if let Some(pm) = manager
        && !runtime_packages.is_empty()
        && runtime.package_manager != Some(pm)
    {
        return Err(refuse(
            anchor,
            format!(
                "the runtime image {} cannot install the packages the app needs",
                runtime.reference
            ),
        ));
    }

    // USER: moved when only configuration follows it; otherwise the build ran as that user.
    let users: Vec<usize> = body
        .clone()
        .filter(|&ix| instructions[ix].kind == Kind::User)
        .collect();
    if let Some(&last_user) = users.last() {
        let later_work = instructions[last_user + 1..end]
            .iter()
            .any(|i| matches!(i.kind, Kind::Run | Kind::Copy | Kind::Add));
        if later_work || users.len() > 1 {
            a.unsafe_reasons.push(
                "USER changes before build steps, so build output ownership may differ".into(),
            );
        }
        let name = instructions[last_user]
            .words
            .first()
            .map(|w| w.value.clone())
            .unwrap_or_default();
        let user = name.split(':').next().unwrap_or("").to_string();
        let created = carried
            .iter()
            .any(|&ix| doc.slice(&instructions[ix].extent).contains(&user));
        let numeric = user.chars().all(|c| c.is_ascii_digit());
        if !(numeric || user == "root" || created || runtime.users.contains(&user)) {
            return Err(refuse(
                anchor,
                format!(
                    "the stage runs as user `{user}`, which restage cannot show exists in {}",
                    runtime.reference
                ),
            ));
        }
    }

    // --- Edits ---------------------------------------------------------------------------
    let style = doc.style();
    let mut edits = inserts;
    let alias = match &stage.alias {
        Some(alias) => alias.value.clone(),
        None => {
            let as_kw = if style.lowercase_keywords { "as" } else { "AS" };
            edits.push(Edit::insert(
                stage.image.span.end,
                format!(" {as_kw} build"),
            ));
            "build".to_string()
        }
    };
    let moved: Vec<usize> = body
        .clone()
        .filter(|&ix| {
            MOVED.contains(&instructions[ix].kind)
                && (instructions[ix].kind != Kind::User || ix == *users.last().expect("a USER"))
        })
        .collect();
    for &ix in &moved {
        edits.push(Edit::delete(analysis::extent_with_comments(doc, ix)));
    }
    // Other USER instructions stay in the build stage, where they shaped the build.

    let mut out = String::new();
    let from_kw = style.keyword(Kind::From);
    let platform = from
        .flag("platform")
        .map(|f| format!("{} ", doc.slice(&f.span)))
        .unwrap_or_default();
    out.push_str(&format!("{from_kw} {platform}{}{nl}", runtime.reference));
    // ARGs the copied ENVs need, then the ENVs, in their original order.
    let envs: Vec<usize> = body
        .clone()
        .filter(|&ix| instructions[ix].kind == Kind::Env)
        .collect();
    // Every instruction the runtime stage repeats or receives may reference build arguments.
    let mut needed: Vec<String> = Vec::new();
    let shells = body
        .clone()
        .filter(|&ix| instructions[ix].kind == Kind::Shell);
    for ix in envs
        .iter()
        .copied()
        .chain(moved.iter().copied())
        .chain(carried.iter().copied())
        .chain(shells)
    {
        for v in analysis::variable_refs(doc.slice(&instructions[ix].args)) {
            if !needed.contains(&v) {
                needed.push(v);
            }
        }
    }
    let arg_kw = style.keyword(Kind::Arg);
    for name in &needed {
        let local = body
            .clone()
            .filter(|&ix| instructions[ix].kind == Kind::Arg)
            .find(|&ix| analysis::arg_names(&instructions[ix]).contains(name));
        let global = instructions[..stage.from]
            .iter()
            .any(|i| i.kind == Kind::Arg && analysis::arg_names(i).contains(name));
        match local {
            Some(ix) => out.push_str(&analysis::with_newline(
                doc,
                doc.slice(&instructions[ix].extent),
            )),
            None if global => out.push_str(&format!("{arg_kw} {name}{nl}")),
            None => {}
        }
    }
    for &ix in &envs {
        out.push_str(&analysis::with_newline(
            doc,
            doc.slice(&instructions[ix].extent),
        ));
    }
    if let Some(shell) = body
        .clone()
        .rev()
        .find(|&ix| instructions[ix].kind == Kind::Shell)
    {
        out.push_str(&analysis::with_newline(
            doc,
            doc.slice(&instructions[shell].extent),
        ));
    }
    if !runtime_packages.is_empty() {
        let list = runtime_packages
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join(" ");
        let indent = &style.continuation_indent;
        let esc = doc.escape();
        match manager {
            Some(PackageManager::Apk) => out.push_str(&format!("{run_kw} apk add --no-cache {list}{nl}")),
            _ => out.push_str(&format!(
                "{run_kw} apt-get update {esc}{nl}{indent}&& apt-get install -y --no-install-recommends {list} {esc}{nl}{indent}&& rm -rf /var/lib/apt/lists/*{nl}"
            )),
        }
    }
    for env in &runtime_env {
        out.push_str(env);
    }
    out.push_str(&format!(
        "{} {}{nl}",
        style.keyword(Kind::Workdir),
        a.workdir
    ));
    let copy_kw = style.keyword(Kind::Copy);
    for c in dedup_nested(&copies) {
        out.push_str(&format!("{copy_kw} --from={alias} {c} {c}{nl}"));
    }
    for &ix in &carried {
        out.push_str(&analysis::with_newline(
            doc,
            doc.slice(&instructions[ix].extent),
        ));
    }
    for &ix in &moved {
        out.push_str(&analysis::with_newline(
            doc,
            doc.slice(&analysis::extent_with_comments(doc, ix)),
        ));
    }
    let end_offset = doc.text().len();
    let deleted: Vec<std::ops::Range<usize>> = moved
        .iter()
        .map(|&ix| analysis::extent_with_comments(doc, ix))
        .collect();
    // One blank line between the stages: none added when the kept text already ends with one.
    let lead = match kept_tail(doc.text(), &deleted).as_slice() {
        [.., b'\n', b'\n'] | [.., b'\n', b'\r', b'\n'] => String::new(),
        [.., b'\n'] => nl.to_string(),
        _ => format!("{nl}{nl}"),
    };
    edits.push(Edit::insert(end_offset, format!("{lead}{out}")));

    let applicability = if a.unsafe_reasons.is_empty() {
        Applicability::Safe
    } else {
        Applicability::Unsafe
    };
    let mut reason = format!(
        "{} ships its SDK and build tools in the final image; the runtime stage {} gets only {}",
        stage.image.value,
        runtime.reference,
        dedup_nested(&copies).join(", ")
    );
    if !runtime_packages.is_empty() {
        reason.push_str(&format!(
            " plus the runtime packages {}",
            runtime_packages
                .iter()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !a.unsafe_reasons.is_empty() {
        reason.push_str(&format!(". Unsafe because {}", a.unsafe_reasons.join("; ")));
    }
    let _ = &a.ecosystem;
    Ok(Change::new(
        ID,
        applicability,
        anchor,
        format!(
            "Split into a build stage and a {} runtime stage",
            runtime.reference
        ),
        reason,
    )
    .with_edits(edits))
}

/// The last (up to) three bytes of `text` outside the `deleted` ranges.
fn kept_tail(text: &str, deleted: &[std::ops::Range<usize>]) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut tail = Vec::new();
    let mut i = bytes.len();
    while i > 0 && tail.len() < 3 {
        i -= 1;
        if deleted.iter().any(|r| r.contains(&i)) {
            continue;
        }
        tail.insert(0, bytes[i]);
    }
    tail
}

/// Paths, without those inside another listed path; first occurrence order.
fn dedup_nested(paths: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in paths {
        if out.iter().any(|o| analysis::is_within(p, o)) {
            continue;
        }
        out.retain(|o| !analysis::is_within(o, p));
        out.push(p.clone());
    }
    out
}

/// True when an ENV of the stage sets `name` to `value`.
fn env_sets(doc: &Document, stage: &Stage, name: &str, value: &str) -> bool {
    env_sets_before(doc, stage, stage.instructions.end, name, value)
}

/// True when an ENV of the stage before instruction `index` sets `name` to `value`.
fn env_sets_before(doc: &Document, stage: &Stage, index: usize, name: &str, value: &str) -> bool {
    doc.instructions()[stage.instructions.start..index]
        .iter()
        .any(|i| {
            i.kind == Kind::Env
                && i.words.first().is_some_and(|w| {
                    let t = w.value.replace('"', "");
                    t.split_whitespace()
                        .any(|kv| kv == format!("{name}={value}"))
                        || t.trim() == format!("{name} {value}")
                })
        })
}

/// How the container starts.
#[derive(Debug)]
struct Start {
    words: Vec<String>,
    shell_form: bool,
    /// A build tool run at start (`go run`, `cargo run`, `mvn`, ...).
    toolchain: Option<String>,
}

impl Start {
    fn program_word(&self) -> Option<&str> {
        self.words.first().map(String::as_str)
    }

    /// Where the program can be: its path, or for a bare name each directory of the default
    /// PATH of Debian-based and distroless images.
    fn program_paths(&self, workdir: &str) -> Vec<String> {
        let Some(p) = self.program_word() else {
            return Vec::new();
        };
        if p.contains('$') {
            Vec::new()
        } else if p.starts_with('/') {
            vec![analysis::normalize(p)]
        } else if p.contains('/') {
            vec![analysis::join(workdir, p)]
        } else {
            DEFAULT_PATH.iter().map(|d| format!("{d}/{p}")).collect()
        }
    }
}

/// The effective start command: ENTRYPOINT (when set) else CMD, as words.
fn start_command(doc: &Document, stage: &Stage) -> Option<Start> {
    let ins = doc.stage_instructions(stage);
    let last = |k: Kind| ins.iter().rev().find(|i| i.kind == k);
    let chosen = last(Kind::Entrypoint)
        .filter(|e| !e.is_empty_exec())
        .or_else(|| last(Kind::Cmd))?;
    let (words, shell_form) = match &chosen.form {
        Form::Exec { words, .. } => (
            words.iter().map(|w| w.value.clone()).collect::<Vec<_>>(),
            false,
        ),
        Form::Shell { span } => (
            doc.slice(span)
                .split_whitespace()
                .map(str::to_string)
                .collect(),
            true,
        ),
        Form::None => return None,
    };
    let mut words = words;
    if shell_form && words.first().is_some_and(|w| w == "exec") {
        words.remove(0);
    }
    let toolchain = match words
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["go", "run", ..] => Some("go run".to_string()),
        ["cargo", "run", ..] => Some("cargo run".to_string()),
        ["mvn" | "./mvnw" | "mvnw", ..] => Some("mvn".to_string()),
        ["gradle" | "./gradlew" | "gradlew", ..] => Some("gradle".to_string()),
        ["dotnet", "run", ..] => Some("dotnet run".to_string()),
        _ => None,
    };
    Some(Start {
        words,
        shell_form,
        toolchain,
    })
}

/// Refuses Node start commands that need dev dependencies or a dev server.
fn node_start_check(ctx: &Context, start: &Start, anchor: usize) -> Result<(), Verdict> {
    let words: Vec<&str> = start.words.iter().map(String::as_str).collect();
    let script = match words.as_slice() {
        ["npm", "start", ..] | ["yarn", "start", ..] => Some("start"),
        ["npm", "run" | "run-script", name, ..] | ["yarn", "run", name, ..] => Some(*name),
        ["yarn", name, ..] if !name.starts_with('-') => Some(*name),
        ["pnpm", ..] => {
            return Err(refuse(
                anchor,
                "the start command runs pnpm, which the slim image only fetches on first use; start the app with node directly",
            ));
        }
        ["npx", tool, ..] => {
            if facts::is_dev_dependency(ctx, tool) {
                return Err(refuse(
                    anchor,
                    format!(
                        "the start command runs `{tool}`, a devDependency the runtime stage would not have"
                    ),
                ));
            }
            None
        }
        _ => None,
    };
    if let Some(name) = script {
        match facts::script(ctx, name) {
            Some(cmd) => {
                let program = cmd
                    .split_whitespace()
                    .find(|w| !crate::shell::is_assignment(w) && *w != "cross-env" && *w != "env")
                    .unwrap_or("");
                if facts::is_dev_dependency(ctx, program) {
                    return Err(refuse(
                        anchor,
                        format!(
                            "the `{name}` script runs `{program}`, a devDependency the runtime stage would not have"
                        ),
                    ));
                }
                if facts::is_dev_server(&cmd) {
                    return Err(refuse(
                        anchor,
                        format!(
                            "the `{name}` script starts a development server (`{cmd}`); build the app and start it in production mode"
                        ),
                    ));
                }
            }
            None if name == "start" && facts::package_json_read(ctx) => {}
            None => {
                return Err(refuse(
                    anchor,
                    format!("restage cannot read the `{name}` script from package.json"),
                ));
            }
        }
    }
    Ok(())
}

fn healthcheck_programs(doc: &Document, stage: &Stage) -> Vec<String> {
    doc.stage_instructions(stage)
        .iter()
        .filter(|i| i.kind == Kind::Healthcheck)
        .flat_map(|i| match &i.form {
            Form::Exec { words, .. } => words.iter().map(|w| w.value.clone()).collect::<Vec<_>>(),
            Form::Shell { span } => doc
                .slice(span)
                .split_whitespace()
                .map(str::to_string)
                .collect(),
            Form::None => Vec::new(),
        })
        .collect()
}

fn healthcheck_needs_shell(doc: &Document, stage: &Stage) -> bool {
    doc.stage_instructions(stage)
        .iter()
        .any(|i| i.kind == Kind::Healthcheck && i.is_shell_form())
}

/// Classifies what a RUN does.
fn run_facts(doc: &Document, stage: &Stage, ix: usize, ctx: &Context) -> RunFacts {
    let ins: &Instruction = &doc.instructions()[ix];
    let mut f = RunFacts {
        prep_only: true,
        ..RunFacts::default()
    };
    let Some(commands) = analysis::run_commands(doc, ins) else {
        f.prep_only = false;
        f.unknown = Some(
            "uses shell syntax restage does not read (a here-document, substitution or redirect)"
                .into(),
        );
        return f;
    };
    let workdir = analysis::workdir_at(doc, stage, ix);
    let cgo_off_env = env_sets(doc, stage, "CGO_ENABLED", "0");
    let mut cwd_known = true;
    for cmd in &commands {
        let words = cmd.program_words();
        let Some(program) = words.first().map(String::as_str) else {
            continue;
        };
        if program == "cd" {
            cwd_known = false;
            continue;
        }
        if NEUTRAL.contains(&program) {
            continue;
        }
        if PREP.contains(&program) {
            continue;
        }
        f.prep_only = false;
        if let Some(pkgs) = os_packages(words) {
            f.packages.extend(pkgs);
            continue;
        }
        if is_global_install(words) {
            f.unknown = Some(format!(
                "installs a global package (`{}`), which the app may need at runtime",
                words.join(" ")
            ));
            continue;
        }
        if let Some(m) = facts::classify(ctx, cmd) {
            f.builds = true;
            if m.pip {
                f.pip = true;
                if m.pip_outside_env {
                    f.unknown = Some("runs pip with --user/--prefix/--target/--root".into());
                }
            }
            if let Some(install) = m.install {
                f.installs.push(install);
            }
            for out in m.binaries {
                let path = match (&workdir, cwd_known) {
                    _ if out.starts_with('/') => analysis::normalize(&out),
                    (Workdir::Known(wd), true) => analysis::join(wd, &out),
                    _ => continue,
                };
                f.binaries.push(Binary {
                    path,
                    static_link: m.cgo_disabled || cgo_off_env,
                });
            }
            continue;
        }
        f.unknown = Some(format!(
            "runs `{}`, which restage does not recognise",
            short(cmd)
        ));
    }
    f
}

fn short(cmd: &SimpleCommand) -> String {
    let w = cmd.program_words();
    w.iter().take(3).cloned().collect::<Vec<_>>().join(" ")
}

/// `npm install -g X`, `yarn global add X`, `pnpm add -g X`.
fn is_global_install(words: &[String]) -> bool {
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    match w.as_slice() {
        ["npm", "install" | "i" | "add", rest @ ..] => {
            rest.iter().any(|a| *a == "-g" || *a == "--global")
        }
        ["yarn", "global", "add", ..] => true,
        ["pnpm", "add" | "install" | "i", rest @ ..] => {
            rest.iter().any(|a| *a == "-g" || *a == "--global")
        }
        _ => false,
    }
}

/// Packages an apt-get/apt/apk command installs, or `None` when it is not a package command.
/// `update`, `clean`, `autoremove`, `del` and friends install nothing.
fn os_packages(words: &[String]) -> Option<Vec<(PackageManager, String)>> {
    let program = words.first()?.as_str();
    let pm = match program {
        "apt-get" | "apt" => PackageManager::Apt,
        "apk" => PackageManager::Apk,
        _ => return None,
    };
    let sub_pos = words.iter().skip(1).position(|w| !w.starts_with('-'))? + 1;
    let sub = words[sub_pos].as_str();
    if !matches!(sub, "install" | "add") {
        return Some(Vec::new());
    }
    let mut out = Vec::new();
    let mut skip_next = false;
    for w in &words[sub_pos + 1..] {
        if skip_next {
            skip_next = false;
            continue;
        }
        if w == "--virtual" || w == "-t" || w == "-o" || w == "--target-release" {
            skip_next = true;
            continue;
        }
        if w.starts_with('-') {
            continue;
        }
        let name = w.split(['=']).next().unwrap_or(w);
        out.push((pm, name.to_string()));
    }
    Some(out)
}
