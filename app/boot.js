// Starts the page's wasm. Trunk's default loader is an inline <script>, which the page's
// Content-Security-Policy (script-src 'self') refuses, so Trunk.toml's pattern_script points
// here instead and passes the hashed file names as data attributes.
const boot = document.getElementById('glassbox-boot');
// Offline after the first visit (app/sw.js, beside this file). Registering is best effort: a
// browser without service workers, or one that refuses this one, still runs the page.
if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register(new URL('sw.js', import.meta.url))
    .catch((e) => console.warn('glassbox: no offline copy (service worker not registered):', e));
}
const { default: init } = await import(boot.dataset.js);
await init({ module_or_path: boot.dataset.wasm });
