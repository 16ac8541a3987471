//! Java: the runtime stage receives what the start command runs, at the same path, and the data
//! files the context copies into the application directory (configuration, scripts, data: not
//! sources or build files). What it runs is a jar the `jar` tool wrote (javac compiled without
//! a class path, so nothing else is needed), the jar `mvn package` wrote (its name confirmed
//! from pom.xml; self-contained: no runtime dependencies, or packed by spring-boot-maven-plugin
//! or maven-shade-plugin), Gradle's `build/libs` after `bootJar` or `shadowJar`, or the
//! class-path entries of `java -cp` that the build wrote. When restage cannot name what the app
//! runs or reads (a start script, a thin jar whose dependencies live elsewhere, a name pom.xml
//! does not confirm, options through a variable), the runtime stage receives the whole
//! application directory and the change says why. An app without a WORKDIR of its own is
//! refused, and so is a start command that runs a source file (`java Main.java`), which needs
//! the JDK's compiler.

use globset::Glob;

use super::super::super::Context;
use super::super::super::analysis;
use super::super::Analysis;
use super::artifact::{self, Command, Why, file_name, flag_value, is_pattern, parent};
use super::{Carry, Input, Recipe, Verdict};
use crate::knowledge::CommandKind;
use crate::syntax::Kind;

pub(super) struct Java;

impl Recipe for Java {
    fn runs_at_start(&self, _ctx: &Context, words: &[String]) -> Option<Result<(), String>> {
        let program = words.first()?;
        (Some(crate::shell::base_name(program)) == Some("java")).then_some(Ok(()))
    }

    fn carry(&self, input: &Input, a: &mut Analysis) -> Result<Carry, Verdict> {
        let artifacts = artifacts(input, a);
        artifact::carry(input, a, artifacts)
    }
}

/// Plugins that pack a Maven project's dependencies into its jar.
const FAT_JAR_PLUGINS: &[&str] = &["spring-boot-maven-plugin", "maven-shade-plugin"];

/// Gradle tasks whose jar holds the app's dependencies.
const FAT_JAR_TASKS: &[&str] = &["bootJar", "shadowJar"];

/// What the stage's JDK and build-tool commands wrote.
#[derive(Default)]
struct Builds {
    /// Directories javac wrote classes to (`-d`).
    class_dirs: Vec<String>,
    /// Some javac compiled against a class or module path (the app needs it at run time).
    javac_classpath: bool,
    /// Jars the `jar` tool created.
    jars: Vec<String>,
    /// Manifest files the `jar` tool read: build input, not data.
    manifests: Vec<String>,
    /// Maven builds: the `target` directory, or why restage cannot name it.
    maven: Vec<Result<String, String>>,
    /// Gradle builds, or why restage cannot name their output.
    gradle: Vec<Result<GradleBuild, String>>,
}

#[derive(Clone)]
struct GradleBuild {
    /// `build/libs`.
    libs: String,
    /// `Ok` when a task packs the dependencies into the jar, else why not.
    fat: Result<(), String>,
}

fn builds(input: &Input, a: &Analysis) -> Builds {
    let ctx = input.ctx;
    let mut b = Builds::default();
    for cmd in artifact::commands(input, a) {
        match cmd.program() {
            "javac" => javac(&cmd, &mut b),
            "jar" => {
                let args = jar_args(&cmd.words[1..]);
                if let Some(Ok(file)) = args.file.map(|f| cmd.resolve(&f)) {
                    b.jars.push(file);
                }
                if let Some(Ok(manifest)) = args.manifest.map(|m| cmd.resolve(&m)) {
                    b.manifests.push(manifest);
                }
            }
            "mvn" | "mvnw" if is_build(ctx, &cmd) => b.maven.push(maven(&cmd)),
            "gradle" | "gradlew" if is_build(ctx, &cmd) => b.gradle.push(gradle(&cmd)),
            _ => {}
        }
    }
    b
}

fn is_build(ctx: &Context, cmd: &Command) -> bool {
    ctx.knowledge
        .classify_command(&cmd.words)
        .is_some_and(|m| m.kind == CommandKind::Build)
}

