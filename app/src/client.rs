//! The page's side of the worker: one bridge, requests paired with replies by id, awaited
//! as futures so views read like ordinary async code.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use futures::channel::oneshot;
use gloo_worker::{Spawnable, WorkerBridge};

use crate::protocol::{Progress, Reply, Request};
use crate::worker::InferenceWorker;

/// Trunk writes this shim (`data-loader-shim`) next to `index.html`: it imports the worker's
/// wasm-bindgen glue and starts its wasm.
const WORKER_LOADER: &str = "./glassbox-worker_loader.js";

type Pending = Rc<RefCell<HashMap<u64, oneshot::Sender<Reply>>>>;
type ProgressHandler = Rc<RefCell<Option<Box<dyn Fn(Progress)>>>>;

pub struct Client {
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

/// Sends `req` to the inference worker and waits for its reply.
pub async fn call(req: Request) -> Reply {
    let rx = CLIENT.with(|c| c.send(req));
    rx.await
        .unwrap_or_else(|_| Reply::Failed("the inference worker went away".into()))
}

/// Where download progress of a `Load` goes (it arrives before the `Loaded` reply).
pub fn on_progress(f: impl Fn(Progress) + 'static) {
    CLIENT.with(|c| *c.progress.borrow_mut() = Some(Box::new(f)));
}
