use super::commands::Carry;
use super::*;

fn k() -> Knowledge {
    Knowledge::builtin().expect("built-in knowledge loads")
}

fn os_text(os: &Os) -> String {
    match os {
        Os::Debian { suite } => format!("debian/{}", suite.as_deref().unwrap_or("?")),
        Os::Ubuntu { release } => format!("ubuntu/{}", release.as_deref().unwrap_or("?")),
        other => format!("{other:?}").to_lowercase(),
    }
}

fn user_text(u: &Option<UserPlan>) -> String {
    match u {
        Some(UserPlan::Existing(u)) => format!("user {} {}:{}", u.name, u.uid, u.gid),
        Some(UserPlan::Create { name, uid, gid, .. }) => format!("create {name} {uid}:{gid}"),
        Some(UserPlan::Numeric { uid, gid }) => format!("numeric {uid}:{gid}"),
        None => "no user".into(),
    }
}

fn runtime_line(k: &Knowledge, input: &str, needs: &RuntimeNeeds) -> String {
    let Some(image) = ImageRef::parse(input) else {
        return format!("{input} -> none (not a reference)");
    };
    match k.runtime_image(&image, needs) {
        Some(r) => format!(
            "{input} -> {}{}{} [{}, {}]",
            r.reference,
            if r.confident { "" } else { " (review)" },
            if r.unchanged {
                " (already runtime)"
            } else {
                ""
            },
            os_text(&r.os),
            user_text(&r.user),
        ),
        None => format!("{input} -> none"),
    }
}

/// Default needs: a shell, cgo on, app type unknown.
const IMAGES: &[&str] = &[
    // node
    "node:20",
    "node:20.11.1-bookworm",
    "node:20-bookworm",
    "node:18-bullseye",
    "node:lts",
    "node:lts-iron",
    "node:iron",
    "node:latest",
    "node",
    "node:bookworm",
    "node:20-alpine",
    "node:20-alpine3.19",
    "node:20-slim",
    "node:20-bookworm-slim",
    "node:20@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    "docker.io/library/node:20",
    "docker.io/node:20",
    "index.docker.io/library/node:22",
    "registry.corp/mirror/node:20",
    "node:${NODE_VERSION}",
    "node:$V-slim",
    // python
    "python:3.12",
    "python:3.12-bookworm",
    "python:3.12.2-slim-bookworm",
    "python:3.11-bullseye",
    "python",
    "python:3",
    "python:3.12-alpine",
    "python:3.12-slim",
    "python:3.12-windowsservercore",
    // go
    "golang:1.22",
    "golang:1.22-bullseye",
    "golang:1.22-bookworm",
    "golang:1.21.5",
    "golang:1.24",
    "golang:1.24.3",
    "golang:1.19",
    "golang:1.20.2",
    "golang",
    "golang:1",
    "golang:1.5",
    "golang:1.7.1",
    "golang:1.23rc1",
    "golang:1.22-alpine3.19",
    "golang:1.22-alpine",
    // rust
    "rust:1.76-bookworm",
    "rust:1.76",
    "rust:1.75",
    "rust:1.70",
    "rust:1.60",
    "rust:1.90",
    "rust:1-slim-bookworm",
    "rust:slim",
    "rust:1.76-alpine3.19",
    // java
    "maven:3-eclipse-temurin-21",
    "maven:3.9-eclipse-temurin-17",
    "maven:3.9.6-eclipse-temurin-17-focal",
    "maven:3.9-eclipse-temurin-21-alpine",
    "maven:3.8-openjdk-17",
    "maven:3.9",
    "maven:3-amazoncorretto-21",
    "eclipse-temurin:21-jdk",
    "eclipse-temurin:21",
    "eclipse-temurin:17-jdk-jammy",
    "eclipse-temurin:21.0.2_13-jdk",
    "eclipse-temurin:8u402-b06-jdk",
    "eclipse-temurin:21-jdk-alpine",
    "eclipse-temurin:21-jre",
    "eclipse-temurin:17-jre-alpine",
    "openjdk:17-jdk",
    "openjdk:17",
    "openjdk:11-jdk-slim",
    "openjdk:8-jre",
    "gradle:8-jdk17",
    "gradle:8.5-jdk21-jammy",
    "gradle:jdk21-alpine",
    "gradle:8",
    // dotnet
    "mcr.microsoft.com/dotnet/sdk:8.0",
    "mcr.microsoft.com/dotnet/sdk:8.0-bookworm-slim",
    "mcr.microsoft.com/dotnet/sdk:8.0-alpine",
    "mcr.microsoft.com/dotnet/sdk:9.0-noble",
    "mcr.microsoft.com/dotnet/sdk:10.0",
    "mcr.microsoft.com/dotnet/sdk:8.0.204",
    "mcr.microsoft.com/dotnet/aspnet:8.0",
    "mcr.microsoft.com/dotnet/aspnet:8.0-jammy-chiseled",
    "mcr.microsoft.com/dotnet/runtime:6.0",
    // ruby, php
    "ruby:3.3",
    "ruby:2.4.2",
    "ruby:2.1.2",
    "ruby:2.6.3",
    "ruby",
    "ruby:3.3-bookworm",
    "ruby:3.3-slim",
    "ruby:3.3-alpine",
    "ruby:3.1.3-alpine",
    "ruby:3.1.2-alpine",
    "ruby:2.7-alpine",
    "ruby:2.5.1-alpine3.7",
    "ruby:2.7-alpine3.17",
    "ruby:alpine",
    "php:8.3-cli",
    "php:8.3-apache",
    "php:8.3-fpm-alpine",
    "php:8.3-cli-alpine",
    "composer:2",
    // os and minimal images
    "debian:bookworm",
    "debian:12",
    "debian:bookworm-20240311",
    "debian",
    "debian:bookworm-slim",
    "buildpack-deps:bookworm",
    "buildpack-deps:jammy-scm",
    "ubuntu:24.04",
    "alpine:3.19",
    "busybox:1.36",
    "gcr.io/distroless/static-debian12",
    "gcr.io/distroless/base-debian12:nonroot",
    "gcr.io/distroless/java17-debian12:debug",
    "scratch",
    // self-managed and unknown
    "postgres:16",
    "nginx:1.25",
    "jenkins/jenkins:lts",
    "mycorp/app:1.0",
    "quay.io/someone/tool:1",
    "",
    "Node:20",
];

#[test]
fn runtime_image_table() {
    let k = k();
    let needs = RuntimeNeeds::default();
    let lines: Vec<String> = IMAGES.iter().map(|i| runtime_line(&k, i, &needs)).collect();
    assert!(lines.len() >= 60);
    insta::assert_snapshot!(lines.join("\n"));
}

#[test]
fn runtime_image_by_needs() {
    let k = k();
    let cases = [
        (
            "static, no shell",
            RuntimeNeeds {
                shell: false,
                cgo: false,
                web: None,
            },
        ),
        (
            "cgo, no shell",
            RuntimeNeeds {
                shell: false,
                cgo: true,
                web: None,
            },
        ),
        (
            "shell",
            RuntimeNeeds {
                shell: true,
                cgo: false,
                web: None,
            },
        ),
        (
            "console app",
            RuntimeNeeds {
                shell: true,
                cgo: true,
                web: Some(false),
            },
        ),
        (
            "web app",
            RuntimeNeeds {
                shell: true,
                cgo: true,
                web: Some(true),
            },
        ),
    ];
    let images = [
        "golang:1.22",
        "golang:1.22-bullseye",
        "golang:1.24",
        "golang:1.22-alpine3.19",
        "rust:1.75",
        "rust:1.60",
        "mcr.microsoft.com/dotnet/sdk:8.0",
        "mcr.microsoft.com/dotnet/sdk:10.0-alpine3.21",
        "node:20",
    ];
    let mut lines = Vec::new();
    for (label, needs) in &cases {
        lines.push(format!("# {label}"));
        for i in images {
            lines.push(runtime_line(&k, i, needs));
        }
    }
    insta::assert_snapshot!(lines.join("\n"));
}

