//! Node with a build step: when the build output is known, the runtime stage receives the
//! application directory's entries except the build's sources and the files only development
//! reads, instead of the whole directory.
//!
//! The output is known when every command of the build (the RUN steps, the package.json scripts
//! they run, followed, and the lifecycle scripts the install runs) is one the knowledge files
//! classify, and each build tool's output directory can be named: a `--outDir` flag, the
//! `outDir` of the tsconfig it compiles (its `extends` chain followed), or the tool's default
//! when no config file of it mentions a word that moves it (`distDir`, `outDir`). The start
//! command must run from that output (`node dist/main.js`, `next start`, a static server naming
//! `dist`). Then each top-level entry of the application directory (what the COPYs put there,
//! `node_modules`, the outputs, what RUN steps made) is carried unless it is one of the build's
//! sources whose files are all compiled ones (their extensions in the knowledge files), a
//! development file (`dev_files`), or a lockfile a start command without a package manager does
//! not read. Entries the start command, `main` or `bin` name are always carried. Anything
//! unknown: the whole directory, as before.

use std::collections::BTreeSet;

use globset::Glob;

use super::super::super::Context;
use super::super::super::analysis;
use super::super::super::effects;
use super::super::super::facts;
use super::super::Analysis;
use super::Input;
use crate::context::{NodeBuild, PackageJson, Setting};
use crate::knowledge::{BuildTool, CommandKind};
use crate::syntax::Kind;

/// Why the whole directory is carried: a note worth showing, or nothing to say.
pub(super) type Whole = Option<String>;

/// One build step's output.
struct Output<'k> {
    tool: &'k BuildTool,
    /// The output directory's top-level entry in the application directory.
    entry: String,
    /// Top-level entries it compiles (from its tsconfig or the knowledge files).
    sources: Vec<String>,
}

