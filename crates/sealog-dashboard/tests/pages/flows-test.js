// Uses the dashboard the way a person would, in a popup: refused and accepted sign-in through
// the form, the keys page (create, revoke), sign-out; plus a forged state change without the
// CSRF token. Posts what happened to /test/result.
const report = (body) => fetch('/test/result', { method: 'POST', body: JSON.stringify(body) });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const main = (w) => w.document.getElementById('main');

async function waitFor(w, pred, what) {
  for (let i = 0; i < 300; i++) {
    try {
      if (main(w) && pred(main(w).textContent)) return;
    } catch {
      // The popup is still navigating.
    }
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}; page shows: ${main(w) && main(w).textContent}`);
}

const steps = {};
try {
  const w = window.open('/', 'dash');
  await waitFor(w, (t) => t.includes('API key (read or admin)'), 'the sign-in form');
  const signIn = (key) => {
    w.document.getElementById('api-key').value = key;
    w.document.querySelector('form').requestSubmit();
  };
  signIn('ingest-key');
  await waitFor(w, (t) => t.includes('ingest keys cannot sign in'), 'the ingest refusal');
  signIn('wrong');
  await waitFor(w, (t) => t.includes('invalid API key'), 'the wrong-key refusal');
  signIn('admin-key');
  await waitFor(w, (t) => t.includes('Checkpoint size') && t.includes('demo'), 'the logs overview');
  steps.nav = w.document.getElementById('nav').textContent;
  steps.keyFieldCleared = w.document.getElementById('api-key') === null;

  w.location.hash = '#/logs/demo/keys';
  await waitFor(w, (t) => t.includes('Create a key') && t.includes('k-old'), 'the keys page');
  w.document.getElementById('k-label').value = 'ci <b>bot</b>';
  w.document.getElementById('k-role').value = 'read';
  w.document.getElementById('k-label').form.requestSubmit();
  await waitFor(w, (t) => t.includes('Copy it now') && t.includes('k-new'), 'the new key in the list');
  steps.created = main(w).textContent;

  // Headless Chromium dismisses dialogs; answer the revoke confirmation here.
  w.confirm = () => true;
  const row = [...w.document.querySelectorAll('tr')].find((r) => r.textContent.includes('k-new'));
  row.querySelector('button').click();
  await waitFor(w, (t) => t.includes('Key k-new revoked.') && t.includes('revoked'), 'the revoked key');

  // A forged state change with the session cookie but without the CSRF token.
  const forged = await fetch('/v1/logs/demo/keys', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ label: 'forged', role: 'admin' }),
  });
  steps.forgedStatus = forged.status;

  [...w.document.querySelectorAll('#nav button')].find((b) => b.textContent === 'Sign out').click();
  await waitFor(w, (t) => t.includes('API key (read or admin)'), 'the sign-in form after sign-out');
  steps.afterSignOut = (await fetch('/ui/session')).status;
  await report({ steps });
} catch (e) {
  await report({ fatal: String(e && e.stack || e), steps });
}
