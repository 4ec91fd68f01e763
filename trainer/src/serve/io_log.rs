//! Sampled input/output logging (`--log-io-sample RATE`, off by default): a sampled request
//! logs one structured event, target `glassbox::io`, with its request id, its route, its
//! inputs after [`redact`] and a summary of what was answered (for `/predict`: class,
//! confidence and the entities' types, spans and redacted text). It is how an operator sees
//! what the model is asked in production without keeping everyone's messages: the texts are
//! redacted and only a seeded fraction of requests is logged.

use std::sync::{Arc, Mutex};

use anyhow::{bail, Result};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

use super::redact::{redact, EntitySpan};

/// The request id set by the router's request-id layer (`x-request-id`), for log events.
pub(crate) struct RequestId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let id = parts.headers.get("x-request-id");
        let id = id.and_then(|v| v.to_str().ok()).unwrap_or("-");
        Ok(RequestId(id.to_string()))
    }
}

/// Whether and how requests are logged.
pub(crate) struct IoLog {
    rate: f64,
    redact_entities: bool,
    /// Seeded (`--log-io-seed`), so which requests are sampled is reproducible in order.
    rng: Mutex<ChaCha8Rng>,
}

impl IoLog {
    /// Nothing is logged.
    pub fn off() -> Self {
        Self {
            rate: 0.0,
            redact_entities: false,
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(0)),
        }
    }

    /// Logs a `rate` fraction of requests (0 = none, 1 = all).
    pub fn new(rate: f64, seed: u64, redact_entities: bool) -> Result<Self> {
        if !(0.0..=1.0).contains(&rate) {
            bail!("--log-io-sample must be between 0 and 1, not {rate}");
        }
        Ok(Self {
            rate,
            redact_entities,
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(seed)),
        })
    }

    /// Draws whether this request is logged; never draws when logging is off.
    pub fn sampled(&self) -> bool {
        if self.rate <= 0.0 {
            return false;
        }
        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        rng.random::<f64>() < self.rate
    }

    /// Logs a `/predict` request if sampled: `items` are its answers' JSON objects.
    pub fn predictions(&self, id: &RequestId, route: &str, items: &[Arc<str>]) {
        if !self.sampled() {
            return;
        }
        let answers: Vec<Value> = items
            .iter()
            .map(|i| serde_json::from_str(i).unwrap_or(Value::Null))
            .collect();
        let inputs: Vec<String> = answers.iter().map(|a| self.input(a)).collect();
        let outputs: Vec<Value> = answers.iter().map(|a| self.prediction(a)).collect();
        event(id, route, &json!(inputs), &json!(outputs));
    }

    /// Logs any other inference request if sampled, with a route-specific `outputs` summary
    /// (which must hold no input text).
    pub fn texts(&self, id: &RequestId, route: &str, texts: &[String], outputs: Value) {
        if !self.sampled() {
            return;
        }
        let inputs: Vec<String> = texts.iter().map(|t| redact(t, &[])).collect();
        event(id, route, &json!(inputs), &outputs);
    }

    /// The answer's input text, redacted (its entities too with `--redact-entities`).
    fn input(&self, answer: &Value) -> String {
        let text = answer["text"].as_str().unwrap_or_default();
        let spans: Vec<EntitySpan> = if self.redact_entities {
            entities(answer).filter_map(span).collect()
        } else {
            vec![]
        };
        redact(text, &spans)
    }

    /// Class, confidence and entities (type, span, redacted text) of one answer.
    fn prediction(&self, answer: &Value) -> Value {
        let class = answer.pointer("/sentence/label").and_then(Value::as_str);
        let confidence = class.and_then(|c| answer["sentence"]["probs"][c].as_f64());
        let ents: Vec<Value> = entities(answer)
            .map(|e| {
                let label = e["label"].as_str().unwrap_or_default();
                let text = match self.redact_entities {
                    true => format!("<{}>", label.to_uppercase()),
                    false => redact(e["text"].as_str().unwrap_or_default(), &[]),
                };
                json!({"label": label, "start": e["start"], "end": e["end"], "text": text})
            })
            .collect();
        json!({"class": class, "confidence": confidence, "entities": ents})
    }
}

fn entities(answer: &Value) -> impl Iterator<Item = &Value> {
    answer["entities"].as_array().into_iter().flatten()
}

fn span(e: &Value) -> Option<EntitySpan> {
    Some(EntitySpan {
        start: e["start"].as_u64()? as usize,
        end: e["end"].as_u64()? as usize,
        label: e["label"].as_str()?.to_string(),
    })
}

/// The one log event of a sampled request; `inputs` and `outputs` are JSON text fields.
fn event(id: &RequestId, route: &str, inputs: &Value, outputs: &Value) {
    tracing::info!(
        target: "glassbox::io",
        request_id = %id.0,
        route,
        inputs = %inputs,
        outputs = %outputs,
        "sampled input/output"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_zero_never_samples_and_one_always_does() {
        let off = IoLog::new(0.0, 7, false).unwrap();
        assert!((0..1000).all(|_| !off.sampled()));
        let all = IoLog::new(1.0, 7, false).unwrap();
        assert!((0..1000).all(|_| all.sampled()));
    }

    #[test]
    fn a_rate_samples_about_that_fraction_reproducibly() {
        let draws = |seed| {
            let log = IoLog::new(0.25, seed, false).unwrap();
            (0..4000).map(|_| log.sampled()).collect::<Vec<_>>()
        };
        let a = draws(42);
        assert_eq!(a, draws(42), "same seed, same requests");
        assert_ne!(a, draws(43), "another seed, other requests");
        let n = a.iter().filter(|&&s| s).count();
        // Binomial(4000, 0.25): mean 1000, sd 27.4; ±5 sd.
        assert!((863..=1137).contains(&n), "{n} of 4000 sampled");
    }

    #[test]
    fn rates_outside_zero_to_one_are_refused() {
        assert!(IoLog::new(1.5, 0, false).is_err());
        assert!(IoLog::new(-0.1, 0, false).is_err());
        assert!(IoLog::new(f64::NAN, 0, false).is_err());
    }

    fn answer() -> Value {
        json!({
            "text": "@jane Justin Bieber at https://t.co/x",
            "sentence": {"label": "positive", "probs": {"negative": 0.1, "neutral": 0.2, "positive": 0.7}},
            "entities": [{"text": "Justin Bieber", "label": "person", "start": 6, "end": 19, "score": 0.9}]
        })
    }

    #[test]
    fn a_prediction_is_summarised_with_redacted_texts() {
        let plain = IoLog::new(1.0, 0, false).unwrap();
        assert_eq!(plain.input(&answer()), "<MENTION> Justin Bieber at <URL>");
        let want = json!({"class": "positive", "confidence": 0.7, "entities": [
            {"label": "person", "start": 6, "end": 19, "text": "Justin Bieber"}]});
        assert_eq!(plain.prediction(&answer()), want);
        let strict = IoLog::new(1.0, 0, true).unwrap();
        assert_eq!(strict.input(&answer()), "<MENTION> <PERSON> at <URL>");
        let ents = strict.prediction(&answer())["entities"].clone();
        assert_eq!(ents[0]["text"], "<PERSON>");
    }
}
