#!/usr/bin/env python3
"""Known-breaker checks over the rewrites of a real-world scan.

Usage: scripts/breakers.py WORK_FOLDER [--show N]

WORK_FOLDER is the folder that ../shared/realworld/scan.sh prints at its end (orig/<name>/Dockerfile
and out/<name>/Dockerfile). For every file restage changed, this reads the original and the rewrite
and looks for the shapes that broke real builds or that a reviewer rejects:

  replay-mkdir      the runtime stage runs `mkdir` (no -p) on a path a COPY --from already created
  replay-data       the runtime stage runs rm/touch/mv/cp on a path carried from the build stage
  missing-path      the runtime stage runs chmod/chown on a path it neither carried nor created
  venv-python2      `python3 -m venv` inserted on a python:2 image
  suite-names       bookworm-only runtime package names installed on an older Debian suite
  npm-omit-old      `npm prune --omit=dev` on node 14 or older (npm 6 ignores --omit)
  prune-too-early   a RUN that builds comes after the inserted prune in the build stage
  root-home-user    a non-root USER added while the app lives under /root (mode 0700)
  carry-tmp         COPY --from=... of /tmp, /var/tmp, /root/.cache, /var/cache or apt lists
  dev-in-runtime    a -dev / -devel package installed in the runtime stage
  label-after-user  LABEL/MAINTAINER moved after the added USER
  blank-holes       more consecutive blank lines than the original had anywhere
  no-shell          a runtime stage on an image without a shell (distroless, scratch) whose start
                    command needs one: shell form, a shell or a `.sh` script named, or a RUN
  chown-removed     an added chown names a directory the original removes (rm, rmdir, mv) after
                    making it, and does not make again

Prints a count per check and up to N examples each (default 3). Exit 1 when any check fires.
`breakers.py --self-test` runs the checks on small written cases (each must fire or stay quiet).
"""

import fnmatch
import os
import re
import sys

BOOKWORM_ONLY = {
    "libssl3", "libffi8", "libtiff6", "libicu72", "libwebp7", "libavif15", "libdav1d6",
    "libx265-199", "libvpx7", "libzstd1", "libpython3.11",
}
OLD_SUITES = ("jessie", "stretch", "buster", "bullseye")
SCRATCH_DIRS = ("/tmp", "/var/tmp", "/root/.cache", "/var/cache", "/var/lib/apt")


def logical_lines(text):
    """Instructions with continuations joined; comments and blank lines dropped."""
    out = []
    cur = ""
    for raw in text.splitlines():
        line = raw.rstrip("\r")
        s = line.strip()
        if not cur and (not s or s.startswith("#")):
            continue
        if cur and s.startswith("#"):
            continue
        if line.rstrip().endswith("\\"):
            cur += line.rstrip()[:-1] + " "
            continue
        cur += line
        out.append(cur.strip())
        cur = ""
    if cur.strip():
        out.append(cur.strip())
    return out


def stages(text):
    st = []
    for ins in logical_lines(text):
        kw = ins.split(None, 1)[0].upper() if ins.split() else ""
        if kw == "FROM":
            st.append([ins])
        elif st:
            st[-1].append(ins)
    return st


def kw_args(ins):
    parts = ins.split(None, 1)
    return parts[0].upper(), (parts[1] if len(parts) > 1 else "")


def norm(path):
    parts = []
    for p in path.split("/"):
        if p in ("", "."):
            continue
        if p == "..":
            if parts:
                parts.pop()
            continue
        parts.append(p)
    return "/" + "/".join(parts)


def within(path, d):
    d = norm(d)
    p = norm(path)
    return d == "/" or p == d or p.startswith(d + "/")