#[test]
fn image_info_table() {
    let k = k();
    let images = [
        "node:20",
        "node:20-alpine",
        "python:3.12-slim",
        "golang:1.22-bullseye",
        "eclipse-temurin:21-jre",
        "eclipse-temurin:21-jdk-noble",
        "mcr.microsoft.com/dotnet/aspnet:9.0-alpine",
        "mcr.microsoft.com/dotnet/sdk:10.0",
        "gcr.io/distroless/static-debian12",
        "scratch",
        "ubuntu:jammy",
        "busybox",
        "postgres:16-alpine",
        "docker.elastic.co/elasticsearch/elasticsearch:8.12.0",
        "bitnami/redis:7.2",
        "php:8.3-apache",
        "debian:12",
        "composer:2",
    ];
    let lines: Vec<String> = images
        .iter()
        .map(|i| {
            let image = ImageRef::parse(i).expect("valid reference");
            match k.image(&image) {
                Some(info) => format!(
                    "{i}: family={} ecosystem={} role={:?} os={} {}",
                    info.family,
                    info.ecosystem.as_deref().unwrap_or("-"),
                    info.role,
                    os_text(&info.os),
                    user_text(&info.user),
                ),
                None => format!("{i}: unknown"),
            }
        })
        .collect();
    insta::assert_snapshot!(lines.join("\n"));
}

#[test]
fn user_creation_commands() {
    let k = k();
    let mut lines = Vec::new();
    for i in [
        "python:3.12-slim",
        "node:20-alpine",
        "ubuntu:24.04",
        "busybox",
        "scratch",
        "gcr.io/distroless/static-debian12",
    ] {
        let info = k.image(&ImageRef::parse(i).expect("valid")).expect("known");
        let line = match &info.user {
            Some(UserPlan::Create { command, name, .. }) => {
                format!("{i}: RUN {command} ; USER {name}")
            }
            Some(UserPlan::Existing(u)) => format!("{i}: USER {}", u.name),
            Some(UserPlan::Numeric { uid, gid }) => format!("{i}: USER {uid}:{gid}"),
            None => format!("{i}: none"),
        };
        lines.push(line);
    }
    insta::assert_snapshot!(lines.join("\n"));
}

#[test]
fn image_ref_parse() {
    let text = "registry.corp:5000/team/app:1.2-rc@sha256:0123456789abcdef0123456789abcdef";
    let r = ImageRef::parse(text).expect("parses");
    assert_eq!(r.registry.as_deref(), Some("registry.corp:5000"));
    assert_eq!(r.path, "team/app");
    assert_eq!(&text[r.name_range.clone()], "registry.corp:5000/team/app");
    assert_eq!(&text[r.tag_range.clone().expect("tag")], "1.2-rc");
    assert_eq!(
        &text[r.digest_range.clone().expect("digest")],
        "sha256:0123456789abcdef0123456789abcdef"
    );
    assert_eq!(r.canonical_name(), "registry.corp:5000/team/app");
    assert_eq!(r.to_string(), text);

    let r = ImageRef::parse("localhost/app").expect("parses");
    assert_eq!(r.registry.as_deref(), Some("localhost"));
    assert_eq!(r.tag_or_latest(), Some("latest"));
    assert_eq!(
        ImageRef::parse("node").expect("parses").canonical_name(),
        "docker.io/library/node"
    );
    assert_eq!(
        ImageRef::parse("jenkins/jenkins")
            .expect("parses")
            .canonical_name(),
        "docker.io/jenkins/jenkins"
    );
    assert_eq!(
        ImageRef::parse("docker.io/node:20")
            .expect("parses")
            .canonical_name(),
        "docker.io/library/node"
    );
    let digest_only =
        ImageRef::parse("node@sha256:0123456789abcdef0123456789abcdef").expect("parses");
    assert_eq!(digest_only.tag_or_latest(), None);
    for bad in [
        "",
        "node:$TAG",
        "${IMAGE}",
        "node:",
        "node:-x",
        "Node",
        "node :20",
        "node@sha256:12",
        "a//b",
        "-a",
    ] {
        assert_eq!(ImageRef::parse(bad), None, "{bad:?}");
    }
}

#[test]
fn image_ref_refuses_variables_and_every_blank() {
    // ASCII blanks (vertical tab and form feed included), Unicode blanks, `$` anywhere: refused.
    for text in [
        "$IMAGE",
        "node:${TAG}",
        "node:20 ",
        "node:20\t",
        "node\x0b:20",
        "node\x0c",
        "\rnode",
        "no\u{a0}de",
        "node:20\u{2003}",
        "nöde:$V",
    ] {
        assert_eq!(ImageRef::parse(text), None, "{text:?}");
    }
    // Other control characters and non-ASCII letters are not blanks: the name rules refuse them.
    for text in ["node\x1c", "nöde", "node:2ö", "reg.io/ä/b"] {
        assert_eq!(ImageRef::parse(text), None, "{text:?}");
    }
    let r = ImageRef::parse("gcr.io/distroless/static-debian12:nonroot").expect("parses");
    assert_eq!(
        (r.registry.as_deref(), r.path.as_str(), r.tag.as_deref()),
        (
            Some("gcr.io"),
            "distroless/static-debian12",
            Some("nonroot")
        )
    );
    // A first component without `.` or `:` (nor `localhost`) is a path, not a registry.
    let r = ImageRef::parse("my_org/app__x:1").expect("parses");
    assert_eq!((r.registry, r.path.as_str()), (None, "my_org/app__x"));
}

