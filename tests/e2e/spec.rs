//! The `e2e.toml` spec of one real-engine case: how to ask the running container whether it works
//! (`[check]`) and what the rewrite must achieve (`[expect]`). Parsing is strict (unknown keys are
//! errors) and `validate` checks the spec against the fixture directory, so a typo cannot turn an
//! assertion off silently.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Deserialize;

/// Every transform id the harness asks `restage --check --select <id>` about, in pipeline order.
pub const TRANSFORM_IDS: &[&str] = &["multi-stage", "copy-order", "non-root-user", "exec-form"];

/// Config fields `restage verify` compares, which a spec may list in `expect.config_may_differ`.
fn comparable(field: &str) -> bool {
    restage::verify::compare::COMPARED_CONFIG.contains(&field)
        || field == "Env"
        || field == "Labels"
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// One line: what the app is and which naive pattern it shows.
    pub description: String,
    /// The Dockerfile to rewrite and build, relative to the case directory.
    #[serde(default = "default_dockerfile")]
    pub dockerfile: String,
    pub check: Check,
    pub expect: Expect,
}

fn default_dockerfile() -> String {
    "Dockerfile".to_string()
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum CheckKind {
    /// Run the container detached with `port` published on 127.0.0.1, then `GET path`.
    Http,
    /// Run the container (`--network none`) with `args` (empty: the image's CMD) and compare stdout.
    Command,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Check {
    pub kind: CheckKind,
    /// http: the container port to publish.
    pub port: Option<u16>,
    /// http: the request path (with query), e.g. `/health`.
    pub path: Option<String>,
    /// http: the status both images must answer with (default 200).
    pub status: Option<u16>,
    /// command: arguments appended to `docker run IMAGE` (they replace CMD); default: none.
    #[serde(default)]
    pub args: Vec<String>,
    /// A substring the answer (http body or command stdout) must contain. Both images must also
    /// give exactly the same answer.
    pub expect: String,
    /// Seconds to wait for the container to answer (http) or finish (command); default 60.
    pub timeout_s: Option<u64>,
    /// `NAME=value` entries passed with `docker run -e` to both images (what a platform such as
    /// Cloud Run would set, e.g. `PORT=8080`).
    #[serde(default)]
    pub env: Vec<String>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The exact set of transform ids that must fire on this Dockerfile (target behaviour). A
    /// transform fires when `restage --check --select <id>` exits 1. Empty: the file must come
    /// out byte-identical.
    pub changes: Vec<String>,
    /// Run restage with `--unsafe-fixes` (for the checks and for `--write`).
    #[serde(default)]
    pub unsafe_fixes: bool,
    /// The rewritten image must be strictly smaller than the original.
    #[serde(default)]
    pub smaller: bool,
    /// The rewritten image must run as a non-root uid (`Config.User` set and `id -u` != 0).
    #[serde(default)]
    pub non_root: bool,
    /// After `edit` is touched, the rewritten build must reuse (CACHED) a RUN step containing
    /// `cache_step`.
    #[serde(default)]
    pub cache_reuse: bool,
    /// A substring of the dependency-install RUN step(s), e.g. `npm ci`. Reported for both
    /// images whenever it is set; asserted only with `cache_reuse`.
    pub cache_step: Option<String>,
    /// A source file (relative to the case directory) to append a comment to before the rebuild.
    pub edit: String,
    /// Config fields (`restage verify` compares) that may legitimately differ after the rewrite.
    #[serde(default)]
    pub config_may_differ: Vec<String>,
}

impl Spec {
    pub fn load(case_dir: &Path) -> Result<Spec, String> {
        let path = case_dir.join("e2e.toml");
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let spec: Spec = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        spec.validate(case_dir)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(spec)
    }

    /// The spec checked against a build context that lives outside `fixtures/e2e`.
    pub fn validated(self, case_dir: &Path) -> Result<Spec, String> {
        self.validate(case_dir)?;
        Ok(self)
    }

    pub fn check_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.check.timeout_s.unwrap_or(60))
    }

    pub fn expected_changes(&self) -> BTreeSet<String> {
        self.expect.changes.iter().cloned().collect()
    }

    fn validate(&self, case_dir: &Path) -> Result<(), String> {
        if self.description.trim().is_empty() {
            return Err("description is empty".into());
        }
        if !case_dir.join(&self.dockerfile).is_file() {
            return Err(format!("dockerfile {:?} does not exist", self.dockerfile));
        }
        if !case_dir.join(&self.expect.edit).is_file() {
            return Err(format!("expect.edit {:?} does not exist", self.expect.edit));
        }
        match self.check.kind {
            CheckKind::Http => {
                if self.check.port.is_none() {
                    return Err("check.kind = \"http\" needs check.port".into());
                }
                match &self.check.path {
                    Some(p) if p.starts_with('/') => {}
                    _ => {
                        return Err("check.kind = \"http\" needs check.path starting with /".into());
                    }
                }
                if !self.check.args.is_empty() {
                    return Err("check.args is only for kind = \"command\"".into());
                }
            }
            CheckKind::Command => {
                if self.check.port.is_some()
                    || self.check.path.is_some()
                    || self.check.status.is_some()
                {
                    return Err("check.port/path/status are only for kind = \"http\"".into());
                }
            }
        }
        if let Some(bad) = self.check.env.iter().find(|e| !e.contains('=')) {
            return Err(format!("check.env entry {bad:?} is not NAME=value"));
        }
        if self.check.expect.is_empty() {
            return Err("check.expect is empty".into());
        }
        let mut seen = BTreeSet::new();
        for id in &self.expect.changes {
            if !TRANSFORM_IDS.contains(&id.as_str()) {
                return Err(format!("expect.changes: unknown transform id {id:?}"));
            }
            if !seen.insert(id) {
                return Err(format!("expect.changes: {id:?} listed twice"));
            }
        }
        for field in &self.expect.config_may_differ {
            if !comparable(field) {
                return Err(format!("expect.config_may_differ: unknown field {field:?}"));
            }
        }
        if self.expect.cache_reuse && self.expect.cache_step.is_none() {
            return Err("expect.cache_reuse needs expect.cache_step".into());
        }
        Ok(())
    }
}
