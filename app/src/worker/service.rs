//! The gloo-worker side: requests queue up and one task drains them, each answered by the
//! engine. The queue is what makes a `Run` sent during a `Load` wait instead of failing.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use gloo_worker::{HandlerId, Registrable, Worker, WorkerScope};

use super::engine::Engine;
use crate::protocol::{Progress, Reply, Request, WorkerError};

type Job = (HandlerId, u64, Request);
type Slot = Rc<RefCell<Option<Rc<Engine>>>>;

pub struct InferenceWorker {
    queue: Rc<RefCell<VecDeque<Job>>>,
    draining: Rc<Cell<bool>>,
    engine: Slots,
}

/// The model `Load` loads and the peer `LoadPeer` loads beside it for a comparison: two
/// MiniLM-L6 bundles (24–91 MB of weights each) fit the worker's wasm memory together.
#[derive(Clone, Default)]
struct Slots {
    main: Slot,
    peer: Slot,
}

impl Worker for InferenceWorker {
    type Message = ();
    type Input = (u64, Request);
    type Output = (u64, Reply);

    fn create(_scope: &WorkerScope<Self>) -> Self {
        Self {
            queue: Rc::default(),
            draining: Rc::default(),
            engine: Slots::default(),
        }
    }

    fn update(&mut self, _scope: &WorkerScope<Self>, _msg: ()) {}

    fn received(&mut self, scope: &WorkerScope<Self>, (rid, req): (u64, Request), id: HandlerId) {
        self.queue.borrow_mut().push_back((id, rid, req));
        if self.draining.replace(true) {
            return;
        }
        let (queue, draining, engine, scope) = (
            self.queue.clone(),
            self.draining.clone(),
            self.engine.clone(),
            scope.clone(),
        );
        wasm_bindgen_futures::spawn_local(async move {
            loop {
                let next = queue.borrow_mut().pop_front();
                let Some((id, rid, req)) = next else { break };
                let progress = |p: Progress| scope.respond(id, (rid, Reply::Progress(p)));
                let reply = handle(&engine, req, &progress)
                    .await
                    .unwrap_or_else(Reply::Failed);
                scope.respond(id, (rid, reply));
            }
            draining.set(false);
        });
    }
}

async fn handle(
    slots: &Slots,
    req: Request,
    progress: &dyn Fn(Progress),
) -> Result<Reply, WorkerError> {
    let loaded = |slot: &Slot| slot.borrow().clone().ok_or(WorkerError::NotLoaded);
    Ok(match req {
        Request::Load {
            candidates,
            backend,
        } => {
            // A new main model ends any comparison; its peer goes with the old one.
            *slots.peer.borrow_mut() = None;
            load_into(&slots.main, &candidates, backend, progress).await?
        }
        Request::LoadPeer {
            candidates,
            backend,
        } => load_into(&slots.peer, &candidates, backend, progress).await?,
        Request::Run {
            texts,
            fresh,
            attention,
        } => Reply::Ran(loaded(&slots.main)?.run(&texts, fresh, attention).await?),
        Request::RunPeer { texts, attention } => {
            Reply::Ran(loaded(&slots.peer)?.run(&texts, false, attention).await?)
        }
        Request::Occlude { text } => Reply::Occluded(loaded(&slots.main)?.occlude(&text).await?),
    })
}

/// Loads a bundle into `slot`, dropping what it held first: two copies of the weights of
/// one slot may not fit beside the other slot's.
async fn load_into(
    slot: &Slot,
    candidates: &[String],
    backend: crate::url::BackendChoice,
    progress: &dyn Fn(Progress),
) -> Result<Reply, WorkerError> {
    *slot.borrow_mut() = None;
    let engine = Engine::load(candidates, backend, progress).await?;
    let info = engine.info();
    *slot.borrow_mut() = Some(Rc::new(engine));
    Ok(Reply::Loaded(info))
}

/// Called from the worker's `main`.
pub fn register() {
    InferenceWorker::registrar().register();
}
