//! Node: the runtime stage receives the application directory with its `node_modules`. When the
//! last dependency install kept dev dependencies, the build stage ends with the package
//! manager's prune command (knowledge data) so they stay behind; Yarn 2 and later is refused. A
//! start command that runs a devDependency, a dev server or pnpm is refused too.

use super::super::super::Context;
use super::super::super::facts::{self, ImageFacts};
use super::super::super::{analysis, effects};
use super::super::{Analysis, NO_WORKDIR, RunFacts, Start, env_sets_before, refuse};
use super::{Carry, Input, Recipe, Verdict, node_build};
use crate::edit::Edit;
use crate::syntax::Kind;

pub(super) struct Node;

impl Recipe for Node {
    fn runtime_packages(&self, ctx: &Context, image: &ImageFacts) -> Result<Vec<String>, String> {
        let (Some(pkg), Some(eco)) = (&ctx.build.package_json, ctx.knowledge.ecosystem("node"))
        else {
            return Ok(Vec::new());
        };
        // The same image (Alpine) has every library the build linked.
        if facts::maps_to_itself(ctx, &image.reference) {
            return Ok(Vec::new());
        }
        super::native_libraries(
            ctx,
            image,
            &eco.native_packages,
            |name| pkg.dependencies.contains(name),
            "the npm package",
        )
    }

    fn runs_at_start(&self, ctx: &Context, words: &[String]) -> Option<Result<(), String>> {
        let program = words.first()?;
        let base = crate::shell::base_name(program);
        let words: Vec<&str> = std::iter::once(base)
            .chain(words[1..].iter().map(String::as_str))
            .collect();
        match base {
            "node" | "nodejs" => Some(Ok(())),
            "npx" if npx_tool(&words).is_some_and(|t| facts::is_dev_dependency(ctx, t)) => {
                Some(Err(format!(
                    "`{}`, and `{}` is a devDependency the runtime stage would not have",
                    words.join(" "),
                    npx_tool(&words).unwrap_or_default()
                )))
            }
            "npm" | "npx" | "yarn" | "pnpm" => Some(
                check_words(ctx, &words).map_err(|why| format!("`{}`: {why}", words.join(" "))),
            ),
            // `node_modules/.bin/knex`: a package's command, there when it is a dependency.
            _ if program.contains("node_modules/.bin/") => {
                Some(if facts::is_dev_dependency(ctx, base) {
                    Err(format!(
                        "`{base}`, a devDependency the runtime stage would not have"
                    ))
                } else if facts::is_dependency(ctx, base) {
                    Ok(())
                } else {
                    Err(format!(
                        "`{program}`, which no dependency of package.json names"
                    ))
                })
            }
            _ if facts::is_dev_dependency(ctx, base) => Some(Err(format!(
                "`{base}`, a devDependency the runtime stage would not have"
            ))),
            _ => None,
        }
    }

    fn root_paths(&self, runs: &[(usize, RunFacts)], out: &mut Vec<String>) -> Result<(), String> {
        let installs = runs.iter().filter(|(_, f)| !f.installs.is_empty()).count();
        // A build besides the dependency install writes output restage cannot name.
        let other_builds = runs
            .iter()
            .any(|(_, f)| !f.pip && f.tool_commands > f.installs.len());
        if other_builds {
            return Err(NO_WORKDIR.into());
        }
        if installs > 0 {
            out.push("/node_modules".into());
        }
        Ok(())
    }

