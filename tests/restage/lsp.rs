//! `restage lsp` driven as a child process with JSON-RPC messages, as an editor would: the
//! handshake, diagnostics on open/change/save, code actions whose edits give the same text as
//! `restage --write`, hover, shutdown and exit. The whole conversation is pinned in snapshots
//! (the temporary directory shown as `$DIR`).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use lsp_server::{Message, Notification, Request, RequestId};
use serde_json::{Value, json};

/// A Node project whose Dockerfile has a safe `exec-form` change at line 5 and an unsafe
/// `non-root-user` change at line 4 (an explicit `USER root`).
const DOCKERFILE: &str =
    "FROM node:20-slim\nWORKDIR /app\nCOPY . .\nUSER root\nCMD node server.js\n";

fn project() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(
        dir.join("package.json"),
        "{\"name\":\"app\",\"version\":\"1.0.0\"}\n",
    )
    .unwrap();
    std::fs::write(dir.join("server.js"), "console.log('up');\n").unwrap();
    std::fs::write(dir.join("Dockerfile"), DOCKERFILE).unwrap();
    tmp
}

struct Client {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    next_id: i32,
    /// Every message sent and received, for the snapshot.
    transcript: Vec<Value>,
    dir: String,
}

impl Client {
    fn start(dir: &Path, args: &[&str]) -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_restage"))
            .arg("lsp")
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("restage lsp starts");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut client = Client {
            child,
            stdin,
            stdout,
            next_id: 0,
            transcript: Vec::new(),
            dir: dir.to_str().unwrap().to_string(),
        };
        let init = client.request(
            "initialize",
            json!({"processId": null, "rootUri": null, "capabilities": {}}),
        );
        assert_eq!(
            init["result"]["capabilities"],
            json!({
                "textDocumentSync": {"openClose": true, "change": 1, "save": {"includeText": false}},
                "hoverProvider": true,
                "codeActionProvider": {"codeActionKinds": ["quickfix", "source.fixAll"]},
            })
        );
        client.notify("initialized", json!({}));
        client
    }

    fn send(&mut self, message: Message) {
        let text = serde_json::to_string(&message)
            .unwrap()
            .replace(&self.dir, "$DIR");
        let value: Value = serde_json::from_str(&text).unwrap();
        self.transcript.push(json!({ "client": value }));
        message.write(&mut self.stdin).unwrap();
        self.stdin.flush().unwrap();
    }

    /// The next message, logged as it came (`Message` would drop a `"result": null`).
    fn receive(&mut self) -> Message {
        let mut length = None;
        loop {
            let mut line = String::new();
            let n = self.stdout.read_line(&mut line).unwrap();
            assert!(n > 0, "the server closed its output");
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(v) = line.strip_prefix("Content-Length: ") {
                length = Some(v.parse::<usize>().unwrap());
            }
        }
        let mut body = vec![0; length.expect("a Content-Length header")];
        self.stdout.read_exact(&mut body).unwrap();
        let text = String::from_utf8(body).unwrap();
        let value: Value = serde_json::from_str(&text.replace(&self.dir, "$DIR")).unwrap();
        self.transcript.push(json!({ "server": value }));
        serde_json::from_str(&text).unwrap()
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(Message::Notification(Notification::new(
            method.to_string(),
            params,
        )));
    }

    /// Sends a request and returns its response (as JSON), after any notifications before it.
    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = RequestId::from(self.next_id);
        self.send(Message::Request(Request::new(
            id.clone(),
            method.to_string(),
            params,
        )));
        loop {
            if let Message::Response(r) = self.receive()
                && r.id == id
            {
                return serde_json::to_value(r).unwrap();
            }
        }
    }

    /// The next published diagnostics.
    fn diagnostics(&mut self) -> Value {
        match self.receive() {
            Message::Notification(n) if n.method == "textDocument/publishDiagnostics" => n.params,
            other => panic!("expected diagnostics, got {other:?}"),
        }
    }

    /// shutdown, exit, and the server's exit code; its stderr must be `stderr`.
    fn finish_with_stderr(mut self, stderr: &str) -> (Vec<Value>, Option<i32>) {
        let response = self.request("shutdown", Value::Null);
        assert_eq!(response["result"], Value::Null, "{response}");
        self.notify("exit", Value::Null);
        drop(self.stdin);
        let out = self.child.wait_with_output().unwrap();
        assert_eq!(String::from_utf8(out.stderr).unwrap(), stderr);
        (self.transcript, out.status.code())
    }

    /// shutdown, exit, and the server's exit code; nothing on stderr.
    fn finish(self) -> (Vec<Value>, Option<i32>) {
        self.finish_with_stderr("")
    }
}

