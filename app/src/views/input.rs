//! Where sentences go in: one per line, run as a batch.

use glassbox_model::decode::Aggregation;
use leptos::prelude::*;

use super::{run, State, MAX_LINES};

#[component]
pub fn InputPanel() -> impl IntoView {
    let s = expect_context::<State>();
    let set_agg = move |ev: leptos::ev::Event| {
        let agg = match event_target_value(&ev).as_str() {
            "mean" => Aggregation::Mean,
            "max" => Aggregation::Max,
            _ => Aggregation::First,
        };
        s.view.update(|v| v.agg = agg);
    };
    let agg_value = move || match s.view.get().agg {
        Aggregation::First => "first",
        Aggregation::Mean => "mean",
        Aggregation::Max => "max",
    };
    view! {
        <section class="panel input">
            <h2>"Sentences"</h2>
            <label for="input">{format!("One sentence per line (up to {MAX_LINES} lines are analysed).")}</label>
            <textarea id="input" data-testid="input" rows="6" spellcheck="false"
                prop:value=move || s.input.get()
                on:input=move |ev| s.input.set(event_target_value(&ev))></textarea>
            <div class="controls">
                <button data-testid="run" on:click=move |_| run(s) disabled=move || !s.ready()>"Analyse"</button>
                <label class="inline">"Word tags from wordpieces: "
                    <select data-testid="aggregate" prop:value=agg_value on:change=set_agg>
                        <option value="first">"first piece (as trained)"</option>
                        <option value="mean">"average of pieces"</option>
                        <option value="max">"max of pieces"</option>
                    </select>
                </label>
                <a data-testid="permalink" class="permalink"
                    href=move || super::permalink::hash(&s.ran.get(), &s.view.get())>"Permalink"</a>
            </div>
            <p class="status" data-testid="status" role="status">{move || s.status.get()}</p>
            <ul class="warnings" data-testid="warnings">
                {move || s.notes.get().into_iter().map(|w| view! { <li>{w}</li> }).collect_view()}
            </ul>
        </section>
    }
}