    fn carry(&self, input: &Input, a: &mut Analysis) -> Result<Carry, Verdict> {
        let Input {
            doc,
            stage,
            ctx,
            image,
            anchor,
            start,
            ..
        } = *input;
        let instructions = doc.instructions();
        let nl = doc.style().nl();
        let run_kw = doc.style().keyword(Kind::Run);
        let mut carry = Carry::default();
        start_check(ctx, start, anchor)?;
        // An install after a `cd` writes node_modules where the `cd` went: carried only inside
        // the application directory (the runtime stage copies `/node_modules` only for an
        // install at `/` itself).
        for (ix, f) in a.runs.iter().filter(|(_, f)| !f.installs.is_empty()) {
            let workdir = effects::workdir(doc, stage, *ix, input.inherited);
            for dir in &f.install_dirs {
                if *dir == workdir {
                    continue;
                }
                let line = analysis::line_of(doc, *ix);
                let why = match dir {
                    None => format!(
                        "the dependency install at line {line} runs after a `cd` restage cannot follow, so it cannot tell where node_modules is written"
                    ),
                    Some(d) if a.workdir != "/" && analysis::is_within(d, &a.workdir) => continue,
                    // `cd /tmp && npm install`, then `cp -a /tmp/node_modules /app`: the
                    // modules reach the application directory, which is carried.
                    Some(d)
                        if a.workdir != "/"
                            && copied_into(
                                input,
                                *ix,
                                &analysis::join(d, "node_modules"),
                                &a.workdir,
                            ) =>
                    {
                        continue;
                    }
                    Some(d) if a.workdir == "/" => format!(
                        "the dependency install at line {line} runs in {d} after a `cd`, and the stage has no WORKDIR: restage carries node_modules from the WORKDIR only (a `WORKDIR {d}` instead of the `cd` would do)"
                    ),
                    Some(d) => format!(
                        "the dependency install at line {line} runs in {d} after a `cd`, outside the application directory {}, so the node_modules written there would not reach the runtime stage",
                        a.workdir
                    ),
                };
                return Err(refuse(anchor, why));
            }
        }
        // An install above the application directory (a workspace root, then `WORKDIR
        // packages/server`) leaves node_modules where Node looks but the runtime stage does not.
        if a.workdir != "/" {
            for (ix, _) in a.runs.iter().filter(|(_, f)| !f.installs.is_empty()) {
                let Some(dir) = effects::workdir(doc, stage, *ix, input.inherited) else {
                    continue;
                };
                if dir != "/" && dir != a.workdir && analysis::is_within(&a.workdir, &dir) {
                    return Err(refuse(
                        anchor,
                        format!(
                            "the dependency install at line {} runs in {dir}, above the application directory {}, so the node_modules Node finds there would not reach the runtime stage",
                            analysis::line_of(doc, *ix),
                            a.workdir
                        ),
                    ));
                }
            }
        }
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
            let prune = facts::prune_command(ctx, image, &pm).ok_or_else(|| {
                refuse(
                    anchor,
                    "restage knows no command to drop dev dependencies for this package manager",
                )
            })?;
            let last = a
                .runs
                .iter()
                .rev()
                .find(|(_, f)| f.builds || f.unknown.is_some())
                .map(|(ix, _)| *ix)
                .expect("a build RUN exists");
            carry.drops_dev = true;
            if let Some(why) = undeclared_require(input) {
                a.unsafe_reasons.push(why);
            }
            carry.inserts.push(Edit::insert(
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
        let whole = input.app_paths.clone().map_err(|why| refuse(anchor, why))?;
        match node_build::narrow(input, a) {
            Ok(paths) => carry.copies.extend(paths),
            Err(note) => {
                carry.copies.extend(whole);
                carry.note = note;
            }
        }
        Ok(carry)
    }
}

/// Refuses Node start commands that need dev dependencies or a dev server.
fn start_check(ctx: &Context, start: &Start, anchor: usize) -> Result<(), Verdict> {
    let words: Vec<&str> = start.words.iter().map(String::as_str).collect();
    check_words(ctx, &words).map_err(|why| refuse(anchor, why))
}

/// Why the Node command `words` (a start command, or a command of the start script) needs
/// what the runtime stage leaves out: a devDependency, a development server, pnpm.
fn check_words(ctx: &Context, words: &[&str]) -> Result<(), String> {
    let script = match words {
        ["npm", "start", ..] | ["yarn", "start", ..] => Some("start"),
        ["npm", "run" | "run-script", name, ..] | ["yarn", "run", name, ..] => Some(*name),
        ["yarn", name, ..] if !name.starts_with('-') => Some(*name),
        ["pnpm", ..] => {
            return Err(
                "the start command runs pnpm, which the slim image only fetches on first use; start the app with node directly".into(),
            );
        }
        ["npx", ..] => {
            if let Some(tool) = npx_tool(words)
                && facts::is_dev_dependency(ctx, tool)
            {
                return Err(format!(
                    "the start command runs `{tool}`, a devDependency the runtime stage would not have"
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
                    return Err(format!(
                        "the `{name}` script runs `{program}`, a devDependency the runtime stage would not have"
                    ));
                }
                if facts::is_dev_server(ctx, &cmd) {
                    return Err(format!(
                        "the `{name}` script starts a development server (`{cmd}`); build the app and start it in production mode"
                    ));
                }
            }
            None if name == "start" && facts::package_json_read(ctx) => {}
            None => return Err(facts::missing_script(ctx, name)),
        }
    }
    Ok(())
}

/// The package `npx` runs: the first word after it that is not a flag (`npx --yes knex`).
fn npx_tool<'a>(words: &[&'a str]) -> Option<&'a str> {
    words.iter().skip(1).find(|w| !w.starts_with('-')).copied()
}

