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
    engine: Slot,
}

impl Worker for InferenceWorker {
    type Message = ();
    type Input = (u64, Request);
    type Output = (u64, Reply);

    fn create(_scope: &WorkerScope<Self>) -> Self {
        Self {
            queue: Rc::default(),
            draining: Rc::default(),
            engine: Rc::default(),
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
    slot: &Slot,
    req: Request,
    progress: &dyn Fn(Progress),
) -> Result<Reply, WorkerError> {
    let current = slot.borrow().clone();
    let loaded = || current.clone().ok_or(WorkerError::NotLoaded);
    Ok(match req {
        Request::Load {
            candidates,
            backend,
        } => {
            // Drop the old model first: two copies of the weights may not fit.
            *slot.borrow_mut() = None;
            drop(current);
            let engine = Engine::load(&candidates, backend, progress).await?;
            let info = engine.info();
            *slot.borrow_mut() = Some(Rc::new(engine));
            Reply::Loaded(info)
        }
        Request::Run {
            texts,
            fresh,
            attention,
        } => Reply::Ran(loaded()?.run(&texts, fresh, attention).await?),
        Request::Occlude { text } => Reply::Occluded(loaded()?.occlude(&text).await?),
    })
}

/// Called from the worker's `main`.
pub fn register() {
    InferenceWorker::registrar().register();
}