fn javac(cmd: &Command, b: &mut Builds) {
    let mut i = 1;
    while i < cmd.words.len() {
        if let Some(d) = flag_value(&cmd.words, &mut i, &["-d"]) {
            if let Ok(d) = cmd.resolve(&d) {
                b.class_dirs.push(d);
            }
        } else if matches!(
            cmd.words[i].as_str(),
            "-cp" | "-classpath" | "--class-path" | "-p" | "--module-path"
        ) || cmd.words[i].starts_with("--class-path=")
            || cmd.words[i].starts_with("--module-path=")
        {
            b.javac_classpath = true;
        }
        i += 1;
    }
}

/// What a `jar` command creating an archive names: the archive (`--file F` / `-f F` /
/// `--file=F`, or the `f` of the bundled options: `cf app.jar`, `cvfm app.jar manifest.txt`,
/// `cfe app.jar Main`, whose values follow in the order of their letters) and the manifest
/// file it reads (`--manifest M` / `-m M`, or the bundled `m`).
#[derive(Debug, Default, PartialEq, Eq)]
struct JarArgs {
    file: Option<String>,
    manifest: Option<String>,
}

fn jar_args(args: &[String]) -> JarArgs {
    let mut out = JarArgs::default();
    let Some(first) = args.first() else {
        return out;
    };
    if first.starts_with("--") || (first.starts_with('-') && first.len() == 2) {
        let creates = args
            .iter()
            .any(|a| a == "--create" || a == "-c" || a == "--update" || a == "-u");
        if !creates {
            return out;
        }
        let mut i = 0;
        while i < args.len() {
            if let Some(f) = flag_value(args, &mut i, &["--file", "-f"]) {
                out.file = Some(f);
            } else if let Some(m) = flag_value(args, &mut i, &["--manifest", "-m"]) {
                out.manifest = Some(m);
            }
            i += 1;
        }
        return out;
    }
    let letters = first.trim_start_matches('-');
    if !letters.contains(['c', 'u']) || !letters.chars().all(|c| c.is_ascii_alphanumeric()) {
        return out;
    }
    let mut values = args[1..].iter();
    for letter in letters.chars() {
        match letter {
            'f' => out.file = values.next().cloned(),
            'm' => out.manifest = values.next().cloned(),
            'e' => {
                values.next();
            }
            _ => {}
        }
    }
    out
}

/// The `target` directory of `mvn package` and friends.
fn maven(cmd: &Command) -> Result<String, String> {
    if let Some(flag) = cmd.words[1..].iter().find(|w| {
        matches!(
            w.as_str(),
            "-f" | "--file" | "-pl" | "--projects" | "-am" | "--also-make"
        ) || w.starts_with("--file=")
    }) {
        return Err(format!(
            "`mvn {flag}` builds a project restage does not read, so it cannot name the jar"
        ));
    }
    cmd.resolve("target")
}

/// `build/libs` of a Gradle build, and whether its task packs the dependencies into the jar.
fn gradle(cmd: &Command) -> Result<GradleBuild, String> {
    let mut tasks = Vec::new();
    let mut i = 1;
    while i < cmd.words.len() {
        let w = cmd.words[i].as_str();
        match w {
            "-p" | "--project-dir" | "-b" | "--build-file" | "-c" | "--settings-file" => {
                return Err(format!(
                    "`gradle {w}` builds a project restage does not read, so it cannot name the jar"
                ));
            }
            "-x" | "--exclude-task" | "-g" | "--gradle-user-home" | "-I" | "--init-script"
            | "--max-workers" | "--console" | "--warning-mode" | "--priority" => i += 1,
            _ if w.starts_with('-') => {}
            _ => tasks.push(w),
        }
        i += 1;
    }
    if let Some(t) = tasks
        .iter()
        .find(|t| t.trim_start_matches(':').contains(':'))
    {
        return Err(format!(
            "`gradle {t}` builds a subproject, whose jar restage cannot name"
        ));
    }
    let libs = cmd.resolve("build/libs")?;
    let fat = if tasks
        .iter()
        .any(|t| FAT_JAR_TASKS.contains(&t.trim_start_matches(':')))
    {
        Ok(())
    } else {
        Err(format!(
            "`gradle {}` packs the dependencies into the jar only with a plugin (Spring Boot, Shadow) restage does not read from the build script; build with `bootJar` or `shadowJar`",
            tasks.join(" ")
        ))
    };
    Ok(GradleBuild { libs, fat })
}

/// How `java` starts the app.
enum Start {
    /// `java -jar FILE`, as written.
    Jar(String),
    /// `java [-cp PATH] Main`: the class path as written (`None`: not given).
    Classes(Option<String>),
}

