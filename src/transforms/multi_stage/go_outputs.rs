//! Where `go build`, `go install` and `go get` put the binary when no `-o` names the file, by
//! Go's own rules. `go build` writes into its working directory (or the directory `-o dir/`
//! names); `go install`, and `go get` up to Go 1.17, write into `$GOBIN`, else `$GOPATH/bin`
//! (`/go/bin` in the official images). The binary is named after the package: a `.go` file list
//! after its first file; a package path after its last element (in module mode skipping a
//! major-version suffix such as `/v2`); the package in the working directory after that
//! directory in GOPATH mode, and after the module path of `go.mod` in module mode. Which mode
//! applies follows the image's Go version and `GO111MODULE`. When the name depends on something
//! restage cannot read (a `go.mod` outside the context root, a `./...` pattern), the output is
//! *unnamed*: the directory is known, the name is not, with the reason; the recipe then may take
//! the start command's program in that directory to be it, and says so.

use super::super::Context;
use super::super::analysis;
use super::super::effects;
use super::super::facts;
use crate::shell::SimpleCommand;
use crate::syntax::{Document, Kind, Stage};

/// Go build flags that take a value (Go's flag package also accepts `-flag=value`).
const VALUE_FLAGS: &[&str] = &[
    "o",
    "C",
    "p",
    "asmflags",
    "buildmode",
    "compiler",
    "gccgoflags",
    "gcflags",
    "installsuffix",
    "ldflags",
    "mod",
    "modfile",
    "overlay",
    "pgo",
    "pkgdir",
    "tags",
    "toolexec",
    "covermode",
    "coverpkg",
    "exec",
];

/// One binary a Go command writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Produced {
    /// The binary's absolute path; with `unnamed`, the directory it is written into.
    pub path: String,
    /// Why restage cannot name the binary, when it cannot.
    pub unnamed: Option<String>,
}

impl Produced {
    fn named(dir: &str, name: &str) -> Produced {
        Produced {
            path: analysis::join(dir, name),
            unnamed: None,
        }
    }

    fn unnamed(dir: &str, why: impl Into<String>) -> Produced {
        Produced {
            path: analysis::normalize(dir),
            unnamed: Some(why.into()),
        }
    }
}

/// The value of an environment variable for a command.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Var {
    Unset,
    Value(String),
    /// Set, but from a build argument or in a way restage does not read.
    Unknown,
}

/// Whether a build runs in module mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Gopath,
    Module,
    /// Depends on whether a go.mod is present, which restage cannot tell.
    Unknown,
}

/// The parsed command: `go VERB [flags] [packages]`.
struct GoCommand<'a> {
    verb: &'a str,
    /// `-o` ending in `/`: the directory the binaries go to.
    out_dir: Option<&'a str>,
    /// `-o` naming a file: handled by the knowledge's `outputs`.
    out_file: bool,
    /// `-C`, a `-buildmode` that writes no executable, or `go get -d`: no binary restage names.
    no_binary: bool,
    packages: Vec<&'a str>,
}

fn parse<'a>(words: &'a [String]) -> Option<GoCommand<'a>> {
    let (program, rest) = words.split_first()?;
    if crate::shell::base_name(program) != "go" {
        return None;
    }
    let (verb, rest) = rest.split_first()?;
    let mut cmd = GoCommand {
        verb: verb.as_str(),
        out_dir: None,
        out_file: false,
        no_binary: false,
        packages: Vec::new(),
    };
    let mut i = 0;
    while i < rest.len() {
        let w = rest[i].as_str();
        i += 1;
        if !w.starts_with('-') || w == "-" {
            // Go stops reading flags at the first package.
            cmd.packages
                .extend(rest[i - 1..].iter().map(String::as_str));
            break;
        }
        if w == "--" {
            cmd.packages.extend(rest[i..].iter().map(String::as_str));
            break;
        }
        let flag = w.trim_start_matches('-');
        let (name, value) = match flag.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None if VALUE_FLAGS.contains(&flag) => {
                let v = rest.get(i).map(String::as_str);
                i += 1;
                (flag, v)
            }
            None => (flag, None),
        };
        match (name, value) {
            ("o", Some(v)) if v.ends_with('/') => cmd.out_dir = Some(v),
            ("o", _) => cmd.out_file = true,
            ("C", _) => cmd.no_binary = true,
            ("buildmode", Some(m)) if !matches!(m, "exe" | "pie" | "default") => {
                cmd.no_binary = true
            }
            ("d", None) if cmd.verb == "get" => cmd.no_binary = true,
            _ => {}
        }
    }
    Some(cmd)
}

