//! `multi-stage`: a naive single-stage Dockerfile built FROM an SDK image becomes a `build` stage
//! (the original instructions) and a runtime stage FROM the mapped slim image that receives only
//! what the app needs: the application directory (dev dependencies pruned), a virtualenv, or the
//! built binary, at the same absolute paths, with the same WORKDIR, ENV, CMD, ENTRYPOINT, EXPOSE,
//! LABEL, VOLUME, HEALTHCHECK, STOPSIGNAL, SHELL and USER. Runtime packages are installed again;
//! build-only packages stay behind. When a fact is missing the change is unsafe or only a
//! suggestion.
//!
//! This file is the skeleton every ecosystem shares: applicability, the split, carrying and
//! replaying (`runtime_fs`), re-declared ARGs, moved image configuration, the edits and the check
//! of the runtime stage. What differs per ecosystem (what the runtime receives, build-stage edits,
//! runtime ENV, runtime-image needs, refusals) is a recipe in `recipes/`.

use std::collections::BTreeSet;

mod global_tools;
mod go_outputs;
mod recipes;
mod runtime_fs;
mod start_script;

use super::analysis::{self, Workdir};
use super::effects::{self, InstructionEffects};
use super::facts::{self, Needs, PackageClass, PackageManager, Role};
use super::start::StartCommand;
use super::{Context, Verdict, unsafe_because};
use crate::edit::{Change, Edit};
use crate::shell::SimpleCommand;
use crate::syntax::{Document, Form, Instruction, Kind, Stage};
use recipes::{Carry, Recipe};

const ID: &str = "multi-stage";

/// The most paths an app without a WORKDIR may have in `/` to be carried one COPY each: a
/// context root with more entries (a repository's top, a data folder) would make a runtime
/// stage no one reviews.
const MAX_ROOT_PATHS: usize = 32;

const NO_WORKDIR: &str = "the app has no WORKDIR of its own and its build writes into /, so restage cannot tell the application's files from the SDK's; add a WORKDIR such as /app";

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

pub(super) fn run(doc: &Document, ctx: &Context) -> Vec<Change> {
    match plan(doc, ctx) {
        Ok(change) => vec![change],
        Err(verdict) => verdict.into_changes(ID),
    }
}

/// Why no change is made: [`Verdict::Nothing`] (not a single-stage file on a known SDK
/// image) or a suggestion saying why restage cannot split it.
fn refuse(anchor: usize, reason: impl Into<String>) -> Verdict {
    Verdict::suggestion(
        anchor,
        "Split into a build stage and a slim runtime stage",
        reason,
    )
}

/// The one note for an image of an ecosystem multi-stage has no recipe for (PHP), when the
/// stage looks naive: a RUN installs OS packages or runs a command the knowledge classifies
/// (a dependency install, a build). `None` otherwise.
fn no_recipe(doc: &Document, stage: &Stage, ctx: &Context) -> Option<Verdict> {
    let eco_id = ctx
        .knowledge
        .image_named(&stage.image.value)?
        .ecosystem
        .clone()?;
    if recipes::for_ecosystem(&eco_id).is_some() {
        return None;
    }
    let eco = ctx.knowledge.ecosystem(&eco_id)?;
    let naive = doc
        .stage_instructions(stage)
        .iter()
        .any(|i| installs_or_builds(doc, i, ctx));
    if !naive {
        return None;
    }
    let needs = eco
        .note
        .as_deref()
        .map(|n| format!(" ({n})"))
        .unwrap_or_default();
    Some(refuse(
        doc.instructions()[stage.from].extent.start,
        format!(
            "multi-stage has no recipe for {} yet, so restage cannot tell what a runtime stage would need{needs}",
            eco.name
        ),
    ))
}

/// Whether a RUN installs OS packages or runs a command the knowledge files classify (a
/// dependency install, a build). Shell syntax restage does not read (a substitution, a
/// redirect) is looked through as plain words split at `&&`, `||`, `;` and `|`.
fn installs_or_builds(doc: &Document, ins: &Instruction, ctx: &Context) -> bool {
    if ins.kind != Kind::Run {
        return false;
    }
    let known = |words: &[String]| {
        let n = words
            .iter()
            .take_while(|w| crate::shell::is_assignment(w))
            .count();
        let words = &words[n..];
        os_packages(words).is_some_and(|p| !p.installs.is_empty())
            || ctx.knowledge.classify_command(words).is_some()
    };
    if let Some(commands) = analysis::commands(doc, ins) {
        return commands.iter().any(|cmd| known(&cmd.words));
    }
    let Form::Shell { span } = &ins.form else {
        return false;
    };
    let words = crate::shell::words(doc.slice(span), span.start, doc.escape());
    let mut chunk: Vec<String> = Vec::new();
    let mut skip_target = false;
    let escape = doc.escape().to_string();
    // Split on whitespace, a line continuation leaves its escape character as a word.
    for w in words
        .iter()
        .filter(|w| **w != escape)
        .map(|w| w.trim_start_matches(['(', '{']))
    {
        let end = w.ends_with(';') || w.ends_with(')');
        let w = w.trim_end_matches([';', ')']);
        if matches!(w, "&&" | "||" | "|" | "") {
            if known(&chunk) {
                return true;
            }
            chunk.clear();
            continue;
        }
        // A redirect (`> file`, `2>&1`) is no argument of the command.
        let redirect = w.trim_start_matches(|c: char| c.is_ascii_digit());
        if redirect.starts_with(['>', '<']) {
            skip_target = matches!(redirect, ">" | ">>" | "<");
            continue;
        }
        if std::mem::take(&mut skip_target) {
            continue;
        }
        chunk.push(w.to_string());
        if end {
            if known(&chunk) {
                return true;
            }
            chunk.clear();
        }
    }
    known(&chunk)
}

/// What one RUN instruction contributes.
#[derive(Debug, Default)]
struct RunFacts {
    /// Packages installed with apt-get/apt or apk.
    packages: Vec<OsPackage>,
    /// What `apk del` removes (package names and `--virtual` group names), with the index of
    /// the command in the RUN.
    removed: Vec<(String, usize)>,
    /// Every command is a filesystem preparation or neutral: the RUN can run in the runtime too.
    prep_only: bool,
    /// The RUN builds, installs dependencies, or otherwise needs the SDK.
    builds: bool,
    /// Why restage cannot tell what the RUN leaves behind, if so.
    unknown: Option<String>,
    /// Dependency installs seen: (manager id, omits dev dependencies already).
    installs: Vec<(String, bool)>,
    /// The directory each of `installs` ran in, after the RUN's `cd`s (`None` when a `cd`
    /// went where restage cannot tell).
    install_dirs: Vec<Option<String>>,
    /// Absolute paths of binaries the RUN builds (Go `-o`, Rust target/release/<bin>).
    binaries: Vec<Binary>,
    /// The RUN uses pip (a virtualenv will capture what it installs).
    pip: bool,
    /// Recognised build-tool commands (installs, builds, tests) it runs.
    tool_commands: usize,
    /// Global package installs (`npm install -g X`), as written.
    globals: Vec<Vec<String>>,
}