/// Reads the `java` command line (`words[0]` is `java`).
fn java_start(words: &[String]) -> Result<Start, Why> {
    let mut classpath = None;
    let mut i = 1;
    while i < words.len() {
        let w = words[i].as_str();
        if w.contains(['$', '`']) {
            return Err(Why::Whole(format!(
                "the java command line uses `{w}`, whose value restage does not read"
            )));
        }
        if w == "-jar" {
            let jar = words.get(i + 1).ok_or_else(|| {
                Why::Whole("the start command's `java -jar` names no jar".to_string())
            })?;
            if jar.contains(['$', '`']) {
                return Err(Why::Whole(format!(
                    "the jar `{jar}` is named through a variable"
                )));
            }
            return Ok(Start::Jar(jar.clone()));
        }
        if let Some(cp) = flag_value(words, &mut i, &["-cp", "-classpath", "--class-path"]) {
            classpath = Some(cp);
            i += 1;
            continue;
        }
        let unread = matches!(
            w,
            "-m" | "--module" | "-p" | "--module-path" | "--upgrade-module-path" | "--source"
        ) || w.starts_with("--module")
            || w.starts_with("--source")
            || w.starts_with("-javaagent:")
            || w.starts_with("-agentpath:")
            || w.starts_with("-splash:")
            || w.starts_with('@');
        if unread {
            return Err(Why::Whole(format!(
                "the java command line uses `{w}`, which restage does not read"
            )));
        }
        if matches!(
            w,
            "--add-modules"
                | "--add-opens"
                | "--add-exports"
                | "--add-reads"
                | "--patch-module"
                | "--limit-modules"
                | "--enable-native-access"
        ) {
            i += 2;
            continue;
        }
        if w.starts_with('-') {
            i += 1;
            continue;
        }
        if w.ends_with(".java") {
            return Err(Why::Refuse(format!(
                "the start command runs the source file `{w}`: java compiles it at start with the JDK's compiler, which a JRE lacks"
            )));
        }
        return Ok(Start::Classes(classpath));
    }
    Err(Why::Whole(
        "the start command's `java` names no jar or main class".to_string(),
    ))
}

/// What the runtime stage receives besides the data files: the artifact, or why restage
/// cannot name it.
fn artifacts(input: &Input, a: &Analysis) -> Result<Vec<String>, Why> {
    let Input {
        doc,
        stage,
        ctx,
        inherited,
        ..
    } = *input;
    let launch = artifact::launch(input, ctx)
        .ok_or_else(|| Why::Whole("the start command runs no program".to_string()))?;
    let program = launch.words.first().map_or("", |w| w.as_str());
    if crate::shell::base_name(program) != "java" {
        return Err(Why::Whole(format!(
            "the start command runs `{program}`, not `java` with a jar or classes restage can name"
        )));
    }
    let start = java_start(&launch.words)?;
    let b = builds(input, a);
    let workdir = a.workdir.as_str();
    // Configuration, scripts and data the app may read from its directory.
    let mut data = super::native::data_paths(doc, stage, ctx, workdir, java_source, inherited)
        .map_err(Why::Whole)?;
    data.retain(|d| !b.manifests.contains(d));
    let data = artifact::data_entries(data, workdir)?;
    let mut out = match start {
        // A jar the context copies in by name is one of the data entries.
        Start::Jar(jar)
            if data
                .iter()
                .any(|d| analysis::is_within(&analysis::join(workdir, &jar), d)) =>
        {
            Vec::new()
        }
        Start::Jar(jar) => jar_artifact(ctx, &b, workdir, &jar, launch.shell)?,
        Start::Classes(classpath) => {
            let sets_classpath = doc
                .indices_of(Kind::Env, stage.instructions.clone())
                .iter()
                .any(|&ix| {
                    analysis::declarations(doc, &doc.instructions()[ix])
                        .iter()
                        .any(|d| d.name == "CLASSPATH")
                });
            if classpath.is_none() && sets_classpath {
                return Err(Why::Whole(
                    "the class path comes from the CLASSPATH variable".to_string(),
                ));
            }
            class_path(&b, workdir, classpath.as_deref().unwrap_or("."), &data)?
        }
    };
    out.extend(data);
    Ok(out)
}

