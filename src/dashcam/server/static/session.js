// dashcam dashboard: sign-in and the fetch every request goes through (loaded before app.js).
// The API key is given once and exchanged for an HttpOnly session cookie (POST /api/session);
// the page never keeps the key itself. Requests send X-Requested-With: dashcam, which the
// server asks of cookie-signed changes.
"use strict";

let keyPrompt = null;
function askKey(refused) {
  if (keyPrompt) return keyPrompt;
  const dlg = document.getElementById("key-dialog");
  const error = document.getElementById("key-error");
  error.hidden = !refused;
  keyPrompt = new Promise((resolve) => {
    const form = document.getElementById("key-form");
    const onSubmit = async (ev) => {
      ev.preventDefault();
      const input = document.getElementById("key-input");
      const v = input.value.trim();
      if (!v) return;
      const r = await fetch("/api/session", { method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-Requested-With": "dashcam" },
        body: JSON.stringify({ key: v }) });
      if (!r.ok) { error.hidden = false; input.select(); return; }
      input.value = "";
      form.removeEventListener("submit", onSubmit);
      dlg.close();
      keyPrompt = null;
      showSignOut(true);
      resolve();
    };
    form.addEventListener("submit", onSubmit);
  });
  if (!dlg.open) dlg.showModal();
  return keyPrompt;
}
function showSignOut(on) { document.getElementById("sign-out").hidden = !on; }
async function signOut() {
  await fetch("/api/session", { method: "DELETE", credentials: "same-origin",
    headers: { "X-Requested-With": "dashcam" } });
  location.reload();
}
async function fetchAuthed(path, opts) {
  let refused = false;
  for (;;) {
    const init = Object.assign({ credentials: "same-origin" }, opts || {});
    init.headers = Object.assign({ "X-Requested-With": "dashcam" }, init.headers || {});
    const r = await fetch(path, init);
    if (r.status !== 401) return r;
    showSignOut(false);
    await askKey(refused);
    refused = true; // asked again only if the key we got is refused too
  }
}

document.getElementById("sign-out").addEventListener("click", signOut);
fetch("/api/session", { credentials: "same-origin" }).then((r) => r.json())
  .then((st) => showSignOut(st.key_required && st.signed_in)).catch(() => {});
