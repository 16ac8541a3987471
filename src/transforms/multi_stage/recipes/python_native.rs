//! Python packages with native code that builds or loads against libraries the full `python:X`
//! image has (it is built on buildpack-deps: libpq-dev, default-libmysqlclient-dev,
//! libcurl4-openssl-dev, ...) and its slim image lacks. psycopg2 has no Linux wheels, so pip
//! builds it against the full image's libpq; on the slim image `import psycopg2` then fails.
//!
//! The packages the stage installs are read from the pip command lines (names, `-r` requirement
//! files, `.` for the project), the lockfiles or manifests the managers install (poetry.lock,
//! Pipfile.lock, uv.lock, else pyproject.toml or Pipfile), through the build context. Each
//! package the knowledge files list under the python ecosystem's `native_packages` adds the
//! runtime libraries of its `-dev` packages to the runtime stage. When restage cannot read what
//! is installed, the split is unsafe. An image that is its own runtime image (slim, Alpine)
//! has nothing the runtime lacks: what the build installed with apt or apk is mapped already.

use std::collections::BTreeSet;

use super::super::super::analysis;
use super::super::super::effects;
use super::super::super::facts::{self, PackageManager};
use super::super::Analysis;
use super::Input;
use crate::knowledge::normalise_package;
use crate::syntax::{Document, Kind, Stage};

/// The OS packages (runtime names) the runtime stage needs for the native Python packages the
/// stage installs; pushes an unsafe reason to `a` when restage cannot read what is installed.
/// `Err` is a refusal's reason.
pub(super) fn runtime_libraries(
    input: &Input,
    a: &mut Analysis,
    managers_only: &dyn Fn(&[String]) -> bool,
) -> Result<Vec<String>, String> {
    let Input {
        stage, ctx, image, ..
    } = *input;
    let Some(eco) = ctx.knowledge.ecosystem("python") else {
        return Ok(Vec::new());
    };
    if eco.native_packages.is_empty() || facts::maps_to_itself(ctx, &stage.image.value) {
        return Ok(Vec::new());
    }
    if image.package_manager != PackageManager::Apt {
        return Err(format!(
            "restage knows the libraries of Python's native packages only by their Debian package names, and {} does not use apt",
            stage.image.value
        ));
    }
    let names = match installed(input, a, managers_only) {
        Ok(names) => names,
        Err(why) => {
            a.unsafe_reasons.push(format!(
                "{why}, so restage cannot tell whether a package it installs builds or loads against libraries {} has and its slim image lacks (libpq for psycopg2, for example)",
                stage.image.value
            ));
            return Ok(Vec::new());
        }
    };
    super::native_libraries(
        ctx,
        image,
        &eco.native_packages,
        |package| names.contains(&normalise_package("pip", package)),
        "the Python package",
    )
}