def runtime_facts(stage):
    """WORKDIR (last), carried destinations (with the WORKDIRs, which create their directory),
    runtime RUN texts with their WORKDIR, and the COPY --from destinations alone."""
    workdir = "/"
    carried = []
    copied = []
    runs = []
    for ins in stage[1:]:
        kw, args = kw_args(ins)
        if kw == "WORKDIR":
            w = args.strip().strip('"').strip("'")
            if "$" in w:
                # A variable: not resolved here, so no path-based check trusts it.
                workdir = "/$unresolved"
                continue
            workdir = norm(w if w.startswith("/") else workdir + "/" + w)
            carried.append(workdir)  # WORKDIR creates the directory
        elif kw == "COPY" and re.search(r"--from=", args):
            words = [w for w in args.split() if not w.startswith("--")]
            if len(words) >= 2:
                dest = words[-1].strip('"')
                dest = dest if dest.startswith("/") else workdir + "/" + dest
                carried.append(norm(dest))
                copied.append(norm(dest))
        elif kw == "RUN":
            runs.append((workdir, args))
    return workdir, carried, runs, copied


def commands(run_text):
    return [c.strip() for c in re.split(r"&&|\|\||;", run_text) if c.strip()]


def paths_of(cmd, workdir):
    words = cmd.split()[1:]
    out = []
    for w in words:
        if w.startswith("-") or "$" in w or "=" in w:
            continue
        w = w.strip('"').strip("'")
        if not w:
            continue
        out.append(norm(w if w.startswith("/") else workdir + "/" + w))
    return out


def removed_dirs(text):
    """Literal paths the RUNs of the last stage of `text` remove (rm, rmdir, the sources of mv)
    and no later mkdir makes again, followed through WORKDIR and a literal `cd`. Words from a
    command substitution on are not read."""
    gone = []
    for stage in stages(text)[-1:]:
        workdir = "/"
        for ins in stage[1:]:
            kw, args = kw_args(ins)
            if kw == "WORKDIR":
                w = args.strip().strip('"').strip("'")
                workdir = "/$unresolved" if "$" in w else norm(w if w.startswith("/") else workdir + "/" + w)
                continue
            if kw != "RUN":
                continue
            wd = workdir
            for cmd in commands(args):
                cmd = re.split(r"\$\(|`", cmd)[0]
                words = cmd.split()
                prog = words[0] if words else ""
                targets = [t for t in paths_of(cmd, wd) if not any(ch in t for ch in "*?[")]
                if prog == "cd":
                    wd = targets[0] if targets else "/$unresolved"
                elif prog in ("rm", "rmdir"):
                    gone.extend(targets)
                elif prog == "mv":
                    gone.extend(targets[:-1])
                elif prog == "mkdir":
                    gone = [g for g in gone if not any(within(t, g) for t in targets)]
    return [g for g in gone if "$unresolved" not in g]


