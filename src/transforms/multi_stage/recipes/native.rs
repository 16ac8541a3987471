//! Go and Rust: the build produces a binary, and the runtime stage receives that binary (the one
//! the start command runs) plus the data files the app may read from its directory (templates,
//! static files, configuration), not the sources. A binary installed into the SDK's own bin
//! directory (`go install`, `cargo install`) lands in /usr/local/bin. A Go binary built with
//! CGO_ENABLED=0 is static, so the runtime image may lack a C library; a Rust binary that links
//! OpenSSL needs the runtime's libssl and CA certificates. A start command that runs no binary
//! restage saw being built is refused.

use super::super::super::Context;
use super::super::super::analysis;
use super::super::super::effects;
use super::super::super::facts::{self, ImageFacts};
use super::super::{Analysis, Binary, refuse, runtime_fs};
use super::{Carry, Input, Recipe, Verdict};
use crate::syntax::{Document, Stage};

/// A compiled-binary ecosystem.
pub(super) struct Native {
    /// The application directory holds the build output (Rust's target/, gigabytes), so it is
    /// never carried whole.
    build_output_in_app_dir: bool,
    /// The binary may link OpenSSL dynamically (Rust crates that depend on `openssl`).
    may_link_openssl: bool,
    /// Where the SDK image puts installed binaries.
    sdk_bin: &'static str,
    /// The working directory the SDK images set (the official golang images: /go).
    inherited: &'static str,
    /// Whether a file name is a source or project file rather than data.
    sources: fn(&str) -> bool,
}

pub(super) const GO: Native = Native {
    build_output_in_app_dir: false,
    may_link_openssl: false,
    sdk_bin: "/go/bin",
    inherited: "/go",
    sources: runtime_fs::go_source,
};

pub(super) const RUST: Native = Native {
    build_output_in_app_dir: true,
    may_link_openssl: true,
    sdk_bin: "/usr/local/cargo/bin",
    inherited: "/",
    sources: runtime_fs::rust_source,
};

