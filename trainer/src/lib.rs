//! glassbox's native side. The binary is a thin shell over this library so tests and benches
//! call the same functions. Only what they call is public (`cli`, `backend`, `infer`,
//! `load`); everything else is internal to the crate, so the compiler reports dead code.
//!
//! Imports run one way, from the commands down to the model crate:
//!
//! 1. **Commands** ([`cli`]): one function per `glassbox` subcommand behind a short
//!    dispatcher; parsing flags and printing is all they add. `glassbox serve` ([`serve`])
//!    puts [`infer`] behind HTTP: routes, batcher, cache, metrics.
//! 2. **Experiments and export** ([`experiments`]: cross-validation, ablation, single-task
//!    comparison, baselines; [`export`]: bundles and their model card): whole studies built
//!    from training and evaluation runs.
//! 3. **Training and evaluation** ([`train`], [`eval`], [`infer`]): the resumable training
//!    loop, scoring on a split with error analysis, and plain inference for the CLI.
//! 4. **Data** ([`data`], [`metrics`]): readers with file:line errors, cleaning, seeded splits,
//!    encoding into wordpieces with aligned labels; the scores every report uses.
//! 5. **Beneath everything**: the run folder ([`run_dir`]: every file name once, typed
//!    readers), file helpers ([`io`]), model directories ([`load`]), backends ([`backend`]),
//!    the training recipe ([`config`]), assets from the registries ([`assets`]), charts
//!    ([`plots`]) — and the `glassbox-model` crate itself.

mod alerts;
mod assets;
mod attack;
pub mod backend;
pub mod cli;
mod code_version;
mod config;
mod data;
mod drift;
mod eval;
mod experiments;
mod export;
mod gate;
pub mod infer;
mod io;
pub mod load;
mod metrics;
mod ood;
mod plots;
#[cfg(test)]
mod python_reference;
pub mod registry;
mod retrain;
mod robustness;
mod run_dir;
mod seeds;
mod serve;
mod train;
