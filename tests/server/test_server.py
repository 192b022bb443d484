#!/usr/bin/env python3
"""tern serve and tern chat, end to end against SmolLM2-135M-Instruct.

Drives the server with the real `openai` Python client (chat, streaming, completions,
embeddings), checks that concurrent greedy requests give the same text as sequential ones,
that hundreds of malformed requests each get a 4xx while the server keeps answering, API keys,
the bounded queue, cancellation on disconnect, metrics, the web page (when chromium is
installed), and `tern chat` fed through a pipe.

Environment: TERN_BIN (the tern binary), TERN_MODEL (default: ~/.cache/tern/models/SmolLM2...),
PYTHONPATH with the openai package (scripts/test.sh installs it into ~/.cache/tern/py).
A missing model or client prints SKIPPED and exits 0.
"""
import base64
import concurrent.futures
import http.client
import json
import math
import os
import random
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

TERN = os.environ.get("TERN_BIN", "build/bin/tern")
MODEL = os.environ.get("TERN_MODEL") or os.path.join(
    os.environ.get("TERN_CACHE", os.path.expanduser("~/.cache/tern")), "models", "SmolLM2-135M-Instruct.Q4_1.gguf")

try:
    import openai
except ImportError:  # pragma: no cover
    openai = None

SYSTEM = {"role": "system", "content": "You are a helpful assistant."}


