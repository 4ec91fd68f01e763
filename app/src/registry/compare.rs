//! Champion–challenger on the page (`?registry=…&compare=a,b`): the page's model is `a`, the
//! worker loads `b` beside it as its peer, and every analysed sentence is run on both, the
//! focused one with its attention maps from each. The gate report that judged `b`, when the
//! index has one, is read for the gate panel.
//!
//! A controller of its own beside the [`Session`](crate::session::Session) so the page
//! without `?compare=` carries none of it.

use std::sync::Arc;

use glassbox_model::weights::bundle::Manifest;
use leptos::prelude::*;

use super::gate::GateSummary;
use super::page::{check_manifest, Listing};
use super::{compare_pair, Version};
use crate::client;
use crate::protocol::{SentenceOut, WorkerError};
use crate::state::{Model, State};
use crate::url::{self, Query};

/// Both models' answers for the analysed sentences; `focus` is the one with attention maps.
#[derive(Clone, Debug)]
pub struct Compared {
    pub texts: Vec<String>,
    pub focus: usize,
    pub a: Vec<Result<SentenceOut, WorkerError>>,
    pub b: Vec<Result<SentenceOut, WorkerError>>,
}

/// What the compare panels read.
#[derive(Clone, Copy)]
pub struct Compare {
    /// The two names from `?compare=`, as given (aliases or versions).
    pub names: (StoredValue<String>, StoredValue<String>),
    /// The second model, once loaded in the worker.
    pub peer: RwSignal<Option<Arc<Model>>>,
    pub result: RwSignal<Option<Arc<Compared>>>,
    /// Why the peer or a comparison failed.
    pub error: RwSignal<Option<String>>,
    /// The gate report of the peer's version, when the index names one.
    pub gate: RwSignal<Option<Result<GateSummary, String>>>,
    /// The (layer, head) whose two maps are shown; the biggest difference until picked.
    pub cell: RwSignal<Option<(usize, usize)>>,
}

/// Lines analysed and focused: what a comparison is run on.
type Job = (Vec<String>, usize);

impl Compare {
    /// The controller when the address asks for a comparison.
    pub fn from_address(s: State) -> Option<Compare> {
        let (a, b) = compare_pair(&Query::current().compare?)?;
        let c = Compare {
            names: (StoredValue::new(a), StoredValue::new(b)),
            peer: RwSignal::new(None),
            result: RwSignal::new(None),
            error: RwSignal::new(None),
            gate: RwSignal::new(None),
            cell: RwSignal::new(None),
        };
        c.follow(s);
        Some(c)
    }

    /// Loads the peer whenever the page's model (re)loads (a plain load drops the worker's
    /// peer), and compares again whenever a run has finished or the focus moved.
    fn follow(self, s: State) {
        let load = Action::new_local(move |_: &()| load_peer(s, self));
        let run = Action::new_local(move |job: &Job| run_both(self, job.clone()));
        Effect::new(move |_| {
            self.peer.set(None);
            if s.model.with(Option::is_some) {
                load.dispatch_local(());
            }
        });
        let job = Memo::new(move |_| {
            let ran = s.ran.get();
            let done = s.rows.with(|r| r.len()) == ran.len() && !ran.is_empty();
            let focus = s.view.with(|v| v.sel).min(ran.len().saturating_sub(1));
            (done && self.peer.with(Option::is_some)).then_some((ran, focus))
        });
        Effect::new(move |_| {
            if let Some(j) = job.get() {
                run.dispatch_local(j);
            }
        });
    }
}

/// The version `name` in the listing the page loaded from.
fn version_of(listing: &Listing, name: &str) -> Result<Version, String> {
    listing.index.pick(Some(name)).cloned()
}

/// Loads the second version of `?compare=` beside the page's model, and its gate report.
async fn load_peer(s: State, c: Compare) -> Result<(), String> {
    c.error.set(None);
    let got = peer_model(s, c).await;
    match got {
        Ok(m) => c.peer.set(Some(Arc::new(m))),
        Err(e) => c.error.set(Some(format!(
            "Could not load the model to compare with: {e}"
        ))),
    }
    Ok(())
}

async fn peer_model(s: State, c: Compare) -> Result<Model, String> {
    let listing = match s.registry.get_untracked() {
        Some(Ok(l)) => l,
        Some(Err(e)) => return Err(e),
        None => return Err("compare needs ?registry= to pick both versions from".into()),
    };
    let v = version_of(&listing, &c.names.1.get_value())?;
    let bundle = listing.at.bundle(&v)?;
    let info = client::load_peer(vec![bundle], s.backend.get_untracked())
        .await
        .map_err(|e| e.to_string())?;
    check_manifest(&info, &v).map_err(|e| e.to_string())?;
    let manifest = Manifest::from_json(info.manifest_json.as_bytes()).map_err(|e| e.to_string())?;
    c.gate.set(read_gate(&listing, &v).await);
    Ok(Model::new(info, manifest))
}

/// The gate report of `v`, when the index names one.
async fn read_gate(listing: &Listing, v: &Version) -> Option<Result<GateSummary, String>> {
    let path = v.gate.as_deref()?;
    let got = async {
        let at = listing.at.join(path)?;
        let text = url::fetch_same_origin(&at)
            .await
            .map_err(|e| format!("cannot read the gate report {at}: {e}"))?;
        GateSummary::parse(&text, &at)
    };
    Some(got.await)
}

/// Runs `texts` on both models, the focused one with its maps (the worker's caches answer
/// what the page's own run computed already).
async fn run_both(c: Compare, (texts, focus): Job) -> Result<(), String> {
    let got = async {
        let a = client::run(texts.clone(), false, Some(focus)).await?;
        let b = client::run_peer(texts.clone(), Some(focus)).await?;
        Ok::<_, WorkerError>((a.sentences, b.sentences))
    };
    match got.await {
        Ok((a, b)) => {
            c.error.set(None);
            c.result
                .set(Some(Arc::new(Compared { texts, focus, a, b })));
        }
        Err(e) => c.error.set(Some(format!("The comparison failed: {e}"))),
    }
    Ok(())
}
