//! "What if…": the selected sentence beside an edited copy of it (a typo, a name from another
//! culture or script, a negation, or any hand edit), with class, entities and the picked
//! attention map of both; and the invariance checks of `glassbox robustness` run on the
//! teacher's own sentences, every edit on every analysed sentence, with a failure rate per
//! edit and the failing pairs.

use std::sync::Arc;

use glassbox_model::text::decode::{argmax, entities_by, Aggregation, Entity};
use glassbox_model::text::perturb::Lexicons;
use leptos::prelude::*;

use crate::charts::{Chart, Spec};
use crate::client;
use crate::derived::{detail, heatmap};
use crate::protocol::{SentenceOut, WorkerError};
use crate::state::{Model, State};
use crate::views::results::{entity_text, probs_json, ClassShares};
use crate::whatif::{self, Answer, Edit, Edited, Tally};

/// Texts per request while checking: results come back in steps, not all at the end.
const CHECK_BATCH: usize = 16;
/// Failing pairs shown per edit.
const SHOWN: usize = 3;

/// The model's answer to an edited text: (the text it answered, the answer), or why not.
type Answered = Result<(String, Arc<SentenceOut>), String>;
/// The checks' results per edit, or why they could not run.
type Checked = Result<Vec<(Edit, Tally)>, String>;

/// The panel's own signals.
#[derive(Clone, Copy)]
struct WhatIf {
    edit: RwSignal<Edit>,
    seed: RwSignal<u64>,
    /// The edit as generated (`None` when it could not apply); the text box starts from it.
    edited: RwSignal<Option<Result<Edited, String>>>,
    text: RwSignal<String>,
    after: RwSignal<Option<Answered>>,
    checks: RwSignal<Option<Checked>>,
    lexicons: StoredValue<Lexicons>,
}

/// Entities as `glassbox predict` prints them (first wordpiece), which the swaps replace.
fn entities(out: &SentenceOut, model: &Model) -> Vec<Entity> {
    let labels = &model.manifest.config.token_labels;
    entities_by(&out.tokenized, &out.token_probs, labels, Aggregation::First)
}

#[component]
pub fn WhatIfPanel() -> impl IntoView {
    let s = expect_context::<State>();
    let w = WhatIf {
        edit: RwSignal::new(Edit::Typo),
        seed: RwSignal::new(0),
        edited: RwSignal::new(None),
        text: RwSignal::new(String::new()),
        after: RwSignal::new(None),
        checks: RwSignal::new(None),
        lexicons: StoredValue::new(whatif::lexicons()),
    };
    provide_context(w);
    regenerate_on_change(s, w);
    view! {
        <section class="panel whatif" data-testid="whatif">
            <h2>"What if…"</h2>
            <p class="note">"Change the selected sentence and see what the model makes of the change. Every edit but negation should leave the class as it was, and a swapped name should keep its type."</p>
            {move || match (s.derived.focus.get(), s.model.get()) {
                (Some(f), Some(m)) => view! { <Editor before=f model=m /> }.into_any(),
                _ => view! { <p class="note">"Analyse a sentence and select it to edit it here."</p> }.into_any(),
            }}
            <Checks />
        </section>
    }
}

/// A new focus, edit or seed makes a new edited sentence (and drops the old answer).
fn regenerate_on_change(s: State, w: WhatIf) {
    Effect::new(move |_| {
        let (edit, seed) = (w.edit.get(), w.seed.get());
        let model = s.model.get();
        let made = s.derived.focus.with(|f| {
            let (f, m) = (f.as_ref()?, model.as_ref()?);
            let ents = entities(f, m);
            Some(
                w.lexicons
                    .with_value(|l| whatif::apply(edit, &f.tokenized.text, &ents, l, seed)),
            )
        });
        w.text.set(
            made.as_ref()
                .and_then(|m| m.as_ref().ok())
                .map_or(String::new(), |e| e.text.clone()),
        );
        w.edited.set(made);
        w.after.set(None);
    });
}

