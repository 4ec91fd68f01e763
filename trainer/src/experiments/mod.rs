//! Studies made of several training and evaluation runs: k-fold cross-validation, the
//! ablation of training methods, multi-task vs single-task, and non-neural baselines.

pub mod ablate;
pub mod baselines;
pub mod cv;
pub mod single_task;
