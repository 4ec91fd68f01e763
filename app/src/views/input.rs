//! Where sentences go in: one per line, run as a batch; the run's status and warnings.

use leptos::prelude::*;

use crate::lines::MAX_LINES;
use crate::session::Session;
use crate::state::{aggregation_from_name, State};
use crate::url;
use crate::views::lesson::LessonStart;

#[component]
pub fn InputPanel() -> impl IntoView {
    let s = expect_context::<State>();
    let session = expect_context::<Session>();
    let set_agg = move |ev: leptos::ev::Event| {
        let agg = aggregation_from_name(&event_target_value(&ev));
        s.view.update(|v| v.agg = agg);
    };
    let agg_value = move || s.view.with(|v| v.agg.name());
    let permalink = move || {
        s.ran
            .with(|lines| s.view.with(|v| url::permalink(lines, v)))
    };
    view! {
        <section class="panel input">
            <h2>"Sentences"</h2>
            <label for="input">{format!("One sentence per line (up to {MAX_LINES} lines are analysed).")}</label>
            <textarea id="input" data-testid="input" rows="6" spellcheck="false"
                prop:value=move || s.input.get()
                on:input=move |ev| s.input.set(event_target_value(&ev))></textarea>
            <div class="controls">
                <button data-testid="run" on:click=move |_| session.analyse() disabled=move || !session.ready()>"Analyse"</button>
                <label class="inline">"Word tags from wordpieces: "
                    <select data-testid="aggregate" prop:value=agg_value on:change=set_agg>
                        <option value="first">"first piece (as trained)"</option>
                        <option value="mean">"average of pieces"</option>
                        <option value="max">"max of pieces"</option>
                    </select>
                </label>
                <a data-testid="permalink" class="permalink" href=permalink>"Permalink"</a>
                <LessonStart />
            </div>
            <p class="status" data-testid="status" role="status">{move || s.status.get()}</p>
            <Warnings />
        </section>
    }
}

/// What the last run left out or changed, one item per note.
#[component]
fn Warnings() -> impl IntoView {
    let s = expect_context::<State>();
    view! {
        <ul class="warnings" data-testid="warnings">
            // Notes repeat (the same cut on two runs) but never at the same position.
            <For each=move || s.notes.get().into_iter().enumerate()
                key=|(i, note)| (*i, note.clone())
                children=|(_, note)| view! { <li>{note}</li> } />
        </ul>
    }
}
