//! The training pipeline end to end on tiny generated data and a tiny random model:
//! train (loss falls), kill with SIGKILL and resume to the same weights, export fp32 and
//! int8, predict, eval (reproducing the manifest), cross-validate, and fail clearly on NaN
//! and malformed data.

/// Fixtures shared by the model's and the trainer's tests.
#[path = "../../../tests/common/mod.rs"]
mod common;

mod experiments;
mod failures;
mod fixtures;
mod parallel;
mod pipeline;
mod retrain;
mod wgpu;
