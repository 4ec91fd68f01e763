//! The training configuration: one TOML file declares the tasks (files, formats, label sets),
//! the splits and every training choice, so a run folder's copy of it is the whole recipe.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Every random choice (splits, data order, task sampling, dropout, head init) derives
    /// from this seed.
    #[serde(default = "d_seed")]
    pub seed: u64,
    /// Hugging Face BERT checkpoint directory (or a glassbox bundle) to start from.
    #[serde(default = "d_base")]
    pub base_model: PathBuf,
    /// Longest training input in wordpieces, [CLS]/[SEP] included; longer inputs are cut and
    /// counted in the run's data report.
    #[serde(default = "d_max_len")]
    pub max_seq_len: usize,
    #[serde(default)]
    pub split: SplitConfig,
    pub tasks: Vec<TaskConfig>,
    #[serde(default)]
    pub train: TrainParams,
    #[serde(default)]
    pub augment: AugmentConfig,
}

/// EDA (Wei & Zou 2019) on the training split: each training example gets `copies`
/// augmented versions, each made by one of the enabled operations. Token tasks are augmented
/// label-aware: only `O` words are replaced, swapped or deleted, insertions never land inside
/// an entity, and every tag moves with its word.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AugmentConfig {
    /// Tasks (by name) to augment; empty: none.
    #[serde(default)]
    pub tasks: Vec<String>,
    #[serde(default = "d_one_usize")]
    pub copies: usize,
    /// Synonym replacement: fraction of words replaced (0 disables).
    #[serde(default = "d_eda")]
    pub synonym: f64,
    /// Random insertion of a synonym of another word: fraction of the length (0 disables).
    #[serde(default = "d_eda")]
    pub insert: f64,
    /// Random swaps: fraction of the length (0 disables).
    #[serde(default = "d_eda")]
    pub swap: f64,
    /// Random deletion: probability per word (0 disables).
    #[serde(default = "d_eda")]
    pub delete: f64,
    /// WordNet database directory (Debian's `wordnet-base` installs it here).
    #[serde(default = "d_wordnet")]
    pub wordnet: PathBuf,
    /// Sentence tasks (by name) whose original training examples each get one back-translated
    /// copy (English → `pivot` → English with Apertium); empty: none.
    #[serde(default)]
    pub backtranslate: Vec<String>,
    /// Back-translation's pivot language: Apertium's `eng-PIVOT` and `PIVOT-eng` pairs.
    #[serde(default = "d_pivot")]
    pub pivot: String,
    /// Where back-translations are kept, keyed by pivot and texts.
    #[serde(default = "d_translation_cache")]
    pub cache: PathBuf,
}