/// The words of `cmd` from `go` on, and its leading `NAME=value` assignments (also after `env`).
fn split_env(cmd: &SimpleCommand) -> (Vec<(String, String)>, Vec<String>) {
    let mut env = Vec::new();
    let mut at = 0;
    let words = &cmd.words;
    loop {
        match words.get(at) {
            Some(w) if crate::shell::is_assignment(w) => {
                if let Some((n, v)) = w.split_once('=') {
                    env.push((n.to_string(), v.to_string()));
                }
                at += 1;
            }
            Some(w) if w == "env" => at += 1,
            _ => break,
        }
    }
    (env, words[at..].to_vec())
}

/// `(major, minor)` of a version such as `1.8.3` or `1.22`.
fn minor_version(v: &str) -> Option<(u32, u32)> {
    let mut parts = v.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// `v2`, `v3`, ...: a major-version suffix of a module path.
fn is_version_element(e: &str) -> bool {
    e.strip_prefix('v').is_some_and(|n| {
        !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && !n.starts_with('0') && n != "1"
    })
}

/// The last element of a package path, skipping a major-version suffix in module mode.
fn last_element(path: &str, mode: Mode) -> Option<String> {
    let mut elements = path.trim_end_matches('/').rsplit('/');
    let last = elements.next().filter(|e| !e.is_empty())?;
    if is_version_element(last) {
        return match mode {
            Mode::Gopath => Some(last.to_string()),
            Mode::Module => elements.next().map(str::to_string),
            Mode::Unknown => None,
        };
    }
    Some(last.to_string())
}

/// What the environment says for one command.
struct Env<'a> {
    doc: &'a Document,
    stage: &'a Stage,
    index: usize,
    assigned: Vec<(String, String)>,
}

impl Env<'_> {
    fn var(&self, name: &str) -> Var {
        if let Some((_, v)) = self.assigned.iter().rev().find(|(n, _)| n == name) {
            return if v.contains('$') {
                Var::Unknown
            } else {
                Var::Value(v.clone())
            };
        }
        let instructions = self.doc.instructions();
        let declared = (self.stage.instructions.start + 1..self.index).any(|ix| {
            let ins = &instructions[ix];
            matches!(ins.kind, Kind::Env | Kind::Arg)
                && analysis::defined_names(self.doc, ins)
                    .iter()
                    .any(|n| n == name)
        });
        if !declared {
            return Var::Unset;
        }
        match analysis::variable_at(self.doc, self.stage, self.index, name) {
            Some(r) if r.arg_defaults.is_empty() => Var::Value(r.value),
            _ => Var::Unknown,
        }
    }
}