const COMMANDS: &[&str] = &[
    // node
    "npm ci",
    "npm ci --omit=dev",
    "npm ci --omit dev --no-audit",
    "npm install",
    "npm i --production",
    "npm install --legacy-peer-deps",
    "npm install --ignore-scripts --loglevel warn",
    "npm install express",
    "npm install -g pm2",
    "npm run build",
    "npm run lint",
    "npm run-script build:prod",
    "npm test",
    "npm prune --omit=dev",
    "npm prune --production",
    "npx tsc -p tsconfig.json",
    "tsc --outDir dist",
    "npx vite build",
    "npx vite",
    "yarn",
    "yarn install --frozen-lockfile",
    "yarn --frozen-lockfile --production",
    "yarn install --immutable",
    "yarn add lodash",
    "yarn build",
    "yarn run build",
    "yarn start",
    "yarn workspaces focus --production",
    "corepack yarn install --immutable",
    "pnpm install --frozen-lockfile",
    "pnpm i --prod",
    "pnpm fetch --prod",
    "pnpm build",
    "pnpm prune --prod",
    "pnpm add zod",
    // python
    "pip install -r requirements.txt",
    "pip3 install --no-cache-dir -r requirements.txt",
    "pip install --no-cache-dir --prefix=/install -r /requirements.txt",
    "pip install -r requirements.txt -c constraints.txt",
    "pip install --user -r requirements/prod.txt",
    "python -m pip install -r requirements.txt",
    "python3.12 -m pip install --upgrade pip",
    "/usr/local/bin/pip install -r $REQS",
    "pip install .",
    "pip install -e .",
    "pip install --no-cache-dir .[server]",
    "pip install flask gunicorn",
    "pip install -r requirements.txt gunicorn",
    "pip wheel -r requirements.txt -w /wheels",
    "python -m build --wheel",
    "python app.py",
    "poetry install --no-root --only main",
    "poetry install --no-interaction --no-ansi --without dev --no-root",
    "poetry install",
    "poetry install --only-root",
    "pipenv install --deploy --system",
    "pipenv install flask",
    "uv sync --frozen --no-install-project --no-dev",
    "uv sync --frozen",
    "uv pip install --system -r requirements.txt",
    "uv pip sync requirements.txt",
    "uv run python -m build",
    // go
    "go mod download",
    "go mod download -x",
    "go build -o /out/app .",
    "CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags=-s -o app ./cmd/api",
    "env CGO_ENABLED=0 go build -o=/bin/server -ldflags '-s -w' .",
    "go build ./...",
    "go install ./cmd/tool",
    "go test ./...",
    "go mod tidy",
    // rust
    "cargo fetch",
    "cargo build --release",
    "cargo build --release --locked",
    "cargo build -r --target x86_64-unknown-linux-musl",
    "cargo build --profile dist",
    "cargo build",
    "cargo install --path . --root /out",
    // java
    "mvn dependency:go-offline",
    "mvn -B dependency:resolve",
    "mvn -B -q dependency:go-offline -DskipTests",
    "mvn package",
    "mvn -B -DskipTests package",
    "mvn clean install -Dmaven.test.skip=true",
    "./mvnw -B package",
    "mvn test",
    "gradle dependencies --no-daemon",
    "gradle build",
    "./gradlew bootJar --no-daemon -x test",
    "gradle clean build -x test",
    "javac -d classes src/Main.java",
    "jar --create --file app.jar --main-class Main -C classes .",
    "jlink --add-modules java.base --output /jre",
    // dotnet
    "dotnet restore",
    "dotnet restore \"MyApp.csproj\"",
    "dotnet restore src/Api/Api.csproj -r linux-x64",
    "dotnet publish -c Release -o out",
    "dotnet publish src/Api/Api.csproj --configuration Release --output /app/publish --no-restore",
    "dotnet build -c Release",
    // ruby, php
    "bundle install",
    "bundle install --jobs 4 --retry 3",
    "bundle config set --local without development",
    "bundle install --without development test",
    "bundle update",
    "gem install bundler",
    "bundle exec rake assets:precompile",
    "bundle exec rails server",
    "composer install --no-dev --no-scripts --no-autoloader",
    "composer install --no-dev",
    "composer require monolog/monolog",
    "composer dump-autoload --optimize",
    // not commands of interest
    "echo npm ci",
    "apt-get install -y gcc",
    "",
    "env -i npm ci",
];

fn command_line(k: &Knowledge, text: &str) -> String {
    let words = crate::shell::words(text, 0, '\\');
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let Some(m) = k.classify_command(&words) else {
        return format!("{text:?} -> none");
    };
    let mut out = format!(
        "{text:?} -> {}/{} {:?}",
        m.ecosystem,
        m.manager.as_deref().unwrap_or("-"),
        m.kind
    );
    if m.pure {
        out.push_str(" pure");
    }
    if m.production {
        out.push_str(" production");
    }
    if m.runs_scripts {
        out.push_str(" runs-scripts");
    }
    if let Some(s) = &m.script {
        out.push_str(&format!(" script={s}"));
    }
    if !m.manifests.is_empty() {
        out.push_str(&format!(" manifests={:?}", m.manifests));
    }
    if !m.outputs.is_empty() {
        out.push_str(&format!(" outputs={:?}", m.outputs));
    }
    if !m.env.is_empty() {
        out.push_str(&format!(" env={:?}", m.env));
    }
    out
}

#[test]
fn command_table() {
    let k = k();
    assert!(COMMANDS.len() >= 40);
    let lines: Vec<String> = COMMANDS.iter().map(|c| command_line(&k, c)).collect();
    insta::assert_snapshot!(lines.join("\n"));
}

#[test]
fn manifests_of_every_manager() {
    let k = k();
    let mut lines = Vec::new();
    for m in k.managers() {
        let f = k.manifests(m).expect("listed managers have manifests");
        lines.push(format!(
            "{m}: required={:?} required_any={:?} lockfiles={:?} optional={:?}",
            f.required, f.required_any, f.lockfiles, f.optional
        ));
    }
    insta::assert_snapshot!(lines.join("\n"));
    assert!(k.is_manifest("dotnet", "Api.csproj"));
    assert!(k.is_manifest("dotnet", "src/Api/Api.csproj"));
    assert!(k.is_manifest("npm", "package-lock.json"));
    assert!(!k.is_manifest("npm", "src/index.js"));
    assert_eq!(k.ecosystem("go").expect("go").carry, Carry::Binary);
}

#[test]
fn packages_and_privilege_droppers() {
    let k = k();
    use OsPackageManager::{Apk, Apt};
    let bookworm = debian(Some("bookworm"));
    assert_eq!(
        k.package("libpq-dev", Apt, &bookworm),
        PackageClass::Dev {
            runtime: vec!["libpq5".into()]
        }
    );
    assert_eq!(
        k.package("libssl-dev=3.0.11-1", Apt, &bookworm),
        PackageClass::Dev {
            runtime: vec!["libssl3".into()]
        }
    );
    assert_eq!(k.package("gcc", Apt, &bookworm), PackageClass::BuildOnly);
    assert_eq!(
        k.package("build-essential", Apt, &bookworm),
        PackageClass::BuildOnly
    );
    assert_eq!(
        k.package("ca-certificates", Apt, &bookworm),
        PackageClass::Runtime
    );
    assert_eq!(
        k.package("libfoo-dev", Apt, &bookworm),
        PackageClass::DevUnknown
    );
    assert_eq!(k.package("nginx", Apt, &bookworm), PackageClass::Unknown);
    assert_eq!(
        k.package("postgresql-dev", Apk, &Os::Alpine),
        PackageClass::Dev {
            runtime: vec!["libpq".into()]
        }
    );
    assert_eq!(
        k.package("musl-dev", Apk, &Os::Alpine),
        PackageClass::BuildOnly
    );
    // What a compiler builds links its runtime libraries.
    assert_eq!(
        k.package("build-base", Apk, &Os::Alpine),
        PackageClass::Dev {
            runtime: vec!["libstdc++".into(), "libgcc".into(), "libgomp".into()]
        }
    );
    assert_eq!(
        k.package("libfoo-dev", Apk, &Os::Alpine),
        PackageClass::DevUnknown
    );
    assert!(k.inner.apt.dev.len() >= 20 && k.inner.apk.dev.len() >= 20);

    assert!(
        k.privilege_dropper(&["gosu", "app", "node", "server.js"])
            .is_some()
    );
    assert!(
        k.privilege_dropper(&["/sbin/su-exec", "app", "x"])
            .is_some()
    );
    assert!(
        k.privilege_dropper(&["chroot", "--userspec=1000:1000", "/", "app"])
            .is_some()
    );
    assert!(
        k.privilege_dropper(&["chroot", "/newroot", "app"])
            .is_none()
    );
    assert!(k.privilege_dropper(&["node", "server.js"]).is_none());

    // Programs that need root at start: by base name, and `*` entries by prefix.
    assert!(k.root_program("/usr/bin/supervisord").is_some());
    assert!(k.root_program("cron").is_some());
    assert!(k.root_program("php-fpm8.2").is_some());
    assert!(k.root_program("node").is_none());
    assert!(k.root_program("service.py").is_none());
    assert!(k.is_self_managed_image(&ImageRef::parse("postgres:16").expect("valid")));
    assert!(k.is_self_managed_image(&ImageRef::parse("docker.io/library/mysql:8").expect("valid")));
    assert!(!k.is_self_managed_image(&ImageRef::parse("node:20").expect("valid")));
}