/// The normalised names of the Python packages the stage installs; `Err` says what restage
/// cannot read.
fn installed(
    input: &Input,
    a: &Analysis,
    managers_only: &dyn Fn(&[String]) -> bool,
) -> Result<BTreeSet<String>, String> {
    let Input {
        doc, stage, ctx, ..
    } = *input;
    let mut names = BTreeSet::new();
    for (ix, f) in &a.runs {
        let ins = &doc.instructions()[*ix];
        let line = analysis::line_of(doc, *ix);
        let Some(commands) = analysis::run_commands(doc, ins) else {
            if f.unknown.is_some() {
                // The change is unsafe already, for this RUN.
                continue;
            }
            let text = doc.slice(&ins.extent);
            let manager = [
                "poetry install",
                "pipenv install",
                "pipenv sync",
                "uv sync",
                "uv pip",
            ]
            .iter()
            .any(|m| text.contains(m));
            if f.pip || manager {
                return Err(format!(
                    "the RUN at line {line} installs Python packages with shell syntax restage does not read"
                ));
            }
            continue;
        };
        let dir = effects::workdir(doc, stage, *ix, input.inherited);
        // `poetry export ... | pip install -r /dev/stdin`: what the manager exports from its
        // lockfile is what pip reads.
        let exported = commands.iter().find_map(|cmd| {
            let w = cmd.program_words();
            let program = w.first().map(|p| crate::shell::base_name(p));
            let sub = w
                .iter()
                .skip(1)
                .find(|a| !a.starts_with('-'))
                .map(String::as_str);
            match (program, sub) {
                (Some("poetry"), Some("export")) => {
                    Some(("poetry", ["poetry.lock", "pyproject.toml"]))
                }
                (Some("pipenv"), Some("requirements")) => {
                    Some(("pipenv", ["Pipfile.lock", "Pipfile"]))
                }
                (Some("uv"), Some("export")) => Some(("uv", ["uv.lock", "pyproject.toml"])),
                _ => None,
            }
        });
        for cmd in &commands {
            let words: Vec<&str> = cmd.words.iter().map(String::as_str).collect();
            let Some(m) = super::python::install_command(ctx, &words) else {
                continue;
            };
            let manager = m.manager.clone().unwrap_or_default();
            let pw = cmd.program_words();
            // The words after the program (`python -m pip install ...` too).
            let after: Vec<&str> = pw
                .iter()
                .skip_while(|w| Some(crate::shell::base_name(w)) != Some(m.program.as_str()))
                .skip(1)
                .map(String::as_str)
                .collect();
            let sub_at = after.iter().position(|w| !w.starts_with('-'));
            let sub = sub_at.map(|i| after[i]);
            let read = Reader {
                doc,
                stage,
                ix: *ix,
                dir: dir.as_deref(),
                inherited: input.inherited,
                input,
                exported,
            };
            match manager.as_str() {
                "pip" => {
                    if managers_only(pw) {
                        continue;
                    }
                    // pip's global options may come before `install`, some with a value.
                    let at = after.iter().position(|w| *w == "install");
                    let args = at.map_or(&[][..], |i| &after[i + 1..]);
                    read.pip_args(args, ctx.knowledge.value_flags("pip"), false, &mut names)?;
                }
                "uv" if sub == Some("pip") => {
                    let Some(i) = sub_at else { continue };
                    let rest = &after[i + 1..];
                    let verb = rest.iter().position(|w| !w.starts_with('-'));
                    let Some(v) = verb else { continue };
                    let files_only = rest[v] == "sync";
                    read.pip_args(
                        &rest[v + 1..],
                        ctx.knowledge.value_flags("uv"),
                        files_only,
                        &mut names,
                    )?;
                }
                "poetry" | "pipenv" | "uv" => {
                    let (lock, manifest) = match manager.as_str() {
                        "poetry" => ("poetry.lock", "pyproject.toml"),
                        "pipenv" => ("Pipfile.lock", "Pipfile"),
                        _ => ("uv.lock", "pyproject.toml"),
                    };
                    names.extend(read.manifest(&[lock, manifest], &manager)?);
                    // `poetry add NAME`, `pipenv install NAME`, `uv add NAME`.
                    if let Some(i) = sub_at {
                        let flags = ctx.knowledge.value_flags(&manager);
                        let mut rest = after[i + 1..].iter();
                        while let Some(w) = rest.next() {
                            if w.starts_with('-') {
                                if !w.contains('=') && flags.iter().any(|f| f == w) {
                                    rest.next();
                                }
                                continue;
                            }
                            names.insert(read.spec(w)?);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    Ok(names)
}

struct Reader<'a> {
    doc: &'a Document,
    stage: &'a Stage,
    /// The RUN's index and working directory.
    ix: usize,
    dir: Option<&'a str>,
    inherited: &'a str,
    input: &'a Input<'a>,
    /// A manager of the same RUN that exports its lockfile as requirements, with the files
    /// it reads (lockfile first).
    exported: Option<(&'static str, [&'static str; 2])>,
}

impl Reader<'_> {
    /// The names a pip install's arguments (after `install`) bring in. With `files_only`
    /// (`uv pip sync`) the positionals are requirement files.
    fn pip_args(
        &self,
        args: &[&str],
        value_flags: &[String],
        files_only: bool,
        names: &mut BTreeSet<String>,
    ) -> Result<(), String> {
        let mut iter = args.iter().peekable();
        while let Some(&w) = iter.next() {
            let (flag, inline) = match w.split_once('=') {
                Some((f, v)) if w.starts_with("--") => (f, Some(v)),
                _ => (w, None),
            };
            let short = |name: &str| {
                w.strip_prefix(name)
                    .filter(|v| !v.is_empty() && !w.starts_with("--"))
            };
            if flag == "-r" || flag == "--requirement" || short("-r").is_some() {
                let value = inline.or(short("-r")).or_else(|| iter.next().copied());
                let Some(file) = value else { continue };
                names.extend(self.requirements(file)?);
                continue;
            }
            if flag == "-e" || flag == "--editable" || short("-e").is_some() {
                let value = inline.or(short("-e")).or_else(|| iter.next().copied());
                let Some(spec) = value else { continue };
                names.extend(self.target(spec)?);
                continue;
            }
            if w.starts_with('-') {
                if inline.is_none() && value_flags.iter().any(|f| f == flag) {
                    iter.next();
                }
                continue;
            }
            if files_only {
                names.extend(self.requirements(w)?);
            } else {
                names.extend(self.target(w)?);
            }
        }
        Ok(())
    }

    /// What one install target brings in: a requirement's name, or the project at `.`.
    fn target(&self, spec: &str) -> Result<BTreeSet<String>, String> {
        if spec.contains('$') {
            return Err(format!("`{spec}` is named through a variable"));
        }
        let path = spec.split('[').next().unwrap_or(spec);
        let is_path = path.starts_with('.') || path.starts_with('/') || path.contains("://") || {
            let lower = path.to_ascii_lowercase();
            [".whl", ".tar.gz", ".zip", ".tgz"]
                .iter()
                .any(|e| lower.ends_with(e))
        };
        if !is_path {
            return Ok(BTreeSet::from([self.spec(spec)?]));
        }
        // The project in the directory the context's root was copied to.
        let at = self.absolute(path);
        if at.is_some() && at == self.context_root() {
            return match self
                .input
                .ctx
                .build
                .dependencies
                .python
                .get("pyproject.toml")
            {
                Some(Ok(names)) => Ok(names.clone()),
                Some(Err(e)) => Err(format!("restage cannot read {e}")),
                None => Err(format!(
                    "`pip install {spec}` installs the project, and restage reads a project's dependencies only from pyproject.toml"
                )),
            };
        }
        Err(format!(
            "`pip install {spec}` installs local sources whose dependencies restage does not read"
        ))
    }

    /// The normalised project name of a requirement spec.
    fn spec(&self, spec: &str) -> Result<String, String> {
        if spec.contains('$') {
            return Err(format!("`{spec}` is named through a variable"));
        }
        let end = spec
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
            .unwrap_or(spec.len());
        let name = normalise_package("pip", &spec[..end]);
        if name.is_empty() {
            return Err(format!("restage cannot read the package `{spec}`"));
        }
        Ok(name)
    }

    /// The names a requirements file brings in, read from the build context.
    fn requirements(&self, file: &str) -> Result<BTreeSet<String>, String> {
        if matches!(file, "/dev/stdin" | "-")
            && let Some((manager, files)) = self.exported
        {
            return self.manifest(&files, manager);
        }
        if file.contains('$') {
            return Err(format!(
                "the requirements file `{file}` is named through a variable"
            ));
        }
        let rel = self.context_path(file).ok_or_else(|| {
            format!("restage cannot tell which file of the build context `{file}` is")
        })?;
        let build = &self.input.ctx.build;
        if let Some(r) = build.requirements_file(&rel)
            && let Some(refs) = &r.refs
            && !refs.local.is_empty()
        {
            return Err(format!(
                "{rel} installs local sources ({}) whose dependencies restage does not read",
                refs.local.join(", ")
            ));
        }
        match build.dependencies.python.get(&rel) {
            Some(Ok(names)) => Ok(names.clone()),
            Some(Err(e)) => Err(format!("restage cannot read {e}")),
            None if build.on_disk && !build.exists(&rel) => {
                Err(format!("the build context has no `{rel}`"))
            }
            // Another name or folder (`requirements/prod.txt`, `requirement.txt`): read now.
            None => build.requirements_names(&rel).map_err(|e| {
                if e.contains("local sources") {
                    e
                } else {
                    format!("restage cannot read {e}")
                }
            }),
        }
    }

    /// The names the first readable of `files` (a lockfile, then the manifest) brings in.
    fn manifest(&self, files: &[&str], manager: &str) -> Result<BTreeSet<String>, String> {
        let python = &self.input.ctx.build.dependencies.python;
        for f in files {
            match python.get(*f) {
                Some(Ok(names)) => return Ok(names.clone()),
                Some(Err(e)) => return Err(format!("restage cannot read {e}")),
                None => {}
            }
        }
        // Say why none was read: missing or left out, when that is the case for each.
        let ctx = self.input.ctx;
        let unsent: Vec<_> = files.iter().map(|f| ctx.build.unsent(f)).collect();
        if unsent
            .iter()
            .all(|u| *u == Some(crate::context::Unsent::Missing))
        {
            return Err(format!(
                "the build context has no {}, which {manager} installs from",
                files.join(" or ")
            ));
        }
        if let Some((f, why)) = files.iter().zip(&unsent).find_map(|(f, u)| {
            u.filter(|u| *u != crate::context::Unsent::Missing)
                .map(|u| (f, u))
        }) {
            return Err(format!(
                "{}, which {manager} installs from",
                why.describe(f)
            ));
        }
        Err(format!(
            "restage cannot read the build context's {}, which {manager} installs",
            files.join(" or ")
        ))
    }

    /// The absolute path `path` names in the RUN's working directory.
    fn absolute(&self, path: &str) -> Option<String> {
        if path.starts_with('/') {
            return Some(analysis::normalize(path));
        }
        self.dir.map(|d| analysis::join(d, path))
    }

    /// Where the COPY of the whole context (`COPY . .`) before the RUN put it, if any.
    fn context_root(&self) -> Option<String> {
        self.copies().into_iter().find_map(|(src, dest)| {
            (crate::context::normalize_rel(&src).is_some_and(|s| s.is_empty())).then_some(dest)
        })
    }

    /// (context source, absolute destination) of each source of the COPYs from the context
    /// before the RUN, latest first.
    fn copies(&self) -> Vec<(String, String)> {
        let doc = self.doc;
        let mut out = Vec::new();
        let range = self.stage.instructions.start..self.ix;
        let mut indices = doc.indices_of(Kind::Copy, range.clone()).to_vec();
        indices.extend_from_slice(doc.indices_of(Kind::Add, range));
        for ix in indices {
            let ins = &doc.instructions()[ix];
            if !analysis::copies_from_context(ins) {
                continue;
            }
            let Some(dest) = effects::destination(doc, self.stage, ix, self.inherited) else {
                continue;
            };
            for s in analysis::sources(ins) {
                if !s.value.contains(['*', '?', '[', '$']) {
                    out.push((ix, s.value.clone(), dest.clone()));
                }
            }
        }
        out.sort_by_key(|(ix, ..)| std::cmp::Reverse(*ix));
        out.into_iter().map(|(_, s, d)| (s, d)).collect()
    }

    /// The context-relative path of the file at `path` in the RUN, through the COPYs before
    /// it (the latest that put something there); relative to the context root as a fallback
    /// when no COPY names it (the way copy-order reads `-r requirements.txt`).
    fn context_path(&self, path: &str) -> Option<String> {
        if let Some(abs) = self.absolute(path) {
            for (src, dest) in self.copies() {
                let Some(src) = crate::context::normalize_rel(&src) else {
                    continue;
                };
                // A file copied to `dest` or into the directory `dest`.
                let base = crate::shell::base_name(&src);
                if !src.is_empty() && (abs == dest || abs == analysis::join(&dest, base)) {
                    return Some(src);
                }
                // A file under a directory (or the context root) copied to `dest`. A source that
                // is a file of the context (`COPY requirements-test.txt ./`) holds nothing under it.
                let build = &self.input.ctx.build;
                let directory = src.is_empty() || !build.on_disk || build.is_dir(&src);
                if directory && abs != dest && analysis::is_within(&abs, &dest) {
                    let rest = abs[dest.len()..].trim_start_matches('/');
                    let joined = if src.is_empty() {
                        rest.to_string()
                    } else {
                        format!("{src}/{rest}")
                    };
                    return crate::context::normalize_rel(&joined).filter(|p| !p.is_empty());
                }
            }
        }
        if path.starts_with('/') {
            return None;
        }
        crate::context::normalize_rel(path).filter(|p| !p.is_empty())
    }
}