/// The binaries the `go` command `cmd` of the RUN at `index` writes without `-o FILE`, running
/// in `cwd` (`None`: a directory restage cannot tell). Empty when it writes none restage can
/// place.
pub(super) fn produced(
    doc: &Document,
    stage: &Stage,
    index: usize,
    ctx: &Context,
    cmd: &SimpleCommand,
    cwd: Option<&str>,
    inherited: &str,
) -> Vec<Produced> {
    if cmd.expands {
        return Vec::new();
    }
    let (assigned, words) = split_env(cmd);
    let Some(go) = parse(&words) else {
        return Vec::new();
    };
    if go.out_file || go.no_binary || !matches!(go.verb, "build" | "install" | "get") {
        return Vec::new();
    }
    let env = Env {
        doc,
        stage,
        index,
        assigned,
    };
    let version = facts::image(ctx, &stage.image.value)
        .and_then(|i| i.version)
        .and_then(|v| minor_version(&v));
    // `go get` builds and installs only up to Go 1.17; restage does not guess for an untagged image.
    if go.verb == "get" && version.is_none_or(|v| v >= (1, 18)) {
        return Vec::new();
    }
    let gopath = match env.var("GOPATH") {
        // The image's own GOPATH (`/go` in the official images, from the knowledge files).
        Var::Unset => match analysis::variable_at(doc, stage, index, "GOPATH") {
            Some(r) => r.value,
            None => return Vec::new(),
        },
        Var::Value(v) => match v.split(':').next() {
            Some(first) if first.starts_with('/') => analysis::normalize(first),
            _ => return Vec::new(),
        },
        Var::Unknown => return Vec::new(),
    };
    let mode = mode(&env, version, cwd, &gopath, doc, stage, ctx, inherited);
    let files = !go.packages.is_empty() && go.packages.iter().all(|p| p.ends_with(".go"));
    let dir = if go.verb == "build" {
        match (go.out_dir, cwd) {
            (Some(d), _) if d.starts_with('/') => analysis::normalize(d),
            (Some(d), Some(cwd)) => analysis::join(cwd, d),
            (None, Some(cwd)) => cwd.to_string(),
            (_, None) => return Vec::new(),
        }
    } else {
        // Cross-compiled installs go to a GOOS_GOARCH subdirectory.
        if env.var("GOOS") != Var::Unset || env.var("GOARCH") != Var::Unset {
            return Vec::new();
        }
        match env.var("GOBIN") {
            Var::Value(b) if b.starts_with('/') => analysis::normalize(&b),
            Var::Unset if !files => analysis::join(&gopath, "bin"),
            _ => return Vec::new(),
        }
    };
    if files {
        // `go build a.go b.go` names the binary after its first file.
        let first = go.packages[0];
        let name = crate::shell::base_name(first);
        let name = name.trim_end_matches(".go");
        return if name.is_empty() {
            Vec::new()
        } else {
            vec![Produced::named(&dir, name)]
        };
    }
    // `go build` of several packages compiles them and discards the result.
    if go.verb == "build" && go.out_dir.is_none() && go.packages.len() > 1 {
        return Vec::new();
    }
    let cwd_package = |dir: &str| -> Vec<Produced> {
        match cwd_name(
            &go, mode, version, cwd, &gopath, doc, stage, index, ctx, inherited,
        ) {
            Ok(Some(name)) => vec![Produced::named(dir, &name)],
            Ok(None) => Vec::new(),
            Err(why) => vec![Produced::unnamed(dir, why)],
        }
    };
    if go.packages.is_empty() {
        return cwd_package(&dir);
    }
    let mut out = Vec::new();
    for p in &go.packages {
        let (path, at_version) = match p.split_once('@') {
            Some((path, _)) => (path, true),
            None => (*p, false),
        };
        if at_version && go.verb == "build" {
            return Vec::new();
        }
        if matches!(path, "." | "./") {
            out.extend(cwd_package(&dir));
            continue;
        }
        if path == "std" {
            continue;
        }
        if path.contains("...") || matches!(path, "all" | "cmd") {
            if go.verb == "build" && go.out_dir.is_none() {
                return Vec::new();
            }
            out.push(Produced::unnamed(
                &dir,
                format!(
                    "`go {} {p}` writes every main package `{path}` matches, under names restage cannot list",
                    go.verb
                ),
            ));
            continue;
        }
        let mode = if at_version { Mode::Module } else { mode };
        let relative = path.starts_with("./") || path.starts_with("../");
        let path = match (relative, cwd) {
            (true, Some(cwd)) => analysis::join(cwd, path),
            (true, None) => {
                out.push(Produced::unnamed(
                    &dir,
                    format!("`go {}` runs in a directory restage cannot tell", go.verb),
                ));
                continue;
            }
            (false, _) => path.to_string(),
        };
        if relative && Some(path.as_str()) == cwd {
            out.extend(cwd_package(&dir));
            continue;
        }
        match last_element(&path, mode) {
            Some(name) => out.push(Produced::named(&dir, &name)),
            None => out.push(Produced::unnamed(
                &dir,
                format!(
                    "`{p}` ends in a major-version element, which names the binary only in GOPATH mode, and restage cannot tell which mode the build uses"
                ),
            )),
        }
    }
    out
}

