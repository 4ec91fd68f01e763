//! The gate report that judged the compared challenger (`glassbox gate`), when the registry
//! index names one: the verdict, McNemar's b, c and p, and the macro-F1 and span-F1
//! differences with their bootstrap intervals — the evidence behind promoting it or not,
//! next to the sentences where the two models differ.

use leptos::prelude::*;

use crate::registry::compare::Compare;
use crate::registry::gate::GateSummary;

#[component]
pub fn GatePanel() -> impl IntoView {
    let Some(c) = use_context::<Compare>() else {
        return ().into_any();
    };
    let report = move || {
        c.gate.get().map(|g| match g {
            Ok(g) => view! { <Report g /> }.into_any(),
            Err(e) => view! {
                <section class="panel gate" data-testid="gate"><p class="warning" data-testid="gate-error">{e}</p></section>
            }
            .into_any(),
        })
    };
    view! { {report} }.into_any()
}

#[component]
fn Report(g: GateSummary) -> impl IntoView {
    let verdict = if g.passed {
        "passed: the challenger may replace the champion"
    } else {
        "failed: the champion stays"
    };
    let checks = g.decision.clone().map(|d| d.checks).unwrap_or_default();
    view! {
        <section class="panel gate" data-testid="gate" data-passed=g.passed.to_string()>
            <h2>"Champion–challenger gate"</h2>
            <p><strong data-testid="gate-verdict">{format!("Gate {verdict}.")}</strong></p>
            {g.mcnemar_line().map(|l| view! { <p data-testid="gate-mcnemar">{l}</p> })}
            <ul>{g.metric_lines().into_iter().map(|l| view! { <li data-testid="gate-metric">{l}</li> }).collect_view()}</ul>
            <ul class="checks">
                {checks.into_iter().map(|ch| view! {
                    <li class:failed=!ch.passed>{format!("{} {}: {}", if ch.passed { "pass" } else { "FAIL" }, ch.name, ch.reason)}</li>
                }).collect_view()}
            </ul>
        </section>
    }
}
