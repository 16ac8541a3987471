//! Ecosystem and base-image knowledge: the data files under `transforms/`, embedded in the binary,
//! validated when loaded, and merged with the user's overrides.

/// The effective, merged knowledge. (Skeleton: filled in by the knowledge work.)
#[derive(Debug, Clone, Default)]
pub struct Knowledge {}

impl Knowledge {
    /// The built-in knowledge, embedded in the binary.
    pub fn builtin() -> anyhow::Result<Knowledge> {
        Ok(Knowledge {})
    }
}