#[test]
fn every_builtin_runtime_image_is_known() {
    // Every runtime image the built-in rules produce must itself be a known runtime image, so
    // the final stage's OS and user are known.
    let k = k();
    let needs = [
        RuntimeNeeds::default(),
        RuntimeNeeds {
            shell: false,
            cgo: false,
            web: Some(false),
        },
        RuntimeNeeds {
            shell: false,
            cgo: true,
            web: Some(true),
        },
    ];
    for i in IMAGES {
        let Some(image) = ImageRef::parse(i) else {
            continue;
        };
        for n in &needs {
            if let Some(r) = k.runtime_image(&image, n) {
                if i.starts_with("registry.corp") {
                    continue;
                }
                let target = ImageRef::parse(&r.reference).expect("a valid reference");
                let info = k
                    .image(&target)
                    .unwrap_or_else(|| panic!("{i} -> {} is unknown", r.reference));
                // An Alpine SDK tag is its own runtime image (same musl, same release).
                if r.reference != *i {
                    assert_eq!(info.role, ImageRole::Runtime, "{i} -> {}", r.reference);
                }
            }
        }
    }
}

#[test]
fn builtin_files_have_no_unknown_keys_and_round_trip() {
    // Each file alone parses with deny_unknown_fields; the merged knowledge prints and re-loads.
    for (name, text) in BUILTIN_FILES {
        toml::from_str::<Layer>(text).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let k = k();
    let printed = k.to_toml();
    let again: Layer = toml::from_str(&printed).expect("to_toml output parses");
    assert_eq!(again.family.len(), k.inner.layer.family.len());
    assert_eq!(again.command.len(), k.inner.layer.command.len());
    // Re-loading the printed knowledge as an override changes nothing.
    let mut sources = Sources::default();
    let layer =
        parse_layer(&mut sources, "printed", Arc::from(printed.as_str()), false).expect("loads");
    Knowledge::compile(sources, layer).expect("compiles");
}

#[test]
fn unknown_key_in_override_names_origin_and_line() {
    let config = "[settings]\nselect = [\"multi-stage\"]\n\n[knowledge]\n[[knowledge.family]]\nname = \"corp-node\"\nrepositories = [\"registry.corp/node\"]\nruntme = \"x\"\n";
    let err = k()
        .with_overrides_from_config(config, "restage.toml")
        .expect_err("unknown key");
    let msg = format!("{err:#}");
    assert!(
        msg.starts_with("restage.toml:8:1: unknown field 'runtme'"),
        "{msg}"
    );
}

#[test]
fn bad_glob_and_regex_in_override_name_origin_and_line() {
    let config = "[knowledge]\n[[knowledge.mapping]]\nfrom = \"registry.corp/node:[20\"\nto = \"registry.corp/node:*-slim\"\n";
    let err = k()
        .with_overrides_from_config(config, "sub/restage.toml")
        .expect_err("bad glob");
    let msg = format!("{err:#}");
    assert!(
        msg.starts_with("sub/restage.toml:3:8: unclosed `[`"),
        "{msg}"
    );

    let config = "[knowledge]\n\n[[knowledge.self_managed]]\nrepositories = [\"corp/db[\"]\n";
    let msg = format!(
        "{:#}",
        k().with_overrides_from_config(config, "restage.toml")
            .expect_err("bad glob")
    );
    assert!(msg.starts_with("restage.toml:4:17: bad glob"), "{msg}");

    let config = "[knowledge]\n[[knowledge.command]]\nmanager = \"npm\"\nkind = \"build\"\nprogram = [\"npm\"]\nargs = \"any\"\nargs_require = \"(unclosed\"\n";
    let msg = format!(
        "{:#}",
        k().with_overrides_from_config(config, "restage.toml")
            .expect_err("bad regex")
    );
    assert!(msg.starts_with("restage.toml:7:16: bad regex"), "{msg}");

    let config = "[knowledge.patterns]\nsuite = \"(bookworm\"\n";
    let msg = format!(
        "{:#}",
        k().with_overrides_from_config(config, "restage.toml")
            .expect_err("bad pattern")
    );
    assert!(
        msg.starts_with("restage.toml:2:9: bad pattern `suite`"),
        "{msg}"
    );
}

#[test]
fn table_override_errors_name_origin() {
    let table: toml::Table =
        toml::from_str("[[family]]\nname = \"x\"\nrepositories = [\"x\"]\nruntme = 1\n")
            .expect("toml");
    let msg = format!(
        "{:#}",
        k().with_overrides(&table, "restage.toml")
            .expect_err("unknown key")
    );
    assert!(
        msg.starts_with("restage.toml: [knowledge]: unknown field 'runtme'"),
        "{msg}"
    );
    assert!(msg.contains("(at `runtme = 1`)"), "{msg}");
}

#[test]
fn corp_registry_overrides_take_effect() {
    let config = r#"
[knowledge]
[[knowledge.mapping]]
from = "registry.corp/node:*"
to = "registry.corp/node:*-slim"
family = "node"

[[knowledge.mirror]]
prefix = "mirror.corp/hub/"
upstream = "docker.io/library/"

[knowledge.new_user]
name = "svc"
uid = 20000

[[knowledge.command]]
manager = "npm"
kind = "dependency-install"
program = ["corp-npm"]
subcommand = ["ci"]

[knowledge.apt]
runtime = ["gcc"]
"#;
    let base = k();
    let k = base
        .with_overrides_from_config(config, "restage.toml")
        .expect("valid override");
    let needs = RuntimeNeeds::default();
    assert_eq!(
        runtime_line(&base, "registry.corp/node:20", &needs),
        "registry.corp/node:20 -> none"
    );
    assert_eq!(
        runtime_line(&k, "registry.corp/node:20", &needs),
        "registry.corp/node:20 -> registry.corp/node:20-slim [debian/?, user node 1000:1000]"
    );
    let info = k
        .image(&ImageRef::parse("registry.corp/node:20").expect("valid"))
        .expect("mapped");
    assert_eq!(
        (info.family.as_str(), info.role),
        ("node", ImageRole::Build)
    );
    assert_eq!(
        runtime_line(&k, "mirror.corp/hub/node:20", &needs),
        "mirror.corp/hub/node:20 -> mirror.corp/hub/node:20-slim [debian/bookworm, user node 1000:1000]"
    );
    assert_eq!(
        runtime_line(&k, "mirror.corp/hub/golang:1.22", &needs),
        "mirror.corp/hub/golang:1.22 -> mirror.corp/hub/debian:bookworm-slim [debian/bookworm, create svc 20000:10001]"
    );
    // distroless is not mirrored: no mapping rather than an unreachable registry
    let static_needs = RuntimeNeeds {
        shell: false,
        cgo: false,
        web: None,
    };
    assert_eq!(
        runtime_line(&k, "mirror.corp/hub/golang:1.22", &static_needs),
        "mirror.corp/hub/golang:1.22 -> none"
    );
    assert_eq!(
        k.classify_command(&["corp-npm", "ci"]).map(|m| m.kind),
        Some(CommandKind::DependencyInstall)
    );
    assert_eq!(
        k.package("gcc", OsPackageManager::Apt, &debian(None)),
        PackageClass::Runtime
    );
    // The override shows in the effective knowledge.
    assert!(k.to_toml().contains("registry.corp/node:*-slim"));
    // The base knowledge is untouched.
    assert_eq!(
        base.package("gcc", OsPackageManager::Apt, &debian(None)),
        PackageClass::BuildOnly
    );
}

#[test]
fn override_family_replaces_builtin_by_name() {
    let table: toml::Table = toml::from_str(
        "[[family]]\nname = \"node\"\nrepositories = [\"node\"]\nos = \"debian\"\n[[family.rule]]\ntag = '\\d+'\nrole = \"build\"\nruntime = \"gcr.io/distroless/nodejs{version}-debian12\"\n",
    )
    .expect("toml");
    let err = k()
        .with_overrides(&table, "restage.toml")
        .expect_err("placeholder not a group");
    assert!(
        format!("{err:#}").contains("placeholder `{version}`"),
        "{err:#}"
    );
    let table: toml::Table = toml::from_str(
        "[[family]]\nname = \"node\"\nrepositories = [\"node\"]\nos = \"debian\"\n[[family.rule]]\ntag = '(?P<version>\\d+)'\nrole = \"build\"\nruntime = \"gcr.io/distroless/nodejs{version}-debian12\"\n",
    )
    .expect("toml");
    let k = k().with_overrides(&table, "restage.toml").expect("valid");
    assert_eq!(
        runtime_line(&k, "node:20", &RuntimeNeeds::default()),
        "node:20 -> gcr.io/distroless/nodejs20-debian12 [distroless, user nonroot 65532:65532]"
    );
}

#[test]
fn repeated_lookups_give_the_same_answer() {
    // Classification and image lookups are memoised: asking again answers the same.
    let k = k();
    let words = [
        "pip3",
        "install",
        "--no-cache-dir",
        "-r",
        "requirements.txt",
    ];
    let image = ImageRef::parse("golang:1.22-bookworm").expect("valid");
    let first = (
        format!("{:?}", k.classify_command(&words)),
        format!("{:?}", k.runtime_image(&image, &RuntimeNeeds::default())),
    );
    assert!(k.classify_command(&words).is_some());
    assert!(k.runtime_image(&image, &RuntimeNeeds::default()).is_some());
    for _ in 0..1_000 {
        let again = (
            format!("{:?}", k.classify_command(&words)),
            format!("{:?}", k.runtime_image(&image, &RuntimeNeeds::default())),
        );
        assert_eq!(again, first);
    }
}

#[test]
fn readme_override_example_is_valid() {
    let readme = include_str!("../../transforms/README.md");
    let start = readme
        .find("```toml\n# restage.toml")
        .expect("example present")
        + "```toml\n".len();
    let end = start + readme[start..].find("```").expect("closed");
    let k = k()
        .with_overrides_from_config(&readme[start..end], "restage.toml")
        .expect("example loads");
    let needs = RuntimeNeeds::default();
    assert_eq!(
        runtime_line(&k, "registry.corp/hub/node:20", &needs),
        "registry.corp/hub/node:20 -> registry.corp/hub/node:20-slim [debian/bookworm, user node 1000:1000]"
    );
    assert_eq!(
        runtime_line(&k, "registry.corp/base/runtime:3", &needs),
        "registry.corp/base/runtime:3 -> registry.corp/base/runtime:3 (already runtime) [debian/?, create svc 20000:20000]"
    );
    assert!(k.is_self_managed_image(&ImageRef::parse("registry.corp/db/pg:16").expect("valid")));
    assert_eq!(
        k.package("git", OsPackageManager::Apt, &debian(None)),
        PackageClass::Runtime
    );
}

#[test]
fn default_suite_ranges_do_not_overlap() {
    for f in &k().inner.layer.family {
        let mut ranges: Vec<(Vec<u64>, Vec<u64>)> = Vec::new();
        for d in &f.default_suites {
            if let Some((a, b)) = d.versions.get_ref().split_once("..=") {
                let parse = |v: &str, fill| {
                    let mut p: Vec<u64> =
                        v.split('.').map(|x| x.parse().expect("number")).collect();
                    p.resize(4, fill);
                    p
                };
                let (lo, hi) = (parse(a, 0), parse(b, u64::MAX));
                assert!(lo <= hi, "{}: {}", f.name, d.versions.get_ref());
                for (l, h) in &ranges {
                    assert!(
                        hi < *l || lo > *h,
                        "{}: {} overlaps",
                        f.name,
                        d.versions.get_ref()
                    );
                }
                ranges.push((lo, hi));
            }
        }
    }
}

fn debian(suite: Option<&str>) -> Os {
    Os::Debian {
        suite: suite.map(str::to_string),
    }
}

fn dev(k: &Knowledge, name: &str, os: &Os) -> PackageClass {
    k.package(name, OsPackageManager::Apt, os)
}

fn libs(names: &[&str]) -> PackageClass {
    PackageClass::Dev {
        runtime: names.iter().map(|n| n.to_string()).collect(),
    }
}

#[test]
fn runtime_libraries_are_named_per_debian_suite() {
    let k = k();
    let on = |s: &str| debian(Some(s));
    assert_eq!(dev(&k, "libssl-dev", &on("jessie")), libs(&["libssl1.0.0"]));
    assert_eq!(dev(&k, "libssl-dev", &on("stretch")), libs(&["libssl1.1"]));
    assert_eq!(dev(&k, "libssl-dev", &on("buster")), libs(&["libssl1.1"]));
    assert_eq!(dev(&k, "libssl-dev", &on("bullseye")), libs(&["libssl1.1"]));
    assert_eq!(dev(&k, "libssl-dev", &on("bookworm")), libs(&["libssl3"]));
    assert_eq!(dev(&k, "libssl-dev", &on("trixie")), libs(&["libssl3t64"]));
    assert_eq!(dev(&k, "libffi-dev", &on("buster")), libs(&["libffi6"]));
    assert_eq!(dev(&k, "libffi-dev", &on("bullseye")), libs(&["libffi7"]));
    assert_eq!(dev(&k, "libffi-dev", &on("trixie")), libs(&["libffi8"]));
    assert_eq!(dev(&k, "libicu-dev", &on("stretch")), libs(&["libicu57"]));
    assert_eq!(dev(&k, "libicu-dev", &on("buster")), libs(&["libicu63"]));
    assert_eq!(dev(&k, "libicu-dev", &on("bullseye")), libs(&["libicu67"]));
    assert_eq!(dev(&k, "libicu-dev", &on("trixie")), libs(&["libicu76"]));
    assert_eq!(dev(&k, "libtiff-dev", &on("bullseye")), libs(&["libtiff5"]));
    assert_eq!(dev(&k, "libtiff-dev", &on("bookworm")), libs(&["libtiff6"]));
    // The same name everywhere: no suite needed.
    assert_eq!(dev(&k, "libpq-dev", &on("jessie")), libs(&["libpq5"]));
    assert_eq!(dev(&k, "libpq-dev", &debian(None)), libs(&["libpq5"]));
    // Names that differ and an unknown suite: not guessed.
    assert_eq!(
        dev(&k, "libssl-dev", &debian(None)),
        PackageClass::DevUnresolved { suite: None }
    );
    // No name known on that suite (pcre3 left Debian with trixie).
    assert_eq!(
        dev(&k, "libpcre3-dev", &on("trixie")),
        PackageClass::DevUnresolved {
            suite: Some("trixie".into())
        }
    );
    // Debian names are not Ubuntu names.
    assert_eq!(
        dev(
            &k,
            "libpq-dev",
            &Os::Ubuntu {
                release: Some("noble".into())
            }
        ),
        PackageClass::DevUnresolved {
            suite: Some("noble".into())
        }
    );
    // Entries checked on bullseye to trixie only: the older suites are not guessed.
    assert_eq!(dev(&k, "libaio-dev", &on("bookworm")), libs(&["libaio1"]));
    assert_eq!(dev(&k, "libaio-dev", &on("trixie")), libs(&["libaio1t64"]));
    assert_eq!(
        dev(&k, "libaio-dev", &on("stretch")),
        PackageClass::DevUnresolved {
            suite: Some("stretch".into())
        }
    );
    assert_eq!(
        dev(&k, "freetds-dev", &on("bullseye")),
        libs(&["libct4", "libsybdb5"])
    );
    // Provided-only names map to what their provider installs.
    assert_eq!(dev(&k, "libxslt-dev", &on("trixie")), libs(&["libxslt1.1"]));
    assert_eq!(
        dev(&k, "libidn11-dev", &on("bullseye")),
        libs(&["libidn11"])
    );
    assert_eq!(
        dev(&k, "libidn11-dev", &on("bookworm")),
        libs(&["libidn12"])
    );
    // A name no package provides on the suite stays unknown.
    assert_eq!(
        dev(&k, "libmysqlclient-dev", &on("bookworm")),
        PackageClass::DevUnknown
    );
    // Headers of the distribution's Python are build-only.
    assert_eq!(
        dev(&k, "python-dev", &on("buster")),
        PackageClass::BuildOnly
    );
}

#[test]
fn dev_map_is_validated_on_load() {
    let base = k();
    let bad_suite = base
        .with_overrides_from_config(
            "[knowledge.apt.dev]\n\"libfoo-dev\" = { bokworm = [\"libfoo1\"] }\n",
            "restage.toml",
        )
        .expect_err("an unknown suite is an error");
    let msg = format!("{bad_suite:#}");
    assert!(msg.starts_with("restage.toml:2:"), "{msg}");
    assert!(msg.contains("unknown suite `bokworm`"), "{msg}");
    let empty = base
        .with_overrides_from_config(
            "[knowledge.apt.dev]\n\"libfoo-dev\" = { bookworm = [] }\n",
            "restage.toml",
        )
        .expect_err("an empty list is an error");
    assert!(format!("{empty:#}").contains("empty list"), "{empty:#}");
    let apk = base
        .with_overrides_from_config(
            "[knowledge.apk.dev]\n\"foo-dev\" = { bookworm = [\"foo\"] }\n",
            "restage.toml",
        )
        .expect_err("per-suite names are for apt");
    assert!(format!("{apk:#}").contains("[apk.dev]"), "{apk:#}");
    let ok = base
        .with_overrides_from_config(
            "[knowledge.apt.dev]\n\"libfoo-dev\" = { bookworm = [\"libfoo1\"], trixie = [\"libfoo1t64\"] }\n",
            "restage.toml",
        )
        .expect("per-suite names load");
    assert_eq!(
        dev(&ok, "libfoo-dev", &debian(Some("trixie"))),
        libs(&["libfoo1t64"])
    );
}

#[test]
fn language_versions_from_tags() {
    let k = k();
    let version = |r: &str| {
        k.image(&ImageRef::parse(r).expect("parses"))
            .and_then(|i| i.version.clone())
    };
    assert_eq!(version("python:3.9-buster").as_deref(), Some("3.9"));
    assert_eq!(version("python:2.7").as_deref(), Some("2.7"));
    assert_eq!(version("node:carbon").as_deref(), Some("8"));
    assert_eq!(version("node:lts-gallium").as_deref(), Some("16"));
    assert_eq!(version("node:lts"), None);
    assert_eq!(version("node"), None);
    let suite = |r: &str| {
        k.image(&ImageRef::parse(r).expect("parses"))
            .and_then(|i| i.suite().map(str::to_string))
    };
    assert_eq!(suite("python:3.9-buster").as_deref(), Some("buster"));
    assert_eq!(suite("python:2.7").as_deref(), Some("buster"));
    assert_eq!(suite("python:3.6").as_deref(), Some("bullseye"));
    assert_eq!(suite("python:3.9.7").as_deref(), Some("bullseye"));
    assert_eq!(suite("node:14").as_deref(), Some("buster"));
    assert_eq!(suite("node:carbon").as_deref(), Some("stretch"));
    assert_eq!(suite("node:20.1.0").as_deref(), Some("bullseye"));
    // Not in the history: unknown, not guessed.
    assert_eq!(suite("node:0.10"), None);
}

#[test]
fn prune_and_supported_versions_by_language_version() {
    let k = k();
    assert_eq!(
        k.prune_command("npm", Some("14")).as_deref(),
        Some("npm prune --production")
    );
    assert_eq!(
        k.prune_command("npm", Some("8")).as_deref(),
        Some("npm prune --production")
    );
    assert_eq!(
        k.prune_command("npm", Some("15.0.1")).as_deref(),
        Some("npm prune --omit=dev")
    );
    assert_eq!(
        k.prune_command("npm", None).as_deref(),
        Some("npm prune --omit=dev")
    );
    assert_eq!(
        k.prune_command("pnpm", Some("8")).as_deref(),
        Some("pnpm prune --prod")
    );
    let python = k.ecosystem("python").expect("python");
    assert!(!python.supports(Some("2.7")));
    assert!(!python.supports(Some("2")));
    assert!(python.supports(Some("3.12")));
    assert!(python.supports(None));
    assert!(k.ecosystem("node").expect("node").supports(Some("0.10")));
    let bad = k
        .with_overrides_from_config(
            "[[knowledge.manager]]\nid = \"npm\"\necosystem = \"node\"\nprune = [{ command = \"npm prune\", versions = \"14\" }]\n",
            "restage.toml",
        )
        .expect_err("a bad range is an error");
    assert!(
        format!("{bad:#}").contains("bad version range `14`"),
        "{bad:#}"
    );
}

#[test]
fn official_images_through_docker_hub_names_and_public_mirrors() {
    let k = k();
    let needs = RuntimeNeeds::default();
    for (input, runtime) in [
        (
            "public.ecr.aws/docker/library/python:3.11",
            "public.ecr.aws/docker/library/python:3.11-slim",
        ),
        (
            "mirror.gcr.io/library/node:20",
            "mirror.gcr.io/library/node:20-slim",
        ),
        (
            "docker.io/library/node:20",
            "docker.io/library/node:20-slim",
        ),
        ("docker.io/node:20", "docker.io/node:20-slim"),
        (
            "index.docker.io/library/python:3.12-bookworm",
            "index.docker.io/library/python:3.12-slim-bookworm",
        ),
        (
            "registry-1.docker.io/library/node:20",
            "registry-1.docker.io/library/node:20-slim",
        ),
        (
            "registry.hub.docker.com/library/node:20",
            "registry.hub.docker.com/library/node:20-slim",
        ),
    ] {
        let image = ImageRef::parse(input).expect("valid");
        let info = k.image(&image).expect("an official image");
        assert_eq!(info.role, ImageRole::Build, "{input}");
        let r = k.runtime_image(&image, &needs).expect("mapped");
        assert_eq!(r.reference, runtime, "{input}");
    }
    // Users come with the family: node's `node` user through the mirror too.
    let line = runtime_line(&k, "public.ecr.aws/docker/library/node:20", &needs);
    assert!(line.contains("user node 1000:1000"), "{line}");
    // Another path on the same registry is not Docker Hub.
    assert!(
        k.image(&ImageRef::parse("public.ecr.aws/someone/python:3.11").expect("valid"))
            .is_none()
    );
}

/// The dependency kinds that reveal a writer are every writer's own, each once, also for a
/// writer a config file adds.
#[test]
fn writer_kinds_are_every_writers_dependency_kinds() {
    let each = |k: &Knowledge| {
        let mut all: Vec<&str> = k
            .writers()
            .iter()
            .flat_map(|w| w.dependencies.iter().map(|(kind, _)| *kind))
            .collect();
        all.sort_unstable();
        all.dedup();
        let mut kinds = k.writer_kinds().to_vec();
        kinds.sort_unstable();
        assert_eq!(kinds.len(), k.writer_kinds().len(), "each once");
        assert_eq!(kinds, all);
        kinds
    };
    let builtin = each(&k());
    assert!(
        builtin.contains(&"gem") && builtin.contains(&"npm"),
        "{builtin:?}"
    );
    let config = "[knowledge]\n[[knowledge.writer]]\nid = \"x\"\nname = \"X\"\ncargo = [\"rocket\"]\ndirs = [\"tmp\"]\n";
    let merged = k()
        .with_overrides_from_config(config, "restage.toml")
        .expect("a valid writer");
    assert_eq!(each(&merged), builtin);
}

#[test]
fn writers_are_validated_and_merged() {
    let k = || Knowledge::builtin().expect("built-in knowledge loads");
    let rails = k()
        .writers()
        .iter()
        .find(|w| w.id == "rails")
        .cloned()
        .expect("rails is a writer");
    assert_eq!(rails.dirs, ["db", "log", "storage", "tmp"]);
    assert!(rails.dependencies.contains(&("gem", "rails".to_string())));
    let sqlite = k()
        .writers()
        .iter()
        .find(|w| w.id == "sqlite-file")
        .cloned();
    let sqlite = sqlite.expect("sqlite-file is a writer");
    assert!(sqlite.matches_file("app.sqlite3") && !sqlite.matches_file("app.py"));
    assert_eq!(
        crate::knowledge::normalise_package("pip", "Flask_SQLAlchemy"),
        "flask-sqlalchemy"
    );

    let bad = |body: &str| {
        let config = format!("[knowledge]\n[[knowledge.writer]]\n{body}\n");
        format!(
            "{:#}",
            k().with_overrides_from_config(&config, "restage.toml")
                .expect_err("invalid writer")
        )
    };
    assert!(bad("id = \"x\"\nname = \"X\"\ndirs = [\"tmp\"]").contains("has no marker"));
    assert!(bad("id = \"x\"\nname = \"X\"\nnpm = [\"x\"]").contains("writes nothing"));
    let msg = bad("id = \"x\"\nname = \"X\"\nnpm = [\"x\"]\ndirs = [\"../etc\"]");
    assert!(msg.starts_with("restage.toml:6:9: writer `x`"), "{msg}");
    assert!(bad("id = \"x\"\nname = \"X\"\nfiles = [\"a[\"]\napp_dir = true").contains("bad glob"));
    assert!(
        bad("id = \"x\"\nname = \"X\"\nfiles = [\"d/*.db\"]\napp_dir = true")
            .contains("file name glob")
    );
    assert!(
        bad("id = \"x\"\nname = \"X\"\nnpm = [\"x\"]\nchown_files = true")
            .contains("needs file markers")
    );
    assert!(
        bad("id = \"x\"\nname = \"X\"\nnpm = [\"x\"]\napp_dir = true\nwhatever = 1")
            .contains("unknown field")
    );
    assert!(
        bad("id = \"x\"\nname = \"X\"\nstart = [\"rake assets\"]\ndirs = [\"public\"]")
            .contains("one word of the start command")
    );
    let assets = k()
        .writers()
        .iter()
        .find(|w| w.id == "rails-assets-at-start")
        .cloned()
        .expect("a writer revealed by the start command");
    assert!(
        assets.dependencies.is_empty() && assets.start.contains(&"assets:precompile".to_string())
    );

    // An override with the same id replaces the built-in writer.
    let config = "[knowledge]\n[[knowledge.writer]]\nid = \"rails\"\nname = \"Rails\"\ngem = [\"rails\"]\ndirs = [\"tmp\"]\n";
    let k2 = k()
        .with_overrides_from_config(config, "restage.toml")
        .expect("valid override");
    let rails: Vec<_> = k2.writers().iter().filter(|w| w.id == "rails").collect();
    assert_eq!(rails.len(), 1);
    assert_eq!(rails[0].dirs, ["tmp"]);
}

#[test]
fn start_command_knowledge_and_its_overrides() {
    let k = k();
    assert!(k.is_wrapper("tini") && k.is_wrapper("sh") && !k.is_wrapper("node"));
    assert_eq!(k.toolchain("go", Some("run")).as_deref(), Some("go run"));
    assert_eq!(k.toolchain("go", Some("build")), None);
    assert_eq!(k.toolchain("gradlew", None).as_deref(), Some("gradlew"));
    let config = "[[knowledge.wrapper]]\nprogram = \"s6-svscan\"\n\n[[knowledge.toolchain]]\nprogram = \"sbt\"\n";
    let over = k
        .with_overrides_from_config(config, "restage.toml")
        .expect("valid override");
    assert!(over.is_wrapper("s6-svscan") && over.is_wrapper("tini"));
    assert_eq!(over.toolchain("sbt", Some("run")).as_deref(), Some("sbt"));
}

#[test]
fn managers_with_an_environment_of_their_own_and_dev_servers() {
    let k = k();
    for m in ["poetry", "pipenv", "uv"] {
        assert!(k.has_own_environment(m), "{m}");
    }
    for m in ["pip", "npm", "not-a-manager"] {
        assert!(!k.has_own_environment(m), "{m}");
    }
    let node = k.ecosystem("node").expect("node");
    assert!(
        node.dev_servers
            .contains(&vec!["next".to_string(), "dev".to_string()])
    );
    assert!(node.dev_servers.contains(&vec!["nodemon".to_string()]));
    let err = k
        .with_overrides_from_config(
            "[[knowledge.manager]]\nid = \"pip\"\necosystem = \"python\"\nown_environment = \"yes\"\n",
            "restage.toml",
        )
        .expect_err("not a boolean");
    assert!(format!("{err:#}").starts_with("restage.toml:4:"), "{err:#}");
}

#[test]
fn runtime_stage_lists_come_from_the_knowledge_and_an_override_replaces_one_list() {
    let builtin = k();
    assert_eq!(
        builtin.runtime_path().first().map(String::as_str),
        Some("/usr/local/sbin")
    );
    assert_eq!(
        builtin.runtime_path().last().map(String::as_str),
        Some("/bin")
    );
    assert!(builtin.is_runtime_prep("mkdir"));
    assert!(!builtin.is_runtime_prep("rm"));
    assert!(builtin.is_runtime_neutral("rm"));
    assert!(!builtin.is_runtime_neutral("npm"));
    let config = "[knowledge.runtime_stage]\nprep = [\"setcap\"]\n";
    let merged = builtin
        .with_overrides_from_config(config, "restage.toml")
        .expect("valid override");
    assert!(merged.is_runtime_prep("setcap"));
    assert!(!merged.is_runtime_prep("mkdir"));
    assert!(merged.is_runtime_neutral("rm"));
    assert_eq!(merged.runtime_path(), builtin.runtime_path());
}

#[test]
fn build_queries_print_and_leave_nothing() {
    let builtin = Knowledge::builtin().expect("built-in knowledge");
    let words = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
    for query in [
        "uname -r",
        "uname",
        "curl --version",
        "node -v",
        "go version",
        "java -version",
    ] {
        assert!(builtin.is_build_query(&words(query)), "{query}");
    }
    // A script or a path may read the flag its own way (`-v`: verbose); a second argument is
    // more than a question.
    for not_query in [
        "./install.sh -v",
        "/opt/tool/bin/tool --version",
        "setup.sh --version",
        "curl --version https://example.com",
        "npm install",
        "$TOOL --version",
    ] {
        assert!(!builtin.is_build_query(&words(not_query)), "{not_query}");
    }
}

/// (compiled, total) matchers.
fn compiled(k: &Knowledge) -> (usize, usize) {
    let all = k.deferred();
    (all.iter().filter(|d| d.is_compiled()).count(), all.len())
}

#[test]
fn built_in_matchers_compile_on_first_use_and_all_compile() {
    let k = Knowledge::load_builtin().expect("loads");
    let (done, total) = compiled(&k);
    assert_eq!(done, 0, "loading compiles no regex or glob set");
    assert!(total > 100, "{total}");
    // One image and one command compile only what answering them needs.
    let node = ImageRef::parse("node:20-slim").expect("reference");
    assert_eq!(
        k.image(&node).map(|i| i.family.clone()),
        Some("node".to_string())
    );
    assert!(k.classify_command(&["npm", "ci"]).is_some());
    let (done, _) = compiled(&k);
    assert!(done > 0 && done * 10 < total, "{done} of {total}");
    // Every built-in regex and glob set compiles (what the deferred compile relies on).
    let failed: Vec<String> = k
        .deferred()
        .iter()
        .filter_map(|d| d.force().err())
        .collect();
    assert_eq!(failed, Vec::<String>::new());
    assert_eq!(compiled(&k), (total, total));
}

#[test]
fn built_in_files_pass_the_checks_an_override_gets() {
    // Loaded as an override is: every regex and glob set compiled at load, and the checks that
    // need a compiled regex (a runtime template's placeholders are groups of its tag). An
    // error names the file, line and column.
    let k = match Knowledge::load_builtin_files(false) {
        Ok(k) => k,
        Err(e) => panic!("{e:#}"),
    };
    let (done, total) = compiled(&k);
    assert_eq!(done, total);
}

#[test]
fn override_matchers_compile_at_load() {
    // An override's own regexes and glob sets are compiled when it is loaded, so every error
    // its text can cause is reported there, with its line and column.
    let config = "[knowledge]\n[[knowledge.command]]\nmanager = \"npm\"\nkind = \"build\"\nprogram = [\"npm\"]\nargs = \"any\"\nargs_require = \"(?-u:\\\\w){1000000}\"\n";
    let msg = format!(
        "{:#}",
        k().with_overrides_from_config(config, "restage.toml")
            .expect_err("too big")
    );
    assert_eq!(
        msg,
        "restage.toml:7:16: bad regex: Compiled regex exceeds size limit of 10485760 bytes."
    );
    let config = "[knowledge]\n[[knowledge.mapping]]\nfrom = \"registry.corp/node:*\"\nto = \"registry.corp/node:*-slim\"\n";
    let k2 = k()
        .with_overrides_from_config(config, "restage.toml")
        .expect("loads");
    // The mapping, the command programs and the family set do not depend on the override here,
    // except the mapping itself.
    let (done, _) = compiled(&k2);
    assert_eq!(done, 1, "only the override's mapping is compiled");
    // A global pattern every family's tag rules expand: those rules compile at load.
    let config = "[knowledge.patterns]\nsuite = \"trixie|bookworm\"\n";
    let k3 = k()
        .with_overrides_from_config(config, "restage.toml")
        .expect("loads");
    let (done, total) = compiled(&k3);
    assert!(done > 50 && done < total, "{done} of {total}");
}

#[test]
fn built_in_files_read_at_build_time_are_what_toml_reads() {
    assert_eq!(
        super::builtin::files(),
        BUILTIN_FILES.map(|(name, _)| name),
        "build.rs reads the same files, in the same order"
    );
    let read = super::builtin::layers().expect("every built-in file deserializes");
    assert_eq!(read.len(), BUILTIN_FILES.len());
    for ((name, text), fast) in BUILTIN_FILES.iter().zip(read) {
        let parsed: Layer = toml::from_str(text).expect("valid TOML");
        // Debug shows every value and every span.
        assert_eq!(format!("{fast:?}"), format!("{parsed:?}"), "{name}");
        assert!(format!("{fast:?}").contains("span: "), "{name}: spans kept");
    }
}

#[test]
fn image_env_is_built_in_knowledge() {
    let k = k();
    let env = |image: &str| {
        k.image(&ImageRef::parse(image).expect("valid"))
            .map(|i| i.env.clone())
            .unwrap_or_default()
    };
    assert_eq!(
        env("golang:1.22").get("GOPATH").map(String::as_str),
        Some("/go")
    );
    assert_eq!(
        env("golang:1.8-alpine3.6")
            .get("GOPATH")
            .map(String::as_str),
        Some("/go")
    );
    assert!(env("python:3.12").is_empty());
    assert_eq!(
        Knowledge::builtin_image_env(&ImageRef::parse("golang").expect("valid"), "GOPATH")
            .as_deref(),
        Some("/go")
    );
    let err = k
        .with_overrides_from_config(
            "[[knowledge.family]]\nname = \"tools\"\nrepositories = [\"corp/tools\"]\nenv = { GOPATH = \"/srv/go\" }\n",
            "restage.toml",
        )
        .expect_err("env cannot be overridden");
    assert_eq!(
        format!("{err:#}"),
        "restage.toml:4:18: family `tools`: `env` (GOPATH) is built-in knowledge only and cannot be overridden"
    );
}

#[test]
fn ruby_tags_without_a_slim_tag_keep_their_suite_and_have_no_runtime() {
    let k = k();
    let r = ImageRef::parse("ruby:2.1.2").expect("valid");
    let info = k.image(&r).expect("known");
    assert_eq!(info.suite(), Some("jessie"));
    assert_eq!(info.version.as_deref(), Some("2.1.2"));
    assert!(k.runtime_image(&r, &RuntimeNeeds::default()).is_none());
    // 2.1.5 is the first with a -slim tag.
    assert_eq!(
        runtime_line(&k, "ruby:2.1.5", &RuntimeNeeds::default()),
        "ruby:2.1.5 -> ruby:2.1.5-slim [debian/jessie, create app 10001:10001]"
    );
}

/// The memo key of an image is its displayed text, however much of it is written.
#[test]
fn image_memo_key_is_the_displayed_reference() {
    for text in [
        "node",
        "node:20-slim",
        "library/node@sha256:0123456789abcdef0123456789abcdef",
        "registry.corp:5000/team/app:1.2-rc@sha256:0123456789abcdef0123456789abcdef",
        "localhost/app",
    ] {
        let r = ImageRef::parse(text).expect("parses");
        assert_eq!(super::image_key(&r), text);
        assert_eq!(r.to_string(), text);
    }
}

/// The references of the test below whose runtime image is themselves.
const SAME: &[&str] = &[
    "node:20-alpine",
    "docker.io/library/python:3.12-slim",
    "python:3.12-alpine@sha256:0000000000000000000000000000000000000000000000000000000000000000",
    "debian:bookworm-slim",
];

#[test]
fn looking_an_image_up_by_its_text_answers_like_the_parsed_reference() {
    let k = k();
    let needs = [
        RuntimeNeeds::default(),
        RuntimeNeeds {
            shell: true,
            cgo: true,
            web: None,
        },
    ];
    let mut same = Vec::new();
    for text in [
        "node:20",
        "node:20-alpine",
        "golang:1.22-alpine3.19",
        "golang:1.22",
        "docker.io/library/python:3.12-slim",
        "python:3.12-alpine@sha256:0000000000000000000000000000000000000000000000000000000000000000",
        "gcr.io/distroless/static-debian12",
        "debian:bookworm-slim",
        "unknown/image:1",
        "ubuntu",
    ] {
        let r = ImageRef::parse(text).expect("a reference");
        // Asked both ways, in both orders, so either may fill the shared memo first.
        for _ in 0..2 {
            assert_eq!(k.image_named(text), k.image(&r), "{text}");
            for n in &needs {
                let named = k.runtime_image_named(text, n);
                let parsed = k.runtime_image(&r, n);
                assert_eq!(
                    named.as_ref().map(|rt| (&rt.reference, rt.same_image)),
                    parsed.as_ref().map(|rt| (&rt.reference, rt.same_image)),
                    "{text}"
                );
                // `same_image`: the runtime reference names the image asked about itself.
                if let Some(rt) = parsed {
                    if rt.same_image && !same.contains(&text) {
                        same.push(text);
                    }
                    let o = ImageRef::parse(&rt.reference).expect("a reference");
                    assert_eq!(
                        rt.same_image,
                        o.tag.is_some()
                            && o.tag == r.tag
                            && o.canonical_name() == r.canonical_name(),
                        "{text} -> {}",
                        rt.reference
                    );
                }
            }
        }
    }
    // Both answers occur: an Alpine SDK tag and a runtime image run on themselves.
    assert_eq!(
        same, SAME,
        "the references whose runtime image is themselves"
    );
    // Text that is not a reference has no image, and remembering that shadows nothing.
    for text in ["node:${V}", "Node:20", "", "a b"] {
        assert!(k.image_named(text).is_none(), "{text:?}");
        assert!(k.runtime_image_named(text, &needs[0]).is_none(), "{text:?}");
    }
    assert!(k.image_named("node:20").is_some());
}
