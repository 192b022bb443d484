#!/usr/bin/env python3
"""Aggregate generation speed of tern serve with --parallel 1 and --parallel N.

Sends R rounds of C concurrent completion requests (each generating T tokens, ignore_eos) to a
server started with each --parallel value, and reports generated tokens per second of wall time
(median over rounds) and the ratio, as JSON on stdout.

usage: bench_parallel.py [--tern build/bin/tern] [--model M] [--parallel 4] [--clients 8]
                         [--tokens 64] [--rounds 3] [--threads 2] [--no-batch-invariant]
"""
import argparse
import concurrent.futures
import http.client
import json
import os
import re
import statistics
import subprocess
import time


def start(tern, model, parallel, threads, extra):
    p = subprocess.Popen([tern, "serve", "-m", model, "--port", "0", "-P", str(parallel), "-c", "512", "-t", str(threads),
                          *extra], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    m = re.search(r"http://([\d.]+):(\d+)", p.stdout.readline())
    return p, m.group(1), int(m.group(2))


def post(host, port, body):
    c = http.client.HTTPConnection(host, port, timeout=600)
    c.request("POST", "/v1/completions", json.dumps(body), {"Content-Type": "application/json"})
    r = json.loads(c.getresponse().read())
    c.close()
    return r["usage"]["completion_tokens"]


def measure(args, parallel):
    extra = ["--no-batch-invariant"] if args.no_batch_invariant else []
    proc, host, port = start(args.tern, args.model, parallel, args.threads, extra)
    try:
        prompts = [f"Story number {i}: once upon a time, in a land far away," for i in range(args.clients)]
        post(host, port, {"prompt": "warm up", "max_tokens": 4})
        speeds = []
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            with concurrent.futures.ThreadPoolExecutor(args.clients) as ex:
                n = sum(ex.map(lambda p: post(host, port, {"prompt": p, "max_tokens": args.tokens, "ignore_eos": True,
                                                             "temperature": 0}), prompts))
            speeds.append(n / (time.perf_counter() - t0))
        return speeds
    finally:
        proc.terminate()
        proc.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tern", default="build/bin/tern")
    ap.add_argument("--model", default=os.path.expanduser("~/.cache/tern/models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--parallel", type=int, default=4)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-batch-invariant", action="store_true")
    args = ap.parse_args()
    one = measure(args, 1)
    many = measure(args, args.parallel)
    res = {"model": os.path.basename(args.model), "clients": args.clients, "tokens_per_request": args.tokens,
           "threads": args.threads, "batch_invariant": not args.no_batch_invariant,
           "parallel_1_tok_s": [round(x, 1) for x in one], f"parallel_{args.parallel}_tok_s": [round(x, 1) for x in many],
           "median_1": round(statistics.median(one), 1), f"median_{args.parallel}": round(statistics.median(many), 1),
           "ratio": round(statistics.median(many) / statistics.median(one), 2)}
    print(json.dumps(res))


if __name__ == "__main__":
    main()
