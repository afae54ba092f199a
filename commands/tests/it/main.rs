//! The core's integration tests, in one binary so that it is linked once: each module
//! is one area, and `support` is their shared harness. Run one area with a filter:
//! `cargo test -p commands --test it lifecycle_flow::`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod declare_resume;
mod defects;
mod followups;
mod learning;
mod lifecycle_flow;
mod lifecycle_model;
mod unicode_fields;
mod web_pages;
