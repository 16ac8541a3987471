//! Writers: frameworks and libraries that write into the application's own tree at run time
//! (users.toml `[[writer]]`). Each names the dependencies or root files that reveal it and the
//! paths, relative to the application root, it writes. Validated when loaded: a writer needs a
//! marker and a path, its `dirs` are plain relative paths, its `files` valid globs.

use super::Sources;
use super::lazy::LazyGlobSet;
use super::schema::Layer;

/// A framework or library that writes into the application's own tree.
#[derive(Debug, Clone)]
pub struct Writer {
    pub id: String,
    /// Display name (`Ruby on Rails`).
    pub name: String,
    /// Dependency markers: (kind as the build context names it: `npm`, `pip`, `gem`, `composer`, `go`, `cargo`; normalised package name).
    pub dependencies: Vec<(&'static str, String)>,
    /// Globs over the names of entries at the build-context root (`*.sqlite3`, `manage.py`).
    files: Vec<(String, LazyGlobSet)>,
    /// Words the start command runs that reveal it (`assets:precompile`).
    pub start: Vec<String>,
    /// The application root itself must be writable (the app creates files there): its
    /// directory is given to the user, not its contents.
    pub app_dir: bool,
    /// Directories, relative to the application root, the app writes (with their contents).
    pub dirs: Vec<String>,
    /// The root entries that matched `files` are written too (an existing database file).
    pub chown_files: bool,
    pub note: Option<String>,
}

impl Writer {
    /// Whether root entry `name` is one of this writer's file markers.
    pub fn matches_file(&self, name: &str) -> bool {
        self.files.iter().any(|(_, m)| m.is_match(name))
    }

    /// Every matcher compiled on first use.
    #[cfg(test)]
    pub(crate) fn deferred(&self) -> impl Iterator<Item = &dyn super::lazy::Deferred> {
        self.files.iter().map(|(_, m)| m as _)
    }

    /// The file-marker globs, for messages.
    pub fn file_globs(&self) -> Vec<&str> {
        self.files.iter().map(|(g, _)| g.as_str()).collect()
    }
}

/// Normalises a package name the way its registry compares them: lower case, and for pip
/// `_` and `.` are `-` (PEP 503).
pub fn normalise_package(kind: &str, name: &str) -> String {
    let lower = name.trim().to_ascii_lowercase();
    if kind == "pip" {
        lower.replace(['_', '.'], "-")
    } else {
        lower
    }
}

pub(crate) fn compile(layer: &Layer, sources: &Sources) -> anyhow::Result<Vec<Writer>> {
    let mut out = Vec::new();
    for def in &layer.writer {
        let err = |span: std::ops::Range<usize>, m: &str| sources.error(def.origin, span, m);
        let id = def.id.get_ref().trim();
        if id.is_empty() {
            return Err(err(def.id.span(), "a writer needs an id"));
        }
        let mut dependencies = Vec::new();
        for (kind, names) in [
            ("npm", &def.npm),
            ("pip", &def.pip),
            ("gem", &def.gem),
            ("composer", &def.composer),
            ("go", &def.go),
            ("cargo", &def.cargo),
        ] {
            for n in names {
                if n.trim().is_empty() {
                    return Err(err(
                        def.id.span(),
                        &format!("writer `{id}`: empty {kind} name"),
                    ));
                }
                dependencies.push((kind, normalise_package(kind, n)));
            }
        }
        let mut files = Vec::new();
        for f in &def.files {
            let glob = f.get_ref();
            if glob.is_empty() || glob.contains('/') {
                return Err(err(
                    f.span(),
                    &format!(
                        "writer `{id}`: `{glob}` must be a file name glob at the context root"
                    ),
                ));
            }
            let eager = sources.eager(def.origin);
            if eager {
                super::lazy::glob(glob, false).map_err(|e| {
                    err(f.span(), &format!("writer `{id}`: bad glob `{glob}`: {e}"))
                })?;
            }
            let set = LazyGlobSet::new(vec![glob.clone()], false, eager)
                .map_err(|e| err(f.span(), &format!("writer `{id}`: bad glob `{glob}`: {e}")))?;
            files.push((glob.clone(), set));
        }
        if def
            .start
            .iter()
            .any(|w| w.trim().is_empty() || w.contains(char::is_whitespace))
        {
            return Err(err(
                def.id.span(),
                &format!("writer `{id}`: a `start` marker is one word of the start command"),
            ));
        }
        if dependencies.is_empty() && files.is_empty() && def.start.is_empty() {
            return Err(err(
                def.id.span(),
                &format!(
                    "writer `{id}` has no marker (npm, pip, gem, composer, go, cargo, files or start)"
                ),
            ));
        }
        let mut dirs = Vec::new();
        for d in &def.dirs {
            let path = d.get_ref();
            let plain = !path.is_empty()
                && !path.starts_with('/')
                && !path.ends_with('/')
                && !path.contains(['*', '?', '[', '{', '$', '\\', ' '])
                && path
                    .split('/')
                    .all(|p| !p.is_empty() && p != "." && p != "..");
            if !plain {
                return Err(err(
                    d.span(),
                    &format!(
                        "writer `{id}`: `{path}` must be a plain relative path inside the application root"
                    ),
                ));
            }
            dirs.push(path.clone());
        }
        if !def.app_dir && dirs.is_empty() && !def.chown_files {
            return Err(err(
                def.id.span(),
                &format!("writer `{id}` writes nothing: set app_dir, dirs or chown_files"),
            ));
        }
        if def.chown_files && files.is_empty() {
            return Err(err(
                def.id.span(),
                &format!("writer `{id}`: chown_files needs file markers"),
            ));
        }
        out.push(Writer {
            id: id.to_string(),
            name: def.name.clone(),
            dependencies,
            files,
            start: def.start.clone(),
            app_dir: def.app_dir,
            dirs,
            chown_files: def.chown_files,
            note: def.note.clone(),
        });
    }
    Ok(out)
}
