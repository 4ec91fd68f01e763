// The example page's script (a file, since the page's CSP forbids inline scripts): load the
// default bundle, then predict every line of the textarea and show the JSON answers.
import * as glassbox from '../glassbox.js';

const $ = (id) => document.getElementById(id);
const backend = new URLSearchParams(location.search).get('backend') ?? 'auto';

async function main() {
  const model = await glassbox.load('../models/default/', {
    backend,
    onProgress: ({ loaded, total }) => {
      $('status').textContent = `loading… ${loaded} of ${total || '?'} bytes`;
    },
  });
  $('backend').textContent = model.info.backend;
  $('status').textContent = `Ready: ${model.info.name} ${model.info.version}`;
  $('run').disabled = false;
  $('run').addEventListener('click', async () => {
    $('run').disabled = true;
    $('status').textContent = 'running…';
    try {
      const answers = await model.predict($('input').value.split('\n'));
      $('output').textContent = JSON.stringify(answers, null, 2);
      const failed = answers.filter((a) => a.error !== undefined).length;
      $('status').textContent = `Done: ${answers.length - failed} answered, ${failed} failed`;
    } catch (e) {
      $('status').textContent = `Failed: ${e.message}`;
    } finally {
      $('run').disabled = false;
    }
  });
  // For tests and the console: the loaded model and the module.
  window.glassboxModel = model;
}

main().catch((e) => {
  $('status').textContent = `Could not load the model: ${e.message}`;
});
