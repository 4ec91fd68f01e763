//! The HF `config.json` reader on any bytes: an error, or a config whose head width is whole.
#![no_main]

use glassbox_model::BertConfig;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(c) = BertConfig::from_hf_json(data) else {
        return;
    };
    assert_eq!(c.head_dim() * c.num_attention_heads, c.hidden_size);
});
