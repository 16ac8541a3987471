//! restage's own image on the real engine: `scripts/selfimage.sh` builds the repository's
//! Dockerfile and runs `restage --version` in the image (and checks it does not run as root).
//! Gated like `tests/e2e.rs`: `RESTAGE_E2E=0` skips it, no engine skips it loudly, and
//! `RESTAGE_E2E_REQUIRE=1` turns a missing engine into a failure. `RESTAGE_DOCKER` names the
//! client (default `docker`).

use std::io::Write;
use std::path::Path;
use std::process::Command;

fn loud(msg: &str) {
    let _ = writeln!(std::io::stderr(), "{msg}");
}

fn flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

/// Why there is no engine to build on, if there is none.
fn no_engine(docker: &str) -> Option<String> {
    if std::env::var("RESTAGE_E2E").is_ok_and(|v| v == "0") {
        return Some("RESTAGE_E2E=0".into());
    }
    match Command::new(docker)
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output()
    {
        Ok(o) if o.status.success() => None,
        Ok(o) => Some(format!(
            "`{docker} info` failed: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Err(e) => Some(format!("cannot run `{docker}`: {e}")),
    }
}

#[test]
fn own_dockerfile_builds_and_the_image_runs_restage() {
    let docker = std::env::var("RESTAGE_DOCKER").unwrap_or_else(|_| "docker".into());
    if let Some(why) = no_engine(&docker) {
        loud(&format!(
            "SKIPPED: no Docker engine ({why}); restage's own image was NOT built and proves nothing"
        ));
        assert!(
            !flag("RESTAGE_E2E_REQUIRE"),
            "RESTAGE_E2E_REQUIRE=1 but there is no Docker engine: {why}"
        );
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tag = format!("restage-selfimage:test-{}", std::process::id());
    loud("[selfimage] building restage's own image (a release build inside the engine) ...");
    let o = Command::new("bash")
        .arg(root.join("scripts/selfimage.sh"))
        .env("RESTAGE_SELFIMAGE_TAG", &tag)
        .env("RESTAGE_DOCKER", &docker)
        .output()
        .expect("bash runs the script");
    let _ = Command::new(&docker)
        .args(["image", "rm", "-f", &tag])
        .output();
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success(),
        "selfimage.sh failed:\n{stdout}\n{stderr}"
    );
    assert_eq!(
        stdout,
        format!(
            "selfimage ok: restage {}, user 65532:65532\n",
            env!("CARGO_PKG_VERSION")
        )
    );
}
