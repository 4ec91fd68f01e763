// Starts the page's wasm. Trunk's default loader is an inline <script>, which the page's
// Content-Security-Policy (script-src 'self') refuses, so Trunk.toml's pattern_script points
// here instead and passes the hashed file names as data attributes.
const boot = document.getElementById('glassbox-boot');
const { default: init } = await import(boot.dataset.js);
await init({ module_or_path: boot.dataset.wasm });