/// The runtime stage's paths (absolute) when the build output is known.
pub(super) fn narrow(input: &Input, a: &Analysis) -> Result<Vec<String>, Whole> {
    let Input {
        doc,
        stage,
        ctx,
        start,
        inherited,
        ..
    } = *input;
    let wd = a.workdir.as_str();
    if wd == "/" {
        return Err(None);
    }
    let (Some(pkg), Some(listing), Some(nb), Some(eco)) = (
        ctx.build.package_json.as_ref(),
        ctx.build.listing.as_ref(),
        ctx.build.node_build.as_ref(),
        ctx.knowledge.ecosystem("node"),
    ) else {
        return Err(None);
    };
    if matches!(
        ctx.build.dockerignore,
        crate::context::DockerIgnoreState::Unknown { .. }
    ) {
        // Which files `COPY . .` brings is not known.
        return Err(None);
    }
    let b = Builds {
        ctx,
        pkg,
        nb,
        tools: &eco.builds,
    };

    // The build's outputs, from every command of every RUN that builds.
    let mut outputs: Vec<Output> = Vec::new();
    for (ix, f) in &a.runs {
        if f.unknown.is_some() {
            return Err(None);
        }
        if !f.builds {
            continue;
        }
        let commands = analysis::run_commands(doc, &doc.instructions()[*ix]).ok_or(None)?;
        // A RUN that only installs global packages (wherever it runs) adds no output.
        let k = &ctx.knowledge;
        let globals_only = commands.iter().all(|c| {
            let w = c.program_words();
            w.first().is_none_or(|p| k.is_runtime_neutral(p))
                || k.is_build_cleanup(w)
                || super::super::is_global_install(w)
        });
        if globals_only {
            continue;
        }
        if effects::workdir(doc, stage, *ix, inherited).as_deref() != Some(wd) {
            return Err(None);
        }
        for cmd in &commands {
            // A global package goes outside the application directory.
            if super::super::is_global_install(cmd.program_words()) {
                continue;
            }
            let words: Vec<&str> = cmd.program_words().iter().map(String::as_str).collect();
            b.command(&words, 0, &mut outputs)?;
        }
    }
    if outputs.is_empty() {
        return Err(None);
    }

    // The top-level entries of the application directory.
    let mut entries: BTreeSet<String> = BTreeSet::new();
    let body = stage.from + 1..stage.instructions.end;
    for ix in body.clone() {
        let ins = &doc.instructions()[ix];
        if ins.kind == Kind::Add {
            let dest = effects::destination(doc, stage, ix, inherited).ok_or(None)?;
            if analysis::is_within(&dest, wd) {
                return Err(None);
            }
            continue;
        }
        if ins.kind != Kind::Copy {
            continue;
        }
        let dest = effects::destination(doc, stage, ix, inherited).ok_or(None)?;
        if !analysis::is_within(&dest, wd) {
            continue;
        }
        if !analysis::copies_from_context(ins) {
            // From another image: what it puts there is not listed.
            return Err(None);
        }
        if !ins.heredocs.is_empty() {
            return Err(None);
        }
        if dest != wd {
            entries.insert(first_component(&dest[wd.len()..]).to_string());
            continue;
        }
        for src in analysis::sources(ins) {
            let s = src.value.trim_start_matches("./").trim_end_matches('/');
            if s.is_empty() || s == "." {
                entries.extend(listing.keys().filter(|n| !ctx.build.is_ignored(n)).cloned());
            } else if s.contains(['*', '?', '[']) {
                if s.contains('/') {
                    return Err(None);
                }
                let glob = Glob::new(s).map_err(|_| None)?.compile_matcher();
                entries.extend(
                    listing
                        .keys()
                        .filter(|n| glob.is_match(n) && !ctx.build.is_ignored(n))
                        .cloned(),
                );
            } else if s.contains('$') || ctx.build.is_dir(s) {
                // A directory copied into the app directory spreads its contents there.
                return Err(None);
            } else {
                entries.insert(crate::shell::base_name(s).to_string());
            }
        }
    }
    for (ix, _) in &a.runs {
        let e = effects::instruction(doc, stage, *ix, ctx, inherited);
        if e.unknown.is_some() || e.commands.iter().any(|c| c.unknown.is_some()) {
            return Err(None);
        }
        for p in e.all() {
            if matches!(p.op, effects::Op::Read | effects::Op::Remove) || p.path == wd {
                continue;
            }
            if analysis::is_within(&p.path, wd) {
                entries.insert(first_component(&p.path[wd.len()..]).to_string());
            }
        }
    }
    entries.insert("node_modules".into());
    for o in &outputs {
        entries.insert(o.entry.clone());
    }

    // The start command (after wrappers such as `dumb-init`), with the package.json scripts it
    // runs.
    let program_at = start
        .words
        .iter()
        .position(|w| {
            !w.starts_with('-')
                && !crate::shell::is_assignment(w)
                && !ctx.knowledge.is_wrapper(crate::shell::base_name(w))
        })
        .unwrap_or(0);
    let started = start.words[program_at.min(start.words.len())..].to_vec();
    let mut start_commands: Vec<Vec<String>> = vec![started.clone()];
    script_commands(pkg, &started, 0, &mut start_commands)?;
    let pm_start = start_commands
        .iter()
        .any(|c| c.first().is_some_and(|p| is_package_manager(p)));
    let mut keep_tsconfig = false;
    let mut named: BTreeSet<String> = BTreeSet::new();
    for words in &start_commands {
        for w in words {
            if [
                "ts-node",
                "tsx",
                "babel-node",
                "@babel/register",
                "esbuild-register",
                "@swc/register",
                "ts-node/register",
            ]
            .iter()
            .any(|t| {
                w == t
                    || w.starts_with(&format!("{t}/"))
                    || Some(crate::shell::base_name(w)) == Some(t)
            }) {
                return Err(Some(format!(
                    "the start command compiles sources when it starts (`{w}`), so the runtime stage needs them"
                )));
            }
            keep_tsconfig |= w.contains("tsconfig");
            for part in w.split('=') {
                if let Some(e) = entry_named(part, wd) {
                    named.insert(e);
                }
            }
        }
    }
    // Paths the stage's ENV values and HEALTHCHECK name.
    let env_values: Vec<String> = body
        .clone()
        .filter(|&ix| doc.instructions()[ix].kind == Kind::Env)
        .flat_map(|ix| analysis::declarations(doc, &doc.instructions()[ix]))
        .filter_map(|d| d.value)
        .flat_map(|v| {
            v.split([':', ',', ' ', '='])
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .chain(super::super::healthcheck_programs(doc, stage))
        .collect();
    for v in &env_values {
        if let Some(e) = entry_named(v, wd) {
            named.insert(e);
        }
    }
    // Config files the built app loads at run time (`next.config.mjs`) and what they import.
    for o in &outputs {
        for (name, text) in &nb.configs {
            if matches_any(&o.tool.runtime, name) {
                for p in relative_imports(text.as_deref().unwrap_or_default()) {
                    if let Some(e) = entry_named(&p, wd) {
                        named.insert(e);
                    }
                }
            }
        }
    }
    for p in pkg.main.iter().chain(pkg.bin.iter()) {
        if let Some(e) = entry_named(p, wd) {
            named.insert(e);
        }
    }
    let runs_output = outputs.iter().any(|o| {
        start_commands.iter().any(|words| {
            let program = words.first().map(|p| crate::shell::base_name(p));
            match program {
                Some("node") => node_entry(words)
                    .is_some_and(|e| entry_named(e, wd).as_deref() == Some(&o.entry)),
                Some("next") if o.tool.tool == "next" => words.get(1).is_some_and(|w| w == "start"),
                _ => {
                    o.tool.serves
                        && words[1..].iter().any(|w| {
                            entry_named(w, wd).as_deref() == Some(&o.entry) && !w.starts_with('-')
                        })
                }
            }
        })
    });
    if !runs_output {
        let names: Vec<String> = outputs.iter().map(|o| format!("{}/", o.entry)).collect();
        return Err(Some(format!(
            "the start command does not run the build output ({}), so restage cannot tell which of the sources it reads",
            names.join(", ")
        )));
    }

    // Which entries stay behind.
    let lockfiles: Vec<String> = ["npm", "yarn", "pnpm"]
        .iter()
        .filter_map(|m| ctx.knowledge.manifests(m))
        .flat_map(|m| m.lockfiles.iter().cloned())
        .collect();
    let matches = matches_any;
    let mut carried: Vec<String> = Vec::new();
    let mut dropped: Vec<String> = Vec::new();
    for e in &entries {
        let output = outputs.iter().any(|o| &o.entry == e);
        let runtime = outputs.iter().any(|o| matches(&o.tool.runtime, e));
        let keep = e == "package.json"
            || e == "node_modules"
            || output
            || runtime
            || named.contains(e)
            || (keep_tsconfig && e.starts_with("tsconfig"));
        let leave = !keep
            && ((lockfiles.contains(e) && !pm_start)
                || (!lockfiles.contains(e) && matches(&eco.dev_files, e))
                || outputs.iter().any(|o| {
                    (o.sources.contains(e) || matches(&o.tool.sources, e))
                        && compiled_only(nb, listing.get(e).copied(), e, &o.tool.extensions)
                }));
        if leave {
            dropped.push(e.clone());
        } else {
            carried.push(e.clone());
        }
    }
    if !dropped.iter().any(|d| !lockfiles.contains(d)) {
        return Err(None);
    }
    // Manifests first, then dependencies, other entries, and the build output last.
    let rank = |e: &str| {
        if e == "package.json" {
            0
        } else if lockfiles.iter().any(|l| l == e) {
            1
        } else if e == "node_modules" {
            2
        } else if outputs.iter().any(|o| o.entry == e) {
            4
        } else {
            3
        }
    };
    carried.sort_by(|x, y| rank(x).cmp(&rank(y)).then(x.cmp(y)));
    Ok(carried.iter().map(|e| analysis::join(wd, e)).collect())
}

/// The facts a build step is read against.
struct Builds<'a> {
    ctx: &'a Context<'a>,
    pkg: &'a PackageJson,
    nb: &'a NodeBuild,
    tools: &'a [BuildTool],
}

impl<'a> Builds<'a> {
    /// Reads one command of the build (words, program first); `depth` counts scripts followed.
    fn command(
        &self,
        words: &[&str],
        depth: usize,
        out: &mut Vec<Output<'a>>,
    ) -> Result<(), Whole> {
        let Some(&program) = words.first() else {
            return Ok(());
        };
        if depth > 4 {
            return Err(None);
        }
        let k = &self.ctx.knowledge;
        if k.is_runtime_neutral(program) || matches!(program, "rimraf" | "apt-get" | "apt" | "apk")
        {
            return Ok(());
        }
        let Some(m) = k.classify_command(words) else {
            return Err(if depth == 0 {
                None
            } else {
                Some(format!(
                    "the build runs `{}`, which restage does not recognise",
                    words.iter().take(2).copied().collect::<Vec<_>>().join(" ")
                ))
            });
        };
        if m.ecosystem != "node" {
            return Err(None);
        }
        match m.kind {
            CommandKind::DependencyInstall => {
                if m.runs_scripts {
                    let scripts = k
                        .manifests(m.manager.as_deref().unwrap_or("npm"))
                        .map(|f| f.lifecycle_scripts.clone())
                        .unwrap_or_default();
                    for s in scripts {
                        if let Some(cmd) = self.pkg.script(&s) {
                            self.script(&s, cmd, depth + 1, out)?;
                        }
                    }
                }
                Ok(())
            }
            CommandKind::Prune | CommandKind::Test => Ok(()),
            CommandKind::RunScript | CommandKind::Build if m.script.is_some() => {
                let name = m.script.as_deref().unwrap_or_default();
                for hook in [
                    format!("pre{name}"),
                    name.to_string(),
                    format!("post{name}"),
                ] {
                    match self.pkg.script(&hook) {
                        Some(cmd) => self.script(&hook, cmd, depth + 1, out)?,
                        None if hook == name => {
                            return Err(Some(facts::missing_script(self.ctx, name)));
                        }
                        None => {}
                    }
                }
                Ok(())
            }
            CommandKind::Build => {
                out.extend(self.output(&m.program, &m.outputs, words)?);
                Ok(())
            }
            _ => Err(None),
        }
    }

    fn script(
        &self,
        name: &str,
        cmd: &str,
        depth: usize,
        out: &mut Vec<Output<'a>>,
    ) -> Result<(), Whole> {
        let commands = crate::shell::split(cmd, 0, '\\').ok_or_else(|| {
            Some(format!(
                "the `{name}` script uses shell syntax restage does not read"
            ))
        })?;
        for c in &commands {
            let words: Vec<&str> = c.program_words().iter().map(String::as_str).collect();
            if words.first() == Some(&"cd") {
                return Err(Some(format!("the `{name}` script changes directory")));
            }
            self.command(&words, depth, out)?;
        }
        Ok(())
    }

    /// Where build tool `program` writes, with its sources; `None` for a type check that
    /// writes nothing (`noEmit`).
    fn output(
        &self,
        program: &str,
        flagged: &[String],
        words: &[&str],
    ) -> Result<Option<Output<'a>>, Whole> {
        let tool = self
            .tools
            .iter()
            .find(|t| t.tool == program)
            .ok_or_else(|| {
                Some(format!(
                    "restage does not know where `{program}` writes its output"
                ))
            })?;
        for (name, text) in &self.nb.configs {
            if !tool
                .config
                .iter()
                .any(|g| Glob::new(g).is_ok_and(|g| g.compile_matcher().is_match(name)))
            {
                continue;
            }
            let Some(text) = text else {
                return Err(Some(format!("restage cannot read {name}")));
            };
            if let Some(word) = tool.overrides.iter().find(|w| text.contains(w.as_str())) {
                return Err(Some(format!(
                    "{name} mentions `{word}`, which may move the build output"
                )));
            }
        }
        let mut sources: Vec<String> = Vec::new();
        let mut dir: Option<String> = flagged.first().cloned();
        if tool.tsconfig {
            if words.iter().any(|w| matches!(*w, "-b" | "--build")) {
                return Err(None);
            }
            let project = words
                .iter()
                .position(|w| matches!(*w, "-p" | "--project"))
                .and_then(|i| words.get(i + 1).copied())
                .or_else(|| words.iter().find_map(|w| w.strip_prefix("--project=")));
            let name = match project {
                Some(p) => {
                    let p = p.trim_start_matches("./").trim_end_matches('/');
                    if p.is_empty() || p == "." {
                        "tsconfig.json".to_string()
                    } else {
                        p.to_string()
                    }
                }
                None if program == "nest"
                    && self.nb.tsconfigs.contains_key("tsconfig.build.json") =>
                {
                    "tsconfig.build.json".to_string()
                }
                None => "tsconfig.json".to_string(),
            };
            let ts = match self.nb.tsconfigs.get(&name) {
                Some(Ok(ts)) => ts,
                Some(Err(why)) => return Err(Some(why.clone())),
                // No such tsconfig at the root: the context is not the whole project.
                None => return Err(None),
            };
            if ts.no_emit == Setting::Set(true)
                && flagged.is_empty()
                && !words.contains(&"--noEmit=false")
            {
                return Ok(None);
            }
            if dir.is_none() {
                dir = match ts.out_dir.known() {
                    Some(Some(d)) => Some(d.clone()),
                    Some(None) if program == "nest" => Some("dist".into()),
                    Some(None) => {
                        return Err(Some(format!(
                            "{name} sets no outDir, so `{program}` writes next to the sources"
                        )));
                    }
                    None => {
                        return Err(Some(format!(
                            "{name} takes its outDir from a base restage cannot read"
                        )));
                    }
                };
            }
            let roots: Vec<String> =
                match (ts.root_dir.known(), ts.include.known(), ts.files.known()) {
                    (Some(Some(r)), _, _) => vec![r.clone()],
                    (Some(None), Some(Some(inc)), files) => inc
                        .iter()
                        .chain(files.flatten().into_iter().flatten())
                        .cloned()
                        .collect(),
                    (Some(None), Some(None), Some(Some(files))) => files.clone(),
                    _ => Vec::new(),
                };
            for r in roots {
                let first = first_component(&r);
                if first.is_empty()
                    || first.contains(['*', '?', '[', '{'])
                    || !r.contains('/') && r.contains('.')
                {
                    // The root itself, or a single file at the root: no directory to leave.
                    continue;
                }
                if !sources.iter().any(|s| s == first) {
                    sources.push(first.to_string());
                }
            }
        }
        let dir = dir.ok_or_else(|| {
            Some(format!(
                "restage cannot tell where `{program}` writes its output"
            ))
        })?;
        let rel = dir.trim_start_matches("./");
        if rel.starts_with('/') || rel.starts_with("..") || rel.contains('$') {
            return Err(None);
        }
        let entry = first_component(rel).to_string();
        if entry.is_empty() || sources.contains(&entry) || entry == "node_modules" {
            return Err(Some(format!(
                "`{program}` writes its output ({dir}) among the sources"
            )));
        }
        Ok(Some(Output {
            tool,
            entry,
            sources,
        }))
    }
}

