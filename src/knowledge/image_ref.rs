//! `ImageRef`: a parsed image reference (`[registry/]path[:tag][@digest]`) with byte ranges into
//! the text it came from, and the canonical Docker Hub spelling used to look images up.

use std::ops::Range;

/// The Docker Hub registry names that mean the same registry.
const DOCKER_HUB: [&str; 4] = [
    "docker.io",
    "index.docker.io",
    "registry-1.docker.io",
    "registry.hub.docker.com",
];

/// A parsed image reference such as `docker.io/library/node:20-slim@sha256:...`.
///
/// References that contain a `$` (build-arg variables) do not parse: callers leave them alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// The registry host (with port) when the reference names one (`gcr.io`, `localhost:5000`).
    pub registry: Option<String>,
    /// The repository path without the registry, as written (`node`, `library/node`, `distroless/static-debian12`).
    pub path: String,
    /// The tag, when written.
    pub tag: Option<String>,
    /// The digest (`sha256:...`), when written.
    pub digest: Option<String>,
    /// Byte range of `registry/path` in the parsed text.
    pub name_range: Range<usize>,
    /// Byte range of the tag (without the `:`).
    pub tag_range: Option<Range<usize>>,
    /// Byte range of the digest (without the `@`).
    pub digest_range: Option<Range<usize>>,
}

impl ImageRef {
    /// Parses an image reference; `None` for empty text, whitespace, `$` variables or anything
    /// that is not a valid reference.
    pub fn parse(text: &str) -> Option<ImageRef> {
        // Every separator looked for is ASCII, so byte positions are character boundaries.
        let bytes = text.as_bytes();
        if text.is_empty() || has_variable_or_blank(text) {
            return None;
        }
        let position = |within: &[u8], byte: u8| within.iter().position(|&b| b == byte);
        let (before_digest, digest_range) = match position(bytes, b'@') {
            Some(at) => (&text[..at], Some(at + 1..text.len())),
            None => (text, None),
        };
        if let Some(r) = &digest_range
            && !valid_digest(&text[r.clone()])
        {
            return None;
        }
        let before = before_digest.as_bytes();
        let last_slash = before.iter().rposition(|&b| b == b'/').map_or(0, |i| i + 1);
        let (name_end, tag_range) = match position(&before[last_slash..], b':') {
            Some(c) => (
                last_slash + c,
                Some(last_slash + c + 1..before_digest.len()),
            ),
            None => (before_digest.len(), None),
        };
        if let Some(r) = &tag_range
            && !valid_tag(&text[r.clone()])
        {
            return None;
        }
        let name = &text[..name_end];
        let (registry, path) = match position(name.as_bytes(), b'/') {
            Some(slash)
                if {
                    let first = &name.as_bytes()[..slash];
                    first.iter().any(|&b| b == b'.' || b == b':') || first == b"localhost"
                } =>
            {
                let first = &name[..slash];
                if !valid_registry(first) {
                    return None;
                }
                (Some(first.to_string()), &name[slash + 1..])
            }
            _ => (None, name),
        };
        if path.is_empty() || !path.as_bytes().split(|&b| b == b'/').all(valid_component) {
            return None;
        }
        Some(ImageRef {
            registry,
            path: path.to_string(),
            tag: tag_range.clone().map(|r| text[r].to_string()),
            digest: digest_range.clone().map(|r| text[r].to_string()),
            name_range: 0..name_end,
            tag_range,
            digest_range,
        })
    }

    /// `registry/path` as written.
    pub fn name(&self) -> String {
        match &self.registry {
            Some(r) => format!("{r}/{}", self.path),
            None => self.path.clone(),
        }
    }

    /// The canonical repository name: Docker Hub references become `docker.io/library/<name>`
    /// or `docker.io/<org>/<name>`; others stay `registry/path`.
    pub fn canonical_name(&self) -> String {
        canonical_repository(&self.name())
    }

    /// The tag, or `latest` for an untagged reference without a digest. A digest-only reference
    /// has no tag to match (`None`).
    pub fn tag_or_latest(&self) -> Option<&str> {
        match (&self.tag, &self.digest) {
            (Some(t), _) => Some(t),
            (None, None) => Some("latest"),
            (None, Some(_)) => None,
        }
    }

    /// Whether the reference is on Docker Hub (no registry, or one of its names).
    pub fn is_docker_hub(&self) -> bool {
        self.registry
            .as_deref()
            .is_none_or(|r| DOCKER_HUB.contains(&r))
    }
}

