//! Every chart on the page: drawn with plotters from primitives (rectangles, paths, circles,
//! anchored text) so the same function renders to the on-screen canvas and to an SVG string
//! for export. Nothing here measures text: plotters does that with a styled DOM element,
//! which the page's Content-Security-Policy forbids, so labels get fixed character budgets.

mod bars;
pub mod grid;
mod headview;
mod heatmap;
pub mod palette;
mod scatter;

use leptos::html;
use leptos::prelude::*;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters_canvas::CanvasBackend;
use wasm_bindgen::JsCast;

pub use bars::Bars;
pub use grid::Grid;
pub use headview::HeadView;
pub use heatmap::Heatmap;
pub use scatter::Scatter;

pub type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// What a chart shows; compared so a canvas is only redrawn when its content changed.
#[derive(Clone, PartialEq, Debug)]
pub enum Spec {
    Bars(Bars),
    Heatmap(Heatmap),
    Grid(Grid),
    HeadView(HeadView),
    Scatter(Scatter),
}

impl Spec {
    pub fn size(&self) -> (u32, u32) {
        match self {
            Spec::Bars(c) => c.size(),
            Spec::Heatmap(c) => c.size(),
            Spec::Grid(c) => c.size(),
            Spec::HeadView(c) => c.size(),
            Spec::Scatter(c) => c.size(),
        }
    }

    pub fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        root.fill(&WHITE)?;
        match self {
            Spec::Bars(c) => c.draw(root),
            Spec::Heatmap(c) => c.draw(root),
            Spec::Grid(c) => c.draw(root),
            Spec::HeadView(c) => c.draw(root),
            Spec::Scatter(c) => c.draw(root),
        }
    }

    /// The chart as a standalone SVG document.
    pub fn to_svg(&self) -> String {
        let mut out = String::new();
        {
            let root = SVGBackend::with_string(&mut out, self.size()).into_drawing_area();
            let _ = self.draw(&root);
            let _ = root.present();
        }
        out
    }
}

/// Text in a fixed budget of characters: long wordpieces and labels are cut with "…".
pub fn clip(s: &str, chars: usize) -> String {
    if s.chars().count() <= chars {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(chars.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

pub fn text_style(size: u32, color: RGBColor, h: HPos, v: VPos) -> TextStyle<'static> {
    let style = TextStyle::from(("sans-serif", size).into_font()).pos(Pos::new(h, v));
    TextStyle {
        color: color.to_backend_color(),
        ..style
    }
}

fn download(name: &str, href: &str) {
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if let Ok(a) = doc.create_element("a") {
        let a: web_sys::HtmlAnchorElement = a.unchecked_into();
        a.set_href(href);
        a.set_download(name);
        a.click();
    }
}

fn download_svg(name: &str, svg: &str) {
    let parts = js_sys::Array::of1(&svg.into());
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type("image/svg+xml");
    if let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &opts) {
        if let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) {
            download(name, &url);
            // The download reads the blob after this click returns; free it later.
            gloo_timers::callback::Timeout::new(60_000, move || {
                let _ = web_sys::Url::revoke_object_url(&url);
            })
            .forget();
        }
    }
}

/// Where a click landed on its target, in CSS pixels. The wasm build enables web-sys's
/// unstable APIs (for WebGPU), where these are doubles; in the stable API they are integers.
#[cfg(web_sys_unstable_apis)]
fn offset(ev: &web_sys::MouseEvent) -> (f64, f64) {
    (ev.offset_x(), ev.offset_y())
}

#[cfg(not(web_sys_unstable_apis))]
fn offset(ev: &web_sys::MouseEvent) -> (f64, f64) {
    (f64::from(ev.offset_x()), f64::from(ev.offset_y()))
}

/// Draws `spec` on `c`, sized to it, and marks the canvas `data-drawn` ("1", or "error").
fn paint(c: &web_sys::HtmlCanvasElement, spec: &Spec) {
    let (w, h) = spec.size();
    c.set_width(w);
    c.set_height(h);
    if let Some(backend) = CanvasBackend::with_canvas_object(c.clone()) {
        let root = backend.into_drawing_area();
        let ok = spec.draw(&root).is_ok() && root.present().is_ok();
        let _ = c.set_attribute("data-drawn", if ok { "1" } else { "error" });
    }
}

/// A canvas that draws `spec` whenever it changes, with PNG and SVG export buttons.
/// `on_click` receives the click in chart coordinates (the canvas may be scaled by CSS).
#[component]
pub fn Chart(
    #[prop(into)] spec: Signal<Spec>,
    testid: &'static str,
    /// File name of exports, without extension.
    name: &'static str,
    /// What the chart shows, for screen readers.
    alt: Signal<String>,
    #[prop(optional)] on_click: Option<Callback<(f64, f64)>>,
) -> impl IntoView {
    let canvas = NodeRef::<html::Canvas>::new();
    // Runs when the spec changes (pass a memo, and that is only when what it shows changed)
    // or the canvas mounts; borrows the spec rather than cloning every attention weight.
    Effect::new(move |_| {
        let Some(c) = canvas.get() else { return };
        spec.with(|s| paint(&c, s));
    });
    let click = move |ev: web_sys::MouseEvent| {
        let (Some(f), Some(c)) = (on_click, canvas.get_untracked()) else {
            return;
        };
        let scale = c.width() as f64 / (c.client_width().max(1) as f64);
        let (x, y) = offset(&ev);
        f.run((x * scale, y * scale));
    };
    let png = move |_| {
        if let Some(url) = canvas.get_untracked().and_then(|c| c.to_data_url().ok()) {
            download(&format!("glassbox-{name}.png"), &url);
        }
    };
    let svg = move |_| {
        download_svg(
            &format!("glassbox-{name}.svg"),
            &spec.with_untracked(Spec::to_svg),
        )
    };
    view! {
        <figure class="chart">
            <canvas node_ref=canvas data-testid=testid role="img" aria-label=move || alt.get()
                class:clickable=on_click.is_some() on:click=click></canvas>
            <figcaption class="export">
                <button class="small" data-testid=format!("{testid}-png") on:click=png>"PNG"</button>
                <button class="small" data-testid=format!("{testid}-svg") on:click=svg>"SVG"</button>
            </figcaption>
        </figure>
    }
}