impl Default for AugmentConfig {
    fn default() -> Self {
        toml::from_str("").expect("defaults parse")
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SplitConfig {
    #[serde(default = "d_frac")]
    pub dev: f64,
    #[serde(default = "d_frac")]
    pub test: f64,
}

impl Default for SplitConfig {
    fn default() -> Self {
        Self {
            dev: d_frac(),
            test: d_frac(),
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// One label per text (the sentence head).
    Sentence,
    /// One BIO tag per token (the token head).
    Token,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Csv,
    Jsonl,
    Conll,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TaskConfig {
    pub name: String,
    pub kind: TaskKind,
    pub file: PathBuf,
    /// Defaults from the file extension (`.csv`, `.jsonl`, anything else: CoNLL).
    #[serde(default)]
    pub format: Option<Format>,
    #[serde(default = "d_text")]
    pub text_column: String,
    #[serde(default = "d_label")]
    pub label_column: String,
    #[serde(default)]
    pub confidence_column: Option<String>,
    /// Sentence classes, or entity types for a token task (B-/I- tags are derived). Order is
    /// logit order; when absent, taken from the data (sorted classes / first-seen types).
    #[serde(default)]
    pub labels: Option<Vec<String>>,
    /// Repair/remove mojibake in tweet text and drop exact duplicates (sentence tasks).
    #[serde(default)]
    pub clean: bool,
    /// Drop examples whose confidence is below this value.
    #[serde(default)]
    pub min_confidence: Option<f64>,
    /// Weight each example's loss by its confidence.
    #[serde(default)]
    pub weight_by_confidence: bool,
    /// Use at most this many training examples (a seeded, stratified subsample); dev and test
    /// stay whole so metrics remain comparable.
    #[serde(default)]
    pub max_train_examples: Option<usize>,
    /// Fixed weight of this task's loss (`train.balance = "fixed"`, the default).
    #[serde(default = "d_one")]
    pub loss_weight: f64,
    /// Learning-rate factor of this task's head (the encoder's is `train.encoder_lr_factor`).
    #[serde(default = "d_one")]
    pub head_lr_factor: f64,
    /// Evaluate on at most this many dev examples (a seeded, stratified subsample) — for quick
    /// experiments such as ablations; the dev metric is noisier. Test stays whole.
    #[serde(default)]
    pub max_dev_examples: Option<usize>,
    /// More labelled files (same format and labels) added to the training split only, so the
    /// dev and test splits of `file` stay unchanged — how `glassbox retrain` adds new data.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_train: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Sampling {
    /// P(task) ∝ training examples.
    Proportional,
    /// P(task) ∝ examples^(1/temperature): T=1 is proportional, T→∞ uniform.
    Temperature,
    /// Tasks take turns.
    RoundRobin,
}

/// Learning-rate schedule over optimizer steps (see `train::schedule`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    Constant,
    /// Linear warmup, then linear decay to zero.
    Linear,
    /// Linear warmup, then half a cosine down to zero.
    Cosine,
    /// Triangular cycles between `lr × min_lr_ratio` and `lr` (Smith 2017).
    Cyclical,
    /// One cycle: cosine up from `lr / one_cycle_div` to `lr`, then down to
    /// `lr / (one_cycle_div × one_cycle_final_div)` (Smith & Topin 2019).
    OneCycle,
}

/// How the task losses are combined.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Balance {
    /// Each task's `loss_weight`.
    Fixed,
    /// Learned log-variances s: exp(−s)·L + s (Kendall et al. 2018).
    Uncertainty,
    /// Dynamic weight average over windows of `dwa_window` steps (Liu et al. 2019).
    Dwa,
    /// GradNorm on the last shared layer (Chen et al. 2018); every step trains all tasks.
    Gradnorm,
    /// PCGrad gradient surgery (Yu et al. 2020); every step trains all tasks.
    Pcgrad,
}

impl Balance {
    /// Methods that need every task's gradient at the same step.
    pub fn joint(self) -> bool {
        matches!(self, Balance::Gradnorm | Balance::Pcgrad)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TrainParams {
    /// Optimizer steps (each one batch of one task).
    #[serde(default = "d_steps")]
    pub steps: usize,
    #[serde(default = "d_batch")]
    pub batch_size: usize,
    #[serde(default = "d_lr")]
    pub lr: f64,
    /// Fraction of `steps` spent warming the learning rate up from zero.
    #[serde(default = "d_warmup")]
    pub warmup_ratio: f64,
    /// AdamW decoupled weight decay; never applied to biases and LayerNorm parameters.
    #[serde(default = "d_wd")]
    pub weight_decay: f64,
    /// Global L2 norm the gradient is scaled down to (0 disables clipping).
    #[serde(default = "d_one")]
    pub clip_norm: f64,
    #[serde(default = "d_sampling")]
    pub sampling: Sampling,
    #[serde(default = "d_temperature")]
    pub temperature: f64,
    #[serde(default = "d_head_dropout")]
    pub head_dropout: f64,
    /// Evaluate on dev (and keep the best weights) every this many steps.
    #[serde(default = "d_eval_every")]
    pub eval_every: usize,
    /// Write a resumable checkpoint every this many steps.
    #[serde(default = "d_ckpt_every")]
    pub checkpoint_every: usize,
    /// Stop when the dev score has not improved for this many evaluations (0: never).
    #[serde(default = "d_patience")]
    pub patience: usize,
    #[serde(default = "d_schedule")]
    pub schedule: Schedule,
    /// Cyclical: steps per half cycle (lr rises for this many steps, then falls).
    #[serde(default = "d_cycle")]
    pub cycle_steps: usize,
    /// Cyclical: the low end of the cycle as a fraction of `lr`.
    #[serde(default = "d_min_lr_ratio")]
    pub min_lr_ratio: f64,
    /// One-cycle: fraction of the steps spent rising.
    #[serde(default = "d_pct")]
    pub one_cycle_pct: f64,
    #[serde(default = "d_div")]
    pub one_cycle_div: f64,
    #[serde(default = "d_final_div")]
    pub one_cycle_final_div: f64,
    /// Learning-rate factor of the shared encoder (embeddings and layers).
    #[serde(default = "d_one")]
    pub encoder_lr_factor: f64,
    /// Layer-wise decay ξ: layer l of L gets lr·ξ^(L−l), the embeddings lr·ξ^L (1: off).
    #[serde(default = "d_one")]
    pub layer_decay: f64,
    /// Never train the embeddings.
    #[serde(default)]
    pub freeze_embeddings: bool,
    /// Train the heads only.
    #[serde(default)]
    pub freeze_encoder: bool,
    /// Gradual unfreezing (ULMFiT): start with the heads only and unfreeze one more encoder
    /// layer, top down, every this many steps, the embeddings last (0: off).
    #[serde(default)]
    pub unfreeze_every: usize,
    #[serde(default = "d_balance")]
    pub balance: Balance,
    /// Learning rate of the uncertainty log-variances (plain gradient descent).
    #[serde(default = "d_balance_lr")]
    pub uncertainty_lr: f64,
    #[serde(default = "d_dwa_t")]
    pub dwa_temperature: f64,
    /// DWA compares mean losses of consecutive windows of this many steps.
    #[serde(default = "d_dwa_window")]
    pub dwa_window: usize,
    /// GradNorm's asymmetry α.
    #[serde(default = "d_gn_alpha")]
    pub gradnorm_alpha: f64,
    /// Learning rate of the GradNorm task weights.
    #[serde(default = "d_balance_lr")]
    pub gradnorm_lr: f64,
    /// Mixup on the sentence task's pooled embeddings: λ ~ Beta(α, α) (0: off).
    #[serde(default)]
    pub mixup_alpha: f64,
    /// Length bucketing: each epoch's shuffled examples are sorted by length within pools of
    /// this many batches before they are cut into batches, so a batch pads to nearly one
    /// length (0: random batches, padded to their longest example).
    #[serde(default = "d_length_pool")]
    pub length_pool: usize,
}

impl Default for TrainParams {
    fn default() -> Self {
        toml::from_str("").expect("defaults parse")
    }
}

fn d_seed() -> u64 {
    42
}
fn d_base() -> PathBuf {
    PathBuf::from("assets/all-MiniLM-L6-v2")
}
fn d_max_len() -> usize {
    64
}
fn d_frac() -> f64 {
    0.1
}
fn d_text() -> String {
    "text".into()
}
fn d_label() -> String {
    "label".into()
}
fn d_one() -> f64 {
    1.0
}
fn d_steps() -> usize {
    1000
}
fn d_length_pool() -> usize {
    50
}
fn d_batch() -> usize {
    32
}
fn d_lr() -> f64 {
    5e-5
}
fn d_warmup() -> f64 {
    0.06
}
fn d_wd() -> f64 {
    0.01
}
fn d_sampling() -> Sampling {
    Sampling::Temperature
}
fn d_temperature() -> f64 {
    2.0
}
fn d_head_dropout() -> f64 {
    0.1
}
fn d_eval_every() -> usize {
    200
}
fn d_ckpt_every() -> usize {
    50
}
fn d_patience() -> usize {
    5
}
fn d_schedule() -> Schedule {
    Schedule::Linear
}
fn d_cycle() -> usize {
    100
}
fn d_min_lr_ratio() -> f64 {
    0.1
}
fn d_pct() -> f64 {
    0.3
}
fn d_div() -> f64 {
    25.0
}
fn d_final_div() -> f64 {
    1e4
}
fn d_balance() -> Balance {
    Balance::Fixed
}
fn d_balance_lr() -> f64 {
    0.025
}
fn d_dwa_t() -> f64 {
    2.0
}
fn d_dwa_window() -> usize {
    50
}
fn d_gn_alpha() -> f64 {
    1.5
}
fn d_one_usize() -> usize {
    1
}
fn d_eda() -> f64 {
    0.1
}
fn d_wordnet() -> PathBuf {
    PathBuf::from("/usr/share/wordnet")
}
fn d_pivot() -> String {
    "spa".into()
}
fn d_translation_cache() -> PathBuf {
    PathBuf::from("runs/.cache")
}

impl TrainConfig {
    pub fn from_toml(text: &str, source: &Path) -> Result<Self> {
        let c: TrainConfig =
            toml::from_str(text).with_context(|| format!("config {}", source.display()))?;
        c.validate()
            .with_context(|| format!("config {}", source.display()))?;
        Ok(c)
    }

    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config {}", path.display()))?;
        Self::from_toml(&text, path)
    }

    /// Paths in the file are relative to the working directory, like every other path the
    /// CLI takes.
    pub fn validate(&self) -> Result<()> {
        if self.tasks.is_empty() {
            bail!("no [[tasks]]");
        }
        self.check_finite()?;
        for kind in [TaskKind::Sentence, TaskKind::Token] {
            if self.tasks.iter().filter(|t| t.kind == kind).count() > 1 {
                bail!("the model has one {kind:?} head; declare at most one {kind:?} task");
            }
        }
        let t = &self.train;
        if t.batch_size == 0 || t.steps == 0 || t.eval_every == 0 || t.checkpoint_every == 0 {
            bail!("train.steps, batch_size, eval_every and checkpoint_every must be ≥ 1");
        }
        if !(0.0..1.0).contains(&t.warmup_ratio) {
            bail!("train.warmup_ratio must be in [0, 1)");
        }
        if !(t.lr > 0.0 && t.lr.is_finite()) {
            bail!("train.lr must be a positive number");
        }
        if t.temperature <= 0.0 {
            bail!("train.temperature must be positive");
        }
        if self.split.dev <= 0.0 || self.split.test < 0.0 || self.split.dev + self.split.test >= 1.0
        {
            bail!("split.dev must be > 0, split.test ≥ 0, and together < 1");
        }
        if t.cycle_steps == 0 || !(0.0..1.0).contains(&t.one_cycle_pct) || t.one_cycle_div < 1.0 {
            bail!("train.cycle_steps must be ≥ 1, one_cycle_pct in [0, 1), one_cycle_div ≥ 1");
        }
        if !((0.0..=1.0).contains(&t.min_lr_ratio) && t.layer_decay > 0.0 && t.layer_decay <= 1.0) {
            bail!("train.min_lr_ratio must be in [0, 1] and layer_decay in (0, 1]");
        }
        if t.dwa_window == 0 || t.dwa_temperature <= 0.0 || t.mixup_alpha < 0.0 {
            bail!("train.dwa_window and dwa_temperature must be positive, mixup_alpha ≥ 0");
        }
        if t.balance.joint() && self.tasks.len() < 2 {
            bail!("train.balance = {:?} needs two tasks", t.balance);
        }
        if let Some(t) = self.tasks.iter().find(|t| t.max_dev_examples == Some(0)) {
            bail!("task {:?}: max_dev_examples must be ≥ 1", t.name);
        }
        for name in &self.augment.tasks {
            if !self.tasks.iter().any(|t| &t.name == name) {
                bail!("augment.tasks names {name:?}, which is not a task");
            }
        }
        self.check_backtranslate()?;
        let a = &self.augment;
        if [a.synonym, a.insert, a.swap, a.delete]
            .iter()
            .any(|p| !(0.0..=1.0).contains(p))
        {
            bail!("augment rates must be in [0, 1]");
        }
        if self.max_seq_len < 8 {
            bail!("max_seq_len must be at least 8");
        }
        Ok(())
    }

    /// NaN passes every range check below (`nan <= 0.0` is false) and infinity some of
    /// them; either would train silently wrong, so every number in the config must be finite.
    /// The fuzz target `train_config` asserts it for every config that validates.
    fn check_finite(&self) -> Result<()> {
        let value = toml::Value::try_from(self).context("config does not serialise")?;
        match first_non_finite(&value, "") {
            Some((key, x)) => bail!("{key} = {x} is not a finite number"),
            None => Ok(()),
        }
    }

    /// Back-translation names sentence tasks: Apertium rewrites names and word order, so a
    /// token task's tags would no longer line up with its words.
    fn check_backtranslate(&self) -> Result<()> {
        for name in &self.augment.backtranslate {
            match self.tasks.iter().find(|t| &t.name == name) {
                None => bail!("augment.backtranslate names {name:?}, which is not a task"),
                Some(t) if t.kind != TaskKind::Sentence => bail!(
                    "augment.backtranslate: {name:?} is a token task; Apertium rewrites names and word order, so its tags would no longer line up: back-translate sentence tasks only"
                ),
                Some(_) => {}
            }
        }
        Ok(())
    }

    pub fn task(&self, kind: TaskKind) -> Option<&TaskConfig> {
        self.tasks.iter().find(|t| t.kind == kind)
    }
}

/// The first float in `v` that is NaN or infinite, with its dotted key.
fn first_non_finite(v: &toml::Value, at: &str) -> Option<(String, f64)> {
    match v {
        toml::Value::Float(x) if !x.is_finite() => Some((at.trim_start_matches('.').into(), *x)),
        toml::Value::Table(t) => t
            .iter()
            .find_map(|(k, v)| first_non_finite(v, &format!("{at}.{k}"))),
        toml::Value::Array(a) => a.iter().find_map(|v| first_non_finite(v, at)),
        _ => None,
    }
}

impl TaskConfig {
    pub fn format(&self) -> Format {
        self.format
            .unwrap_or_else(|| match self.file.extension().and_then(|e| e.to_str()) {
                Some("csv") => Format::Csv,
                Some("jsonl") => Format::Jsonl,
                _ => Format::Conll,
            })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Two tasks and nothing else; other modules' tests start from it too.
    pub(crate) const MINIMAL: &str = r#"
        [[tasks]]
        name = "sentiment"
        kind = "sentence"
        file = "s.csv"
        [[tasks]]
        name = "ner"
        kind = "token"
        file = "n.conll"
    "#;

    #[test]
    fn minimal_config_gets_documented_defaults() {
        let c = TrainConfig::from_toml(MINIMAL, Path::new("c.toml")).unwrap();
        assert_eq!(c.seed, 42);
        assert_eq!(c.train.sampling, Sampling::Temperature);
        assert_eq!(c.tasks[0].format(), Format::Csv);
        assert_eq!(c.tasks[1].format(), Format::Conll);
        assert_eq!(c.split.dev, 0.1);
    }

    #[test]
    fn mistakes_are_refused_with_the_file_named() {
        let typo = MINIMAL.replace("kind = \"token\"", "kind = \"token\"\nlabel_colum = \"x\"");
        let e = format!(
            "{:#}",
            TrainConfig::from_toml(&typo, Path::new("c.toml")).unwrap_err()
        );
        assert!(e.contains("c.toml") && e.contains("label_colum"), "{e}");
        let two = MINIMAL.replace("kind = \"token\"", "kind = \"sentence\"");
        let e = format!(
            "{:#}",
            TrainConfig::from_toml(&two, Path::new("c.toml")).unwrap_err()
        );
        assert!(e.contains("one Sentence head"), "{e}");
    }

    #[test]
    fn numbers_that_are_not_finite_are_refused_by_key() {
        let base = TrainConfig::from_toml(MINIMAL, Path::new("c.toml")).unwrap();
        for (key, value) in [
            ("temperature", "nan"),
            ("lr", "inf"),
            ("mixup_alpha", "-inf"),
        ] {
            let text = format!("{MINIMAL}\n[train]\n{key} = {value}\n");
            let e = TrainConfig::from_toml(&text, Path::new("c.toml")).unwrap_err();
            let msg = format!("{e:#}");
            assert!(msg.contains(&format!("train.{key} = ")), "{msg}");
            assert!(msg.contains("is not a finite number"), "{msg}");
        }
        // A split of NaN passed `dev <= 0.0` and `dev + test >= 1.0` alike before.
        let split = MINIMAL.replacen("[[tasks]]", "[split]\ndev = nan\n\n[[tasks]]", 1);
        assert_ne!(split, MINIMAL);
        let e = TrainConfig::from_toml(&split, Path::new("c.toml")).unwrap_err();
        assert!(format!("{e:#}").contains("split.dev = NaN"), "{e:#}");
        assert!(base.validate().is_ok());
    }

    #[test]
    fn back_translation_takes_sentence_tasks_only() {
        let with = |names: &str| {
            let toml = format!("{MINIMAL}\n[augment]\nbacktranslate = [{names}]\n");
            TrainConfig::from_toml(&toml, Path::new("c.toml")).map_err(|e| format!("{e:#}"))
        };
        let ok = with("\"sentiment\"").unwrap();
        assert_eq!(ok.augment.backtranslate, ["sentiment"]);
        assert_eq!(ok.augment.pivot, "spa");
        assert!(with("\"ner\"").unwrap_err().contains("sentence tasks only"));
        assert!(with("\"topic\"").unwrap_err().contains("not a task"));
    }
}
