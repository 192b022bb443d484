// server-page.cpp — the web chat page of `tern serve`, served at "/". One self-contained page
// (no build step, no CDN): the conversation lives in the page and each reply streams in over
// /v1/chat/completions (SSE).
#include "server-http.h"

namespace tern_cli {

const char *const k_chat_page = R"PAGE(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tern chat</title>
<style>
  :root { --bg: #f6f7f9; --fg: #1d2330; --muted: #6b7280; --me: #dbeafe; --bot: #ffffff; --line: #e5e7eb; --accent: #2563eb; }
  @media (prefers-color-scheme: dark) { :root { --bg: #111318; --fg: #e6e8ee; --muted: #9aa3b2; --me: #1e3a5f; --bot: #1b1f27; --line: #2a2f3a; --accent: #60a5fa; } }
  * { box-sizing: border-box; }
  body { margin: 0; font: 15px/1.5 system-ui, sans-serif; background: var(--bg); color: var(--fg); display: flex; flex-direction: column; height: 100vh; }
  header { padding: 10px 16px; border-bottom: 1px solid var(--line); display: flex; gap: 12px; align-items: center; }
  header h1 { font-size: 16px; margin: 0; }
  header .model { color: var(--muted); font-size: 13px; flex: 1; }
  header input { width: 150px; }
  #log { flex: 1; overflow-y: auto; padding: 16px; display: flex; flex-direction: column; gap: 10px; }
  .msg { max-width: 80ch; padding: 8px 12px; border-radius: 10px; white-space: pre-wrap; word-wrap: break-word; border: 1px solid var(--line); }
  .user { align-self: flex-end; background: var(--me); }
  .assistant { align-self: flex-start; background: var(--bot); }
  .system { align-self: center; color: var(--muted); font-size: 13px; border-style: dashed; }
  .stats { color: var(--muted); font-size: 12px; margin-top: 4px; }
  form { display: flex; gap: 8px; padding: 12px 16px; border-top: 1px solid var(--line); }
  textarea { flex: 1; resize: none; height: 56px; font: inherit; padding: 8px; border-radius: 8px; border: 1px solid var(--line); background: var(--bot); color: var(--fg); }
  button { padding: 0 16px; border: 0; border-radius: 8px; background: var(--accent); color: white; font: inherit; cursor: pointer; }
  button.secondary { background: transparent; color: var(--muted); border: 1px solid var(--line); }
  input { font: inherit; padding: 4px 8px; border-radius: 6px; border: 1px solid var(--line); background: var(--bot); color: var(--fg); }
</style>
</head>
<body>
<header>
  <h1>tern</h1><span class="model" id="model">connecting…</span>
  <input id="system" placeholder="system prompt (optional)">
  <input id="key" placeholder="API key (if set)" type="password">
  <button class="secondary" id="clear" type="button">New chat</button>
</header>
<div id="log"></div>
<form id="form">
  <textarea id="input" placeholder="Send a message (Enter sends, Shift+Enter for a new line)" autofocus></textarea>
  <button id="send" type="submit">Send</button>
</form>
<script>
"use strict";
const log = document.getElementById("log"), input = document.getElementById("input"), sendBtn = document.getElementById("send");
const keyBox = document.getElementById("key"), sysBox = document.getElementById("system");
keyBox.value = localStorage.getItem("tern.key") || "";
keyBox.onchange = () => localStorage.setItem("tern.key", keyBox.value);
let messages = [], busy = null;
function headers() {
  const h = { "Content-Type": "application/json" };
  if (keyBox.value) h["Authorization"] = "Bearer " + keyBox.value;
  return h;
}
function bubble(role, text) {
  const d = document.createElement("div");
  d.className = "msg " + role;
  d.textContent = text;
  log.appendChild(d);
  log.scrollTop = log.scrollHeight;
  return d;
}
fetch("/v1/models", { headers: headers() }).then(r => r.json()).then(j => {
  const m = j.data && j.data[0];
  document.getElementById("model").textContent = m ? m.id + " — " + m.meta.description + ", " + m.meta.n_ctx + " tokens" : "";
}).catch(() => {});
document.getElementById("clear").onclick = () => { if (busy) busy.abort(); messages = []; log.innerHTML = ""; };
input.addEventListener("keydown", e => { if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); document.getElementById("form").requestSubmit(); } });
document.getElementById("form").onsubmit = async e => {
  e.preventDefault();
  if (busy) { busy.abort(); return; }
  const text = input.value.trim();
  if (!text) return;
  input.value = "";
  messages.push({ role: "user", content: text });
  bubble("user", text);
  const out = bubble("assistant", "");
  const sent = (sysBox.value ? [{ role: "system", content: sysBox.value }] : []).concat(messages);
  busy = new AbortController();
  sendBtn.textContent = "Stop";
  let reply = "", n = 0;
  const t0 = performance.now();
  try {
    const r = await fetch("/v1/chat/completions", { method: "POST", headers: headers(), signal: busy.signal,
      body: JSON.stringify({ messages: sent, stream: true, max_tokens: 512, temperature: 0.7 }) });
    if (!r.ok) { const j = await r.json().catch(() => ({})); throw new Error((j.error && j.error.message) || r.statusText); }
    const reader = r.body.getReader(), dec = new TextDecoder();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let i;
      while ((i = buf.indexOf("\n\n")) >= 0) {
        const ev = buf.slice(0, i); buf = buf.slice(i + 2);
        if (!ev.startsWith("data: ")) continue;
        const data = ev.slice(6);
        if (data === "[DONE]") continue;
        const j = JSON.parse(data);
        if (j.error) throw new Error(j.error.message);
        const c = j.choices && j.choices[0] && j.choices[0].delta && j.choices[0].delta.content;
        if (c) { reply += c; n++; out.textContent = reply; log.scrollTop = log.scrollHeight; }
      }
    }
    messages.push({ role: "assistant", content: reply });
    const s = document.createElement("div");
    s.className = "stats";
    s.textContent = n + " chunks, " + ((performance.now() - t0) / 1000).toFixed(1) + " s";
    out.appendChild(s);
  } catch (err) {
    if (reply) messages.push({ role: "assistant", content: reply });
    bubble("system", err.name === "AbortError" ? "stopped" : "error: " + err.message);
  } finally {
    busy = null;
    sendBtn.textContent = "Send";
    document.body.dataset.replies = String(messages.filter(m => m.role === "assistant").length);
  }
};
// /?q=text sends a first message on load (links, bookmarks, headless checks).
const first = new URLSearchParams(location.search).get("q");
if (first) { input.value = first; document.getElementById("form").requestSubmit(); }
</script>
</body>
</html>
)PAGE";

} // namespace tern_cli
