//! End-to-end tests, in one binary so that it is linked once: each module is one story
//! played through the console. Run one with a filter: `cargo test -p tests --test it follow_through::`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod console_scripts;
mod follow_through;
mod learning;
mod readme;