/// `value` with the temporary directory shown as `$DIR`.
fn scrub(value: &Value, dir: &str) -> Value {
    serde_json::from_str(&value.to_string().replace(dir, "$DIR")).unwrap()
}

fn uri(path: &Path) -> String {
    lsp_types::Url::from_file_path(path).unwrap().to_string()
}

/// Applies LSP text edits (sorted, not overlapping) to `text`.
fn apply(text: &str, edits: &Value) -> String {
    let edits: Vec<lsp_types::TextEdit> = serde_json::from_value(edits.clone()).unwrap();
    restage::lsp::position::apply_edits(text, &edits)
}

/// What `restage --write ARGS` makes of the project's Dockerfile, in a fresh copy.
fn written_by_cli(args: &[&str]) -> String {
    let tmp = project();
    let out = Command::new(env!("CARGO_BIN_EXE_restage"))
        .arg("--write")
        .args(args)
        .arg("Dockerfile")
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    std::fs::read_to_string(tmp.path().join("Dockerfile")).unwrap()
}

fn explain(id: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_restage"))
        .args(["explain", id])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    String::from_utf8(out.stdout).unwrap()
}

fn code_actions(client: &mut Client, uri: &str, line: u32, diagnostics: &Value) -> Value {
    let at = json!({"line": line, "character": 0});
    let response = client.request(
        "textDocument/codeAction",
        json!({
            "textDocument": {"uri": uri},
            "range": {"start": at, "end": at},
            "context": {"diagnostics": diagnostics},
        }),
    );
    response["result"].clone()
}

fn at_line(diagnostics: &Value, line: u32) -> Value {
    Value::Array(
        diagnostics["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["range"]["start"]["line"] == line)
            .cloned()
            .collect(),
    )
}

#[test]
fn diagnostics_code_actions_and_hover_on_a_file_on_disk() {
    let tmp = project();
    let dir = tmp.path();
    let uri = uri(&dir.join("Dockerfile"));
    let mut client = Client::start(dir, &[]);
    client.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "dockerfile", "version": 1, "text": DOCKERFILE}}),
    );
    let published = client.diagnostics();
    assert_eq!(
        published,
        json!({
            "uri": uri,
            "version": 1,
            "diagnostics": [
                {
                    "range": {"start": {"line": 4, "character": 0}, "end": {"line": 5, "character": 0}},
                    "severity": 2,
                    "code": "exec-form",
                    "source": "restage",
                    "message": "Write CMD in exec form (safe): Shell form runs `node server.js` under /bin/sh as PID 1, which does not forward SIGTERM; exec form starts it directly with the same words",
                    "data": {"id": "exec-form", "applicability": "safe", "title": "Write CMD in exec form"},
                },
                {
                    "range": {"start": {"line": 3, "character": 0}, "end": {"line": 4, "character": 0}},
                    "severity": 3,
                    "code": "non-root-user",
                    "source": "restage",
                    "message": published["diagnostics"][1]["message"],
                    "data": {"id": "non-root-user", "applicability": "unsafe", "title": "Run as the image's user node"},
                },
            ],
        })
    );

    // The safe change: its own action, and the action for everything `--write` applies.
    let actions = code_actions(&mut client, &uri, 4, &at_line(&published, 4));
    let titles: Vec<&str> = actions
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        [
            "restage: Write CMD in exec form",
            "restage: apply all safe changes"
        ]
    );
    let one = apply(DOCKERFILE, &actions[0]["edit"]["changes"][&uri]);
    assert_eq!(one, written_by_cli(&["--select", "exec-form"]));
    let all = apply(DOCKERFILE, &actions[1]["edit"]["changes"][&uri]);
    assert_eq!(all, written_by_cli(&[]));
    assert_eq!(
        all,
        "FROM node:20-slim\nWORKDIR /app\nCOPY . .\nUSER root\nCMD [\"node\", \"server.js\"]\n"
    );

    // The unsafe change: applied as `--unsafe-fixes` would, on its own.
    let actions = code_actions(&mut client, &uri, 3, &at_line(&published, 3));
    assert_eq!(actions[0]["title"], "restage: Run as the image's user node");
    let unsafe_one = apply(DOCKERFILE, &actions[0]["edit"]["changes"][&uri]);
    assert_eq!(
        unsafe_one,
        written_by_cli(&["--select", "non-root-user", "--unsafe-fixes"])
    );
    assert_ne!(unsafe_one, DOCKERFILE);

    // Hover on the change: `restage explain`.
    let hover = client.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": uri}, "position": {"line": 4, "character": 3}}),
    );
    assert_eq!(hover["result"]["contents"]["kind"], "markdown");
    assert_eq!(hover["result"]["contents"]["value"], explain("exec-form"));
    // Nothing restage says about line 2.
    let hover = client.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": uri}, "position": {"line": 1, "character": 0}}),
    );
    assert_eq!(hover["result"], Value::Null);

    let (mut transcript, code) = client.finish();
    assert_eq!(code, Some(0));
    // The long texts are checked above; the snapshot keeps the shape of the conversation.
    for m in &mut transcript {
        if let Some(v) = m.pointer_mut("/server/result/contents/value") {
            *v = json!("<restage explain exec-form>");
        }
    }
    insta::assert_yaml_snapshot!("lsp-on-disk", transcript);
}

