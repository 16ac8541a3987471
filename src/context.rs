//! The build context of one Dockerfile: which manifests and lockfiles exist and what they say, read
//! before the pipeline runs, never executing anything.

/// What restage knows about the build context of one Dockerfile. (Skeleton.)
#[derive(Debug, Clone, Default)]
pub struct BuildContext {}