/// Node's own modules: a `require` of one needs no package.
const NODE_BUILTINS: &[&str] = &[
    "assert",
    "async_hooks",
    "buffer",
    "child_process",
    "cluster",
    "console",
    "constants",
    "crypto",
    "dgram",
    "diagnostics_channel",
    "dns",
    "domain",
    "events",
    "fs",
    "http",
    "http2",
    "https",
    "inspector",
    "module",
    "net",
    "os",
    "path",
    "perf_hooks",
    "process",
    "punycode",
    "querystring",
    "readline",
    "repl",
    "stream",
    "string_decoder",
    "sys",
    "timers",
    "tls",
    "trace_events",
    "tty",
    "url",
    "util",
    "v8",
    "vm",
    "wasi",
    "worker_threads",
    "zlib",
];

/// Why pruning the dev dependencies may take a package the entry file loads: `node server.js`
/// requires `express`, which package.json does not list among its dependencies, so it comes
/// from the tree the dev dependencies pulled in (webpack-dev-server brings express). Only the
/// entry file the start command names is read (through the COPYs, from the build context).
fn undeclared_require(input: &Input) -> Option<String> {
    use std::sync::LazyLock;
    static IMPORT: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(
            r#"(?:require\s*\(\s*|\bfrom\s+|\bimport\s*\(?\s*)['"]([^'"./][^'"]*)['"]"#,
        )
        .expect("valid regex")
    });
    let pkg = input.ctx.build.package_json.as_ref()?;
    let words = &input.start.words;
    let at = words
        .iter()
        .position(|w| w == "node" || w.ends_with("/node"))?;
    let entry = words[at + 1..].iter().find(|w| !w.starts_with('-'))?;
    let workdir = effects::workdir(
        input.doc,
        input.stage,
        input.stage.instructions.end - 1,
        input.inherited,
    )?;
    let path = if entry.starts_with('/') {
        analysis::normalize(entry)
    } else {
        analysis::join(&workdir, entry)
    };
    let source = super::super::start_script::context_source(
        input.doc,
        input.stage,
        input.ctx,
        input.inherited,
        input.stage.instructions.end,
        &path,
    )?
    .ok()?;
    let text = input.ctx.build.read_text(&source).ok()?;
    IMPORT.captures_iter(&text).find_map(|c| {
        let spec = c.get(1)?.as_str();
        let spec = spec.strip_prefix("node:").unwrap_or(spec);
        let mut parts = spec.split('/');
        let first = parts.next()?;
        let name = if first.starts_with('@') {
            format!("{first}/{}", parts.next()?)
        } else {
            first.to_string()
        };
        (!NODE_BUILTINS.contains(&name.as_str()) && !pkg.dependencies.contains(&name)).then(|| {
            format!(
                "{source} loads `{name}`, which package.json does not list among its dependencies: it may come from the tree of a dev dependency, which the prune removes"
            )
        })
    })
}

/// Whether a step of the stage after instruction `after` copies or moves `from` into `dir`
/// (`cp -a /tmp/node_modules /app/`).
fn copied_into(input: &Input, after: usize, from: &str, dir: &str) -> bool {
    let Input {
        doc, stage, ctx, ..
    } = *input;
    (after + 1..stage.instructions.end).any(|ix| {
        effects::instruction(doc, stage, ix, ctx, input.inherited)
            .commands
            .iter()
            .filter(|c| {
                c.words
                    .first()
                    .is_some_and(|w| matches!(crate::shell::base_name(w), "cp" | "mv"))
            })
            .any(|c| {
                c.effects
                    .iter()
                    .any(|e| e.op == effects::Op::Read && e.path == from)
                    && c.effects.iter().any(|e| {
                        matches!(e.op, effects::Op::Create) && analysis::is_within(&e.path, dir)
                    })
            })
    })
}
