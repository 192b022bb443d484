#!/usr/bin/env python3
"""Opens tern serve's web chat page in headless Chromium, sends a message through the page's
own form, waits for the streamed reply, and prints the reply (optionally saving a screenshot).

Talks the DevTools protocol over --remote-debugging-pipe (JSON messages separated by NUL bytes on
file descriptors 3 and 4), so it needs nothing beyond Debian's chromium and Python's stdlib.

usage: webpage_check.py URL MESSAGE [SCREENSHOT.png]   (exit 0 and the reply on stdout)
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time


class Chromium:
    def __init__(self):
        exe = shutil.which("chromium") or shutil.which("chromium-browser")
        if not exe:
            raise FileNotFoundError("chromium is not installed")
        self.prof = tempfile.TemporaryDirectory()
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()
        # Move the child's ends above 3 and 4 so the shell can map them there without clobbering.
        hi_r, hi_w = os.dup2(to_chrome_r, 100), os.dup2(from_chrome_w, 101)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        to_chrome_r, from_chrome_w = hi_r, hi_w
        # The browser reads commands on fd 3 and writes replies on fd 4 (a shell maps the pipes there).
        args = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe", "--window-size=900,640",
                f"--user-data-dir={self.prof.name}", "about:blank"]
        self.proc = subprocess.Popen(
            ["bash", "-c", f'exec "$@" 3<&{to_chrome_r} 4>&{from_chrome_w} {to_chrome_r}<&- {from_chrome_w}>&-', "chromium", *args],
            pass_fds=(to_chrome_r, from_chrome_w), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.buf = b""
        self.next_id = 0
        self.session = None

    def send(self, method, params=None, session=True, timeout=60):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self.to_chrome, json.dumps(msg).encode() + b"\0")
        deadline = time.time() + timeout
        while time.time() < deadline:
            while b"\0" in self.buf:
                raw, self.buf = self.buf.split(b"\0", 1)
                reply = json.loads(raw)
                if reply.get("id") == self.next_id:
                    if "error" in reply:
                        raise RuntimeError(f"{method}: {reply['error']}")
                    return reply.get("result", {})
            chunk = os.read(self.from_chrome, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium exited")
            self.buf += chunk
        raise TimeoutError(method)

    def open(self, url):
        target = self.send("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True}, session=False)["sessionId"]
        self.send("Page.enable")
        self.send("Page.navigate", {"url": url})

    def eval(self, expr):
        r = self.send("Runtime.evaluate", {"expression": expr, "returnByValue": True})
        return r.get("result", {}).get("value")

    def screenshot(self, path):
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def close(self):
        try:
            self.send("Browser.close", session=False, timeout=5)
        except Exception:
            pass
        self.proc.wait(timeout=10)
        self.prof.cleanup()


def chat_through_page(url, message, screenshot=None, timeout=90):
    c = Chromium()
    try:
        c.open(url)
        deadline = time.time() + 20
        while time.time() < deadline and c.eval("document.readyState") != "complete":
            time.sleep(0.1)
        c.eval(f"document.getElementById('input').value = {json.dumps(message)}; "
               "document.getElementById('form').requestSubmit(); true")
        deadline = time.time() + timeout
        seen_partial = False
        while time.time() < deadline:
            partial = c.eval("(document.querySelector('.msg.assistant') || {}).textContent || ''")
            seen_partial = seen_partial or bool(partial)
            if c.eval("document.body.dataset.replies") == "1":
                break
            time.sleep(0.05)
        else:
            raise TimeoutError("no reply in the page")
        reply = c.eval("document.querySelector('.msg.assistant').firstChild.textContent")
        if screenshot:
            c.screenshot(screenshot)
        return reply, seen_partial
    finally:
        c.close()


if __name__ == "__main__":
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    reply, streamed = chat_through_page(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
    print(reply)
    print(f"(reply seen while streaming: {streamed})", file=sys.stderr)