/// The jar `java -jar` runs, when restage saw the build write it and it needs nothing else.
fn jar_artifact(
    ctx: &Context,
    b: &Builds,
    workdir: &str,
    jar: &str,
    shell: bool,
) -> Result<Vec<String>, Why> {
    let path = analysis::join(workdir, jar);
    let dir = parent(&path);
    if is_pattern(&dir) {
        return Err(Why::Whole(format!(
            "the jar `{jar}` is a pattern over directories"
        )));
    }
    let pattern = is_pattern(file_name(&path));
    if pattern && !shell {
        return Err(Why::Whole(format!(
            "the jar `{jar}` is a pattern, which no shell expands in the exec form"
        )));
    }
    if !pattern && b.jars.contains(&path) {
        if b.javac_classpath {
            return Err(Why::Whole(
                "javac compiled against a class path, which the jar needs at run time".to_string(),
            ));
        }
        return Ok(vec![path]);
    }
    if let Some(target) = b.maven.iter().find(|m| match m {
        Ok(t) => *t == dir,
        Err(_) => true,
    }) {
        let target = target.clone().map_err(Why::Whole)?;
        return maven_jar(ctx, &target, &path).map(|p| vec![p]);
    }
    if let Some(g) = b.gradle.iter().find(|g| match g {
        Ok(g) => g.libs == dir,
        Err(_) => true,
    }) {
        let GradleBuild { libs, fat } = g.clone().map_err(Why::Whole)?;
        fat.map_err(Why::Whole)?;
        // Gradle names the jar after the project's version, which restage does not read: the
        // runtime stage receives every jar the build wrote there.
        return Ok(vec![libs]);
    }
    Err(Why::Whole(format!(
        "restage did not see the build write `{jar}`"
    )))
}

/// The jar of a Maven build, confirmed from pom.xml, at `path` in `target`.
fn maven_jar(ctx: &Context, target: &str, path: &str) -> Result<String, Why> {
    let whole = |why: &str| Err(Why::Whole(why.to_string()));
    let Some(pom) = &ctx.build.pom else {
        return whole(
            "pom.xml is not in the build context, so restage cannot confirm the jar's name",
        );
    };
    if !pom.modules.is_empty() {
        return whole(
            "pom.xml is a multi-module build, whose jars are in the modules' target directories",
        );
    }
    let (Some(final_name), Some(packaging)) = (&pom.final_name, &pom.packaging) else {
        return whole("pom.xml names the jar through a property restage does not resolve");
    };
    if packaging != "jar" && packaging != "war" {
        return Err(Why::Whole(format!(
            "pom.xml packages the project as `{packaging}`, not a jar"
        )));
    }
    let expected = format!("{final_name}.{packaging}");
    let name = file_name(path);
    let matches = if is_pattern(name) {
        Glob::new(name).is_ok_and(|g| g.compile_matcher().is_match(&expected))
    } else {
        name == expected
    };
    if !matches {
        return Err(Why::Whole(format!(
            "pom.xml names the jar {expected}, not `{name}`"
        )));
    }
    let packs = pom
        .plugins
        .iter()
        .any(|p| FAT_JAR_PLUGINS.contains(&p.as_str()));
    if !pom.runtime_dependencies.is_empty() && !packs {
        return Err(Why::Whole(format!(
            "pom.xml declares dependencies ({}) and no plugin that packs them into the jar ({}), so the jar needs them beside it",
            pom.runtime_dependencies.join(", "),
            FAT_JAR_PLUGINS.join(", ")
        )));
    }
    // A pattern is carried as written: it matches the same jars in the runtime stage.
    Ok(analysis::join(target, name))
}

