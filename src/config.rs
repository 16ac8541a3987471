//! `restage.toml`: found upward from each Dockerfile (nearest wins); the command line beats the
//! file, the file beats the defaults.

/// The settings in force for one file. (Skeleton.)
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Apply changes that rely on a guess (`Applicability::Unsafe`).
    pub unsafe_fixes: bool,
}
