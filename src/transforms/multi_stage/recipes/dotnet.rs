//! .NET: the published app stays in the application directory, which the runtime stage
//! receives whole; whether the project uses the web SDK chooses the ASP.NET or the plain
//! runtime image. An app without a WORKDIR of its own is refused.

use super::super::super::Context;
use super::super::super::facts;
use super::super::Analysis;
use super::{Carry, Input, Recipe, Verdict};

pub(super) struct Dotnet;

impl Recipe for Dotnet {
    fn carry(&self, input: &Input, a: &mut Analysis) -> Result<Carry, Verdict> {
        super::workdir_only(a, input.anchor)
    }

    fn web(&self, ctx: &Context) -> Option<bool> {
        facts::dotnet_web(ctx)
    }
}