/// The edit picker, the edited text (editable) and both answers side by side.
#[component]
fn Editor(before: Arc<SentenceOut>, model: Arc<Model>) -> impl IntoView {
    let w = expect_context::<WhatIf>();
    let run = Action::new_local(move |text: &String| answer(w, text.clone()));
    let options = Edit::ALL
        .into_iter()
        .map(|e| view! { <option value=e.name()>{e.label()}</option> })
        .collect_view();
    let pick = move |ev: leptos::ev::Event| {
        if let Some(e) = Edit::from_name(&event_target_value(&ev)) {
            w.edit.set(e);
        }
    };
    let compare = move |_| {
        run.dispatch_local(w.text.get_untracked());
    };
    view! {
        <div class="controls">
            <label class="inline">"Edit: "
                <select data-testid="whatif-edit" prop:value=move || w.edit.get().name() on:change=pick>{options}</select>
            </label>
            <button class="small" data-testid="whatif-another" on:click=move |_| w.seed.update(|s| *s += 1)>"Another"</button>
        </div>
        {move || w.edited.get().and_then(Result::err).map(|e| view! { <p class="warning" data-testid="whatif-error">{e}</p> })}
        <label for="whatif-text">"Edited sentence (change it by hand if you like):"</label>
        <input id="whatif-text" data-testid="whatif-text" type="text" spellcheck="false"
            prop:value=move || w.text.get() on:input=move |ev| w.text.set(event_target_value(&ev)) />
        <button data-testid="whatif-run" on:click=compare disabled=move || run.pending().get() || w.text.with(String::is_empty)>"Compare"</button>
        {move || match w.after.get() {
            Some(Ok((text, after))) => view! { <Sides before=before.clone() after text model=model.clone() /> }.into_any(),
            Some(Err(e)) => view! { <p class="warning" data-testid="whatif-error">{e}</p> }.into_any(),
            None => ().into_any(),
        }}
    }
}

/// Runs `text` with its attention and keeps the answer for the panel.
async fn answer(w: WhatIf, text: String) {
    let got = client::run(vec![text.clone()], false, Some(0))
        .await
        .and_then(|out| match out.sentences.into_iter().next() {
            Some(r) => r,
            None => Err(WorkerError::Protocol(
                "no answer for the edited sentence".into(),
            )),
        })
        .map(|o| (text, Arc::new(o)))
        .map_err(|e| e.to_string());
    w.after.set(Some(got));
}

/// The verdict line: did the invariance the edit tests hold? A hand edit only reports.
fn verdict_line(
    w: WhatIf,
    before: &SentenceOut,
    after: &SentenceOut,
    text: &str,
    model: &Model,
) -> (String, &'static str) {
    let classes = &model.manifest.config.sentence_labels;
    let name = |p: &[f32]| classes.get(argmax(p).0).cloned().unwrap_or_default();
    let (a, b) = (name(&before.sentence_probs), name(&after.sentence_probs));
    let generated = w.edited.with_untracked(|e| e.clone().and_then(Result::ok));
    let Some(edited) = generated.filter(|e| e.text == text) else {
        return (format!("Edited by hand: class {a} → {b}."), "note");
    };
    if !edited.edit.invariant() {
        return (
            format!("Negation: class {a} → {b} (a change is expected)."),
            "note",
        );
    }
    let (ea, eb) = (entities(before, model), entities(after, model));
    let a = Answer {
        probs: &before.sentence_probs,
        entities: &ea,
    };
    let b_ = Answer {
        probs: &after.sentence_probs,
        entities: &eb,
    };
    match whatif::verdict(&edited, &a, &b_, classes) {
        None => (format!("Holds: still {b}."), "pass"),
        Some(why) => (format!("Fails: {why}."), "fail"),
    }
}

/// Before and after, each with class, entities and the picked attention map.
#[component]
fn Sides(
    before: Arc<SentenceOut>,
    after: Arc<SentenceOut>,
    text: String,
    model: Arc<Model>,
) -> impl IntoView {
    let w = expect_context::<WhatIf>();
    let (line, class) = verdict_line(w, &before, &after, &text, &model);
    view! {
        <p class=format!("verdict {class}") data-testid="whatif-verdict" data-outcome=class>{line}</p>
        <div class="compare-columns">
            <Side role="before" out=before model=model.clone() />
            <Side role="after" out=after model />
        </div>
    }
}

#[component]
fn Side(role: &'static str, out: Arc<SentenceOut>, model: Arc<Model>) -> impl IntoView {
    let s = expect_context::<State>();
    let labels = model.manifest.config.sentence_labels.clone();
    let probs = probs_json(&labels, &out.sentence_probs);
    let map = attention_map(s, out.clone());
    let alt = Signal::derive(move || {
        format!(
            "attention of the {role} sentence: {}",
            s.derived.title.get()
        )
    });
    view! {
        <div class="compare-column" data-testid=format!("whatif-{role}") data-probs=probs>
            <h3>{if role == "before" { "Before" } else { "After" }}</h3>
            <p><ClassShares labels probs=out.sentence_probs.clone() testid="whatif-label" /></p>
            <p class="text">{entity_text(s, out, model)}</p>
            <h4>{move || s.derived.title.get()}</h4>
            <Chart spec=map testid=if role == "before" { "whatif-map-before" } else { "whatif-map-after" } name="whatif-attention" alt />
        </div>
    }
}

/// The attention map the inspector's picker selects, for one side.
fn attention_map(s: State, out: Arc<SentenceOut>) -> Signal<Spec> {
    Signal::derive(move || heatmap(&detail(&out, s.derived.pick.get())))
}

