//! restage rewrites Dockerfiles into production-grade ones: a pipeline of transforms runs over a
//! lossless model of each Dockerfile and emits text edits, shown as a unified diff, checked, or
//! written in place.

pub mod cli;
pub mod config;
pub mod context;
pub mod discover;
pub mod edit;
pub mod fsio;
pub mod knowledge;
pub mod output;
pub mod packaging;
pub mod pipeline;
pub mod report;
pub mod run;
pub mod shell;
mod signals;
pub mod stdin;
pub mod sync;
pub mod syntax;
pub mod transforms;
pub mod verify;
