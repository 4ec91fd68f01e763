// How the browser tests start Debian's Chromium, without importing Playwright, so that
// bench/page-bench.mjs launches exactly the same browser with its own playwright-core.

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

export const BASE_FLAGS = [
  '--headless=new', '--no-sandbox', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
// Measured here: SwiftShader gives headless Chromium a real WebGPU adapter on a CPU-only box.
export const WEBGPU_FLAGS = [
  '--enable-unsafe-webgpu', '--enable-features=Vulkan',
  '--use-vulkan=swiftshader', '--use-webgpu-adapter=swiftshader',
];

/** Options for playwright's `chromium.launch`, with or without WebGPU on SwiftShader. */
export function launchOptions({ webgpu }) {
  return {
    executablePath: CHROMIUM,
    headless: true,
    args: [...BASE_FLAGS, ...(webgpu ? WEBGPU_FLAGS : [])],
  };
}
