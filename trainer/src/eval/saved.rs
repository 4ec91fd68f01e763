//! Evaluating a saved model — a bundle or a run folder — on a split rebuilt from its recorded
//! recipe, with the error analysis written out (`glassbox eval`, the single-task comparison).

use std::path::Path;

use anyhow::{bail, Context, Result};
use burn::prelude::*;
use glassbox_model::Glassbox;

use super::{evaluate, report, TaskScores};
use crate::config::TrainConfig;
use crate::data::prepare::prepare;
use crate::load::KernelChoice;

/// Where the model comes from and how it is computed.
pub struct Source<'a> {
    /// A bundle exported from a run.
    pub bundle: Option<&'a Path>,
    /// A run folder.
    pub run: Option<&'a Path>,
    /// What computes the encoder's linear layers.
    pub kernels: KernelChoice,
}

impl<'a> Source<'a> {
    /// A run folder, computed in f32.
    pub fn run(path: &'a Path) -> Self {
        Source {
            bundle: None,
            run: Some(path),
            kernels: KernelChoice::F32,
        }
    }
}

pub fn eval<B: Backend>(
    source: Source<'_>,
    split: &str,
    out: Option<&Path>,
    device: &B::Device,
) -> Result<Vec<TaskScores>> {
    let Source {
        bundle,
        run,
        kernels,
    } = source;
    // The tokenizer comes from the bundle itself, or from the run's base model.
    let (model, train, tok_dir): (Glassbox<B>, TrainConfig, std::path::PathBuf) =
        match (bundle, run) {
            (Some(dir), _) => {
                let loaded = crate::load::load_dir::<B>(dir, device)?;
                let train = recipe(&loaded, dir)?;
                (loaded.model, train, dir.to_path_buf())
            }
            (None, Some(run)) => {
                let rm = crate::run_dir::RunDir::new(run).load_model::<B>(device)?;
                let base = rm.train.base_model.clone();
                (rm.model, rm.train, base)
            }
            (None, None) => bail!("pass --bundle DIR or --run DIR"),
        };
    let kernels = kernels.for_model(&model);
    let (_, tok) = crate::load::read_tokenizer(&tok_dir, train.max_seq_len)?;
    let (tasks, _) = prepare(&train, &tok)?;
    let (scores, preds) = evaluate(
        &model,
        &kernels,
        &tasks,
        split,
        super::EVAL_BATCH,
        tok.pad_id(),
        device,
    )?;
    if let Some(out) = out {
        let page_model = bundle.and_then(page_folder);
        report::write_eval(out, &tasks, split, &scores, &preds, page_model.as_deref())?;
    }
    Ok(scores)
}

/// A bundle folder as the page sees it: the path below `public/` (which the page serves from
/// its root), so `public/models/default` is `models/default`; none for a folder outside it.
fn page_folder(dir: &Path) -> Option<String> {
    let parts: Vec<String> = dir
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let at = parts.iter().rposition(|p| p == "public")?;
    let rest = &parts[at + 1..];
    (!rest.is_empty()).then(|| rest.join("/"))
}

/// The training recipe a bundle's manifest records (its data, splits and seed), which
/// rebuilds the exact splits it was trained and scored on.
pub fn recipe<B: Backend>(loaded: &crate::load::Loaded<B>, dir: &Path) -> Result<TrainConfig> {
    let Some(cfg) = loaded
        .manifest
        .as_ref()
        .and_then(|m| m.training.as_ref())
        .and_then(|t| t.get("config"))
    else {
        bail!(
            "bundle {} records no training recipe (it was not exported from a run), so there is no split to evaluate on",
            dir.display()
        );
    };
    serde_json::from_value(cfg.clone()).context("the bundle's training recipe does not parse")
}

#[cfg(test)]
mod tests {
    use super::page_folder;
    use std::path::Path;

    #[test]
    fn a_bundle_under_public_is_named_as_the_page_serves_it() {
        assert_eq!(
            page_folder(Path::new("public/models/default")).as_deref(),
            Some("models/default")
        );
        assert_eq!(
            page_folder(Path::new("/srv/app/public/models/v2/")).as_deref(),
            Some("models/v2")
        );
        assert_eq!(page_folder(Path::new("runs/x/bundle")), None);
        assert_eq!(page_folder(Path::new("public")), None);
    }
}