/// Module or GOPATH mode, from the Go version and `GO111MODULE` (and, where Go looks for one,
/// whether a readable go.mod comes with the sources).
#[allow(clippy::too_many_arguments)]
fn mode(
    env: &Env,
    version: Option<(u32, u32)>,
    cwd: Option<&str>,
    gopath: &str,
    doc: &Document,
    stage: &Stage,
    ctx: &Context,
    inherited: &str,
) -> Mode {
    if version.is_some_and(|v| v < (1, 11)) {
        return Mode::Gopath;
    }
    let has_go_mod =
        || cwd.is_some_and(|cwd| go_mod_at(doc, stage, env.index, ctx, cwd, inherited).is_ok());
    match env.var("GO111MODULE") {
        Var::Value(v) if v == "on" => return Mode::Module,
        Var::Value(v) if v == "off" => return Mode::Gopath,
        Var::Value(v) if v.is_empty() || v == "auto" => {}
        Var::Unset => {
            // Module mode is the default from Go 1.16 on (and on an untagged image).
            if version.is_none_or(|v| v >= (1, 16)) {
                return Mode::Module;
            }
        }
        _ => return Mode::Unknown,
    }
    let in_gopath = cwd.is_some_and(|c| analysis::is_within(c, &analysis::join(gopath, "src")));
    if version.is_some_and(|v| v < (1, 13)) && in_gopath {
        return Mode::Gopath;
    }
    if has_go_mod() {
        Mode::Module
    } else {
        Mode::Unknown
    }
}

/// The name of the binary of the package in the working directory: `Ok(None)` when the command
/// writes none (`go install` outside GOPATH in GOPATH mode), `Err` with the reason when restage
/// cannot name it.
#[allow(clippy::too_many_arguments)]
fn cwd_name(
    go: &GoCommand,
    mode: Mode,
    version: Option<(u32, u32)>,
    cwd: Option<&str>,
    gopath: &str,
    doc: &Document,
    stage: &Stage,
    index: usize,
    ctx: &Context,
    inherited: &str,
) -> Result<Option<String>, String> {
    let Some(cwd) = cwd else {
        return Err(format!(
            "`go {}` runs in a directory restage cannot tell",
            go.verb
        ));
    };
    match mode {
        Mode::Gopath => {
            if go.verb != "build" && !analysis::is_within(cwd, &analysis::join(gopath, "src")) {
                return Ok(None);
            }
            Ok(cwd
                .rsplit('/')
                .next()
                .filter(|n| !n.is_empty())
                .map(str::to_string))
        }
        Mode::Module => {
            // A package below the module root is named after its own directory, unless a
            // go.mod there makes it a module of its own.
            if let Some(rel) = context_subdir(doc, stage, index, cwd, inherited)
                && ctx.build.on_disk
                && !ctx.build.exists(&format!("{rel}/go.mod"))
                && let Some(name) = last_element(cwd, Mode::Module)
            {
                return Ok(Some(name));
            }
            module_name(go, doc, stage, index, ctx, cwd, inherited)
        }
        Mode::Unknown => Err(format!(
            "Go {} builds {cwd} in module mode only when a go.mod is there, and restage cannot tell whether one is, so the binary is named after either the directory or the module path",
            version.map_or_else(|| "on this image".to_string(), |(a, b)| format!("{a}.{b}"))
        )),
    }
}

