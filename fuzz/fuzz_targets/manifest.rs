//! The bundle manifest parser on any bytes: an error or a manifest that survives a round trip.
#![no_main]

use glassbox_model::weights::bundle::Manifest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(m) = Manifest::from_json(data) else {
        return;
    };
    let again = Manifest::from_json(m.to_json().as_bytes()).expect("a written manifest parses");
    assert_eq!(again.to_json(), m.to_json());
    // Checking a file against it never panics, listed or not.
    let _ = m.verify("model.bpk", data);
    let _ = m.verify("not-listed", data);
});