/// Adds the commands of the package.json scripts `words` runs (`npm start`, `npm run x`, `yarn
/// x`), with their `pre`/`post` hooks, followed.
fn script_commands(
    pkg: &PackageJson,
    words: &[String],
    depth: usize,
    out: &mut Vec<Vec<String>>,
) -> Result<(), Whole> {
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    let name = match w.as_slice() {
        ["npm" | "yarn" | "pnpm", "start", ..] => "start",
        ["npm" | "pnpm", "run" | "run-script", name, ..] | ["yarn", "run", name, ..] => name,
        ["yarn" | "pnpm", name, ..] if !name.starts_with('-') => name,
        _ => return Ok(()),
    };
    if depth > 4 {
        return Err(None);
    }
    let mut found = false;
    for hook in [
        format!("pre{name}"),
        name.to_string(),
        format!("post{name}"),
    ] {
        let Some(cmd) = pkg.script(&hook) else {
            continue;
        };
        found |= hook == name;
        let commands = crate::shell::split(cmd, 0, '\\').ok_or_else(|| {
            Some(format!(
                "the `{hook}` script uses shell syntax restage does not read"
            ))
        })?;
        for c in commands {
            let words = c.program_words().to_vec();
            script_commands(pkg, &words, depth + 1, out)?;
            out.push(words);
        }
    }
    if !found {
        return Err(None);
    }
    Ok(())
}