/// The name of the binary of the module's root package in `cwd`.
fn module_name(
    go: &GoCommand,
    doc: &Document,
    stage: &Stage,
    index: usize,
    ctx: &Context,
    cwd: &str,
    inherited: &str,
) -> Result<Option<String>, String> {
    match go_mod_at(doc, stage, index, ctx, cwd, inherited) {
        Ok(name) => Ok(Some(name)),
        Err(why) => Err(format!(
            "`go {}` in module mode names the binary after the module path in go.mod, and {why}",
            go.verb
        )),
    }
}

/// The path of `cwd` inside the build context when a COPY of the context root put a directory
/// above it in place (`COPY . /app` and `cwd` /app/cmd/api: `cmd/api`).
fn context_subdir(
    doc: &Document,
    stage: &Stage,
    index: usize,
    cwd: &str,
    inherited: &str,
) -> Option<String> {
    let instructions = doc.instructions();
    (stage.from + 1..index).rev().find_map(|ix| {
        let ins = &instructions[ix];
        if !analysis::copies_from_context(ins)
            || !ins.heredocs.is_empty()
            || !analysis::sources(ins)
                .iter()
                .any(|s| matches!(s.value.as_str(), "." | "./"))
        {
            return None;
        }
        let dest = effects::destination(doc, stage, ix, inherited)?;
        let rel = cwd
            .strip_prefix(dest.trim_end_matches('/'))?
            .strip_prefix('/')?;
        (!rel.is_empty()).then(|| rel.to_string())
    })
}