def check(orig, out):
    found = []
    # A chown restage added, of a directory the original takes away: the RUN fails. (A split's
    # runtime stage is checked by missing-path: it has only what it carries and replays.)
    so_, sw_ = stages(orig), stages(out)
    new_lines = [line for line in out.splitlines() if line not in orig.splitlines()]
    added = [line for line in new_lines if "chown" in line]
    if added and len(so_) == len(sw_):
        # What the added lines make again with `mkdir -p` is there for the chown.
        remade = [
            t
            for line in new_lines
            for cmd in commands(line.replace("\\", " "))
            if cmd.split()[:1] == ["mkdir"] or cmd.split()[:2] == ["RUN", "mkdir"]
            for t in paths_of(cmd.split(None, 1)[1] if cmd.startswith("RUN") else cmd, "/")
        ]
        gone = removed_dirs(orig)
        for line in added:
            for cmd in commands(line.replace("\\", " ")):
                if cmd.split()[:1] == ["RUN"]:
                    cmd = cmd[3:].strip()
                if cmd.split()[:1] != ["chown"]:
                    continue
                targets = [t for t in paths_of(cmd, "/")[1:] if t not in remade]
                if any(within(t, g) for t in targets for g in gone):
                    found.append(("chown-removed", cmd))
    so, sw = stages(orig), stages(out)
    if not sw:
        return found
    split = len(so) == 1 and len(sw) > 1
    final = sw[-1]
    from_final = final[0]
    from_first = sw[0][0]
    workdir, carried, runs, copied = runtime_facts(final)
    # A WORKDIR creates its own directory, not the directories below it.
    workdirs = [c for c in carried if c not in copied]

    if split:
        created = []
        # A package the runtime stage installs creates its own /etc, /var/lib and /var/log
        # directories (nginx: /var/lib/nginx).
        for _, text in runs:
            for cmd in commands(text):
                words = cmd.split()
                if words[:2] in (["apt-get", "install"], ["apt", "install"], ["apk", "add"]):
                    for name in words[2:]:
                        if not name.startswith("-"):
                            name = re.split(r"[=<>:]", name)[0]
                            created.extend(f"{d}/{name}" for d in ("/etc", "/var/lib", "/var/log"))
        for wd, text in runs:
            for cmd in commands(text):
                prog = cmd.split()[0] if cmd.split() else ""
                if prog == "cd":
                    # Follow a literal `cd` for the commands after it in the same RUN.
                    dirs = paths_of(cmd, wd)
                    if dirs:
                        wd = dirs[0]
                    continue
                targets = paths_of(cmd, wd)
                if prog == "mkdir" and not re.search(r"(^|\s)-[a-zA-Z]*p", cmd):
                    for t in targets:
                        if any(within(t, c) for c in copied) or t in workdirs or t == workdir:
                            found.append(("replay-mkdir", cmd))
                if prog in ("rm", "touch", "mv", "cp"):
                    # cp reads its sources: only the destination is written.
                    for t in targets[-1:] if prog == "cp" else targets:
                        if any(within(t, c) for c in carried):
                            found.append(("replay-data", cmd))
                            break
                if prog in ("chmod", "chown"):
                    for t in targets[1:] if prog == "chown" else targets:
                        if re.fullmatch(r"/[0-7]{3,4}|/[ugoa]*[+-=][rwxXst]+", t):
                            continue
                        if any(ch in t for ch in "*?[") and any(
                            fnmatch.fnmatch(c, t) for c in carried + created
                        ):
                            continue
                        if not any(within(t, c) for c in carried + created) and not t.startswith(
                            ("/usr/", "/etc/", "/bin/", "/sbin/", "/lib")
                        ):
                            found.append(("missing-path", cmd))
                            break
                if prog in ("mkdir", "touch", "cp", "mv", "ln", "install"):
                    created.extend(targets)
        if re.search(r"python:2", from_first) and "python3 -m venv" in out and "python3 -m venv" not in orig:
            found.append(("venv-python2", from_first))
        tag = from_final.split(":", 1)[1] if ":" in from_final else ""
        if any(s in tag for s in OLD_SUITES):
            for _, text in runs:
                for name in BOOKWORM_ONLY:
                    if re.search(r"(?<![\w.-])" + re.escape(name) + r"(?![\w.-])", text):
                        found.append(("suite-names", f"{from_final}: {name}"))
        image = from_final.split()[1] if len(from_final.split()) > 1 else ""
        if "distroless" in image or image == "scratch":
            for ins in final[1:]:
                kw, args = kw_args(ins)
                needs = kw == "RUN" or (
                    kw in ("CMD", "ENTRYPOINT")
                    and (
                        not args.lstrip().startswith("[")
                        or re.search(r'"(/bin/|/usr/bin/)?(sh|bash|ash|dash)"|\.(sh|bash)"', args)
                    )
                )
                if needs:
                    found.append(("no-shell", f"{image}: {ins[:60]}"))
        m = re.search(r"node:(\d+)", from_first)
        if m and int(m.group(1)) <= 14 and "npm prune --omit=dev" in out:
            found.append(("npm-omit-old", from_first))
        build = sw[0]
        pruned = False
        for ins in build[1:]:
            kw, args = kw_args(ins)
            if kw == "RUN" and re.search(r"\b(npm|yarn|pnpm) prune\b|--omit=dev|--production", args) and "prune" in args:
                if "prune" not in orig or args not in orig:
                    pruned = True
                    continue
            if pruned and kw == "RUN" and re.search(r"\b(npm run|yarn (run )?build|tsc|webpack|vite|next build|ng build)\b", args):
                found.append(("prune-too-early", args[:80]))
        for ins in final[1:]:
            kw, args = kw_args(ins)
            if kw == "COPY" and "--from=" in args:
                words = [w for w in args.split() if not w.startswith("--")]
                start = " ".join(
                    kw_args(i)[1] for i in final if kw_args(i)[0] in ("CMD", "ENTRYPOINT")
                )
                scratch = [
                    w for w in words[:-1]
                    if norm(w) in SCRATCH_DIRS or any(within(w, d) for d in SCRATCH_DIRS)
                ]
                # A scratch file the start command runs is needed at run time.
                if any(norm(w) not in start for w in scratch):
                    found.append(("carry-tmp", ins))
            if kw == "RUN" and re.search(r"(apt-get|apt|apk) (install|add)", args):
                for w in args.split():
                    if re.search(r"-(dev|devel)$", w):
                        found.append(("dev-in-runtime", w))
        seen_user = False
        for ins in final[1:]:
            kw, _ = kw_args(ins)
            if kw == "USER":
                seen_user = True
            elif kw in ("LABEL", "MAINTAINER") and seen_user:
                if not any(kw_args(i)[0] == "USER" for i in so[0]):
                    found.append(("label-after-user", ins[:60]))
    # non-root-user on any rewrite
    users_o = [kw_args(i)[1].strip() for s in so[-1:] for i in s if kw_args(i)[0] == "USER"]
    users_w = [kw_args(i)[1].strip() for i in final if kw_args(i)[0] == "USER"]
    if users_w and users_w != users_o and users_w[-1] not in ("root", "0", "0:0"):
        if workdir == "/root" or workdir.startswith("/root/"):
            found.append(("root-home-user", f"WORKDIR {workdir}"))
        else:
            for ins in final[1:]:
                kw, args = kw_args(ins)
                if kw in ("COPY", "ADD"):
                    words = [w for w in args.split() if not w.startswith("--")]
                    # /root itself or a path under it; a plain prefix test would also flag
                    # /rootfs or /root-data, which are not root's home.
                    if len(words) >= 2 and words[-1].startswith("/") and within(words[-1].strip('"'), "/root"):
                        found.append(("root-home-user", ins[:60]))
                        break

    def max_blank(text):
        best = run = 0
        for line in text.splitlines():
            if line.strip() == "":
                run += 1
                best = max(best, run)
            else:
                run = 0
        return best

    if max_blank(out) > max(max_blank(orig), 1):
        found.append(("blank-holes", f"{max_blank(orig)} -> {max_blank(out)}"))
    return found


