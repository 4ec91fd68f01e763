//! The lesson bar: the current step's title and text (from [`crate::lesson::STEPS`]), a step
//! counter, previous/next (also the arrow keys), a link to the step and a way out. The panel
//! the step is about is outlined and scrolled to, so the class looks where the text says.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::lesson::{self, Panel, STEPS};
use crate::session::Session;
use crate::state::State;
use crate::url;

/// Whether the lesson's current step is about `panel` (for `class:lesson-focus`).
pub fn highlights(s: State, panel: Panel) -> impl Fn() -> bool + Copy + Send + Sync + 'static {
    move || {
        s.lesson
            .with(|l| l.and_then(|i| STEPS.get(i)).map(|step| step.panel) == Some(panel))
    }
}

/// Moves to step `i`.
fn go(s: State, i: usize) {
    s.lesson.set(Some(i));
}

/// The link to step `i` over the sentences shown (or none yet).
fn step_link(s: State, i: usize) -> String {
    let hash = s.ran.with(|lines| {
        if lines.is_empty() {
            String::new()
        } else {
            s.view.with(|v| url::permalink(lines, v))
        }
    });
    url::lesson_link(&url::current_search(), &hash, i)
}

/// Brings the step's panel into view once it exists (results arrive after the step opens).
fn scroll_to_step(s: State) {
    let analysed = Memo::new(move |_| s.derived.focus.with(Option::is_some));
    Effect::new(move |_| {
        let shown = analysed.get();
        let Some(step) = s.lesson.get().and_then(|i| STEPS.get(i)) else {
            return;
        };
        let selector = format!("[data-lesson=\"{}\"]", step.panel.id());
        let target = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.query_selector(&selector).ok().flatten());
        if let (true, Some(el)) = (shown, target) {
            el.scroll_into_view_with_bool(true);
        }
    });
}

/// Arrow keys move between steps, except while typing or choosing in a form control.
pub fn listen_for_keys(s: State) {
    let handle = window_event_listener(leptos::ev::keydown, move |ev| {
        let Some(i) = s.lesson.get_untracked() else {
            return;
        };
        let editing = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .is_some_and(|el| matches!(el.tag_name().as_str(), "TEXTAREA" | "INPUT" | "SELECT"));
        if editing || ev.alt_key() || ev.ctrl_key() || ev.meta_key() {
            return;
        }
        let to = match ev.key().as_str() {
            "ArrowRight" => lesson::next(i),
            "ArrowLeft" => lesson::prev(i),
            _ => return,
        };
        ev.prevent_default();
        go(s, to);
    });
    // The page lives as long as the listener; nothing to clean up.
    std::mem::forget(handle);
}

/// The button that opens the lesson on its first step.
#[component]
pub fn LessonStart() -> impl IntoView {
    let s = expect_context::<State>();
    let session = expect_context::<Session>();
    view! {
        <button class="small" data-testid="lesson-start" disabled=move || s.lesson.with(Option::is_some)
            title="Guided steps over the sentences above (an example set when the box is empty)"
            on:click=move |_| session.start_lesson()>"Lesson mode"</button>
    }
}

/// The bar stays while the lesson runs and only its text changes from step to step, so the
/// button just pressed keeps the focus (Enter, Enter, … walks the lesson) and screen
/// readers announce the new step.
#[component]
pub fn LessonBar() -> impl IntoView {
    let s = expect_context::<State>();
    scroll_to_step(s);
    let step = Memo::new(move |_| s.lesson.get().filter(|i| *i < STEPS.len()));
    let active = Memo::new(move |_| step.with(Option::is_some));
    let at = move || step.get().unwrap_or(0);
    let move_by = move |f: fn(usize) -> usize| {
        move |_: leptos::ev::MouseEvent| go(s, f(step.get_untracked().unwrap_or(0)))
    };
    move || {
        active.get().then(|| view! {
            <aside class="lesson" data-testid="lesson" aria-label="Lesson" aria-live="polite">
                <p class="lesson-head">
                    <span class="lesson-counter" data-testid="lesson-counter">{move || lesson::counter(at())}</span>
                    <strong data-testid="lesson-title">{move || STEPS[at()].title}</strong>
                </p>
                <p class="lesson-text" data-testid="lesson-text">{move || STEPS[at()].text}</p>
                <div class="controls">
                    <button class="small" data-testid="lesson-prev" disabled=move || at() == 0
                        on:click=move_by(lesson::prev)>"← Previous"</button>
                    <button class="small" data-testid="lesson-next" disabled=move || at() + 1 == STEPS.len()
                        on:click=move_by(lesson::next)>"Next →"</button>
                    <a data-testid="lesson-permalink" href=move || step_link(s, at())>"Link to this step"</a>
                    <span class="muted">"(← and → keys work too)"</span>
                    <button class="small" data-testid="lesson-close" on:click=move |_| s.lesson.set(None)>"End the lesson"</button>
                </div>
            </aside>
        })
    }
}