/// The binary name of the go.mod the build finds in `cwd`, when that go.mod is the context
/// root's and restage read it; else why not.
fn go_mod_at(
    doc: &Document,
    stage: &Stage,
    index: usize,
    ctx: &Context,
    cwd: &str,
    inherited: &str,
) -> Result<String, String> {
    let instructions = doc.instructions();
    let from_root = (stage.from + 1..index).rev().find(|&ix| {
        let ins = &instructions[ix];
        if !analysis::copies_from_context(ins) || !ins.heredocs.is_empty() {
            return false;
        }
        let root = analysis::sources(ins).iter().any(|s| {
            matches!(
                s.value.as_str(),
                "." | "./" | "go.mod" | "./go.mod" | "go.*" | "go.mod*"
            )
        });
        root && effects::destination(doc, stage, ix, inherited)
            .is_some_and(|d| d == cwd || d == analysis::join(cwd, "go.mod"))
    });
    if from_root.is_none() {
        return Err(format!(
            "no COPY puts the context root's go.mod into {cwd}, so restage cannot read it"
        ));
    }
    match &ctx.build.go_mod {
        Some(m) => Ok(m.binary_name().to_string()),
        None => Err("the build context has no go.mod restage could read".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;
    use crate::context::BuildContext;
    use crate::knowledge::Knowledge;

    /// What the `go` command of the last RUN of `src` writes, as `path` or `path (unnamed)`.
    fn outputs(src: &str) -> Vec<String> {
        let doc = crate::syntax::parse(src).expect("parses");
        let knowledge = Knowledge::builtin().expect("knowledge");
        let build = BuildContext::default();
        let ctx = Context {
            knowledge: &knowledge,
            options: crate::transforms::TransformOptions::of(&Settings::default()),
            build: &build,
        };
        let stage = &doc.stages()[0];
        let ix = doc
            .indices_of(Kind::Run, stage.instructions.clone())
            .last()
            .copied()
            .expect("a RUN");
        let commands = analysis::run_commands(&doc, &doc.instructions()[ix]).expect("commands");
        // The golang images' WORKDIR.
        let inherited = "/go";
        let cwd = effects::workdir(&doc, stage, ix, inherited);
        commands
            .iter()
            .flat_map(|c| produced(&doc, stage, ix, &ctx, c, cwd.as_deref(), inherited))
            .map(|p| match p.unnamed {
                Some(_) => format!("{} (unnamed)", p.path),
                None => p.path,
            })
            .collect()
    }

    #[test]
    fn install_directories() {
        assert_eq!(
            outputs("FROM golang:1.22\nRUN go install example.com/x/cmd/lint@v1.2.0\n"),
            ["/go/bin/lint"]
        );
        assert_eq!(
            outputs(
                "FROM golang:1.22\nENV GOBIN=/usr/local/bin\nRUN go install example.com/x/tool/v3@latest\n"
            ),
            ["/usr/local/bin/tool"]
        );
        assert_eq!(
            outputs("FROM golang:1.9\nENV GOPATH /work\nRUN go install github.com/acme/api\n"),
            ["/work/bin/api"]
        );
        // Cross-compiled installs go to a GOOS_GOARCH directory; a GOBIN from a build argument
        // is not known.
        assert!(
            outputs("FROM golang:1.22\nRUN GOOS=linux go install example.com/a@latest\n")
                .is_empty()
        );
        assert!(
            outputs("FROM golang:1.22\nARG GOBIN=/out\nRUN go install example.com/a@latest\n")
                .is_empty()
        );
    }

    #[test]
    fn build_outputs() {
        // `-o dir/` keeps the name; several packages without -o write nothing; `std` is no binary.
        assert_eq!(
            outputs("FROM golang:1.22\nWORKDIR /src\nRUN go build -o /out/ ./cmd/api\n"),
            ["/out/api"]
        );
        assert!(
            outputs("FROM golang:1.22\nWORKDIR /src\nRUN go build ./cmd/a ./cmd/b\n").is_empty()
        );
        assert!(outputs("FROM golang:1.8\nRUN CGO_ENABLED=0 go install -a std\n").is_empty());
        assert!(outputs("FROM golang:1.22\nWORKDIR /src\nRUN go build ./...\n").is_empty());
        assert!(
            outputs("FROM golang:1.22\nWORKDIR /src\nRUN go build -buildmode=plugin .\n")
                .is_empty()
        );
        // GOPATH mode: the directory names the binary.
        assert_eq!(
            outputs("FROM golang:1.10\nWORKDIR /go/src/github.com/acme/ledger\nRUN go build\n"),
            ["/go/src/github.com/acme/ledger/ledger"]
        );
        // GO111MODULE=off on a modern image is GOPATH mode too.
        assert_eq!(
            outputs("FROM golang:1.20\nENV GO111MODULE=off\nWORKDIR /go/src/app\nRUN go install\n"),
            ["/go/bin/app"]
        );
        // Module mode without a readable go.mod: the directory is known, the name is not.
        assert_eq!(
            outputs("FROM golang:1.22\nWORKDIR /src\nRUN go build\n"),
            ["/src (unnamed)"]
        );
    }

    #[test]
    fn go_get_installs_only_before_go_1_18() {
        assert_eq!(
            outputs("FROM golang:1.17\nRUN go get -u github.com/acme/tool\n"),
            ["/go/bin/tool"]
        );
        assert!(outputs("FROM golang:1.18\nRUN go get github.com/acme/tool\n").is_empty());
        assert!(outputs("FROM golang\nRUN go get github.com/acme/tool\n").is_empty());
        assert!(outputs("FROM golang:1.10\nRUN go get -d github.com/acme/tool\n").is_empty());
    }

    #[test]
    fn version_elements() {
        assert!(is_version_element("v2"));
        assert!(is_version_element("v10"));
        assert!(!is_version_element("v1"));
        assert!(!is_version_element("v0"));
        assert!(!is_version_element("v"));
        assert!(!is_version_element("vx"));
        assert_eq!(
            last_element("example.com/tool/v2", Mode::Module).as_deref(),
            Some("tool")
        );
        assert_eq!(
            last_element("example.com/tool/v2", Mode::Gopath).as_deref(),
            Some("v2")
        );
        assert_eq!(last_element("example.com/tool/v2", Mode::Unknown), None);
    }

    #[test]
    fn flags_stop_at_the_first_package() {
        let words: Vec<String> = ["go", "build", "-tags", "netgo", "-ldflags=-s", "./cmd/x"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let go = parse(&words).expect("a go command");
        assert_eq!(go.packages, vec!["./cmd/x"]);
        assert!(!go.out_file);
        let words: Vec<String> = ["go", "get", "-d", "-v"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert!(parse(&words).expect("a go command").no_binary);
    }
}
