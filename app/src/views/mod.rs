//! The page: one file per panel. `App` makes the [`State`] and the [`Session`] and puts both
//! in the context; panels read what they show from the state and act through the session.
//! The model itself lives in the inference worker (`crate::client`), never on this thread.

mod attention_diff;
mod backend;
mod bench;
mod card;
mod compare;
mod corpus;
mod gate;
mod input;
mod inspect;
mod lesson;
mod picker;
mod results;
mod whatif;

use leptos::prelude::*;

use crate::registry::compare::Compare;
use crate::session::Session;
use crate::state::State;
use crate::url::Query;

pub fn mount() {
    leptos::mount::mount_to_body(App);
}

#[component]
pub fn App() -> impl IntoView {
    let state = State::new(Query::current().backend);
    let session = Session::new(state);
    provide_context(state);
    provide_context(session);
    // `?compare=a,b`: the second model and the comparison panels.
    if let Some(compare) = Compare::from_address(state) {
        provide_context(compare);
    }
    session.start();
    lesson::listen_for_keys(state);

    // The page opens on the task: the sentences first, the results right below them; the
    // backend is one status line that expands.
    view! {
        <header class="top">
            <h1>"glassbox"</h1>
            <p class="tagline">"A sentence transformer you can look inside — running in your browser."</p>
        </header>
        <backend::BackendStatus />
        <picker::RegistryPicker />
        <lesson::LessonBar />
        <main>
            <input::InputPanel />
            <results::Results />
            <whatif::WhatIfPanel />
            <compare::ComparePanel />
            <attention_diff::AttentionDiffPanel />
            <gate::GatePanel />
            <inspect::Inspect />
            <corpus::Corpus />
            <card::ModelCard />
        </main>
    }
}