impl std::fmt::Display for ImageRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `name()`, then `:tag` and `@digest`, written piece by piece (no intermediate string).
        if let Some(r) = &self.registry {
            f.write_str(r)?;
            f.write_str("/")?;
        }
        f.write_str(&self.path)?;
        if let Some(t) = &self.tag {
            f.write_str(":")?;
            f.write_str(t)?;
        }
        if let Some(d) = &self.digest {
            f.write_str("@")?;
            f.write_str(d)?;
        }
        Ok(())
    }
}

/// Canonical form of a repository name (or of a glob over names): see [`ImageRef::canonical_name`].
pub(crate) fn canonical_repository(name: &str) -> String {
    let (registry, path) = match name.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (Some(first), rest)
        }
        _ => (None, name),
    };
    match registry {
        Some(r) if !DOCKER_HUB.contains(&r) => format!("{r}/{path}"),
        _ if path.contains('/') => format!("docker.io/{path}"),
        _ => format!("docker.io/library/{path}"),
    }
}

/// How a Docker Hub reference was spelled, so a mapped reference can be spelled the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HubStyle {
    /// `node`
    Short,
    /// `library/node`
    Library,
    /// `docker.io/node` (registry given, no `library/`)
    Registry,
    /// `docker.io/library/node`
    RegistryLibrary,
}

impl ImageRef {
    pub(crate) fn hub_style(&self) -> Option<(HubStyle, Option<&str>)> {
        if !self.is_docker_hub() {
            return None;
        }
        let library = self.path.starts_with("library/");
        let style = match (&self.registry, library) {
            (None, false) => HubStyle::Short,
            (None, true) => HubStyle::Library,
            (Some(_), false) => HubStyle::Registry,
            (Some(_), true) => HubStyle::RegistryLibrary,
        };
        Some((style, self.registry.as_deref()))
    }
}

/// Spells a canonical `docker.io/...` name in the given style; other names are returned as is.
pub(crate) fn spell(canonical: &str, style: HubStyle, registry: Option<&str>) -> String {
    let Some(path) = canonical.strip_prefix("docker.io/") else {
        return canonical.to_string();
    };
    let registry = registry.unwrap_or("docker.io");
    match (style, path.strip_prefix("library/")) {
        (HubStyle::Short, Some(short)) => short.to_string(),
        (HubStyle::Library, Some(_)) => path.to_string(),
        (HubStyle::Registry, Some(short)) => format!("{registry}/{short}"),
        (HubStyle::RegistryLibrary, Some(_)) => format!("{registry}/{path}"),
        (HubStyle::Short | HubStyle::Library, None) => path.to_string(),
        (HubStyle::Registry | HubStyle::RegistryLibrary, None) => format!("{registry}/{path}"),
    }
}

/// Whether `text` holds a `$` or a whitespace character (`char::is_whitespace`), in one pass
/// over its bytes when it is ASCII.
fn has_variable_or_blank(text: &str) -> bool {
    for &b in text.as_bytes() {
        match b {
            b'$' | b' ' | b'\t'..=b'\r' => return true,
            0x80.. => return text.contains('$') || text.chars().any(char::is_whitespace),
            _ => {}
        }
    }
    false
}

fn valid_component(b: &[u8]) -> bool {
    // [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*
    if b.is_empty() || !is_alnum(b[0]) || !is_alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if is_alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !is_alnum(b[i]) {
            i += 1;
        }
        let sep = &b[start..i];
        if !(sep == b"." || sep == b"_" || sep == b"__" || sep.iter().all(|&x| x == b'-')) {
            return false;
        }
    }
    true
}

fn is_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

fn valid_tag(t: &str) -> bool {
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|&x| x.is_ascii_alphanumeric() || x == b'_' || x == b'.' || x == b'-')
}

fn valid_digest(d: &str) -> bool {
    let Some((algo, hex)) = d.split_once(':') else {
        return false;
    };
    !algo.is_empty()
        && algo.as_bytes()[0].is_ascii_alphabetic()
        && algo
            .bytes()
            .all(|x| x.is_ascii_alphanumeric() || matches!(x, b'+' | b'.' | b'_' | b'-'))
        && hex.len() >= 32
        && hex.bytes().all(|x| x.is_ascii_hexdigit())
}

fn valid_registry(r: &str) -> bool {
    let (host, port) = match r.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (r, None),
    };
    !host.is_empty()
        && host
            .bytes()
            .all(|x| x.is_ascii_alphanumeric() || x == b'.' || x == b'-')
        && port.is_none_or(|p| !p.is_empty() && p.bytes().all(|x| x.is_ascii_digit()))
}
