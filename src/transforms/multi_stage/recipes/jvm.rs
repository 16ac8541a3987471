//! Java: the build (Maven, Gradle) leaves its output in the application directory, which the
//! runtime stage receives whole; an app without a WORKDIR of its own is refused.

use super::super::Analysis;
use super::{Carry, Input, Recipe, Verdict};

pub(super) struct Java;

impl Recipe for Java {
    fn carry(&self, input: &Input, a: &mut Analysis) -> Result<Carry, Verdict> {
        super::workdir_only(a, input.anchor)
    }
}