/// The class-path entries of `java -cp`, each one something the build wrote or a data path of
/// the context; the working directory (`.`, the default) is carried whole.
fn class_path(
    b: &Builds,
    workdir: &str,
    classpath: &str,
    data: &[String],
) -> Result<Vec<String>, Why> {
    let mut out = Vec::new();
    for entry in classpath.split(':').filter(|e| !e.is_empty()) {
        let dir_entry = entry.strip_suffix("/*").or_else(|| entry.strip_suffix('*'));
        let e = dir_entry.unwrap_or(entry);
        if is_pattern(e) {
            return Err(Why::Whole(format!(
                "the class path entry `{entry}` is a pattern"
            )));
        }
        let path = analysis::join(workdir, if e.is_empty() { "." } else { e });
        let maven_classes = b
            .maven
            .iter()
            .flatten()
            .any(|t| analysis::is_within(&path, &format!("{t}/classes")));
        let built = b
            .class_dirs
            .iter()
            .chain(&b.jars)
            .any(|d| analysis::is_within(&path, d))
            || maven_classes;
        if path == workdir || built {
            out.push(path);
        } else if analysis::is_within(workdir, &path) {
            return Err(Why::Whole(format!(
                "the class path entry `{entry}` holds the application directory"
            )));
        } else if !data.iter().any(|d| analysis::is_within(&path, d)) {
            return Err(Why::Whole(format!(
                "restage did not see the build write the class path entry `{entry}`"
            )));
        }
    }
    if out.is_empty() && data.is_empty() {
        return Err(Why::Whole(
            "the class path names nothing restage can carry".to_string(),
        ));
    }
    Ok(out)
}

/// Java, Kotlin, Groovy and Scala sources, build files and build output directories.
fn java_source(name: &str) -> bool {
    [".java", ".kt", ".kts", ".groovy", ".scala", ".class"]
        .iter()
        .any(|ext| name.ends_with(ext))
        || matches!(
            name,
            "pom.xml"
                | "mvnw"
                | "mvnw.cmd"
                | "build.gradle"
                | "settings.gradle"
                | "gradle.properties"
                | "gradlew"
                | "gradlew.bat"
                | "gradle"
                | "buildSrc"
                | "src"
                | "target"
                | "build"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn jar_files() {
        let f = |s: &str| jar_args(&words(s));
        let file = |s: &str| f(s).file;
        assert_eq!(file("cf app.jar -C out .").as_deref(), Some("app.jar"));
        assert_eq!(
            f("cvfm app.jar m.txt -C out ."),
            JarArgs {
                file: Some("app.jar".into()),
                manifest: Some("m.txt".into())
            }
        );
        assert_eq!(
            f("cmf m.txt app.jar -C out ."),
            JarArgs {
                file: Some("app.jar".into()),
                manifest: Some("m.txt".into())
            }
        );
        assert_eq!(
            file("cef Main app.jar -C out .").as_deref(),
            Some("app.jar")
        );
        assert_eq!(
            file("--create --file build/app.jar --main-class M -C out .").as_deref(),
            Some("build/app.jar")
        );
        assert_eq!(
            f("-c -f=x.jar --manifest=META.MF -C out ."),
            JarArgs {
                file: Some("x.jar".into()),
                manifest: Some("META.MF".into())
            }
        );
        assert_eq!(f("tf app.jar"), JarArgs::default());
        assert_eq!(f("--list --file app.jar"), JarArgs::default());
        assert_eq!(f("xf app.jar"), JarArgs::default());
    }

    #[test]
    fn java_command_lines() {
        let jar = |s: &str| match java_start(&words(s)) {
            Ok(Start::Jar(j)) => j,
            _ => panic!("{s}"),
        };
        assert_eq!(jar("java -Xmx512m -Dx=y -jar app.jar --port 1"), "app.jar");
        assert_eq!(
            jar("java --add-opens java.base/java.lang=ALL-UNNAMED -jar a.jar"),
            "a.jar"
        );
        assert!(matches!(
            java_start(&words("java -cp out:lib/* com.acme.Main")),
            Ok(Start::Classes(Some(cp))) if cp == "out:lib/*"
        ));
        assert!(matches!(
            java_start(&words("java Main")),
            Ok(Start::Classes(None))
        ));
        assert!(matches!(
            java_start(&words("java Main.java")),
            Err(Why::Refuse(_))
        ));
        for whole in [
            "java $JAVA_OPTS -jar app.jar",
            "java -javaagent:/a.jar -jar app.jar",
            "java -m app/com.acme.Main",
            "java @args",
            "java -Xmx1g",
        ] {
            assert!(
                matches!(java_start(&words(whole)), Err(Why::Whole(_))),
                "{whole}"
            );
        }
    }

    #[test]
    fn sources_are_not_data() {
        for s in [
            "pom.xml",
            "src",
            "Main.java",
            "build.gradle.kts",
            "gradlew",
            "target",
        ] {
            assert!(java_source(s), "{s}");
        }
        for d in ["config", "application.yml", "lib", "run.sh", "data.json"] {
            assert!(!java_source(d), "{d}");
        }
    }
}
