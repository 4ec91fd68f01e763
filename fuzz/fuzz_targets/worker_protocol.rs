//! The page ↔ worker messages (app/src/protocol.rs, compiled as it is) decoded from any bytes
//! with bincode, as gloo-worker's codec does: an error, or a message whose encoding decodes
//! to the same encoding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde::{de::DeserializeOwned, Serialize};

#[allow(dead_code)]
#[path = "../../app/src/protocol.rs"]
mod protocol;

fn round_trip<T: Serialize + DeserializeOwned>(data: &[u8]) {
    let Ok(msg) = bincode::deserialize::<T>(data) else {
        return;
    };
    let bytes = bincode::serialize(&msg).expect("a decoded message encodes");
    let again: T = bincode::deserialize(&bytes).expect("an encoded message decodes");
    assert_eq!(bincode::serialize(&again).unwrap(), bytes);
}

fuzz_target!(|data: &[u8]| {
    // The worker's Input and Output: a request or reply beside the id that pairs them.
    round_trip::<(u64, protocol::Request)>(data);
    round_trip::<(u64, protocol::Reply)>(data);
});