/// The invariance checks over every analysed sentence.
#[component]
fn Checks() -> impl IntoView {
    let s = expect_context::<State>();
    let w = expect_context::<WhatIf>();
    let check = Action::new_local(move |_: &()| run_checks(s, w));
    view! {
        <h3>"Check my sentences"</h3>
        <p class="note">"Every edit above but negation, on every analysed sentence: how often does the model change its answer?"</p>
        <button data-testid="whatif-check" on:click=move |_| { check.dispatch_local(()); }
            disabled=move || check.pending().get() || s.rows.with(Vec::is_empty)>"Run the checks"</button>
        {move || check.pending().get().then(|| view! { <p class="note" data-testid="whatif-checking">"Checking…"</p> })}
        {move || match w.checks.get() {
            Some(Ok(t)) => view! { <CheckTable t /> }.into_any(),
            Some(Err(e)) => view! { <p class="warning" data-testid="whatif-error">{e}</p> }.into_any(),
            None => ().into_any(),
        }}
    }
}

/// Probes every analysed sentence, runs the edited texts in batches and tallies the verdicts.
async fn run_checks(s: State, w: WhatIf) {
    let Some(model) = s.model.get_untracked() else {
        return;
    };
    let texts: Vec<(String, Vec<Entity>, Arc<SentenceOut>)> = s.rows.with_untracked(|rows| {
        rows.iter()
            .filter_map(|r| r.out.as_ref().ok())
            .map(|o| (o.tokenized.text.clone(), entities(o, &model), o.clone()))
            .collect()
    });
    let plain: Vec<(String, Vec<Entity>)> = texts
        .iter()
        .map(|(t, e, _)| (t.clone(), e.clone()))
        .collect();
    let probes = w.lexicons.with_value(|l| whatif::probes(&plain, l, 0));
    let edited: Vec<String> = probes.iter().map(|(_, e)| e.text.clone()).collect();
    let result = judge_all(&texts, &probes, &edited, &model).await;
    w.checks
        .set(Some(result.map(|why| whatif::tally(&plain, &probes, &why))));
}

/// The verdict of every probe (an edited text the worker could not analyse fails with why).
async fn judge_all(
    texts: &[(String, Vec<Entity>, Arc<SentenceOut>)],
    probes: &[(usize, Edited)],
    edited: &[String],
    model: &Model,
) -> Result<Vec<Option<String>>, String> {
    let classes = &model.manifest.config.sentence_labels;
    let mut out = Vec::with_capacity(probes.len());
    for (chunk, ps) in edited.chunks(CHECK_BATCH).zip(probes.chunks(CHECK_BATCH)) {
        let ran = client::run(chunk.to_vec(), false, None)
            .await
            .map_err(|e| e.to_string())?;
        for ((i, e), r) in ps.iter().zip(ran.sentences) {
            let (_, ents, before) = &texts[*i];
            out.push(match r {
                Err(err) => Some(format!("not analysed: {err}")),
                Ok(after) => {
                    let ea = entities(&after, model);
                    let b = Answer {
                        probs: &before.sentence_probs,
                        entities: ents,
                    };
                    let a = Answer {
                        probs: &after.sentence_probs,
                        entities: &ea,
                    };
                    whatif::verdict(e, &b, &a, classes)
                }
            });
        }
    }
    Ok(out)
}

/// One row per edit: sentences checked, failures, rate; the first failing pairs below. Each
/// row carries every (sentence, edited, failed) triple as JSON, for people who want the
/// whole list and for the tests that check each verdict against the CLI.
#[component]
fn CheckTable(t: Vec<(Edit, Tally)>) -> impl IntoView {
    let rows = t
        .into_iter()
        .map(|(e, t)| view! { <CheckRow e t /> })
        .collect_view();
    view! {
        <table class="whatif-checks" data-testid="whatif-checks">
            <thead><tr><th>"edit"</th><th>"checked"</th><th>"failed"</th><th>"rate"</th><th>"failing examples"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

#[component]
fn CheckRow(e: Edit, t: Tally) -> impl IntoView {
    let examples = t
        .failures()
        .take(SHOWN)
        .map(|o| {
            let why = o.why.clone().unwrap_or_default();
            view! { <li data-testid="whatif-failure"><q>{o.original.clone()}</q>" → "<q>{o.edited.clone()}</q>": "{why}</li> }
        })
        .collect_view();
    let all: Vec<serde_json::Value> = t
        .outcomes
        .iter()
        .map(|o| serde_json::json!({"original": o.original, "edited": o.edited, "why": o.why}))
        .collect();
    view! {
        <tr data-testid="whatif-check-row" data-edit=e.name() data-outcomes=serde_json::Value::Array(all).to_string()>
            <td>{e.label()}</td><td>{t.outcomes.len()}</td><td>{t.failed()}</td>
            <td>{format!("{:.0}%", t.rate() * 100.0)}</td><td><ul>{examples}</ul></td>
        </tr>
    }
}