impl Recipe for Native {
    fn inherited_workdir(&self) -> &'static str {
        self.inherited
    }

    fn carry(&self, input: &Input, a: &mut Analysis) -> Result<Carry, Verdict> {
        let Input {
            doc,
            stage,
            ctx,
            anchor,
            start,
            inherited,
            ..
        } = *input;
        let mut carry = Carry::default();
        let binaries: Vec<Binary> = a
            .runs
            .iter()
            .flat_map(|(_, f)| f.binaries.clone())
            .collect();
        let mut candidates = start.program_paths(&a.workdir, ctx.knowledge);
        // `cargo install` and `go install` put binaries on the SDK image's own PATH, which
        // the runtime image does not have: a binary started by name goes to /usr/local/bin.
        let sdk_bin = self.sdk_bin;
        if let Some(p) = start.program_word().filter(|p| !p.contains(['/', '$'])) {
            candidates.push(format!("{sdk_bin}/{p}"));
        }
        // A shell or init process started by name is the OS's, never a guess at a Go binary.
        let guess_ok = start
            .program_word()
            .is_some_and(|p| !ctx.knowledge.is_wrapper(crate::shell::base_name(p)));
        let chosen =
            chosen_binary(&binaries, &candidates, guess_ok).map_err(|why| refuse(anchor, why))?;
        match chosen {
            Some((path, static_link, guess)) => {
                a.unsafe_reasons.extend(guess);
                carry.static_link = static_link;
                carry.copies.push(path.clone());
                // Found on the SDK image's PATH: the runtime image's PATH has /usr/local/bin.
                let by_name = start.program_word().is_some_and(|p| !p.contains('/'));
                if let Some(name) = path.strip_prefix(&format!("{sdk_bin}/"))
                    && by_name
                {
                    carry
                        .bare_destinations
                        .push((path.clone(), format!("/usr/local/bin/{name}")));
                }
                // Templates, static files, config: the app may read them from its directory.
                match data_paths(doc, stage, ctx, &a.workdir, self.sources, inherited) {
                    Ok(paths) => carry.copies.extend(paths),
                    Err(why) => a.unsafe_reasons.push(why),
                }
            }
            None => {
                carry
                    .copies
                    .extend(input.app_paths.clone().map_err(|why| refuse(anchor, why))?);
                let built: Vec<String> = binaries
                    .iter()
                    .map(|b| match b.unnamed {
                        Some(_) => format!("a binary in {}", b.path),
                        None => b.path.clone(),
                    })
                    .collect();
                // A Rust application directory holds target/, gigabytes of build output.
                if self.build_output_in_app_dir
                    || !binaries.iter().any(|b| {
                        // An install into the SDK's bin directory is not output in the app's.
                        analysis::is_within(&b.path, &a.workdir)
                            && !analysis::is_within(&b.path, sdk_bin)
                    })
                {
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
        Ok(carry)
    }

    fn runtime_packages(&self, ctx: &Context, image: &ImageFacts) -> Result<Vec<String>, String> {
        if self.may_link_openssl && facts::links_openssl(ctx) {
            // The binary links libssl dynamically; the builder had it, the runtime must too.
            let mut packages = facts::openssl_runtime(ctx, image)?;
            packages.push("ca-certificates".to_string());
            return Ok(packages);
        }
        Ok(Vec::new())
    }
}

/// The binary the start command runs, of those the build writes: its path, whether it is
/// static, and, when restage could not name the binary the build writes into that directory,
/// why the match is a guess. `candidates` are the paths the start command's program may be, in
/// the order it is looked for. `Err` when several unnamed outputs could be it.
fn chosen_binary(
    binaries: &[Binary],
    candidates: &[String],
    guess_ok: bool,
) -> Result<Option<(String, bool, Option<String>)>, String> {
    if let Some(b) = binaries
        .iter()
        .find(|b| b.unnamed.is_none() && candidates.contains(&b.path))
    {
        return Ok(Some((b.path.clone(), b.static_link, None)));
    }
    // Written into the directory the start command runs its program from, under a name
    // restage cannot tell: the program is taken to be it, and the change says so.
    let mut matches: Vec<(&String, &Binary, &String)> = Vec::new();
    for c in candidates.iter().filter(|_| guess_ok) {
        let dir = c
            .rsplit_once('/')
            .map_or("/", |(d, _)| if d.is_empty() { "/" } else { d });
        for b in binaries {
            if let Some(why) = &b.unnamed
                && b.path == dir
                && !matches.iter().any(|(m, _, _)| *m == c)
            {
                matches.push((c, b, why));
            }
        }
    }
    match matches.as_slice() {
        [] => Ok(None),
        [(path, b, why)] => Ok(Some((
            (*path).clone(),
            // Static only when every unnamed output there is.
            binaries
                .iter()
                .filter(|o| o.path == b.path && o.unnamed.is_some())
                .all(|o| o.static_link),
            Some(format!(
                "{why}; restage takes {path}, which the start command runs, to be that binary"
            )),
        ))),
        [(first, _, _), (second, _, _), ..] => Err(format!(
            "the start command's program could be {first} or {second}, both directories where the build writes binaries restage cannot name"
        )),
    }
}

/// The data an app built into a binary may read relative to `workdir` at start (templates,
/// static files, configuration): what the context copies put there besides sources and project
/// metadata. `Err` when restage cannot tell (the context root cannot be listed, a glob).
pub(super) fn data_paths(
    doc: &Document,
    stage: &Stage,
    ctx: &Context,
    workdir: &str,
    sources: fn(&str) -> bool,
    inherited: &str,
) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for ix in stage.from + 1..stage.instructions.end {
        let ins = &doc.instructions()[ix];
        if !analysis::copies_from_context(ins) || !ins.heredocs.is_empty() {
            continue;
        }
        let Some(dest) = effects::destination(doc, stage, ix, inherited) else {
            continue;
        };
        if !analysis::is_within(&dest, workdir) {
            continue;
        }
        let srcs = analysis::sources(ins);
        let dest_word = analysis::destination(ins).map_or("", |w| w.value.as_str());
        let into_dir =
            dest_word.ends_with('/') || matches!(dest_word, "." | "./") || srcs.len() > 1;
        for src in srcs {
            let s = src.value.trim_start_matches("./").trim_end_matches('/');
            if s.is_empty() || s == "." {
                // Keyed by the recipe's source test: one filtering of a folder's listing for
                // every Dockerfile built from that folder.
                let key = format!("data entries {:p}", sources as *const ());
                let Some(entries) = ctx
                    .build
                    .listed_names_matching(&key, |n| runtime_fs::is_data_entry(n, &sources))
                else {
                    return Err(format!(
                        "the build context cannot be listed, so restage cannot tell which data files (templates, static files, config) the app reads from {workdir}"
                    ));
                };
                if dest == "/"
                    && let Some(clash) = entries.iter().find(|n| runtime_fs::is_top_level_system(n))
                {
                    return Err(format!(
                        "the context's `{clash}` is copied into /{clash}, a directory of the operating system, so restage cannot carry it alone"
                    ));
                }
                out.extend(entries.iter().map(|n| analysis::join(&dest, n)));
                continue;
            }
            if s.contains(['*', '?', '[', '$']) {
                let ext_source = s
                    .rsplit('/')
                    .next()
                    .is_some_and(|n| n.starts_with('*') && sources(&n.replace('*', "x")));
                if !ext_source {
                    return Err(format!(
                        "COPY `{}` uses a pattern, so restage cannot tell which data files the app reads from {workdir}",
                        src.value
                    ));
                }
                continue;
            }
            let name = crate::shell::base_name(s);
            if runtime_fs::data_entries(std::iter::once(name), &sources).is_empty() {
                continue;
            }
            // A directory copied into a directory leaves its contents there, not itself: the
            // destination holds them, unless it is the application directory itself.
            if into_dir && (src.value.ends_with('/') || ctx.build.is_dir(s)) {
                if analysis::is_within(workdir, &dest) {
                    return Err(format!(
                        "COPY `{}` puts the directory's contents into {dest}, and restage does not list them, so it cannot tell which data files the app reads from {workdir}",
                        src.value
                    ));
                }
                out.push(dest.clone());
                continue;
            }
            out.push(if into_dir {
                analysis::join(&dest, name)
            } else {
                dest.clone()
            });
        }
    }
    Ok(out)
}
