//! The `glassbox` binary as the CLI tests run it: from the project root, output captured.
#![allow(dead_code)]

use std::process::{Command, Output};

use crate::common;

/// Runs `glassbox ARGS` and returns what it printed and how it exited.
pub fn glassbox(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .current_dir(common::root())
        .args(args)
        .output()
        .expect("glassbox runs")
}
