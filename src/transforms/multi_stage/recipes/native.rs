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
        let chosen = binaries.iter().find(|b| candidates.contains(&b.path));
        match chosen {
            Some(bin) => {
                carry.static_link = bin.static_link;
                carry.copies.push(bin.path.clone());
                if let Some(name) = bin.path.strip_prefix(&format!("{sdk_bin}/")) {
                    carry
                        .bare_destinations
                        .push((bin.path.clone(), format!("/usr/local/bin/{name}")));
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
                let built: Vec<&str> = binaries.iter().map(|b| b.path.as_str()).collect();
                // A Rust application directory holds target/, gigabytes of build output.
                if self.build_output_in_app_dir
                    || !built.iter().any(|b| analysis::is_within(b, &a.workdir))
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
                let Some(listing) = &ctx.build.listing else {
                    return Err(format!(
                        "the build context cannot be listed, so restage cannot tell which data files (templates, static files, config) the app reads from {workdir}"
                    ));
                };
                let names = listing
                    .keys()
                    .map(String::as_str)
                    .filter(|n| !ctx.build.is_ignored(n));
                let entries = runtime_fs::data_entries(names, &sources);
                if dest == "/"
                    && let Some(clash) = entries.iter().find(|n| runtime_fs::is_top_level_system(n))
                {
                    return Err(format!(
                        "the context's `{clash}` is copied into /{clash}, a directory of the operating system, so restage cannot carry it alone"
                    ));
                }
                out.extend(entries.into_iter().map(|n| analysis::join(&dest, &n)));
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
            let name = s.rsplit('/').next().unwrap_or(s);
            if runtime_fs::data_entries(std::iter::once(name), &sources).is_empty() {
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
