//! `restage lsp`: a language server over stdio. Each open Dockerfile is run through restage as
//! `restage` would run it on disk (its restage.toml, its build context), with the buffer's text:
//! every pending change is a diagnostic, code actions apply one transform's changes or all of
//! `--write`'s, and hovering a change shows `restage explain`. Full text sync; UTF-16 positions.

mod analysis;
pub mod position;

use std::collections::HashMap;
use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use lsp_server::{Connection, ExtractError, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument, DidSaveTextDocument,
    Notification as _, PublishDiagnostics,
};
use lsp_types::request::{CodeActionRequest, HoverRequest, Request as _};
use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOptions, CodeActionOrCommand, CodeActionParams,
    CodeActionProviderCapability, Diagnostic, Hover, HoverContents, HoverParams,
    HoverProviderCapability, InitializeResult, MarkupContent, MarkupKind, NumberOrString,
    PublishDiagnosticsParams, SaveOptions, ServerCapabilities, ServerInfo,
    TextDocumentSyncCapability, TextDocumentSyncKind, TextDocumentSyncOptions,
    TextDocumentSyncSaveOptions, Url, WorkspaceEdit,
};

use crate::config::ConfigChoice;
use crate::transforms;

use analysis::{ChangeData, Which};

/// Serves on stdin/stdout until the client says `exit`; returns the process exit code (0 after
/// `shutdown` then `exit`, 1 when the client exits or goes away without `shutdown`).
pub fn run_stdio(config: ConfigChoice) -> Result<i32> {
    let (connection, io_threads) = Connection::stdio();
    let code = serve(&connection, config)?;
    drop(connection);
    io_threads.join().context("closing stdio")?;
    Ok(code)
}

/// One open document.
struct Document {
    text: String,
    version: Option<i32>,
    /// The diagnostics last published for it.
    diagnostics: Vec<Diagnostic>,
}

struct Server<'a> {
    connection: &'a Connection,
    config: ConfigChoice,
    documents: HashMap<Url, Document>,
}

/// The initialize handshake, then requests and notifications until `shutdown` and `exit`
/// (exit code 0), or `exit` alone or the end of input (exit code 1, as LSP asks).
pub fn serve(connection: &Connection, config: ConfigChoice) -> Result<i32> {
    let capabilities = ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Options(
            TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(TextDocumentSyncKind::FULL),
                save: Some(TextDocumentSyncSaveOptions::SaveOptions(SaveOptions {
                    include_text: Some(false),
                })),
                ..TextDocumentSyncOptions::default()
            },
        )),
        code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
            code_action_kinds: Some(vec![
                CodeActionKind::QUICKFIX,
                CodeActionKind::SOURCE_FIX_ALL,
            ]),
            ..CodeActionOptions::default()
        })),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        ..ServerCapabilities::default()
    };
    let result = InitializeResult {
        capabilities,
        server_info: Some(ServerInfo {
            name: "restage".to_string(),
            version: Some(env!("CARGO_PKG_VERSION").to_string()),
        }),
    };
    let (id, _params) = connection
        .initialize_start()
        .context("waiting for `initialize`")?;
    connection
        .initialize_finish(id, serde_json::to_value(result)?)
        .context("answering `initialize`")?;
    let mut server = Server {
        connection,
        config,
        documents: HashMap::new(),
    };
    for message in &connection.receiver {
        match message {
            Message::Request(req) => {
                if connection.handle_shutdown(&req)? {
                    return Ok(0);
                }
                server.request(req)?;
            }
            Message::Notification(n) if n.method == "exit" => return Ok(1),
            Message::Notification(n) => server.notification(n)?,
            Message::Response(_) => {}
        }
    }
    Ok(1)
}

/// Runs `f`, turning a panic into an error message (the server keeps serving).
fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    panic::catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        let msg = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        format!("restage: internal error (please report it): {msg}")
    })
}

/// The file a document stands for: its path for a `file:` URI (it need not exist), else a
/// `Dockerfile` in the current directory named after the URI's last segment.
fn path_of(uri: &Url) -> PathBuf {
    if let Ok(p) = uri.to_file_path() {
        return p;
    }
    let name = uri
        .path_segments()
        .and_then(|mut s| s.next_back())
        .filter(|s| !s.is_empty())
        .unwrap_or("Dockerfile");
    std::env::current_dir()
        .unwrap_or_else(|_| PathBuf::from("."))
        .join(name)
}