fn is_package_manager(program: &str) -> bool {
    matches!(
        crate::shell::base_name(program),
        "npm" | "yarn" | "pnpm" | "npx" | "corepack"
    )
}

/// The script `node` runs: its first argument that is not a flag or a flag's value.
fn node_entry(words: &[String]) -> Option<&str> {
    let mut i = 1;
    while i < words.len() {
        let w = words[i].as_str();
        if matches!(
            w,
            "-r" | "--require"
                | "--import"
                | "--loader"
                | "--experimental-loader"
                | "--env-file"
                | "--title"
                | "--max-old-space-size"
        ) {
            i += 2;
            continue;
        }
        if w.starts_with('-') {
            i += 1;
            continue;
        }
        return Some(w);
    }
    None
}

/// The top-level entry of the application directory `word` names, when it is a relative path
/// (`dist/main.js`, `./config/app.json`) or an absolute one inside `wd`.
fn entry_named(word: &str, wd: &str) -> Option<String> {
    if word.is_empty()
        || word.starts_with('-')
        || word.contains("://")
        || word.contains(['$', '*', '?', '{', '`'])
    {
        return None;
    }
    let abs = analysis::join(wd, word);
    if abs == wd || !analysis::is_within(&abs, wd) {
        return None;
    }
    let e = first_component(&abs[wd.len()..]);
    (!e.is_empty()).then(|| e.to_string())
}