class Server:
    """A tern serve process on a free port."""

    def __init__(self, *args):
        self.proc = subprocess.Popen([TERN, "serve", "-m", MODEL, "--port", "0", "-t", "2", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        m = re.search(r"http://([\d.]+):(\d+)", line)
        if not m:
            err = self.proc.stderr.read()
            raise RuntimeError(f"server did not start: {line!r} {err}")
        self.host, self.port = m.group(1), int(m.group(2))
        self.url = f"http://{self.host}:{self.port}"

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        return self.proc.returncode

    def request(self, method, path, body=None, headers=None, timeout=60):
        c = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, dict(r.getheaders()), data

    def json(self, method, path, body=None, headers=None):
        status, hdrs, data = self.request(method, path, body, headers)
        return status, hdrs, json.loads(data) if data.strip() else None

    def metric(self, name):
        _, _, data = self.request("GET", "/metrics")
        m = re.search(r"^" + re.escape(name) + r" ([\d.e+-]+)$", data.decode(), re.M)
        return float(m.group(1)) if m else None


def setUpModule():
    if not os.path.exists(MODEL):
        print(f"SKIPPED server tests: {MODEL} is absent", file=sys.stderr)
        raise unittest.SkipTest("model absent")
    if openai is None:
        print("SKIPPED server tests: the openai package is not installed", file=sys.stderr)
        raise unittest.SkipTest("openai absent")


class ServerAPI(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server("-P", "4", "-c", "1024", "--queue", "64")
        cls.client = openai.OpenAI(base_url=cls.srv.url + "/v1", api_key="unused", max_retries=0)

    @classmethod
    def tearDownClass(cls):
        assert cls.srv.stop() == 0, "server did not shut down cleanly"

    def chat(self, content, **kw):
        kw.setdefault("temperature", 0)
        kw.setdefault("max_tokens", 40)
        return self.client.chat.completions.create(model="m", messages=[SYSTEM, {"role": "user", "content": content}], **kw)

    def test_health_and_models(self):
        status, _, body = self.srv.json("GET", "/health")
        self.assertEqual((status, body), (200, {"status": "ok"}))
        models = self.client.models.list().data
        self.assertEqual(len(models), 1)
        self.assertIn("SmolLM2", models[0].id)

    def test_chat_answers(self):
        r = self.chat("What is the capital of France?")
        self.assertIn("Paris", r.choices[0].message.content)
        self.assertEqual(r.choices[0].message.role, "assistant")
        self.assertIn(r.choices[0].finish_reason, ("stop", "length"))
        self.assertGreater(r.usage.prompt_tokens, 10)
        self.assertEqual(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens)

    def test_streaming_matches_non_streaming(self):
        q = "Name three colours."
        full = self.chat(q, max_tokens=30).choices[0].message.content
        chunks = list(self.chat(q, max_tokens=30, stream=True, stream_options={"include_usage": True}))
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        self.assertEqual(text, full)
        self.assertGreater(len([c for c in chunks if c.choices and c.choices[0].delta.content]), 3)
        finals = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
        self.assertEqual(len(finals), 1)
        self.assertEqual(chunks[-1].usage.completion_tokens, 30 if finals[0] == "length" else chunks[-1].usage.completion_tokens)
        self.assertGreater(chunks[-1].usage.prompt_tokens_details.cached_tokens, 0)  # same prompt: prefix reused

    def test_stop_and_max_tokens(self):
        r = self.chat("What is the capital of France?", stop=["Paris"])
        self.assertNotIn("Paris", r.choices[0].message.content)
        self.assertEqual(r.choices[0].finish_reason, "stop")
        r = self.chat("Write a long story about a dragon.", max_tokens=5)
        self.assertEqual(r.choices[0].finish_reason, "length")
        self.assertEqual(r.usage.completion_tokens, 5)

    def test_seeded_sampling_is_reproducible(self):
        a = self.chat("Tell me a fact about cats.", temperature=1.0, seed=42, max_tokens=20).choices[0].message.content
        b = self.chat("Tell me a fact about cats.", temperature=1.0, seed=42, max_tokens=20).choices[0].message.content
        self.assertEqual(a, b)

    def test_logprobs(self):
        r = self.chat("Say yes.", logprobs=True, top_logprobs=3, max_tokens=5)
        content = r.choices[0].logprobs.content
        self.assertEqual(len(content), r.usage.completion_tokens)
        for t in content:
            self.assertLessEqual(t.logprob, 0.0)
            self.assertEqual(len(t.top_logprobs), 3)
            self.assertAlmostEqual(t.top_logprobs[0].logprob, t.logprob, places=4)  # greedy: the top one
        c = self.client.completions.create(model="m", prompt="Once upon a time", max_tokens=6, temperature=0, logprobs=2)
        lp = c.choices[0].logprobs
        self.assertEqual(len(lp.tokens), 6)
        self.assertEqual("".join(lp.tokens), c.choices[0].text)
        self.assertTrue(all(len(t) == 2 for t in lp.top_logprobs))

    def test_completions(self):
        c = self.client.completions.create(model="m", prompt="The capital of France is", max_tokens=8, temperature=0)
        self.assertEqual(c.object, "text_completion")
        self.assertTrue(c.choices[0].text)
        stream = self.client.completions.create(model="m", prompt="The capital of France is", max_tokens=8, temperature=0,
                                                stream=True)
        self.assertEqual("".join(x.choices[0].text for x in stream), c.choices[0].text)
        # token ids as the prompt
        _, _, tok = self.srv.json("POST", "/tokenize", {"content": "The capital of France is"})
        t = self.client.completions.create(model="m", prompt=tok["tokens"], max_tokens=8, temperature=0)
        self.assertEqual(t.choices[0].text, c.choices[0].text)

    def test_embeddings(self):
        e = self.client.embeddings.create(model="m", input=["The cat sat on the mat.", "Stock markets fell sharply.",
                                                            "The cat sat on the mat."])
        vecs = [d.embedding for d in e.data]
        self.assertEqual([d.index for d in e.data], [0, 1, 2])
        self.assertEqual(len(vecs[0]), 576)
        norm = math.sqrt(sum(x * x for x in vecs[0]))
        self.assertAlmostEqual(norm, 1.0, places=4)
        dot = lambda a, b: sum(x * y for x, y in zip(a, b))
        self.assertGreater(dot(vecs[0], vecs[2]), 0.9999)
        self.assertLess(dot(vecs[0], vecs[1]), 0.99)
        self.assertGreater(e.usage.prompt_tokens, 8)
        status, _, body = self.srv.json("POST", "/v1/embeddings", {"input": "The cat sat on the mat.", "encoding_format": "float"})
        self.assertEqual(status, 200)
        self.assertTrue(all(abs(a - b) < 1e-6 for a, b in zip(body["data"][0]["embedding"], vecs[0])))
        status, _, body = self.srv.json("POST", "/v1/embeddings", {"input": "The cat sat on the mat.", "encoding_format": "base64"})
        raw = base64.b64decode(body["data"][0]["embedding"])
        self.assertEqual(len(raw), 576 * 4)
        self.assertAlmostEqual(struct.unpack("<f", raw[:4])[0], vecs[0][0], places=6)

    def test_tokenize_detokenize(self):
        s, _, t = self.srv.json("POST", "/tokenize", {"content": "Hello world, how are you?", "with_pieces": True})
        self.assertEqual(s, 200)
        ids = [x["id"] for x in t["tokens"]]
        self.assertEqual("".join(x["piece"] for x in t["tokens"]), "Hello world, how are you?")
        s, _, d = self.srv.json("POST", "/detokenize", {"tokens": ids})
        self.assertEqual(d["content"], "Hello world, how are you?")

    def test_prompt_too_long_is_400(self):
        s, _, body = self.srv.json("POST", "/v1/chat/completions",
                                   {"messages": [{"role": "user", "content": "word " * 3000}]})
        self.assertEqual(s, 400)
        self.assertEqual(body["error"]["code"], "context_length_exceeded")
        self.assertEqual(body["error"]["type"], "invalid_request_error")

    def test_concurrent_requests_match_sequential(self):
        questions = ["What is the capital of France?", "Name a fruit.", "What is 2+2?", "Say hello in Spanish.",
                     "What colour is the sky?", "Name a planet.", "What do bees make?", "Who wrote Hamlet?"]
        seq = [self.chat(q, max_tokens=24).choices[0].message.content for q in questions]
        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            par = list(ex.map(lambda q: self.chat(q, max_tokens=24).choices[0].message.content, questions))
        self.assertEqual(par, seq)
        # streamed concurrently too
        def streamed(q):
            return "".join(c.choices[0].delta.content or "" for c in self.chat(q, max_tokens=24, stream=True) if c.choices)
        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            par = list(ex.map(streamed, questions))
        self.assertEqual(par, seq)

    def test_disconnect_cancels_generation(self):
        before = self.srv.metric("tern_generated_tokens_total")
        s = socket.create_connection((self.srv.host, self.srv.port))
        body = json.dumps({"prompt": "Once upon a time", "max_tokens": 800, "ignore_eos": True, "stream": True})
        s.sendall(("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   f"Content-Length: {len(body)}\r\n\r\n{body}").encode())
        got = b""
        while got.count(b"data: ") < 3:
            got += s.recv(4096)
        s.close()
        deadline = time.time() + 20
        while time.time() < deadline and self.srv.metric("tern_slots_active") != 0:
            time.sleep(0.2)
        self.assertEqual(self.srv.metric("tern_slots_active"), 0)
        generated = self.srv.metric("tern_generated_tokens_total") - before
        self.assertLess(generated, 700)  # stopped well before max_tokens

    def test_metrics(self):
        self.chat("Hi", max_tokens=3)
        _, hdrs, data = self.srv.request("GET", "/metrics")
        text = data.decode()
        for name in ("tern_http_requests_total", "tern_generated_tokens_total", "tern_prompt_tokens_total",
                     "tern_tokens_per_second", "tern_queue_depth", "tern_kv_cache_usage_ratio", "tern_slots_total"):
            self.assertIn(name, text)
        self.assertRegex(text, r'tern_http_requests_total\{route="/v1/chat/completions",status="200"\} \d+')
        self.assertGreater(self.srv.metric("tern_kv_cache_tokens"), 0)
        self.assertEqual(self.srv.metric("tern_slots_total"), 4)

    def test_web_page(self):
        s, hdrs, page = self.srv.request("GET", "/")
        self.assertEqual(s, 200)
        self.assertIn("text/html", hdrs.get("Content-Type", ""))
        self.assertIn(b"/v1/chat/completions", page)
        self.assertNotIn(b"https://", page)  # no CDN
        if not (shutil.which("chromium") or shutil.which("chromium-browser")):
            print("SKIPPED web page in headless chromium: chromium is not installed", file=sys.stderr)
            return
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import webpage_check
        reply, streamed = webpage_check.chat_through_page(self.srv.url + "/", "What is the capital of France? Answer in one sentence.")
        self.assertIn("Paris", reply)
        self.assertTrue(streamed)


class ServerRobustness(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server("-P", "2", "-c", "512", "--timeout", "3", "--max-body", "64")

    @classmethod
    def tearDownClass(cls):
        assert cls.srv.stop() == 0

    def assert_4xx(self, method, path, body, headers=None, what=""):
        try:
            status, _, data = self.srv.request(method, path, body, headers or {"Content-Type": "application/json"}, timeout=30)
        except (ConnectionError, http.client.HTTPException, socket.timeout) as e:
            self.fail(f"{what}: no HTTP answer ({e})")
        self.assertTrue(400 <= status < 500, f"{what}: status {status} for {body!r:.200}")
        if status != 404 and data:
            err = json.loads(data)["error"]
            self.assertIsInstance(err["message"], str)
        return status

    def test_malformed_requests_get_4xx_and_server_keeps_serving(self):
        rnd = random.Random(1234)
        endpoints = ["/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/tokenize", "/detokenize"]
        good = {
            "/v1/chat/completions": {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2},
            "/v1/completions": {"prompt": "hi", "max_tokens": 2},
            "/v1/embeddings": {"input": "hi"},
            "/tokenize": {"content": "hi"},
            "/detokenize": {"tokens": [1, 2]},
        }
        wrong_values = [None, True, -1, 1e308, "x", [], {}, [1, "a"], {"a": 1}, 3.5, -(2 ** 63), 2 ** 64, "\ud800"]
        n = 0
        statuses = {}
        for ep in endpoints:
            base = json.dumps(good[ep])
            # truncated JSON
            for cut in range(1, len(base) - 1, 3):
                statuses[self.assert_4xx("POST", ep, base[:cut], what=f"truncated {ep}")] = 1
                n += 1
            # random bytes
            for _ in range(20):
                blob = bytes(rnd.getrandbits(8) for _ in range(rnd.randint(0, 200)))
                self.assert_4xx("POST", ep, blob, what=f"random bytes {ep}")
                n += 1
            # every field with every wrong type
            fields = list(good[ep].keys()) + ["max_tokens", "temperature", "top_p", "seed", "stop", "stream", "n", "logprobs",
                                                "top_logprobs", "encoding_format", "with_pieces"]
            for f in fields:
                for v in wrong_values:
                    body = dict(good[ep])
                    body[f] = v
                    try:
                        text = json.dumps(body)
                    except (ValueError, UnicodeEncodeError):
                        continue
                    if not self.wrong(ep, f, v):
                        continue
                    self.assert_4xx("POST", ep, text, what=f"{ep} {f}={v!r}")
                    n += 1
            # not an object
            for top in ["[]", "1", "\"s\"", "null", "true"]:
                self.assert_4xx("POST", ep, top, what=f"{ep} top-level {top}")
                n += 1
            # deep nesting
            self.assert_4xx("POST", ep, "[" * 10000 + "]" * 10000, what="deep nesting")
            # oversized (--max-body 64 KiB)
            self.assertEqual(self.assert_4xx("POST", ep, json.dumps({"content": "x" * 100000, "prompt": "x" * 100000}),
                                             what="oversized"), 413)
            n += 2
        # messages with odd shapes
        for msgs in [[], [1], [{"role": 1, "content": "x"}], [{"content": "x"}], [{"role": "user", "content": 5}],
                     [{"role": "user", "content": [{"type": "image_url", "url": "x"}]}],
                     [{"role": "user", "content": "x"}] * 5000, "hello"]:
            self.assert_4xx("POST", "/v1/chat/completions", {"messages": msgs}, what=f"messages {str(msgs)[:40]}")
            n += 1
        # token ids out of range
        for toks in [[-1], [10 ** 9], [1.5], [["a"]], ["a", "b"]]:
            self.assert_4xx("POST", "/detokenize", {"tokens": toks}, what="bad token ids")
            self.assert_4xx("POST", "/v1/completions", {"prompt": toks}, what="bad prompt ids")
            n += 2
        # unknown paths and wrong methods
        for method, path in [("GET", "/v1/chat/completions"), ("POST", "/nope"), ("DELETE", "/v1/models"), ("GET", "/v2/x")]:
            self.assert_4xx(method, path, None, what=f"{method} {path}")
            n += 1
        # a body shorter than its Content-Length: the slow client is dropped after --timeout
        s = socket.create_connection((self.srv.host, self.srv.port))
        s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"prompt\":")
        s.settimeout(10)
        try:
            resp = s.recv(4096)
        except socket.timeout:
            resp = b"(no answer)"
        s.close()
        self.assertNotIn(b"200 OK", resp)
        print(f"robustness: {n} malformed requests answered with 4xx", file=sys.stderr)
        self.assertGreater(n, 300)
        # still serving, correctly
        status, _, body = self.srv.json("POST", "/v1/chat/completions",
                                        {"messages": [SYSTEM, {"role": "user", "content": "What is the capital of France?"}],
                                         "temperature": 0, "max_tokens": 30})
        self.assertEqual(status, 200)
        self.assertIn("Paris", body["choices"][0]["message"]["content"])

    @staticmethod
    def wrong(ep, field, v):
        """Whether value v for field on endpoint ep is invalid (so a 4xx is the right answer)."""
        kinds = {
            "messages": lambda v: not (isinstance(v, list) and v),
            "prompt": lambda v: not (isinstance(v, str) and v),
            "input": lambda v: not (isinstance(v, str) and v),
            "content": lambda v: not isinstance(v, str) or v == "",
            "tokens": lambda v: not (isinstance(v, list) and all(isinstance(x, int) and not isinstance(x, bool) for x in v)),
            "max_tokens": lambda v: v is not None and not (isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 2 ** 20),
            "temperature": lambda v: v is not None and not (isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 2),
            "top_p": lambda v: v is not None and not (isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1),
            "seed": lambda v: v is not None and not (isinstance(v, int) and not isinstance(v, bool) and -(2 ** 63) <= v < 2 ** 64),
            "stop": lambda v: v is not None and not isinstance(v, str) and not (isinstance(v, list) and all(isinstance(x, str) for x in v)),
            "stream": lambda v: v is not None and not isinstance(v, bool),
            "n": lambda v: v is not None and v != 1,
            "logprobs": lambda v: v is not None and not isinstance(v, bool) and not (ep == "/v1/completions" and isinstance(v, int) and 0 <= v <= 5),
            "top_logprobs": lambda v: v is not None and not (isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 20),
            "encoding_format": lambda v: v is not None and v not in ("float", "base64"),
            "with_pieces": lambda v: v is not None and not isinstance(v, bool),
        }
        applies = {
            "/v1/chat/completions": {"messages", "max_tokens", "temperature", "top_p", "seed", "stop", "stream", "n", "logprobs", "top_logprobs"},
            "/v1/completions": {"prompt", "max_tokens", "temperature", "top_p", "seed", "stop", "stream", "n", "logprobs"},
            "/v1/embeddings": {"input", "encoding_format"},
            "/tokenize": {"content", "with_pieces"},
            "/detokenize": {"tokens"},
        }
        if field not in applies[ep]:
            return False
        if field in ("content",) and v == "":
            return False
        if field == "tokens" and v == []:
            return False
        if field == "prompt" and isinstance(v, list) and all(isinstance(x, int) and not isinstance(x, bool) and 0 <= x < 49152 for x in v) and v:
            return False
        if field == "prompt" and v == [1, "a"]:
            return True
        if field == "input" and isinstance(v, list) and v and all(isinstance(x, int) and not isinstance(x, bool) and 0 <= x < 49152 for x in v):
            return False
        return kinds[field](v)


class ServerLimits(unittest.TestCase):
    def test_api_key(self):
        srv = Server("-P", "1", "-c", "256", "--api-key", "sesame")
        try:
            s, _, body = srv.json("GET", "/v1/models")
            self.assertEqual(s, 401)
            self.assertEqual(body["error"]["code"], "invalid_api_key")
            s, _, _ = srv.json("GET", "/v1/models", headers={"Authorization": "Bearer wrong"})
            self.assertEqual(s, 401)
            self.assertEqual(srv.json("GET", "/health")[0], 200)
            c = openai.OpenAI(base_url=srv.url + "/v1", api_key="sesame", max_retries=0)
            self.assertTrue(c.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}], max_tokens=3))
            bad = openai.OpenAI(base_url=srv.url + "/v1", api_key="nope", max_retries=0)
            with self.assertRaises(openai.AuthenticationError):
                bad.models.list()
        finally:
            self.assertEqual(srv.stop(), 0)

    def test_full_queue_is_503_with_retry_after(self):
        srv = Server("-P", "1", "-c", "512", "--queue", "1")
        try:
            body = {"prompt": "Once upon a time", "max_tokens": 200, "ignore_eos": True}
            with concurrent.futures.ThreadPoolExecutor(6) as ex:
                results = list(ex.map(lambda _: srv.request("POST", "/v1/completions", body), range(6)))
            codes = sorted(r[0] for r in results)
            self.assertIn(200, codes)
            self.assertIn(503, codes)
            for status, hdrs, data in results:
                if status == 503:
                    self.assertEqual(hdrs.get("Retry-After"), "1")
                    self.assertEqual(json.loads(data)["error"]["code"], "queue_full")
        finally:
            self.assertEqual(srv.stop(), 0)


class ChatCLI(unittest.TestCase):
    def test_two_turns_through_a_pipe(self):
        def run(convo):
            r = subprocess.run([TERN, "chat", "-m", MODEL, "--temp", "0", "-n", "40", "-t", "2",
                                "-s", "You are a helpful assistant."],
                               input=convo, capture_output=True, text=True, timeout=120)
            self.assertEqual(r.returncode, 0, r.stderr)
            return r
        first = run("I have a dog named Max.\n").stdout
        r = run("I have a dog named Max.\nWhat is the name of my dog?\n/stats\n")
        self.assertTrue(r.stdout.startswith(first))  # greedy: the same first answer
        second = r.stdout[len(first):]
        self.assertIn("Max", second)  # the second turn refers to the first
        # /stats: the second turn reused the first turn's tokens from the KV cache
        m = re.search(r"last prompt: (\d+) tokens, (\d+) reused", r.stderr)
        self.assertIsNotNone(m, r.stderr)
        self.assertGreater(int(m.group(2)), 20)

    def test_ctrl_c_stops_the_answer_not_the_program(self):
        import pty
        import select
        pid, fd = pty.fork()
        if pid == 0:  # the child runs tern chat on the terminal
            # --ignore-eos: the answer must still be running when Ctrl-C comes
            os.execv(TERN, [TERN, "chat", "-m", MODEL, "--temp", "0.8", "--seed", "1", "--ignore-eos", "-n", "100000", "-t", "2"])
        out = b""

        def read_until(pred, timeout):
            nonlocal out
            end = time.time() + timeout
            while time.time() < end and not pred(out):
                r, _, _ = select.select([fd], [], [], 0.2)
                if r:
                    try:
                        out += os.read(fd, 4096)
                    except OSError:
                        break
            return pred(out)

        try:
            self.assertTrue(read_until(lambda o: b"> " in o, 60), out)
            os.write(fd, b"Write a very long story about a dragon and a knight, with many chapters.\r")
            start = len(out)
            # the answer is streaming: a few words after the terminal's echo of the question (tokens
            # come slowly on a loaded CI machine)
            echo = b"many chapters.\r\n"
            self.assertTrue(read_until(lambda o: echo in o[start:] and len(o) - o.index(echo, start) > 60, 180), out)
            os.write(fd, b"\x03")  # Ctrl-C from the terminal
            self.assertTrue(read_until(lambda o: b"[stopped]" in o, 120), out[-500:])
            self.assertTrue(read_until(lambda o: o.rstrip().endswith(b">"), 30), out[-300:])  # asks for the next turn
            os.write(fd, b"/stats\r")
            self.assertTrue(read_until(lambda o: b"turns 1" in o, 30), out[-500:])
            os.write(fd, b"/exit\r")
            _, status = os.waitpid(pid, 0)
            self.assertEqual(os.waitstatus_to_exitcode(status), 0)
        finally:
            try:
                os.kill(pid, 9)
            except OSError:
                pass
            os.close(fd)

    def test_save_load_and_clear(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "conv.json")
            r = subprocess.run([TERN, "chat", "-m", MODEL, "--temp", "0", "-n", "8", "-t", "2"],
                               input=f"Hello there\n/save {path}\n/clear\n/load {path}\n/stats\n/bogus\n",
                               capture_output=True, text=True, timeout=120)
            self.assertEqual(r.returncode, 0, r.stderr)
            saved = json.load(open(path))
            self.assertEqual([m["role"] for m in saved], ["user", "assistant"])
            self.assertEqual(saved[0]["content"], "Hello there")
            self.assertIn("loaded 2 messages", r.stderr)
            self.assertIn("unknown command /bogus", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
