//! glassbox's native side: assets, running the model, bundles. The binary is a thin shell
//! over this library so tests and benches can call the same functions.

pub mod ablate;
pub mod backend;
pub mod baselines;
pub mod card;
pub mod cli;
pub mod config;
pub mod cv;
pub mod data;
pub mod eval;
pub mod export;
pub mod fetch;
pub mod load;
pub mod metrics;
pub mod plots;
pub mod predict;
pub mod run;
pub mod single_task;
pub mod train;