fn first_component(path: &str) -> &str {
    path.trim_start_matches("./")
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or("")
}

/// Whether entry `name` holds only files the build compiles.
fn compiled_only(
    nb: &NodeBuild,
    kind: Option<crate::context::EntryKind>,
    name: &str,
    extensions: &[String],
) -> bool {
    match kind {
        Some(crate::context::EntryKind::Dir) => nb
            .dir_extensions
            .get(name)
            .and_then(Option::as_ref)
            .is_some_and(|exts| exts.iter().all(|e| extensions.contains(e))),
        Some(crate::context::EntryKind::File) => name
            .rsplit_once('.')
            .is_some_and(|(_, e)| extensions.iter().any(|x| x.eq_ignore_ascii_case(e))),
        _ => false,
    }
}

/// Whether `name` matches one of `globs`.
fn matches_any(globs: &[String], name: &str) -> bool {
    globs
        .iter()
        .any(|g| Glob::new(g).is_ok_and(|g| g.compile_matcher().is_match(name)))
}

/// The relative paths a JavaScript file's string literals name (`import "./src/env.mjs"`,
/// `require('../config')`): what a config file loaded at run time may load with it.
fn relative_imports(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for quote in ['\'', '"', '`'] {
        for start in ["./", "../"] {
            let open = format!("{quote}{start}");
            let mut rest = text;
            while let Some(at) = rest.find(&open) {
                let after = &rest[at + 1..];
                let end = after.find(quote).unwrap_or(after.len());
                out.push(after[..end].to_string());
                rest = &after[end..];
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn the_script_node_runs() {
        assert_eq!(
            node_entry(&words("node dist/main.js")),
            Some("dist/main.js")
        );
        assert_eq!(
            node_entry(&words(
                "node -r dotenv/config --enable-source-maps dist/main"
            )),
            Some("dist/main")
        );
        assert_eq!(node_entry(&words("node --require ./tracing.js")), None);
    }

    #[test]
    fn entries_named_inside_the_app_directory() {
        assert_eq!(entry_named("dist/main.js", "/app").as_deref(), Some("dist"));
        assert_eq!(
            entry_named("./seed.json", "/app").as_deref(),
            Some("seed.json")
        );
        assert_eq!(
            entry_named("/app/config/a.yml", "/app").as_deref(),
            Some("config")
        );
        assert_eq!(entry_named("/etc/app.yml", "/app"), None);
        assert_eq!(entry_named("../shared/x", "/app"), None);
        assert_eq!(entry_named("--port", "/app"), None);
        assert_eq!(entry_named("http://x/y", "/app"), None);
        assert_eq!(entry_named(".", "/app"), None);
    }

    #[test]
    fn relative_imports_of_a_config_file() {
        let text =
            "import './src/env.mjs';\nconst x = require(\"../up\");\nconst y = `./tpl/${a}`;";
        assert_eq!(
            relative_imports(text),
            ["./src/env.mjs", "../up", "./tpl/${a}"]
        );
    }

    #[test]
    fn start_scripts_are_followed_with_their_hooks() {
        let pkg = PackageJson::parse(
            r#"{"scripts": {"prestart": "node dist/migrate.js", "start": "npm run serve", "serve": "NODE_ENV=production node dist/main.js"}}"#,
        )
        .expect("valid");
        let mut out = Vec::new();
        script_commands(&pkg, &words("npm start"), 0, &mut out).expect("read");
        assert_eq!(
            out,
            [
                words("node dist/migrate.js"),
                words("node dist/main.js"),
                words("npm run serve"),
            ]
        );
        let mut out = Vec::new();
        assert_eq!(
            script_commands(&pkg, &words("npm run missing"), 0, &mut out),
            Err(None)
        );
    }
}
