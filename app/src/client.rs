//! The page's side of the worker: one bridge, requests paired with replies by id, and a
//! typed call per request (`load`, `run`, `occlude`; `load_peer`, `run_peer` for a comparison)
//! so callers get `Result<_, WorkerError>` and the "reply of the wrong kind" case is handled
//! here, once.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use futures::channel::oneshot;
use gloo_worker::{Spawnable, WorkerBridge};

use crate::protocol::{LoadInfo, Occlusion, Progress, Reply, Request, RunOutput, WorkerError};
use crate::url::BackendChoice;
use crate::worker::InferenceWorker;

/// Trunk writes this shim (`data-loader-shim`) next to `index.html`: it imports the worker's
/// wasm-bindgen glue and starts its wasm.
const WORKER_LOADER: &str = "./glassbox-worker_loader.js";

type Pending = Rc<RefCell<HashMap<u64, oneshot::Sender<Reply>>>>;
type ProgressHandler = Rc<RefCell<Option<Box<dyn Fn(Progress)>>>>;

struct Client {
    bridge: WorkerBridge<InferenceWorker>,
    pending: Pending,
    progress: ProgressHandler,
    next_id: Cell<u64>,
}

thread_local! {
    static CLIENT: Client = Client::spawn();
}

impl Client {
    fn spawn() -> Client {
        let pending: Pending = Rc::default();
        let progress: ProgressHandler = Rc::default();
        let on_reply = pending.clone();
        let on_progress = progress.clone();
        let bridge = InferenceWorker::spawner()
            .callback(move |(id, reply): (u64, Reply)| {
                if let Reply::Progress(p) = reply {
                    if let Some(f) = on_progress.borrow().as_ref() {
                        f(p);
                    }
                    return;
                }
                if let Some(tx) = on_reply.borrow_mut().remove(&id) {
                    let _ = tx.send(reply);
                }
            })
            .with_loader(true)
            .as_module(false)
            .spawn(WORKER_LOADER);
        Client {
            bridge,
            pending,
            progress,
            next_id: Cell::new(0),
        }
    }

    fn send(&self, req: Request) -> oneshot::Receiver<Reply> {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        let (tx, rx) = oneshot::channel();
        self.pending.borrow_mut().insert(id, tx);
        self.bridge.send((id, req));
        rx
    }
}

/// Sends `req` and waits for its reply; a failure reply becomes the error.
async fn call(req: Request) -> Result<Reply, WorkerError> {
    let rx = CLIENT.with(|c| c.send(req));
    match rx.await {
        Ok(Reply::Failed(e)) => Err(e),
        Ok(reply) => Ok(reply),
        Err(_) => Err(WorkerError::Gone),
    }
}

fn wrong(expected: &str, got: &Reply) -> WorkerError {
    let got = match got {
        Reply::Progress(_) => "Progress",
        Reply::Loaded(_) => "Loaded",
        Reply::Ran(_) => "Ran",
        Reply::Occluded(_) => "Occluded",
        Reply::Failed(_) => "Failed",
    };
    WorkerError::Protocol(format!("expected {expected}, got {got}"))
}

/// Loads the first bundle of `candidates` that exists, on the backend `backend` asks for.
pub async fn load(
    candidates: Vec<String>,
    backend: BackendChoice,
) -> Result<LoadInfo, WorkerError> {
    match call(Request::Load {
        candidates,
        backend,
    })
    .await?
    {
        Reply::Loaded(info) => Ok(info),
        other => Err(wrong("Loaded", &other)),
    }
}

/// Runs `texts` as one batch (cache bypassed when `fresh`), with the attention maps of
/// `texts[attention]` only.
pub async fn run(
    texts: Vec<String>,
    fresh: bool,
    attention: Option<usize>,
) -> Result<RunOutput, WorkerError> {
    match call(Request::Run {
        texts,
        fresh,
        attention,
    })
    .await?
    {
        Reply::Ran(out) => Ok(out),
        other => Err(wrong("Ran", &other)),
    }
}

/// Loads the first bundle of `candidates` beside the current model, as the peer a
/// comparison runs on (the current model stays loaded).
pub async fn load_peer(
    candidates: Vec<String>,
    backend: BackendChoice,
) -> Result<LoadInfo, WorkerError> {
    match call(Request::LoadPeer {
        candidates,
        backend,
    })
    .await?
    {
        Reply::Loaded(info) => Ok(info),
        other => Err(wrong("Loaded", &other)),
    }
}

/// `run` on the peer: `texts` as one batch, with the attention maps of `texts[attention]`.
pub async fn run_peer(
    texts: Vec<String>,
    attention: Option<usize>,
) -> Result<RunOutput, WorkerError> {
    match call(Request::RunPeer { texts, attention }).await? {
        Reply::Ran(out) => Ok(out),
        other => Err(wrong("Ran", &other)),
    }
}

/// The sentence class of `text` with each word left out in turn.
pub async fn occlude(text: String) -> Result<Occlusion, WorkerError> {
    match call(Request::Occlude { text }).await? {
        Reply::Occluded(o) => Ok(o),
        other => Err(wrong("Occluded", &other)),
    }
}

/// Where download progress of a `Load` goes (it arrives before the `Loaded` reply).
pub fn on_progress(f: impl Fn(Progress) + 'static) {
    CLIENT.with(|c| *c.progress.borrow_mut() = Some(Box::new(f)));
}