# (original, rewrite, the checks that must fire): run by `breakers.py --self-test`.
SELF_TEST = [
    (
        "FROM node:20\nWORKDIR /app\nCOPY . .\nRUN mkdir data\nCMD node s.js\n",
        "FROM node:20 AS build\nWORKDIR /app\nCOPY . .\nRUN mkdir data\n\n"
        "FROM node:20-slim\nWORKDIR /app\nCOPY --from=build /app /app\nRUN mkdir data\nCMD node s.js\n",
        ["replay-mkdir"],
    ),
    (
        "FROM golang:1.22\nWORKDIR /go/src\nRUN mkdir ./app/\nRUN go install ./...\nCMD [\"app\"]\n",
        "FROM golang:1.22 AS build\nWORKDIR /go/src\nRUN mkdir ./app/\nRUN go install ./...\n\n"
        "FROM debian:12-slim\nWORKDIR /go/src\nCOPY --from=build /go/bin/app /usr/local/bin/app\n"
        "RUN mkdir ./app/\nCMD [\"app\"]\n",
        [],
    ),
    (
        "FROM ruby:3\nRUN apt-get install -y nginx\nRUN chown -R www-data /var/lib/nginx\nCMD x\n",
        "FROM ruby:3 AS build\nRUN apt-get install -y nginx\n\nFROM ruby:3-slim\n"
        "RUN apt-get install -y nginx\nRUN chown -R www-data /var/lib/nginx\nCMD x\n",
        [],
    ),
    (
        "FROM ruby:3\nRUN chown -R www-data /var/lib/nginx\nCMD x\n",
        "FROM ruby:3 AS build\n\nFROM ruby:3-slim\nRUN chown -R www-data /var/lib/nginx\nCMD x\n",
        ["missing-path"],
    ),
]