#[test]
fn unsaved_buffer_config_changes_and_errors() {
    let tmp = project();
    let dir = tmp.path();
    // restage.toml is honoured: exec-form never runs here.
    std::fs::write(dir.join("restage.toml"), "ignore = [\"exec-form\"]\n").unwrap();
    // Not on disk: its build context is still the directory.
    let config_uri = uri(&dir.join("restage.toml"));
    let uri = uri(&dir.join("web.Dockerfile"));
    let mut client = Client::start(dir, &[]);
    let text = "FROM node:20-slim\nWORKDIR /app\nCOPY . .\nCMD node server.js\n";
    client.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "dockerfile", "version": 1, "text": text}}),
    );
    let first = client.diagnostics();
    let codes: Vec<&Value> = first["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["code"])
        .collect();
    assert_eq!(codes, [&json!("non-root-user")]);
    let actions = code_actions(&mut client, &uri, 0, &first["diagnostics"]);
    let edited = apply(text, &actions[0]["edit"]["changes"][&uri]);
    assert_eq!(
        edited,
        "FROM node:20-slim\nWORKDIR /app\nCOPY . .\nRUN chown 1000:1000 /app\nUSER 1000:1000\nCMD node server.js\n"
    );

    // An edit that leaves nothing to change.
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": edited}]}),
    );
    let second = client.diagnostics();
    assert_eq!(second["diagnostics"], json!([]));
    assert_eq!(second["version"], 2);

    // A line restage cannot parse: an error at its place.
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 3}, "contentChanges": [{"text": "FROM node:20-slim\nCOPY --chmod=644 é\n"}]}),
    );
    let third = client.diagnostics();

    // Back to the first text.
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 4}, "contentChanges": [{"text": text}]}),
    );
    let fourth = client.diagnostics();
    assert_eq!(fourth["diagnostics"], first["diagnostics"]);
    // The config changes on disk; a save of any file re-checks the open documents with it.
    std::fs::write(dir.join("restage.toml"), "ignore = [\"bogus\"]\n").unwrap();
    client.notify(
        "textDocument/didSave",
        json!({"textDocument": {"uri": config_uri}}),
    );
    let fifth = client.diagnostics();

    client.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": uri}}),
    );
    let closed = client.diagnostics();
    assert_eq!(closed["diagnostics"], json!([]));
    let (transcript, code) = client.finish();
    assert_eq!(code, Some(0));
    let dir = dir.to_str().unwrap();
    insta::assert_yaml_snapshot!(
        "lsp-unsaved",
        (scrub(&third, dir), scrub(&fifth, dir), transcript.len())
    );
}

#[test]
fn a_suggestion_is_a_hint_without_an_action() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let text = "FROM mycorp/base:1\nCOPY app /app\nCMD /app/run --port 8080\n";
    let uri = uri(&dir.join("Dockerfile"));
    let mut client = Client::start(dir, &["--no-config"]);
    client.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "dockerfile", "version": 7, "text": text}}),
    );
    let published = client.diagnostics();
    let hint = &published["diagnostics"][1];
    assert_eq!(hint["code"], "non-root-user");
    assert_eq!(hint["severity"], 4);
    assert_eq!(
        hint["range"],
        json!({"start": {"line": 0, "character": 0}, "end": {"line": 1, "character": 0}})
    );
    let actions = code_actions(&mut client, &uri, 0, &at_line(&published, 0));
    let titles: Vec<&Value> = actions
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["title"])
        .collect();
    assert_eq!(titles, [&json!("restage: apply all safe changes")]);
    let (_, code) = client.finish();
    assert_eq!(code, Some(0));
}

