//! The training config reader (trainer/src/config.rs, compiled as it is) on any text: an
//! error, or a config whose numbers are all finite and which reads back as itself when written.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../trainer/src/config.rs"]
mod config;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(c) = config::TrainConfig::from_toml(text, Path::new("fuzz.toml")) else {
        return;
    };
    let written = toml::to_string(&c).expect("a config serialises");
    let value: toml::Value = toml::from_str(&written).expect("written TOML parses");
    assert_finite(&value, "");
    let again = config::TrainConfig::from_toml(&written, Path::new("written.toml"))
        .unwrap_or_else(|e| panic!("a config that validated does not read back: {e:#}\n{written}"));
    assert_eq!(again, c);
});

/// Every float in the accepted config is a number: NaN or infinity in a learning rate, split
/// or temperature would train silently wrong.
fn assert_finite(v: &toml::Value, at: &str) {
    match v {
        toml::Value::Float(f) => assert!(f.is_finite(), "{at} = {f} was accepted"),
        toml::Value::Table(t) => t
            .iter()
            .for_each(|(k, v)| assert_finite(v, &format!("{at}.{k}"))),
        toml::Value::Array(a) => a.iter().for_each(|v| assert_finite(v, at)),
        _ => {}
    }
}