SELF_TEST += [
    (
        "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN go build -o app .\nCMD [\"./start.sh\"]\n",
        "FROM golang:1.22 AS build\nWORKDIR /src\nCOPY . .\nRUN go build -o app .\n\n"
        "FROM gcr.io/distroless/base-debian12\nWORKDIR /src\nCOPY --from=build /src /src\n"
        "CMD [\"./start.sh\"]\n",
        ["no-shell"],
    ),
    (
        "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN go build -o app .\nCMD [\"./app\"]\n",
        "FROM golang:1.22 AS build\nWORKDIR /src\nCOPY . .\nRUN go build -o app .\n\n"
        "FROM gcr.io/distroless/static-debian12\nWORKDIR /src\nCOPY --from=build /src/app /src/app\n"
        "CMD [\"./app\"]\n",
        [],
    ),
    (
        "FROM node:20-slim\nWORKDIR /app\nRUN mkdir -p tmp/x data && rm -rf tmp\nCMD node s.js\n",
        "FROM node:20-slim\nWORKDIR /app\nRUN mkdir -p tmp/x data && rm -rf tmp\n"
        "RUN chown 1000:1000 /app/tmp/x /app/data /app\nUSER 1000:1000\nCMD node s.js\n",
        ["chown-removed"],
    ),
    (
        "FROM node:20-slim\nWORKDIR /app\nRUN mkdir -p tmp/x && rm -rf $(ls) tmp\nCMD node s.js\n",
        "FROM node:20-slim\nWORKDIR /app\nRUN mkdir -p tmp/x && rm -rf $(ls) tmp\n"
        "RUN mkdir -p /app/tmp/x \\\n    && chown 1000:1000 /app/tmp/x /app\nUSER 1000:1000\nCMD node s.js\n",
        [],
    ),
    (
        "FROM alpine:3\nWORKDIR /ci\nCOPY . .\nRUN rm -rf /tmp/* $(find / -name x)\nCMD [\"x\"]\n",
        "FROM alpine:3\nWORKDIR /ci\nCOPY . .\nRUN rm -rf /tmp/* $(find / -name x)\n"
        "RUN chown 10001:10001 /ci\nUSER 10001:10001\nCMD [\"x\"]\n",
        [],
    ),
    (
        "FROM node:20-slim\nWORKDIR /app\nRUN rm -rf data && mkdir -p data\nCMD node s.js\n",
        "FROM node:20-slim\nWORKDIR /app\nRUN rm -rf data && mkdir -p data\n"
        "RUN chown 1000:1000 /app/data /app\nUSER 1000:1000\nCMD node s.js\n",
        [],
    ),
]


def self_test():
    failures = 0
    for i, (orig, out, expected) in enumerate(SELF_TEST):
        got = sorted({cls for cls, _ in check(orig, out)})
        if got != sorted(expected):
            print(f"self-test case {i}: expected {expected}, got {got}")
            failures += 1
    print(f"{len(SELF_TEST) - failures} passed, {failures} failed")
    return 1 if failures else 0


def main():
    if "--self-test" in sys.argv:
        return self_test()
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    w = sys.argv[1]
    show = 3
    if "--show" in sys.argv:
        show = int(sys.argv[sys.argv.index("--show") + 1])
    counts = {}
    examples = {}
    changed = 0
    for name in sorted(os.listdir(os.path.join(w, "out"))):
        try:
            o = open(os.path.join(w, "orig", name, "Dockerfile"), "rb").read().decode("utf-8", "replace")
            n = open(os.path.join(w, "out", name, "Dockerfile"), "rb").read().decode("utf-8", "replace")
        except OSError:
            continue
        if o == n:
            continue
        changed += 1
        for cls, what in check(o, n):
            counts[cls] = counts.get(cls, 0) + 1
            examples.setdefault(cls, [])
            if len(examples[cls]) < show:
                examples[cls].append(f"{name}: {what}")
    print(f"breakers over {changed} rewritten files: {sum(counts.values())}")
    for cls in sorted(counts, key=lambda c: -counts[c]):
        print(f"  {counts[cls]:5} {cls}")
        for e in examples[cls]:
            print(f"        {e[:160]}")
    return 1 if counts else 0


if __name__ == "__main__":
    sys.exit(main())