impl Server<'_> {
    fn send(&self, message: Message) -> Result<()> {
        self.connection
            .sender
            .send(message)
            .context("sending to the client")
    }

    fn notification(&mut self, n: Notification) -> Result<()> {
        match n.method.as_str() {
            DidOpenTextDocument::METHOD => {
                let Some(p) = params::<lsp_types::DidOpenTextDocumentParams>(n) else {
                    return Ok(());
                };
                let doc = p.text_document;
                self.documents.insert(
                    doc.uri.clone(),
                    Document {
                        text: doc.text,
                        version: Some(doc.version),
                        diagnostics: Vec::new(),
                    },
                );
                self.publish(&doc.uri)?;
            }
            DidChangeTextDocument::METHOD => {
                let Some(p) = params::<lsp_types::DidChangeTextDocumentParams>(n) else {
                    return Ok(());
                };
                // Full sync: the last change holds the whole text.
                if let Some(change) = p.content_changes.into_iter().last() {
                    let entry = self
                        .documents
                        .entry(p.text_document.uri.clone())
                        .or_insert_with(|| Document {
                            text: String::new(),
                            version: None,
                            diagnostics: Vec::new(),
                        });
                    entry.text = change.text;
                    entry.version = Some(p.text_document.version);
                    self.publish(&p.text_document.uri)?;
                }
            }
            DidSaveTextDocument::METHOD => {
                // A saved file may be the build context or a restage.toml of any open document.
                let uris: Vec<Url> = self.documents.keys().cloned().collect();
                for uri in uris {
                    self.publish(&uri)?;
                }
            }
            DidCloseTextDocument::METHOD => {
                let Some(p) = params::<lsp_types::DidCloseTextDocumentParams>(n) else {
                    return Ok(());
                };
                self.documents.remove(&p.text_document.uri);
                self.send_diagnostics(p.text_document.uri, Vec::new(), None)?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Analyses an open document and publishes its diagnostics.
    fn publish(&mut self, uri: &Url) -> Result<()> {
        let Some(doc) = self.documents.get_mut(uri) else {
            return Ok(());
        };
        let path = path_of(uri);
        let diagnostics = guarded(|| analysis::diagnostics(&path, &doc.text, &self.config))
            .unwrap_or_else(|message| {
                vec![Diagnostic {
                    severity: Some(lsp_types::DiagnosticSeverity::ERROR),
                    source: Some("restage".to_string()),
                    message,
                    ..Diagnostic::default()
                }]
            });
        doc.diagnostics = diagnostics.clone();
        let version = doc.version;
        self.send_diagnostics(uri.clone(), diagnostics, version)
    }

    fn send_diagnostics(
        &self,
        uri: Url,
        diagnostics: Vec<Diagnostic>,
        version: Option<i32>,
    ) -> Result<()> {
        let params = PublishDiagnosticsParams {
            uri,
            diagnostics,
            version,
        };
        self.send(Message::Notification(Notification::new(
            PublishDiagnostics::METHOD.to_string(),
            params,
        )))
    }

    fn request(&mut self, req: Request) -> Result<()> {
        let id = req.id.clone();
        let response = match req.method.as_str() {
            CodeActionRequest::METHOD => match req.extract(CodeActionRequest::METHOD) {
                Ok((_, p)) => self.respond(id, |s| s.code_actions(p)),
                Err(e) => bad_params(id, e),
            },
            HoverRequest::METHOD => match req.extract(HoverRequest::METHOD) {
                Ok((_, p)) => self.respond(id, |s| s.hover(p)),
                Err(e) => bad_params(id, e),
            },
            _ => Response::new_err(
                id,
                lsp_server::ErrorCode::MethodNotFound as i32,
                format!("restage does not handle `{}`", req.method),
            ),
        };
        self.send(Message::Response(response))
    }

    fn respond<R: serde::Serialize>(&self, id: RequestId, f: impl FnOnce(&Self) -> R) -> Response {
        match guarded(|| f(self)) {
            Ok(result) => Response::new_ok(id, result),
            Err(message) => {
                Response::new_err(id, lsp_server::ErrorCode::InternalError as i32, message)
            }
        }
    }

    /// One action per restage change under the cursor (its transform's changes, as
    /// `restage --write --select ID`), and one for everything `restage --write` applies.
    fn code_actions(&self, p: CodeActionParams) -> Option<Vec<CodeActionOrCommand>> {
        let uri = p.text_document.uri;
        let doc = self.documents.get(&uri)?;
        let path = path_of(&uri);
        let wants = |kind: &CodeActionKind| match &p.context.only {
            None => true,
            Some(only) => only.iter().any(|o| {
                kind.as_str() == o.as_str()
                    || kind.as_str().starts_with(&format!("{}.", o.as_str()))
            }),
        };
        let mut from_context: Vec<&Diagnostic> = p
            .context
            .diagnostics
            .iter()
            .filter(|d| d.source.as_deref() == Some("restage"))
            .collect();
        if from_context.is_empty() {
            from_context = doc
                .diagnostics
                .iter()
                .filter(|d| intersects(&d.range, &p.range))
                .collect();
        }
        let mut actions = Vec::new();
        let mut seen: Vec<(String, String)> = Vec::new();
        if wants(&CodeActionKind::QUICKFIX) {
            for d in from_context {
                let Some(data) = d
                    .data
                    .clone()
                    .and_then(|v| serde_json::from_value::<ChangeData>(v).ok())
                else {
                    continue;
                };
                if data.applicability == "suggestion"
                    || seen.contains(&(data.id.clone(), data.applicability.clone()))
                {
                    continue;
                }
                seen.push((data.id.clone(), data.applicability.clone()));
                let unsafe_fixes = data.applicability == "unsafe";
                let which = Which::One {
                    id: &data.id,
                    unsafe_fixes,
                };
                let Some(new) = analysis::fixed_text(&path, &doc.text, &self.config, which) else {
                    continue;
                };
                let count = doc
                    .diagnostics
                    .iter()
                    .filter(|x| x.code == Some(NumberOrString::String(data.id.clone())))
                    .count();
                let title = if count > 1 {
                    format!(
                        "restage: apply `{}` ({count} changes in this file)",
                        data.id
                    )
                } else {
                    format!("restage: {}", data.title)
                };
                actions.push(action(
                    title,
                    CodeActionKind::QUICKFIX,
                    &uri,
                    &doc.text,
                    &new,
                    vec![d.clone()],
                    !unsafe_fixes,
                ));
            }
        }
        let all_kind = if wants(&CodeActionKind::QUICKFIX) {
            Some(CodeActionKind::QUICKFIX)
        } else if wants(&CodeActionKind::SOURCE_FIX_ALL) {
            Some(CodeActionKind::SOURCE_FIX_ALL)
        } else {
            None
        };
        if let Some(kind) = all_kind
            && let Some(new) = analysis::fixed_text(&path, &doc.text, &self.config, Which::Settings)
        {
            let title = if analysis::unsafe_fixes_on(&path, &self.config) {
                "restage: apply all changes (unsafe-fixes is on)"
            } else {
                "restage: apply all safe changes"
            };
            actions.push(action(
                title.to_string(),
                kind,
                &uri,
                &doc.text,
                &new,
                Vec::new(),
                false,
            ));
        }
        Some(actions)
    }

    /// `restage explain ID` for each restage change under the cursor.
    fn hover(&self, p: HoverParams) -> Option<Hover> {
        let at = p.text_document_position_params;
        let doc = self.documents.get(&at.text_document.uri)?;
        let mut ids: Vec<&str> = Vec::new();
        for d in &doc.diagnostics {
            let Some(NumberOrString::String(id)) = &d.code else {
                continue;
            };
            if contains(&d.range, at.position) && !ids.contains(&id.as_str()) {
                ids.push(id);
            }
        }
        let docs: Vec<&str> = ids
            .iter()
            .filter_map(|id| transforms::find(id).map(|t| t.doc))
            .collect();
        if docs.is_empty() {
            return None;
        }
        Some(Hover {
            contents: HoverContents::Markup(MarkupContent {
                kind: MarkupKind::Markdown,
                value: docs.join("\n---\n\n"),
            }),
            range: None,
        })
    }
}

fn action(
    title: String,
    kind: CodeActionKind,
    uri: &Url,
    old: &str,
    new: &str,
    diagnostics: Vec<Diagnostic>,
    preferred: bool,
) -> CodeActionOrCommand {
    let edits = position::text_edits(old, new);
    CodeActionOrCommand::CodeAction(CodeAction {
        title,
        kind: Some(kind),
        diagnostics: (!diagnostics.is_empty()).then_some(diagnostics),
        edit: Some(WorkspaceEdit {
            changes: Some(HashMap::from([(uri.clone(), edits)])),
            ..WorkspaceEdit::default()
        }),
        is_preferred: preferred.then_some(true),
        ..CodeAction::default()
    })
}

/// Whether `pos` is in `range` (its end included, so a cursor at the end of a line counts).
fn contains(range: &lsp_types::Range, pos: lsp_types::Position) -> bool {
    range.start <= pos && pos <= range.end
}

fn intersects(a: &lsp_types::Range, b: &lsp_types::Range) -> bool {
    a.start <= b.end && b.start <= a.end
}

/// The parameters of a notification; bad ones are reported on stderr and the notification is
/// dropped (a notification has no answer to carry the error).
fn params<P: serde::de::DeserializeOwned>(n: Notification) -> Option<P> {
    let method = n.method.clone();
    match n.extract(&method) {
        Ok(p) => Some(p),
        Err(e) => {
            eprintln!(
                "restage lsp: bad parameters of `{method}`: {}",
                extract_error(&e)
            );
            None
        }
    }
}

fn bad_params(id: RequestId, e: ExtractError<Request>) -> Response {
    Response::new_err(
        id,
        lsp_server::ErrorCode::InvalidParams as i32,
        format!("bad parameters: {}", extract_error(&e)),
    )
}

/// Why parameters could not be read, in one line.
fn extract_error<T>(e: &ExtractError<T>) -> String {
    match e {
        ExtractError::JsonError { error, .. } => error.to_string(),
        ExtractError::MethodMismatch(_) => "another method".to_string(),
    }
}