#[test]
fn exit_without_shutdown_exits_1() {
    let tmp = tempfile::tempdir().unwrap();
    let mut client = Client::start(tmp.path(), &[]);
    client.notify("exit", Value::Null);
    drop(client.stdin);
    let out = client.child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8(out.stderr).unwrap(), "");
}

#[test]
fn bad_and_unknown_requests_are_answered_with_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let mut client = Client::start(tmp.path(), &[]);
    let response = client.request("textDocument/hover", json!({"position": 3}));
    assert_eq!(
        response["error"],
        json!({"code": -32602, "message": "bad parameters: invalid type: integer `3`, expected struct Position"})
    );
    let response = client.request("textDocument/formatting", json!({}));
    assert_eq!(response["error"]["code"], -32601);
    assert_eq!(
        response["error"]["message"],
        "restage does not handle `textDocument/formatting`"
    );
    let (_, code) = client.finish();
    assert_eq!(code, Some(0));
}

#[test]
fn an_untitled_buffer_is_checked_and_a_bad_notification_is_dropped() {
    let tmp = tempfile::tempdir().unwrap();
    let mut client = Client::start(tmp.path(), &["--no-config"]);
    // No `languageId` and no text: reported on stderr, nothing published, the server goes on.
    client.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": "file:///x/Dockerfile"}}),
    );
    client.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": "untitled:Untitled-1", "languageId": "dockerfile", "version": 1, "text": "FROM node:20-slim\nCMD node server.js\n"}}),
    );
    let published = client.diagnostics();
    assert_eq!(published["uri"], "untitled:Untitled-1");
    let codes: Vec<&Value> = published["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["code"])
        .collect();
    assert_eq!(codes, [&json!("exec-form"), &json!("non-root-user")]);
    let (_, code) = client.finish_with_stderr(
        "restage lsp: bad parameters of `textDocument/didOpen`: missing field `languageId`\n",
    );
    assert_eq!(code, Some(0));
}

#[test]
fn one_action_applies_every_change_of_its_transform() {
    let tmp = project();
    let dir = tmp.path();
    std::fs::write(
        dir.join("package-lock.json"),
        "{\"name\":\"app\",\"lockfileVersion\":3,\"packages\":{}}\n",
    )
    .unwrap();
    std::fs::write(dir.join("requirements.txt"), "flask==3.0.0\n").unwrap();
    let text = "FROM node:20 AS web\nWORKDIR /app\nCOPY . .\nRUN npm ci\nRUN npm run build\n\nFROM python:3.12-slim\nWORKDIR /srv\nCOPY . .\nRUN pip install -r requirements.txt\nCOPY --from=web /app/dist /srv/static\nUSER 1000\nCMD [\"python\", \"app.py\"]\n";
    std::fs::write(dir.join("Dockerfile"), text).unwrap();
    let uri = uri(&dir.join("Dockerfile"));
    let mut client = Client::start(dir, &["--no-config"]);
    client.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "dockerfile", "version": 1, "text": text}}),
    );
    let published = client.diagnostics();
    let places: Vec<(&Value, &Value)> = published["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (&d["code"], &d["range"]["start"]["line"]))
        .collect();
    assert_eq!(
        places,
        [
            (&json!("copy-order"), &json!(3)),
            (&json!("copy-order"), &json!(9))
        ]
    );
    let actions = code_actions(&mut client, &uri, 3, &at_line(&published, 3));
    assert_eq!(
        actions[0]["title"],
        "restage: apply `copy-order` (2 changes in this file)"
    );
    let edits = &actions[0]["edit"]["changes"][&uri];
    // Per change: the `COPY . .` line becomes the manifests, and `COPY . .` comes back after
    // the install.
    assert_eq!(edits.as_array().unwrap().len(), 4);
    let out = Command::new(env!("CARGO_BIN_EXE_restage"))
        .args([
            "--write",
            "--no-config",
            "--select",
            "copy-order",
            "Dockerfile",
        ])
        .current_dir(dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let written = std::fs::read_to_string(dir.join("Dockerfile")).unwrap();
    assert_eq!(apply(text, edits), written);
    assert_ne!(written, text);
    let (_, code) = client.finish();
    assert_eq!(code, Some(0));
}
