//! Python: packages installed with pip go into a virtualenv at /opt/venv, created in the build
//! stage before the first pip install and put first on PATH in both stages; the runtime stage
//! receives the virtualenv and the application directory. A start command that names the system
//! interpreter by path would bypass the virtualenv, so it is refused.

use super::super::super::analysis;
use super::super::{Analysis, refuse};
use super::{Carry, Input, Recipe, Verdict};
use crate::edit::Edit;
use crate::syntax::Kind;

pub(super) struct Python;

impl Recipe for Python {
    fn carry(&self, input: &Input, a: &mut Analysis) -> Result<Carry, Verdict> {
        let Input {
            doc, start, anchor, ..
        } = *input;
        let nl = doc.style().nl();
        let run_kw = doc.style().keyword(Kind::Run);
        let env_kw = doc.style().keyword(Kind::Env);
        let mut carry = Carry::default();
        if let Some(w) = start.program_word()
            && w.starts_with("/usr/local/bin/python")
        {
            return Err(refuse(
                anchor,
                "the start command names the system interpreter by path, which would bypass the virtualenv that carries the packages",
            ));
        }
        if let Some((ix, _)) = a.runs.iter().find(|(_, f)| f.pip) {
            let at = analysis::extent_with_comments(doc, *ix).start;
            carry.inserts.push(Edit::insert(
                at,
                format!("{run_kw} python3 -m venv /opt/venv{nl}{env_kw} PATH=\"/opt/venv/bin:$PATH\"{nl}"),
            ));
            carry
                .runtime_env
                .push(format!("{env_kw} PATH=\"/opt/venv/bin:$PATH\"{nl}"));
            carry.copies.push("/opt/venv".to_string());
        }
        carry
            .copies
            .extend(input.app_paths.clone().map_err(|why| refuse(anchor, why))?);
        Ok(carry)
    }
}