/// One OS package a RUN installs.
#[derive(Debug, Clone, PartialEq, Eq)]
struct OsPackage {
    manager: PackageManager,
    /// The name as written, version pin included.
    name: String,
    /// The `apk add --virtual` group it was installed in.
    group: Option<String>,
    /// The index of the installing command in the RUN.
    command: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Binary {
    /// Its absolute path; with `unnamed`, the directory it is written into.
    path: String,
    /// Go built with CGO_ENABLED=0.
    static_link: bool,
    /// Why restage cannot name the binary (Go's name depends on a go.mod it cannot read).
    unnamed: Option<String>,
}

struct Analysis {
    workdir: String,
    runs: Vec<(usize, RunFacts)>,
    unsafe_reasons: Vec<String>,
}

fn plan(doc: &Document, ctx: &Context) -> Result<Change, Verdict> {
    if doc.stages().len() != 1 {
        return Err(Verdict::Nothing);
    }
    let stage = doc.final_stage();
    let from = &doc.instructions()[stage.from];
    let image = facts::image(ctx, &stage.image.value).ok_or(Verdict::Nothing)?;
    let Role::Build(ecosystem) = &image.role else {
        return Err(no_recipe(doc, stage, ctx).unwrap_or(Verdict::Nothing));
    };
    let Some(recipe) = recipes::for_ecosystem(ecosystem) else {
        return Err(no_recipe(doc, stage, ctx).unwrap_or(Verdict::Nothing));
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
    let inherited = recipe.inherited_workdir();
    let resolved = analysis::workdir_resolution_under(doc, stage, end, Some(inherited));
    let own_workdir = matches!(resolved.value, Workdir::Known(_));
    let workdir = match resolved.value.clone() {
        Workdir::Known(w) => w,
        Workdir::Inherited => inherited.to_string(),
        Workdir::Unknown => {
            return Err(refuse(
                anchor,
                "the WORKDIR uses a variable restage does not resolve",
            ));
        }
    };

    let mut a = Analysis {
        workdir,
        runs: Vec::new(),
        unsafe_reasons: resolved.arg_reason().into_iter().collect(),
    };
    for ix in body.clone() {
        let ins = &instructions[ix];
        if ins.kind == Kind::Run {
            let f = run_facts(doc, stage, ix, ctx, inherited, recipe);
            a.runs.push((ix, f));
        }
    }
    let start_parts = StartCommand::of(doc, stage.from + 1..stage.instructions.end);
    let start = start_command(doc, &start_parts, ctx);
    // Global packages: left in the build stage when the start command runs only node.
    let mut globals: Vec<String> = Vec::new();
    for name in a
        .runs
        .iter()
        .flat_map(|(_, f)| f.globals.iter())
        .flat_map(|g| global_tools::packages(g))
    {
        if !globals.contains(&name) {
            globals.push(name);
        }
    }
    // `npm install -g` alone installs the package of the working directory.
    let globals_label = if globals.is_empty() {
        "the global install".to_string()
    } else {
        format!("the global packages {}", globals.join(", "))
    };
    let globals_needed = if a.runs.iter().any(|(_, f)| !f.globals.is_empty()) {
        Some(global_tools::start_needs(
            doc, stage, ctx, &globals, &a.workdir,
        ))
    } else {
        None
    };
    let globals_left = matches!(globals_needed, Some(Ok(())));
    // OS packages: build-only ones stay; runtime ones are installed again.
    // An apk package (or `--virtual` group) that a later `apk del` removes is build-only for
    // this stage whatever its name: the original image does not keep it, so the runtime stage
    // does not install it either. What the original left installed is what the app needs.
    let mut runtime_packages: BTreeSet<String> = BTreeSet::new();
    // Runtime library names restage derived from a `-dev` package (not written in the file).
    let mut derived_packages: BTreeSet<String> = BTreeSet::new();
    // Packages the original image carries that the runtime stage leaves behind.
    let mut left_behind: Vec<String> = Vec::new();
    // Packages the original already removes in the RUN that installs them.
    let mut removed_in_place: Vec<String> = Vec::new();
    let mut manager = None;
    // The programs the start command and HEALTHCHECK may run: every word's file name.
    let health_words = healthcheck_programs(doc, stage);
    let started_programs: Vec<&str> = start_parts
        .effective()
        .map_or(&[][..], |s| s.args)
        .iter()
        .chain(&health_words)
        .map(|w| crate::shell::base_name(w))
        .collect();
    for (run_pos, (_, f)) in a.runs.iter().enumerate() {
        for p in &f.packages {
            manager = Some(p.manager);
            if p.name.contains('$') {
                return Err(refuse(
                    anchor,
                    format!(
                        "the packages `{}` are named through a variable, so restage cannot tell build-only packages from the ones the app needs",
                        p.name
                    ),
                ));
            }
            if let Some(later_run) = removal(&a.runs, run_pos, p) {
                // A virtual group is named with its packages: `.build-deps (gcc, musl-dev)`.
                let label = match &p.group {
                    Some(g) => {
                        let members: Vec<&str> = f
                            .packages
                            .iter()
                            .filter(|q| q.group.as_ref() == Some(g) && q.command == p.command)
                            .map(|q| q.name.as_str())
                            .collect();
                        format!("{g} ({})", members.join(", "))
                    }
                    None => p.name.clone(),
                };
                let list = if later_run {
                    &mut left_behind
                } else {
                    &mut removed_in_place
                };
                if !list.contains(&label) {
                    list.push(label);
                }
                continue;
            }
            if let Some(start) = &start
                && recipe.build_only_package(ctx, start, &p.name)
            {
                left_behind.push(p.name.clone());
                continue;
            }
            match facts::package(ctx, &image, p.manager, &p.name) {
                PackageClass::NoRuntimeName(why) => return Err(refuse(anchor, why)),
                // A build tool the container runs at start (`ENTRYPOINT ["make"]`, `CMD git
                // pull && ...`) is a runtime package of this app.
                PackageClass::BuildOnly if started_programs.contains(&p.name.as_str()) => {
                    runtime_packages.insert(p.name.clone());
                }
                PackageClass::BuildOnly => left_behind.push(p.name.clone()),
                PackageClass::RuntimeLibraries(libs) => {
                    left_behind.push(p.name.clone());
                    for lib in libs {
                        if runtime_packages.insert(lib.clone()) {
                            derived_packages.insert(lib);
                        }
                    }
                }
                PackageClass::Runtime | PackageClass::Unknown => {
                    derived_packages.remove(&p.name);
                    runtime_packages.insert(p.name.clone());
                }
            }
        }
    }
    // On an Alpine SDK tag the runtime stage is the same image: a split is worth it only for
    // what it leaves behind (build packages, dev dependencies).
    let same_image = facts::maps_to_itself(ctx, &stage.image.value);
    let may_drop_dev = a.runs.iter().any(|(_, f)| {
        f.installs.iter().any(|(manager, omits_dev)| {
            !omits_dev
                && (facts::prune_command(ctx, &image, manager).is_some()
                    || recipe.may_drop_dev(manager))
        })
    });
    if same_image && left_behind.is_empty() && !may_drop_dev && !globals_left {
        // A RUN restage cannot read may install what a split would leave behind: say so.
        if removed_in_place.is_empty()
            && let Some(why) = unreadable_install(doc, &a.runs, ctx, anchor)
        {
            return Err(why);
        }
        return Err(nothing_left_behind(
            anchor,
            &stage.image.value,
            &removed_in_place,
            None,
        ));
    }
    if let Some(tool) = start.as_ref().and_then(|s| s.toolchain.as_ref()) {
        // The advice depends on whether a RUN already builds the app.
        let advice = match a.runs.iter().rev().find(|(_, f)| f.builds) {
            Some((ix, _)) => format!(
                "the RUN at {} already builds the app: start what it produces directly",
                analysis::place_of(doc, *ix)
            ),
            None => "build the app in a RUN step and start the result directly".to_string(),
        };
        return Err(refuse(
            anchor,
            format!(
                "the start command runs `{tool}`, so the toolchain is needed at runtime; {advice}"
            ),
        ));
    }
    if let Some(Err(needs)) = &globals_needed
        && needs.provider.is_some()
    {
        return Err(refuse(
            anchor,
            format!(
                "{}, which the runtime stage would not have: global packages stay in the build stage",
                needs.why
            ),
        ));
    }
    if !a
        .runs
        .iter()
        .any(|(_, f)| f.builds || !f.packages.is_empty())
    {
        // A RUN restage cannot read that installs or builds: say why nothing is split.
        if let Some(why) = unreadable_install(doc, &a.runs, ctx, anchor) {
            return Err(why);
        }
        // No build step and no toolchain installed: a slim base alone is not restage's call.
        return Err(Verdict::Nothing);
    }
    for (ix, f) in &a.runs {
        let global = match (&globals_needed, f.globals.first()) {
            (Some(Err(needs)), Some(g)) => Some(format!(
                "installs a global package (`{}`), which the app may need at runtime: {}",
                g.join(" "),
                needs.why
            )),
            _ => None,
        };
        if let Some(why) = f.unknown.as_ref().or(global.as_ref()) {
            let line = analysis::place_of(doc, *ix);
            a.unsafe_reasons.push(format!(
                "RUN at {line} {why}; what it leaves outside {} would not reach the runtime stage",
                a.workdir
            ));
        }
    }
    let start = start.ok_or_else(|| {
        refuse(
            anchor,
            "the stage has no CMD or ENTRYPOINT, so restage cannot tell what the runtime needs",
        )
    })?;
    if let Some(script) = &start.script {
        let binaries: Vec<String> = a
            .runs
            .iter()
            .flat_map(|(_, f)| f.binaries.iter().map(|b| b.path.clone()))
            .collect();
        if let Err(why) = start_script::check(
            doc,
            stage,
            ctx,
            inherited,
            script,
            recipe,
            &start.programs,
            &binaries,
        ) {
            a.unsafe_reasons.push(format!(
                "the start command runs `{script}`, and {why} (the runtime image lacks what only the build image has: curl, netcat, compilers, the devDependencies)"
            ));
        }
    }
    if let Some(shell) = &start.interactive_shell {
        return Err(refuse(
            anchor,
            format!(
                "the container only opens a shell (`{shell}`), so what runs in it is typed at `docker run -it` and restage cannot tell what the runtime needs"
            ),
        ));
    }

    // The application directory, or at `/` the paths the COPYs put there.
    let app_paths: Result<Vec<String>, String> = if a.workdir == "/" {
        root_paths(doc, stage, ctx, recipe, &a.runs)
    } else {
        Ok(vec![a.workdir.clone()])
    };

    // The recipe: what the runtime receives.
    let Carry {
        mut copies,
        inserts,
        runtime_env,
        static_link,
        bare_destinations,
        note,
        drops_dev,
        kept_dev,
        packages: carried_packages,
    } = recipe.carry(
        &recipes::Input {
            doc,
            stage,
            ctx,
            image: &image,
            anchor,
            start: &start,
            app_paths: &app_paths,
            inherited,
        },
        &mut a,
    )?;
    let nl = doc.style().nl();
    let run_kw = doc.style().keyword(Kind::Run);

    // Files copied from the context outside the application directory, unless the build ran in
    // them (a source tree) or they are scratch the start command does not use.
    let start_words = runtime_fs::used_paths(&start.words, &a.workdir);
    let start_uses = |p: &str| start_words.iter().any(|u| analysis::is_within(u, p));
    for ix in body.clone() {
        let ins = &instructions[ix];
        if !analysis::copies_from_context(ins) {
            continue;
        }
        let dest = match effects::destination(doc, stage, ix, inherited) {
            Some(dest) => Some(dest),
            // A destination through an ARG default: resolved, and the change says it is a guess.
            None => analysis::destination_resolution(doc, stage, ix).map(|r| {
                if let Some(why) = r.arg_reason()
                    && !a.unsafe_reasons.contains(&why)
                {
                    a.unsafe_reasons.push(why);
                }
                r.value
            }),
        };
        let Some(dest) = dest else {
            a.unsafe_reasons
                .push(format!("a {} destination uses a variable", ins.kind));
            continue;
        };
        // Into a directory (`COPY a b /dir/`): each source lands at its name there.
        let srcs = analysis::sources(ins);
        let dest_word = analysis::destination(ins).map_or("", |w| w.value.as_str());
        let targets: Vec<String> = if dest_word.ends_with('/') || srcs.len() > 1 || dest == "/" {
            srcs.iter()
                .filter(|s| !matches!(s.value.trim_end_matches('/'), "" | "."))
                .map(|s| {
                    let name = s.value.trim_end_matches('/');
                    // A directory leaves its contents in the destination, not itself.
                    if dest != "/" && (s.value.ends_with('/') || ctx.build.is_dir(name)) {
                        dest.clone()
                    } else {
                        analysis::join(&dest, crate::shell::base_name(name))
                    }
                })
                .collect()
        } else {
            vec![dest.clone()]
        };
        if dest == "/"
            && (targets.len() != srcs.len() || targets.iter().any(|t| t.contains(['*', '?', '['])))
        {
            // `COPY . /` or a pattern into `/`: the app's files are the root paths (see above).
            continue;
        }
        // A pattern names no path: the directory it copies into is carried, unless that is a
        // directory of the system, whose other files are the SDK's.
        let targets: Vec<String> = if targets.iter().any(|t| t.contains(['*', '?', '['])) {
            if effects::is_system(&dest) {
                return Err(refuse(
                    anchor,
                    format!(
                        "the {} at {} copies a pattern into {dest}, a directory of the system, so restage cannot tell which files to carry",
                        ins.kind,
                        analysis::place_of(doc, ix)
                    ),
                ));
            }
            vec![dest.clone()]
        } else {
            targets
        };
        // Build steps that ran there make it a source tree; `/` itself is no source tree.
        let build_dirs: Vec<String> = a
            .runs
            .iter()
            .filter(|(_, f)| f.builds)
            .filter_map(|(rix, _)| effects::workdir(doc, stage, *rix, inherited))
            .filter(|d| d != "/")
            .collect();
        for dest in targets {
            if copies.iter().any(|c| analysis::is_within(&dest, c))
                || (effects::is_scratch(&dest) && !start_uses(&dest))
                || build_dirs
                    .iter()
                    .any(|d| analysis::is_within(d, &dest) || analysis::is_within(&dest, d))
            {
                continue;
            }
            copies.push(dest);
        }
    }

    // What each RUN did to the filesystem: files the build put in place outside the carried
    // paths are carried too; preparation steps are replayed only for what they did elsewhere.
    let run_effects: Vec<(usize, InstructionEffects)> = a
        .runs
        .iter()
        .map(|(ix, _)| (*ix, effects::instruction(doc, stage, *ix, ctx, inherited)))
        .collect();
    let made = runtime_fs::made_files(&run_effects, &copies);
    copies.extend(made);
    let prep: Vec<(usize, &InstructionEffects, Option<String>)> = a
        .runs
        .iter()
        .zip(&run_effects)
        .filter(|((_, f), _)| f.prep_only)
        .map(|((ix, _), (_, e))| (*ix, e, effects::workdir(doc, stage, *ix, inherited)))
        .collect();
    let carried_paths = dedup_nested(&copies);
    let replays = runtime_fs::plan(
        doc,
        &prep,
        &run_effects,
        &carried_paths,
        &a.workdir,
        &doc.style().keyword(Kind::Run),
    )
    .map_err(|why| refuse(anchor, why))?;
    let others: Vec<(usize, &InstructionEffects)> = a
        .runs
        .iter()
        .zip(&run_effects)
        .filter(|((_, f), _)| !f.prep_only)
        .map(|((ix, _), (_, e))| (*ix, e))
        .collect();
    let mut replays = replays;
    runtime_fs::extract(
        doc,
        &others,
        &carried_paths,
        &doc.style().keyword(Kind::Run),
        &mut replays,
    );
    a.unsafe_reasons.extend(replays.unmodelled.iter().cloned());

    let mut needed_packages = recipe
        .runtime_packages(ctx, &image)
        .map_err(|why| refuse(anchor, why))?;
    needed_packages.extend(carried_packages);
    if !needed_packages.is_empty() {
        runtime_packages.extend(needed_packages);
        manager.get_or_insert(image.package_manager);
    }
    for tool in ["curl", "wget"] {
        if health_words.iter().any(|t| t == tool) {
            runtime_packages.insert(tool.to_string());
            manager.get_or_insert(image.package_manager);
        }
    }

    // What the runtime image must offer.
    let needs = Needs {
        shell: start.shell_form
            || start.runs_shell
            || start.script.is_some()
            || !replays.is_empty()
            || healthcheck_needs_shell(doc, stage)
            || !runtime_packages.is_empty(),
        cgo: !static_link,
        packages: !runtime_packages.is_empty(),
    };
    let web = recipe.web(ctx);
    let runtime = facts::runtime_image(ctx, &stage.image.value, needs, web).ok_or_else(|| {
        let notes = facts::image_notes(ctx, &stage.image.value);
        match notes.first() {
            Some(note) => refuse(
                anchor,
                format!(
                    "restage knows no runtime image for {}: {note}",
                    stage.image.value
                ),
            ),
            None => refuse(
                anchor,
                "restage knows no runtime image for this base image with what the start command needs",
            ),
        }
    })?;
    if runtime.same_image {
        // Same image, same tag: nothing changes but what the runtime stage leaves behind.
        if left_behind.is_empty() && !drops_dev && !globals_left {
            return Err(nothing_left_behind(
                anchor,
                &stage.image.value,
                &removed_in_place,
                kept_dev.as_deref(),
            ));
        }
        // The image is certain; what its note doubts are the runtime library names restage
        // derives from `-dev` packages.
        if !runtime.confident && !derived_packages.is_empty() {
            a.unsafe_reasons.push(format!(
                "it installs {} in {}, and {}",
                derived_packages
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
                runtime.reference,
                runtime.note
            ));
        }
    } else if !runtime.confident {
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

    // The runtime stage checks out: what its steps, start command and HEALTHCHECK use is there.
    let runtime_paths: Vec<String> = carried_paths
        .iter()
        .map(|c| match bare_destinations.iter().find(|(p, _)| p == c) {
            Some((_, d)) => d.clone(),
            None => c.clone(),
        })
        .collect();
    // An argument is checked when the stage made that path (or a RUN restage cannot read may
    // have): `/ip4/127.0.0.1/tcp/80` is an address, not a file.
    let any_unknown = run_effects.iter().any(|(_, e)| e.unknown.is_some());
    let made_by_stage: Vec<String> = body
        .clone()
        .filter(|&ix| matches!(instructions[ix].kind, Kind::Copy | Kind::Add))
        .filter_map(|ix| effects::destination(doc, stage, ix, inherited))
        .chain(run_effects.iter().flat_map(|(_, e)| {
            e.all()
                .filter(|p| !matches!(p.op, effects::Op::Read | effects::Op::Remove))
                .map(|p| p.path.clone())
                .collect::<Vec<_>>()
        }))
        .collect();
    let checked = |p: &String, program: bool| {
        program
            || any_unknown
            || made_by_stage
                .iter()
                .any(|m| m != "/" && analysis::is_within(p, m))
    };
    let mut used: Vec<(String, &str)> = Vec::new();
    for (words, by) in [
        (&start.words[..], "the start command"),
        (&health_words[..], "the HEALTHCHECK"),
    ] {
        let program = runtime_fs::used_paths(&words[..words.len().min(1)], &a.workdir);
        for p in runtime_fs::used_paths(words, &a.workdir) {
            if checked(&p, program.contains(&p)) {
                used.push((p, by));
            }
        }
    }
    runtime_fs::check(&replays.replayed(), &runtime_paths, &a.workdir, &used)
        .map_err(|why| refuse(anchor, why))?;

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
        let created = replays
            .pre
            .iter()
            .chain(&replays.post)
            .any(|text| text.contains(&user));
        let numeric = user.chars().all(|c| c.is_ascii_digit());
        // On the very same image, a user no RUN of the stage creates is the image's own.
        let images_own = runtime.same_image
            && !a.runs.iter().any(|(ix, _)| {
                let text = doc.slice(&instructions[*ix].extent);
                text.contains(&user) && ["adduser", "useradd"].iter().any(|c| text.contains(c))
            });
        if !(numeric || user == "root" || created || images_own || runtime.users.contains(&user)) {
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
                [" ", as_kw, " build"].concat(),
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
    let deleted = moved_ranges(doc, &moved);
    for r in &deleted {
        edits.push(Edit::delete(r.clone()));
    }
    // Other USER instructions stay in the build stage, where they shaped the build.

    // The texts are pushed piece by piece: `format!` costs several times the text it makes.
    let mut out = String::with_capacity(1024);
    // A suppression comment above the FROM covers the stage, which the runtime stage carries
    // on: the comment moves there when every transform it names changes only the final stage
    // (which the runtime stage now is), and is copied there otherwise (the build stage keeps
    // it for the others).
    let leading = doc.leading_comments(stage.from);
    let mut line_start = leading.start;
    for line in doc.slice(&leading).split_inclusive('\n') {
        let range = line_start..line_start + line.len();
        line_start = range.end;
        let Some(ids) = crate::pipeline::stage_suppression_ids(line) else {
            continue;
        };
        push_all(&mut out, &[line.trim_start_matches('\u{feff}').trim(), nl]);
        let final_only = ids
            .iter()
            .all(|id| crate::transforms::find(id).is_some_and(|t| t.final_stage_only));
        if final_only {
            // After a BOM, which stays where it is.
            let bom = if range.start == 0 {
                line.len() - line.trim_start_matches('\u{feff}').len()
            } else {
                0
            };
            edits.push(Edit::delete(range.start + bom..range.end));
        }
    }
    let from_kw = style.keyword(Kind::From);
    push_all(&mut out, &[&from_kw, " "]);
    if let Some(f) = from.flag("platform") {
        push_all(&mut out, &[doc.slice(&f.span), " "]);
    }
    push_all(&mut out, &[&runtime.reference, nl]);
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
    let texts = envs
        .iter()
        .copied()
        .chain(moved.iter().copied())
        .chain(shells)
        .map(|ix| doc.slice(&instructions[ix].args))
        .chain(replays.pre.iter().chain(&replays.post).map(String::as_str));
    for text in texts {
        for v in analysis::variable_refs(text) {
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
            .find(|&ix| analysis::defined_names(doc, &instructions[ix]).contains(name));
        let global = instructions[..stage.from]
            .iter()
            .any(|i| i.kind == Kind::Arg && analysis::defined_names(doc, i).contains(name));
        match local {
            Some(ix) => out.push_str(&analysis::with_newline(
                doc,
                doc.slice(&instructions[ix].extent),
            )),
            None if global => push_all(&mut out, &[&arg_kw, " ", name, nl]),
            None => {}
        }
    }
    // LABEL and MAINTAINER describe the image: they open the runtime stage, with their comments.
    let is_label = |ix: usize| matches!(instructions[ix].kind, Kind::Label | Kind::Maintainer);
    for &ix in moved.iter().filter(|&&ix| is_label(ix)) {
        out.push_str(&analysis::with_newline(
            doc,
            doc.slice(&analysis::extent_with_comments(doc, ix)),
        ));
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
        let indent = style.continuation_indent.as_str();
        let mut esc = [0u8; 4];
        let esc: &str = doc.escape().encode_utf8(&mut esc);
        match manager {
            Some(PackageManager::Apk) => {
                push_all(&mut out, &[&run_kw, " apk add --no-cache ", &list, nl]);
            }
            _ => push_all(
                &mut out,
                &[
                    &run_kw,
                    " apt-get update ",
                    esc,
                    nl,
                    indent,
                    "&& apt-get install -y --no-install-recommends ",
                    &list,
                    " ",
                    esc,
                    nl,
                    indent,
                    "&& rm -rf /var/lib/apt/lists/*",
                    nl,
                ],
            ),
        }
    }
    for env in &runtime_env {
        out.push_str(env);
    }
    // With no WORKDIR of its own the stage keeps the base image's (`/` unless the SDK image set one).
    let workdir_line = if own_workdir || a.workdir != "/" {
        [style.keyword(Kind::Workdir).as_str(), " ", &a.workdir, nl].concat()
    } else {
        String::new()
    };
    // A WORKDIR made before the copies would stay root's: with `--chown` it comes after them.
    let chowned = !replays.chown.is_empty();
    if !chowned {
        out.push_str(&workdir_line);
    }
    for text in &replays.pre {
        out.push_str(text);
    }
    // A path written into a COPY line as is: a blank, a quote, a backslash or a control
    // character (`CMD ["app\nname"]` decodes to a line break) would break or change it.
    if let Some(odd) = copies
        .iter()
        .chain(bare_destinations.iter().map(|(_, d)| d))
        .find(|p| {
            p.chars()
                .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | '\\'))
        })
    {
        return Err(refuse(
            anchor,
            format!("the path {odd:?} has characters restage does not write into a COPY line"),
        ));
    }
    let copy_kw = style.keyword(Kind::Copy);
    for c in dedup_nested(&copies) {
        let (from, mut to) = match bare_destinations.iter().find(|(p, _)| *p == c) {
            Some((p, d)) => (p.clone(), d.clone()),
            None => (c.clone(), c.clone()),
        };
        // A pattern (`/usr/local/bin/*.sh`) copies its matches into their directory.
        if let Some((dir, name)) = to.rsplit_once('/')
            && name.contains(['*', '?', '['])
            && !dir.contains(['*', '?', '['])
        {
            to = [dir, "/"].concat();
        }
        match replays.chown.get(&c) {
            Some(owner) => push_all(
                &mut out,
                &[
                    &copy_kw,
                    " --from=",
                    &alias,
                    " --chown=",
                    owner,
                    " ",
                    &from,
                    " ",
                    &to,
                    nl,
                ],
            ),
            None => push_all(
                &mut out,
                &[&copy_kw, " --from=", &alias, " ", &from, " ", &to, nl],
            ),
        }
    }
    if chowned {
        out.push_str(&workdir_line);
    }
    for text in &replays.post {
        out.push_str(text);
    }
    let mut first = true;
    for &ix in moved.iter().filter(|&&ix| !is_label(ix)) {
        let at = analysis::extent_with_comments(doc, ix);
        // A blank line that separated two moved instructions stays between them.
        if !first && blank_line_before(doc.text(), at.start) {
            out.push_str(nl);
        }
        first = false;
        out.push_str(&analysis::with_newline(doc, doc.slice(&at)));
    }
    let end_offset = doc.text().len();
    // One blank line between the stages: none added when the kept text already ends with one.
    let lead: &[&str] = match kept_tail(doc.text(), &deleted).as_slice() {
        [.., b'\n', b'\n'] | [.., b'\n', b'\r', b'\n'] => &[],
        [.., b'\n'] => &[nl],
        _ => &[nl, nl],
    };
    let mut inserted = String::with_capacity(2 * nl.len() + out.len());
    push_all(&mut inserted, lead);
    inserted.push_str(&out);
    edits.push(Edit::insert(end_offset, inserted));

    let mut reason = if runtime.same_image {
        let mut left = left_behind.clone();
        if drops_dev {
            left.push("the dev dependencies".into());
        }
        if globals_left {
            left.push(format!(
                "{globals_label} (the start command runs only node)"
            ));
        }
        [
            "the final image keeps what only the build needs: ",
            &left.join(", "),
            "; the runtime stage on the same image ",
            &runtime.reference,
            " gets only ",
            &dedup_nested(&copies).join(", "),
        ]
        .concat()
    } else {
        [
            &stage.image.value,
            " ships its SDK and build tools in the final image; the runtime stage ",
            &runtime.reference,
            " gets only ",
            &dedup_nested(&copies).join(", "),
        ]
        .concat()
    };
    if let Some(note) = &note {
        push_all(&mut reason, &[" (", note, ")"]);
    }
    if !runtime_packages.is_empty() {
        reason.push_str(" plus the runtime packages");
        for (i, p) in runtime_packages.iter().enumerate() {
            reason.push_str(if i == 0 { " " } else { ", " });
            reason.push_str(p);
        }
    }
    if globals_left && !runtime.same_image {
        reason.push_str(&format!(
            "; {globals_label} stay in the build stage: the start command runs only node"
        ));
    }
    let applicability = unsafe_because(&mut reason, &a.unsafe_reasons);
    Ok(Change::new(
        ID,
        applicability,
        anchor,
        [
            "Split into a build stage and a runtime stage from ",
            &runtime.reference,
        ]
        .concat(),
        reason,
    )
    .with_edits(edits))
}

/// Appends every piece to `out`.
fn push_all(out: &mut String, pieces: &[&str]) {
    for p in pieces {
        out.push_str(p);
    }
}

/// The last (up to) three bytes of `text` outside the `deleted` ranges.
/// A deleted range is skipped whole, not byte by byte.
fn kept_tail(text: &str, deleted: &[std::ops::Range<usize>]) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut tail = [0u8; 3];
    let mut kept = 0;
    let mut i = bytes.len();
    while i > 0 && kept < 3 {
        i -= 1;
        if let Some(r) = deleted.iter().find(|r| r.contains(&i)) {
            // Every byte of `r` before `i` is deleted too.
            i = r.start;
            continue;
        }
        kept += 1;
        tail[3 - kept] = bytes[i];
    }
    tail[3 - kept..].to_vec()
}

/// Paths, without those inside another listed path ([`analysis::is_within`]) and without
/// repeats; first occurrence order. Linear in the number of paths (times their depth): a
/// `COPY . .` into `/` lists every root entry of the context, thousands in a large repository.
fn dedup_nested(paths: &[String]) -> Vec<String> {
    let all: rustc_hash::FxHashSet<&str> = paths.iter().map(String::as_str).collect();
    if all.contains("") {
        // The empty path and `/` each hold the other, so which stays depends on the order:
        // compared pair by pair, as listed.
        return dedup_nested_pairwise(paths);
    }
    let root = all.contains("/");
    let mut seen: rustc_hash::FxHashSet<&str> = rustc_hash::FxHashSet::default();
    let mut out = Vec::new();
    for p in paths {
        // Inside another path: `/` holds every other path, and a path holds each path that
        // continues it after a `/` (its own text up to any `/` of the other is the holder).
        let nested = (root && p != "/")
            || memchr::memchr_iter(b'/', p.as_bytes()).any(|i| all.contains(&p[..i]));
        if !nested && seen.insert(p.as_str()) {
            out.push(p.clone());
        }
    }
    out
}

/// [`dedup_nested`] by comparing each path with every path kept so far.
fn dedup_nested_pairwise(paths: &[String]) -> Vec<String> {
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
    doc.indices_of(Kind::Env, stage.instructions.start..index)
        .iter()
        .map(|&ix| &doc.instructions()[ix])
        .any(|i| {
            analysis::declared(doc, i)
                .iter()
                .any(|d| d.name == name && d.value.as_deref() == Some(value))
        })
}

/// How the container starts.
#[derive(Debug)]
struct Start {
    words: Vec<String>,
    shell_form: bool,
    /// A build tool run at start (`go run`, `cargo run`, `mvn`, ...).
    toolchain: Option<String>,
    /// The shell, when all the container starts is an interactive shell (`CMD ["bash"]`).
    interactive_shell: Option<String>,
    /// An exec-form ENTRYPOINT or CMD names a shell (`["sh", "-c", ...]`).
    runs_shell: bool,
    /// The shell script the start command runs (`./start.sh`).
    script: Option<String>,
    /// The program each of ENTRYPOINT and CMD names first.
    programs: Vec<String>,
}

impl Start {
    fn program_word(&self) -> Option<&str> {
        self.words.first().map(String::as_str)
    }

    /// Where the program can be: its path, or for a bare name each directory of the default
    /// PATH of the runtime images.
    fn program_paths(&self, workdir: &str, knowledge: &crate::knowledge::Knowledge) -> Vec<String> {
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
            knowledge
                .runtime_path()
                .iter()
                .map(|d| format!("{d}/{p}"))
                .collect()
        }
    }
}

/// The effective start command (ENTRYPOINT unless empty, else CMD; a leading `exec` of a
/// shell form dropped) and the build tool it runs at start, read by [`StartCommand`].
fn start_command(doc: &Document, start: &StartCommand, ctx: &Context) -> Option<Start> {
    let chosen = start.effective()?;
    if matches!(doc.instructions()[chosen.index].form, Form::None) {
        return None;
    }
    let words = match chosen.args {
        [exec, rest @ ..] if chosen.shell_form && exec == "exec" => rest,
        args => args,
    };
    Some(Start {
        words: words.to_vec(),
        shell_form: chosen.shell_form,
        toolchain: start.toolchain(ctx.knowledge),
        interactive_shell: start.interactive_shell(ctx.knowledge).map(str::to_string),
        runs_shell: start.runs_shell(),
        script: start.script().map(str::to_string),
        programs: start
            .parts()
            .filter_map(|p| p.args.first().cloned())
            .collect(),
    })
}

fn healthcheck_programs(doc: &Document, stage: &Stage) -> Vec<String> {
    doc.stage_instructions(stage)
        .iter()
        .filter(|i| i.kind == Kind::Healthcheck)
        .flat_map(|i| match &i.form {
            Form::Exec { words, .. } => words.iter().map(|w| w.value.clone()).collect::<Vec<_>>(),
            Form::Shell { span } => crate::shell::words(doc.slice(span), span.start, doc.escape()),
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
fn run_facts(
    doc: &Document,
    stage: &Stage,
    ix: usize,
    ctx: &Context,
    inherited: &str,
    recipe: &dyn Recipe,
) -> RunFacts {
    let ins: &Instruction = &doc.instructions()[ix];
    let mut f = RunFacts {
        prep_only: true,
        ..RunFacts::default()
    };
    let Some(commands) = analysis::commands(doc, ins) else {
        f.prep_only = false;
        f.unknown = Some(
            "uses shell syntax restage does not read (a here-document, substitution or redirect)"
                .into(),
        );
        return f;
    };
    // The working directory of each command: the stage's, then where a `cd` to a literal path
    // went (`None` once restage cannot tell).
    let mut cwd = effects::workdir(doc, stage, ix, inherited);
    // Whether the stage's ENV turns cgo off: read once, for the first binary.
    let mut cgo_off_env: Option<bool> = None;
    for (cmd_ix, cmd) in commands.iter().enumerate() {
        let words = cmd.program_words();
        let Some(program) = words.first().map(String::as_str) else {
            continue;
        };
        if program == "cd" {
            // `cd /opt/$NAME`: read with the stage's ENV, as the shell will see it.
            let expanded = cmd
                .expands
                .then(|| effects::expand_env(doc, stage, ix, cmd))
                .flatten();
            let (words, expands) = match &expanded {
                Some(e) => (e.program_words(), e.expands),
                None => (words, cmd.expands),
            };
            cwd = match words {
                [_, dir] if !expands && dir != "-" => cwd.map(|c| analysis::join(&c, dir)),
                _ => None,
            };
            continue;
        }
        if ctx.knowledge.is_runtime_neutral(program) {
            continue;
        }
        if ctx.knowledge.is_runtime_prep(program) {
            continue;
        }
        f.prep_only = false;
        if ctx.knowledge.is_build_cleanup(words) || ctx.knowledge.is_build_query(words) {
            continue;
        }
        if let Some(pkgs) = os_packages(words) {
            f.packages.extend(
                pkgs.installs
                    .into_iter()
                    .map(|(manager, name, group)| OsPackage {
                        manager,
                        name,
                        group,
                        command: cmd_ix,
                    }),
            );
            f.removed
                .extend(pkgs.removes.into_iter().map(|name| (name, cmd_ix)));
            continue;
        }
        if is_global_install(words) {
            // Outside the application directory: whether the app needs it is decided with the
            // start command (`global_tools`).
            f.globals.push(words.to_vec());
            f.builds = true;
            continue;
        }
        // `go build -o $GOPATH/bin/app`: a build command is read with the stage's ENV (and the
        // image's, `GOPATH` of the golang images) expanded, as the shell will see it.
        // A value with blanks would be split by the shell: not read as one word.
        let expanded = effects::expand_env(doc, stage, ix, cmd).filter(|e| {
            cmd.words
                .iter()
                .zip(&e.words)
                .all(|(w, x)| !w.contains('$') || !x.contains(char::is_whitespace))
        });
        let build_cmd = expanded.as_ref().unwrap_or(cmd);
        if let Some(m) = facts::classify(ctx, build_cmd) {
            if let Some(script) = &m.run_script
                && let Err(why) = script_stays_in_app(ctx, script, 0)
            {
                f.unknown = Some(format!("runs `{}`, {why}", words.join(" ")));
                continue;
            }
            f.builds = true;
            f.tool_commands += 1;
            if m.pip {
                f.pip = true;
                if m.pip_outside_env {
                    f.unknown = Some("runs pip with --user/--prefix/--target/--root".into());
                }
            }
            if let Some(install) = m.install {
                f.installs.push(install);
                f.install_dirs.push(cwd.clone());
            }
            // Go without `-o FILE`: named and placed by Go's rules.
            let go_built =
                go_outputs::produced(doc, stage, ix, ctx, build_cmd, cwd.as_deref(), inherited);
            let static_link = (!m.binaries.is_empty() || !go_built.is_empty())
                && (m.cgo_disabled
                    || *cgo_off_env
                        .get_or_insert_with(|| env_sets(doc, stage, "CGO_ENABLED", "0")));
            for out in m.binaries {
                let path = match &cwd {
                    _ if out.starts_with('/') => analysis::normalize(&out),
                    Some(wd) => analysis::join(wd, &out),
                    None => continue,
                };
                f.binaries.push(Binary {
                    path,
                    static_link,
                    unnamed: None,
                });
            }
            for out in go_built {
                f.binaries.push(Binary {
                    path: out.path,
                    static_link,
                    unnamed: out.unnamed,
                });
            }
            continue;
        }
        if recipes::build_setup(words) {
            f.builds = true;
            continue;
        }
        if recipe.writes_only_carried(words) {
            // The ecosystem's own tools, writing where the runtime stage copies from.
            f.builds = true;
            continue;
        }
        f.unknown = Some(format!(
            "runs `{}`, which restage does not recognise",
            short(cmd)
        ));
    }
    f
}

/// Why a stage whose runtime would be its own image is not split: nothing to say when it
/// installs nothing to leave behind, a note when its build packages are already removed where
/// they are installed (`apk add --virtual .build-deps ... && apk del .build-deps`).
/// A RUN restage cannot read that installs or builds, as the refusal that names it.
fn unreadable_install(
    doc: &Document,
    runs: &[(usize, RunFacts)],
    ctx: &Context,
    anchor: usize,
) -> Option<Verdict> {
    let instructions = doc.instructions();
    let (ix, _) = runs
        .iter()
        .find(|(ix, f)| f.unknown.is_some() && installs_or_builds(doc, &instructions[*ix], ctx))?;
    Some(refuse(
        anchor,
        format!(
            "the RUN at {} installs or builds with shell syntax restage does not read (a here-document, substitution or redirect), so it cannot tell what the build leaves for the runtime",
            analysis::place_of(doc, *ix)
        ),
    ))
}

/// The refusal of a split whose runtime stage, on the same image, would leave nothing behind;
/// `kept_dev` says why the dev dependencies stay, when the recipe could leave them out.
fn nothing_left_behind(
    anchor: usize,
    image: &str,
    removed_in_place: &[String],
    kept_dev: Option<&str>,
) -> Verdict {
    if removed_in_place.is_empty() {
        return match kept_dev {
            Some(why) => refuse(
                anchor,
                format!(
                    "the runtime stage would be {image} again and would leave nothing behind: no build-only package stays installed, and {why}"
                ),
            ),
            None => Verdict::Nothing,
        };
    }
    refuse(
        anchor,
        format!(
            "the runtime stage would be {image} again, and the build packages {} are already removed in the RUN that installs them, so a split would leave nothing behind",
            removed_in_place.join(", ")
        ),
    )
}

/// When a later `apk del` (in this RUN or a later one) removes apk package `p` of the RUN at
/// `run_pos`, by name or by its `--virtual` group: `Some(true)` when the removal is in a later
/// RUN (the original image still carries the package in a layer), `Some(false)` in the same RUN.
fn removal(runs: &[(usize, RunFacts)], run_pos: usize, p: &OsPackage) -> Option<bool> {
    if p.manager != PackageManager::Apk {
        return None;
    }
    let base = p.name.split(['=', '>', '<', '~']).next().unwrap_or(&p.name);
    let names = |n: &str| n == base || p.group.as_deref() == Some(n);
    runs[run_pos..]
        .iter()
        .enumerate()
        .find_map(|(offset, (_, f))| {
            f.removed
                .iter()
                .any(|(n, cmd)| names(n) && (offset > 0 || *cmd > p.command))
                .then_some(offset > 0)
        })
}

/// Whether the package.json script `name` only runs commands restage recognises (builds and
/// installs, which write into the application directory, and commands that leave nothing
/// behind, like `rm` and `echo`), following `npm run` of other scripts a few levels deep. The
/// reason otherwise.
fn script_stays_in_app(ctx: &Context, name: &str, depth: usize) -> Result<(), String> {
    let Some(package) = &ctx.build.package_json else {
        return Err(format!(
            "and restage cannot read package.json, so it cannot tell what the script `{name}` writes"
        ));
    };
    let Some(text) = package.script(name) else {
        return Err(format!("and package.json has no script `{name}`"));
    };
    let unread = || {
        format!(
            "and restage does not recognise what the package.json script `{name}` runs (`{text}`)"
        )
    };
    let commands = crate::shell::split(text, 0, '\\').ok_or_else(unread)?;
    for cmd in &commands {
        let words = cmd.program_words();
        let Some(program) = words.first().map(String::as_str) else {
            continue;
        };
        // `rm` of the script's own output and `echo` leave nothing outside the app; preparing
        // a path (`mkdir`, `chown`), which a RUN's replay would repeat, is hidden in a script.
        if ctx.knowledge.is_runtime_neutral(program) || ctx.knowledge.is_build_cleanup(words) {
            continue;
        }
        if is_global_install(words) {
            return Err(unread());
        }
        match facts::classify(ctx, cmd) {
            Some(m) => match &m.run_script {
                Some(inner) if depth < 3 => script_stays_in_app(ctx, inner, depth + 1)?,
                Some(_) => return Err(unread()),
                None => {}
            },
            None => return Err(unread()),
        }
    }
    Ok(())
}

fn short(cmd: &SimpleCommand) -> String {
    let w = cmd.program_words();
    w.iter().take(3).cloned().collect::<Vec<_>>().join(" ")
}

/// `npm install -g X`, `yarn global add X`, `pnpm add -g X`, with the global flag anywhere on
/// the line (`npm -g install X`, `npm --location=global i X`) and npm's abbreviations of
/// `install`.
fn is_global_install(words: &[String]) -> bool {
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    let Some((&program, args)) = w.split_first() else {
        return false;
    };
    let global = || {
        args.iter().enumerate().any(|(i, a)| {
            matches!(
                *a,
                "-g" | "--global" | "--global=true" | "--location=global"
            ) || (*a == "--location" && args.get(i + 1) == Some(&"global"))
        })
    };
    // The words that are not flags, in order: the subcommand first.
    let mut plain = args.iter().filter(|a| !a.starts_with('-'));
    match program {
        "npm" => {
            matches!(
                plain.next(),
                Some(
                    &("install"
                        | "i"
                        | "in"
                        | "ins"
                        | "inst"
                        | "insta"
                        | "instal"
                        | "isnt"
                        | "isnta"
                        | "isntal"
                        | "isntall"
                        | "add")
                )
            ) && global()
        }
        "pnpm" => matches!(plain.next(), Some(&("add" | "install" | "i"))) && global(),
        "yarn" => plain.next() == Some(&"global") && plain.next() == Some(&"add"),
        _ => false,
    }
}

/// What one apt-get/apt/apk command does to the OS packages.
#[derive(Debug, Default)]
struct PackageCommand {
    /// Installed: manager, name as written, the `apk add --virtual` group.
    installs: Vec<(PackageManager, String, Option<String>)>,
    /// Names and virtual groups `apk del` removes.
    removes: Vec<String>,
}

/// The packages an apt-get/apt/apk command installs or (apk) removes, or `None` when it is not a
/// package command. `update`, `clean`, `upgrade` and friends install nothing.
fn os_packages(words: &[String]) -> Option<PackageCommand> {
    let program = words.first()?.as_str();
    let (pm, value_flags): (PackageManager, &[&str]) = match program {
        "apt-get" | "apt" => (
            PackageManager::Apt,
            &[
                "-t",
                "-o",
                "-c",
                "--target-release",
                "--option",
                "--config-file",
            ],
        ),
        "apk" => (
            PackageManager::Apk,
            &[
                "-t",
                "--virtual",
                "-X",
                "--repository",
                "-p",
                "--root",
                "--arch",
                "--cache-dir",
                "--keys-dir",
                "--repositories-file",
            ],
        ),
        _ => return None,
    };
    // Operands (the subcommand, then package names), skipping flags and the values of flags
    // that take one; `--virtual NAME` (`-t NAME`, `--virtual=NAME`) names apk's group.
    let mut operands: Vec<&str> = Vec::new();
    let mut group = None;
    let mut words_iter = words[1..].iter().map(String::as_str);
    while let Some(w) = words_iter.next() {
        if let Some(flag) = value_flags.iter().find(|f| w == **f) {
            let value = words_iter.next();
            if pm == PackageManager::Apk && matches!(*flag, "-t" | "--virtual") {
                group = value.map(str::to_string);
            }
        } else if let Some(v) = w.strip_prefix("--virtual=") {
            group = Some(v.to_string());
        } else if !w.starts_with('-') {
            operands.push(w);
        }
    }
    let (sub, names) = operands.split_first()?;
    let mut out = PackageCommand::default();
    match (pm, *sub) {
        (_, "install" | "add") => {
            for name in names {
                let name = name.split('=').next().unwrap_or(name);
                out.installs.push((pm, name.to_string(), group.clone()));
            }
        }
        (PackageManager::Apk, "del") => {
            out.removes = names.iter().map(|n| n.to_string()).collect();
        }
        _ => {}
    }
    Some(out)
}

/// True when the line above `pos` (a line start) is blank.
fn blank_line_before(text: &str, pos: usize) -> bool {
    let before = text[..pos].trim_end_matches(['\r', '\n']);
    let gap = &text[before.len()..pos];
    gap.matches('\n').count() >= 2 && before.len() < pos
}

/// The text the moved instructions leave: each one's extent with its comments, and the blank
/// lines after it when a blank line already comes before it in what stays, so no hole of blank
/// lines remains.
fn moved_ranges(doc: &Document, moved: &[usize]) -> Vec<std::ops::Range<usize>> {
    let text = doc.text();
    let mut out: Vec<std::ops::Range<usize>> = Vec::new();
    for &ix in moved {
        let mut r = analysis::extent_with_comments(doc, ix);
        let tail = kept_tail(&text[..r.start], &out);
        let blank_before = matches!(
            tail.as_slice(),
            [.., b'\n', b'\n'] | [.., b'\n', b'\r', b'\n']
        ) || tail.is_empty();
        if blank_before {
            let mut e = r.end;
            loop {
                let line_end = text[e..].find('\n').map(|p| e + p + 1);
                match line_end {
                    Some(le) if text[e..le].trim().is_empty() => e = le,
                    _ => break,
                }
            }
            // Never into the next instruction.
            if moved.iter().filter(|&&m| m != ix).all(|&m| {
                let m = analysis::extent_with_comments(doc, m);
                m.start >= e || m.end <= r.start
            }) {
                r.end = e;
            }
        }
        out.push(r);
    }
    out
}

/// The paths the context copies put into `/` when the app has no directory of its own: the
/// top-level entries the COPY sources name (every entry of the listing for `.`), plus what the
/// recipe's build adds there (`node_modules` for a Node dependency install). `Err` when restage
/// cannot tell them, or when a build writes other output into `/`.
fn root_paths(
    doc: &Document,
    stage: &Stage,
    ctx: &Context,
    recipe: &dyn Recipe,
    runs: &[(usize, RunFacts)],
) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    // What `out` holds, looked up in constant time: `COPY . .` lists every root entry.
    let mut listed: rustc_hash::FxHashSet<String> = rustc_hash::FxHashSet::default();
    for ix in stage.from + 1..stage.instructions.end {
        let ins = &doc.instructions()[ix];
        if !analysis::copies_from_context(ins) || !ins.heredocs.is_empty() {
            continue;
        }
        let Some(dest) = effects::destination(doc, stage, ix, "/") else {
            return Err(format!("a {} destination uses a variable", ins.kind));
        };
        if dest != "/" {
            // Copied to a directory of its own: carried with the other context copies.
            continue;
        }
        for src in analysis::sources(ins) {
            let s = src.value.trim_start_matches("./").trim_end_matches('/');
            let names: Vec<String> = if s.is_empty() || s == "." {
                let Some(listing) = &ctx.build.listing else {
                    return Err("the app has no WORKDIR of its own and the build context cannot be listed, so restage cannot tell which paths `COPY . .` puts into /".into());
                };
                listing
                    .keys()
                    .filter(|n| !ctx.build.is_ignored(n))
                    .cloned()
                    .collect()
            } else if s.contains(['*', '?', '[', '$']) {
                return Err(format!(
                    "the app has no WORKDIR of its own and COPY `{}` uses a pattern, so restage cannot tell which paths it puts into /",
                    src.value
                ));
            } else {
                vec![crate::shell::base_name(s).to_string()]
            };
            for n in names {
                if runtime_fs::is_top_level_system(&n) {
                    return Err(format!(
                        "the context's `{n}` is copied into /{n}, a directory of the operating system, so restage cannot carry it alone"
                    ));
                }
                let p = format!("/{n}");
                if !listed.contains(&p) {
                    listed.insert(p.clone());
                    out.push(p);
                }
            }
        }
    }
    recipe.root_paths(runs, &mut out)?;
    if out.is_empty() {
        return Err(NO_WORKDIR.into());
    }
    if out.len() > MAX_ROOT_PATHS {
        return Err(format!(
            "the app has no WORKDIR of its own and its COPYs put {} paths into /; each would be carried by a COPY of its own, more than {MAX_ROOT_PATHS} to review; add a WORKDIR such as /app",
            out.len()
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Random lists of paths made of a few segments (repeats, `/`, relative paths, trailing
    /// and doubled slashes; the empty path now and then) keep the same paths in the same order
    /// as comparing every pair.
    #[test]
    fn nested_paths_are_dropped_as_by_comparing_every_pair() {
        const PIECES: [&str; 10] = ["/", "", "/a", "/a/b", "/ab", "/a/", "//a", "/b", "a/b", "a"];
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        let mut kept_some = 0;
        for _ in 0..20_000 {
            let len = next(7);
            let paths: Vec<String> = (0..len)
                .map(|_| {
                    let mut p = PIECES[next(PIECES.len())].to_string();
                    if next(3) == 0 {
                        p.push_str(PIECES[next(PIECES.len())]);
                    }
                    p
                })
                .collect();
            let got = dedup_nested(&paths);
            assert_eq!(got, dedup_nested_pairwise(&paths), "{paths:?}");
            kept_some += usize::from(got.len() > 1);
        }
        assert!(kept_some > 1_000, "{kept_some}");
    }
}
