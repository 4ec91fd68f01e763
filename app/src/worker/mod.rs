//! The inference worker: owns the loaded model and answers the page's requests.
//!
//! Requests are handled strictly one after another (a queue drained by a single task), so a
//! `Run` sent while the model is still loading waits for it instead of failing, and two runs
//! never interleave their GPU work.

mod cache;
mod engine;
mod fetch;

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use gloo_worker::{HandlerId, Registrable, Worker, WorkerScope};

use crate::protocol::{Progress, Reply, Request};
pub use engine::Engine;

type Job = (HandlerId, u64, Request);

pub struct InferenceWorker {
    queue: Rc<RefCell<VecDeque<Job>>>,
    draining: Rc<RefCell<bool>>,
    engine: Rc<RefCell<Option<Rc<Engine>>>>,
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
        if *self.draining.borrow() {
            return;
        }
        *self.draining.borrow_mut() = true;
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
                let reply = handle(&engine, req, &progress).await;
                scope.respond(id, (rid, reply));
            }
            *draining.borrow_mut() = false;
        });
    }
}

async fn handle(
    slot: &RefCell<Option<Rc<Engine>>>,
    req: Request,
    progress: &dyn Fn(Progress),
) -> Reply {
    let current = slot.borrow().clone();
    match req {
        Request::Load {
            candidates,
            force_cpu,
        } => {
            // Drop the old model first: two copies of the weights may not fit.
            *slot.borrow_mut() = None;
            drop(current);
            match Engine::load(&candidates, force_cpu, progress).await {
                Ok(engine) => {
                    let info = engine.info();
                    *slot.borrow_mut() = Some(Rc::new(engine));
                    Reply::Loaded(info)
                }
                Err(e) => Reply::Failed(e),
            }
        }
        Request::Run { texts, fresh } => match current {
            Some(engine) => match engine.run(&texts, fresh).await {
                Ok(out) => Reply::Ran(out),
                Err(e) => Reply::Failed(e),
            },
            None => Reply::Failed("no model is loaded".into()),
        },
        Request::Occlude { text } => match current {
            Some(engine) => match engine.occlude(&text).await {
                Ok(out) => Reply::Occluded(out),
                Err(e) => Reply::Failed(e),
            },
            None => Reply::Failed("no model is loaded".into()),
        },
    }
}

/// Called from the worker's `main`.
pub fn register() {
    InferenceWorker::registrar().register();
}
