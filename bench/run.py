#!/usr/bin/env python3
# bench/run.py: the benchmark runner behind `make bench`. It owns the method: a stand-in Medusa
# on a loopback nginx, every contender run side by side in one run with the order rotated each
# repetition, medians with min-max, ratios taken within each repetition, the PASS/FAIL verdict
# on each target, bench/results/latest.md (its raw figures in latest.json) and the chart, and,
# on a full run, README.md's Performance table (figures only: the verdicts stay in latest.md).
# `run.py profile` writes bench/results/profile.md (callgrind instruction counts, checked
# against their own targets); `run.py render` and `run.py readme` redo the tables from figures
# already recorded. Every process it starts listens on 127.0.0.1 and is stopped by its PID,
# also on failure.
import argparse
import concurrent.futures
import json
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import time

import payloads

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
RESULTS = os.path.join(BENCH, "results")
TMP = os.path.join(RESULTS, "tmp")
RAW_CURL = os.path.join(BENCH, "build", "raw_curl")
RAW_MULTI = os.path.join(BENCH, "build", "raw_multi")
LUA_SYM = os.path.join(BENCH, "build", "lua_sym")
NODE_DIR = os.path.join(BENCH, "node")
COLLECTION_ID = payloads.COLLECTION_ID
POST_BODY = '{"provider_id":"manual"}'
GROUPS = ("get", "post", "codec", "startup", "nginx", "concurrent")
NAN = float("nan")

FULL = dict(n=20000, warmup=1000, long_warmup=20000, reps=5, wrk_s=3, startup_runs=20,
            small_iter=100000, big_iter=40)
QUICK = dict(n=3000, warmup=1000, long_warmup=5000, reps=3, wrk_s=1, startup_runs=8,
             small_iter=20000, big_iter=8)
# The `concurrent` group: batches of CONC_CALLS calls at each in-flight level, against the
# backend that answers after CONC_DELAY_MS; a flaky call costs one retry after CONC_BACKOFF_MS
# (medusa-lua's, medusa-js's and raw_multi's wait before retry 1 without Retry-After).
# Each client process times CONC_BATCHES batches after its warm-up and reports the median
# batch (a batch at 100 in flight lasts ~25 ms: one noisy batch would move the result); the
# sequential baseline (2 s a batch, little moved by a noisy ms) times CONC_SEQ_BATCHES.
CONC_LEVELS = (10, 50, 100)
CONC_CALLS = 100
CONC_BATCHES = dict(full=7, quick=5)
CONC_SEQ_BATCHES = 1
CONC_DELAY_MS = 20
CONC_BACKOFF_MS = 500
CONC_TARGET_LEVEL = 100


class BenchError(Exception):
    pass


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------
# processes
# ---------------------------------------------------------------------------------------

def lua_env(cpath):
    env = dict(os.environ)
    env["LUA_PATH"] = f"{ROOT}/lua/?.lua;{ROOT}/lua/?/init.lua;;"
    env["LUA_CPATH"] = f"{cpath};;"
    return env


def run_json(cmd, env=None, cwd=ROOT, timeout=600):
    """Runs cmd; returns the JSON object on its last stdout line."""
    p = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise BenchError(f"{' '.join(cmd[:4])}... exited {p.returncode}: {p.stderr.strip()[-400:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def run_json_rss(cmd, env=None):
    """run_json under /usr/bin/time -v; adds rss_kb (peak resident set size)."""
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise BenchError(f"{' '.join(cmd[:4])}... exited {p.returncode}: {p.stderr.strip()[-400:]}")
    result = json.loads(p.stdout.strip().splitlines()[-1])
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
    result["rss_kb"] = int(m.group(1))
    return result


def wall_ms(cmd, env=None, cwd=ROOT):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=60)
    elapsed = (time.perf_counter() - t0) * 1000
    if p.returncode != 0:
        raise BenchError(f"{' '.join(cmd)} exited {p.returncode}: {p.stderr.strip()[-300:]}")
    return elapsed


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Nginx:
    """One foreground nginx (master + 1 worker) on 127.0.0.1, from a template in bench/nginx."""

    running = []

    def __init__(self, name, template, fields):
        self.prefix = os.path.join(TMP, name)
        for sub in ("logs", "tmp"):
            os.makedirs(os.path.join(self.prefix, sub), exist_ok=True)
        self.port = free_port()
        with open(os.path.join(BENCH, "nginx", template), encoding="utf-8") as f:
            conf = f.read()
        for key, value in dict(fields, PORT=str(self.port)).items():
            conf = conf.replace(f"@{key}@", value)
        leftover = re.search(r"@[A-Z_]+@", conf)
        if leftover:
            raise BenchError(f"{template}: {leftover.group(0)} not filled in")
        self.conf = os.path.join(self.prefix, "nginx.conf")
        with open(self.conf, "w", encoding="utf-8") as f:
            f.write(conf)
        self.proc = None

    def start(self):
        log = open(os.path.join(self.prefix, "logs", "stderr.log"), "wb")
        self.proc = subprocess.Popen(["nginx", "-p", self.prefix, "-c", self.conf, "-e", "logs/error.log"],
                                     stdout=log, stderr=log)
        Nginx.running.append(self)
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"nginx ({self.conf}) exited {self.proc.returncode}: {self.error_log()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise BenchError(f"nginx ({self.conf}) did not listen on {self.port}: {self.error_log()}")

    def error_log(self):
        text = ""
        for name in ("stderr.log", "error.log"):
            try:
                with open(os.path.join(self.prefix, "logs", name), errors="replace") as f:
                    text += f.read()[-800:]
            except OSError:
                pass
        return text.strip()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # the master stops its worker
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self in Nginx.running:
            Nginx.running.remove(self)

    @classmethod
    def stop_all(cls):
        for server in list(cls.running):
            server.stop()


def nginx_quote(text):
    # Bodies go into single-quoted nginx strings, where '$' would start a variable.
    if any(c in text for c in "'\\$"):
        raise BenchError("a served body contains ', \\ or $")
    return text


def start_upstream(paths):
    exchanges = {e: payloads.recorded(e)["response"]["headers"] for e in ("get-default", "manage-session")}
    with open(paths["get"], encoding="utf-8") as f:
        get_body = f.read()
    with open(paths["manage"], encoding="utf-8") as f:
        manage_body = f.read()
    return Nginx("nginx-upstream", "upstream.conf", {
        "COLLECTION_ID": COLLECTION_ID,
        "GET_BODY": nginx_quote(get_body),
        "MANAGE_BODY": nginx_quote(manage_body),
        "GET_ETAG": nginx_quote(exchanges["get-default"]["etag"]),
        "MANAGE_ETAG": nginx_quote(exchanges["manage-session"]["etag"]),
        "SET_COOKIE": nginx_quote(exchanges["get-default"]["set-cookie"]),
    }).start()


def start_delayed(paths):
    """The 20 ms backend of the `concurrent` group (bench/nginx/delayed.conf)."""
    headers = payloads.recorded("get-default")["response"]["headers"]
    return Nginx("nginx-delayed", "delayed.conf", {
        "ROOT": ROOT,
        "COLLECTION_ID": COLLECTION_ID,
        "GET_BODY_PATH": paths["get"],
        "GET_ETAG": nginx_quote(headers["etag"]),
        "SET_COOKIE": nginx_quote(headers["set-cookie"]),
    }).start()


def http_get(url, timeout=10):
    """(status, body) of one GET, through curl (also a check of what a server sends)."""
    p = subprocess.run(["curl", "-s", "-o", "-", "-w", "\n%{http_code}", url], capture_output=True, text=True,
                       timeout=timeout)
    body, _, code = p.stdout.rpartition("\n")
    return int(code or 0), body


def wrk_rps(url, seconds, connections=1, script=None):
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s"]
    if script:
        cmd += ["-s", script]
    p = subprocess.run(cmd + [url], capture_output=True, text=True, timeout=seconds + 60)
    m = re.search(r"Requests/sec:\s+([\d.]+)", p.stdout)
    if p.returncode != 0 or not m:
        raise BenchError(f"wrk {url}: {p.stdout.strip()[-300:]} {p.stderr.strip()[-300:]}")
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", p.stdout)
    if bad:
        raise BenchError(f"wrk {url}: {bad.group(1)} non-2xx responses")
    return float(m.group(1))


# ---------------------------------------------------------------------------------------
# statistics
# ---------------------------------------------------------------------------------------

def spread(values):
    """(median, min, max) of the values, or None when there are none."""
    values = [v for v in values if v is not None]
    if not values:
        return None
    return statistics.median(values), min(values), max(values)


def paired(a, b, fn):
    """fn(a[i], b[i]) for every repetition where both were measured."""
    return [fn(x, y) for x, y in zip(a, b) if x is not None and y is not None]


def fmt_spread(s, digits=0, unit=""):
    if s is None:
        return "n/a"
    f = f"{{:,.{digits}f}}"
    if s[1] == s[2]:
        return f.format(s[0]) + unit
    return f"{f.format(s[0])}{unit} ({f.format(s[1])}–{f.format(s[2])})"


def fmt_ratio(s):
    if s is None:
        return "n/a"
    return f"{s[0]:.2f}× ({s[1]:.2f}–{s[2]:.2f})"


# ---------------------------------------------------------------------------------------
# the measurements
# ---------------------------------------------------------------------------------------

def request_url(base, op):
    """The URL of `retrieve` (get) or `managePaymentSession` (post) on the stand-in store."""
    return f"{base}/store/payment-collections/{COLLECTION_ID}" + ("/sessions" if op == "post" else "")


def raw_curl_argv(base, op, n, warmup, curlu):
    """bench/raw_curl's command line for one operation: POST sends POST_BODY, as the clients do."""
    return [RAW_CURL] + (["--curlu"] if curlu else []) + [request_url(base, op), str(n), str(warmup)] \
        + ([POST_BODY] if op == "post" else [])


def request_contenders(cfg, opts, base):
    """(key, label, run(op) -> {"rps", "cpu_us"?}) in the order of the table."""
    env54, envjit = lua_env(f"{ROOT}/build/5.4/?.so"), lua_env(opts.luajit_cpath)
    loop = os.path.join(BENCH, "lua", "client_loop.lua")
    floor = os.path.join(BENCH, "lua", "floor_loop.lua")
    node_loop = os.path.join(NODE_DIR, "client_loop.js")
    n, w, lw = str(cfg["n"]), str(cfg["warmup"]), str(cfg["long_warmup"])

    def loop_result(cmd, env=None, cwd=ROOT):
        r = run_json(cmd, env, cwd)
        out = {"rps": r["n"] / r["wall_s"], "cpu_us": r["cpu_s"] * 1e6 / r["n"]}
        for part in ("user", "sys"):  # raw_curl, node: exact; the Lua loops: cpu_split.lua
            if f"{part}_s" in r:
                out[f"{part}_us"] = r[f"{part}_s"] * 1e6 / r["n"]
        return out

    def node(kind, op, warmup):
        return loop_result(["node", node_loop, kind, base, op, n, warmup], None, NODE_DIR)

    def wrk(op):
        script = os.path.join(BENCH, "nginx", "wrk_post.lua") if op == "post" else None
        return {"rps": wrk_rps(request_url(base, op), cfg["wrk_s"], 1, script)}

    return [
        ("rawc", "C, one libcurl easy handle reused, CURLOPT_URL set before every request, body discarded "
                 "(bench/raw_curl.c)", lambda op: loop_result(raw_curl_argv(base, op, n, w, False))),
        ("rawc_curlu", "C, the same, the URL a CURLU handle with only its path set per request (raw_curl --curlu)",
         lambda op: loop_result(raw_curl_argv(base, op, n, w, True))),
        ("lua54", "medusa-lua, lua5.4", lambda op: loop_result(["lua5.4", loop, base, op, n, w], env54)),
        ("luajit", "medusa-lua, luajit", lambda op: loop_result(["luajit", loop, base, op, n, w], envjit)),
        ("floor_perform", "floor, lua5.4: the C transport's perform alone, same request bytes (bench/lua/floor_loop.lua)",
         lambda op: loop_result(["lua5.4", floor, base, op, n, w, "perform"], env54)),
        ("floor_decode", "floor, lua5.4: perform, then the body decoded into Lua tables",
         lambda op: loop_result(["lua5.4", floor, base, op, n, w, "decode"], env54)),
        ("js", f"medusa-js 6.1.10, node ({cfg['warmup']:,} warm-up)", lambda op: node("medusa-js", op, w)),
        ("js_warm", f"medusa-js 6.1.10, node ({cfg['long_warmup']:,} warm-up)", lambda op: node("medusa-js", op, lw)),
        ("node_http", "node http keep-alive + JSON.parse (reference)", lambda op: node("http", op, w)),
        ("wrk", "wrk, 1 connection (the server's ceiling)", wrk),
    ]


def measure_requests(cfg, opts, base, ops, data, log):
    contenders = request_contenders(cfg, opts, base)
    for op in ops:
        runs = data.setdefault(op, {})
        for rep in range(cfg["reps"]):
            k = rep % len(contenders)
            for key, _label, measure in contenders[k:] + contenders[:k]:
                entry = runs.setdefault(key, [None] * cfg["reps"])
                try:
                    entry[rep] = measure(op)
                    log(f"{op} rep {rep + 1}/{cfg['reps']} {key:10s} {entry[rep]['rps']:9.0f} req/s"
                        + (f"  {entry[rep]['cpu_us']:6.1f} µs CPU/req" if "cpu_us" in entry[rep] else "")
                        + (f" ({entry[rep]['user_us']:.1f} user + {entry[rep]['sys_us']:.1f} sys)"
                           if "user_us" in entry[rep] else ""))
                except (BenchError, subprocess.TimeoutExpired, ValueError, KeyError) as e:
                    data.setdefault("errors", []).append(f"{op} {key}: {e}")
                    log(f"{op} rep {rep + 1} {key}: ERROR {e}")


# Decoded values kept alive at once by the memory runs: enough that the heap they keep
# (~17 and ~31 MB) dwarfs the allocator's run-to-run noise in peak RSS (a few hundred kB).
HOLD_SMALL, HOLD_BIG = 16000, 16
CODECS = [  # (key, label, interpreter, codec)
    ("medusa54", "medusa-lua, lua5.4", "lua5.4", "medusa"),
    ("cjson54", "lua-cjson 2.1.0, lua5.4", "lua5.4", "cjson"),
    ("medusajit", "medusa-lua, luajit", "luajit", "medusa"),
    ("cjsonjit", "lua-cjson 2.1.0, luajit", "luajit", "cjson"),
    ("node", "node JSON.parse / JSON.stringify", "node", None),
]


def measure_codec(cfg, opts, paths, data, log):
    env = {"lua5.4": lua_env(f"{ROOT}/build/5.4/?.so"), "luajit": lua_env(opts.luajit_cpath)}
    script = os.path.join(BENCH, "lua", "codec.lua")
    counts = {("get", "hold"): HOLD_SMALL, ("big", "hold"): HOLD_BIG, ("get", "baseline"): 0, ("big", "baseline"): 0}
    for rep in range(cfg["reps"]):
        for payload, iters in (("get", cfg["small_iter"]), ("big", cfg["big_iter"])):
            k = rep % len(CODECS)
            for key, _label, interp, codec in CODECS[k:] + CODECS[:k]:
                for op in ("baseline", "hold", "decode", "encode"):
                    memory = op in ("baseline", "hold")
                    if interp == "node" and memory:
                        continue
                    slot = data.setdefault(payload, {}).setdefault(op, {}).setdefault(key, [None] * cfg["reps"])
                    count = str(counts.get((payload, op), iters))
                    try:
                        if interp == "node":
                            slot[rep] = run_json(["node", os.path.join(NODE_DIR, "codec.js"), paths[payload], op, count])
                        elif memory:
                            slot[rep] = run_json_rss([interp, script, codec, paths[payload], op, count], env[interp])
                        else:
                            slot[rep] = run_json([interp, script, codec, paths[payload], op, count], env[interp])
                    except (BenchError, subprocess.TimeoutExpired, ValueError) as e:
                        data.setdefault("errors", []).append(f"codec {payload} {op} {key}: {e}")
                        log(f"codec {payload} {op} {key}: ERROR {e}")
        log(f"codec rep {rep + 1}/{cfg['reps']} done")


def measure_startup(cfg, opts, data, log):
    env54, envjit = lua_env(f"{ROOT}/build/5.4/?.so"), lua_env(opts.luajit_cpath)
    commands = [
        ("lua54_empty", "`lua5.4 -e ''` (the interpreter alone)", ["lua5.4", "-e", ""], env54, ROOT),
        ("lua54_cjson", "`lua5.4 -e 'require \"cjson\"'`", ["lua5.4", "-e", 'require "cjson"'], env54, ROOT),
        ("lua54_medusa", "`lua5.4 -e 'require \"medusa\"'`", ["lua5.4", "-e", 'require "medusa"'], env54, ROOT),
        ("luajit_medusa", "`luajit -e 'require \"medusa\"'`", ["luajit", "-e", 'require "medusa"'], envjit, ROOT),
        ("node_js", "`node -e 'require(\"@medusajs/medusa-js\")'`",
         ["node", "-e", 'require("@medusajs/medusa-js")'], None, NODE_DIR),
    ]
    data["labels"] = {key: label for key, label, *_ in commands}
    split = ["lua5.4", os.path.join(BENCH, "lua", "startup_split.lua")]
    for _ in range(cfg["startup_runs"]):
        for key, _label, cmd, env, cwd in commands:
            try:
                data.setdefault(key, []).append(wall_ms(cmd, env, cwd))
            except BenchError as e:
                data.setdefault("errors", []).append(str(e))
        try:
            parts = run_json(split, env54)
            data.setdefault("core_ms", []).append(parts["core_ms"])
            data.setdefault("lua_ms", []).append(parts["lua_ms"])
        except BenchError as e:
            data.setdefault("errors", []).append(str(e))
    log("startup done")


def measure_nginx(cfg, opts, upstream, data, log):
    if not os.path.exists(os.path.join(ROOT, "lua", "medusa", "transport", "ngx.lua")):
        data["skipped"] = "not available yet: lua/medusa/transport/ngx.lua (the cosocket transport, issue 4) does not exist"
        log("nginx: " + data["skipped"])
        return
    edge = Nginx("nginx-edge", "edge.conf", {
        "ROOT": ROOT,
        "LUAJIT_CPATH": opts.luajit_cpath if os.path.isabs(opts.luajit_cpath) else os.path.join(ROOT, opts.luajit_cpath),
        "UPSTREAM_PORT": str(upstream.port),
    }).start()
    try:
        base = f"http://127.0.0.1:{edge.port}"
        for path in ("/medusa", "/bare"):
            p = subprocess.run(["curl", "-s", "-o", "-", "-w", "\n%{http_code}", base + path],
                               capture_output=True, text=True, timeout=30)
            body, _, code = p.stdout.rpartition("\n")
            if code == "501":
                data["skipped"] = "not available yet: " + body.strip()
                log("nginx: " + data["skipped"])
                return
            if code != "200":
                raise BenchError(f"{path} answered {code}: {body.strip()[:300]} {edge.error_log()[-300:]}")
        for path in ("/medusa", "/bare"):  # warm the JIT and the keepalive pools
            wrk_rps(base + path, 1, cfg["nginx_conns"])
        for rep in range(cfg["reps"]):
            order = ("/medusa", "/bare") if rep % 2 == 0 else ("/bare", "/medusa")
            for path in order:
                rps = wrk_rps(base + path, cfg["wrk_s"], cfg["nginx_conns"])
                data.setdefault(path, [None] * cfg["reps"])[rep] = rps
                log(f"nginx rep {rep + 1}/{cfg['reps']} {path:8s} {rps:9.0f} req/s")
    except (BenchError, subprocess.TimeoutExpired) as e:
        data["error"] = str(e)
        log(f"nginx: ERROR {e}")
    finally:
        edge.stop()


def concurrent_contenders(opts):
    """(key, label, variants, argv(base, level, variant, retries, batches), env, cwd, warm-up calls, timed
    batches: None for cfg["conc_batches"]) in table order."""
    env54 = lua_env(f"{ROOT}/build/5.4/?.so;{BENCH}/build/5.4/?.so")
    envjit = lua_env(f"{opts.luajit_cpath};{BENCH}/build/luajit/?.so")
    script = os.path.join(BENCH, "lua", "concurrent.lua")
    both = ("ok", "flaky")

    def lua(interp, mode):
        return lambda base, level, variant, retries, batches: [interp, script, base, str(level), variant, str(retries),
                                                               mode, str(batches)]
    return [
        ("rawmulti", "C, curl_multi, N easy handles reused (bench/raw_multi.c)", both,
         lambda base, level, variant, retries, batches: [RAW_MULTI, base, str(level), variant, str(retries),
                                                         str(batches)], None, ROOT, CONC_CALLS, None),
        ("js", "medusa-js 6.1.10, Promise.all over N workers, keep-alive agent maxSockets N", both,
         lambda base, level, variant, retries, batches: ["node", os.path.join(NODE_DIR, "concurrent.js"), base,
                                                         str(level), variant, str(retries), str(batches)],
         None, NODE_DIR, CONC_CALLS, None),
        ("lua54_all", "medusa-lua `all`, maxInFlight N, lua5.4", both, lua("lua5.4", "all"), env54, ROOT, CONC_CALLS,
         None),
        ("luajit_all", "medusa-lua `all`, maxInFlight N, luajit", both, lua("luajit", "all"), envjit, ROOT, CONC_CALLS,
         None),
        # 100 calls one after the other: level-independent, run at every level for a side-by-side
        # baseline. Not on the flaky route, where it would wait out 100 backoffs (~54 s a batch).
        ("lua54_seq", "medusa-lua, sequential loop of blocking calls, lua5.4 (baseline)", ("ok",),
         lua("lua5.4", "seq"), env54, ROOT, 10, CONC_SEQ_BATCHES),
    ]


def run_concurrent_one(argv, env, cwd):
    """The contender's JSON line; ("missing", why) when it exits 3 saying what it lacks."""
    p = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=180)
    if p.returncode == 3 and "missing:" in p.stderr:
        return "missing", p.stderr[p.stderr.index("missing:") + 8:].strip()[:400]
    if p.returncode != 0:
        raise BenchError(f"{' '.join(os.path.basename(a) for a in argv[:3])}... exited {p.returncode}: "
                         f"{p.stderr.strip()[-400:]}")
    return "ok", json.loads(p.stdout.strip().splitlines()[-1])


def measure_concurrent(cfg, opts, paths, data, log):
    delayed = start_delayed(paths)
    base = f"http://127.0.0.1:{delayed.port}"
    levels, calls, reps = cfg["conc_levels"], cfg["conc_calls"], cfg["reps"]
    contenders = concurrent_contenders(opts)
    missing = data.setdefault("missing", {})
    runs = data.setdefault("runs", {})

    def counts():
        code, body = http_get(base + "/_bench/reset")
        if code != 200:
            raise BenchError(f"delayed backend /_bench/reset answered {code}: {body[:200]} {delayed.error_log()[-300:]}")
        return json.loads(body)
    try:
        status, body = http_get(f"{base}/store/payment-collections/{COLLECTION_ID}")
        with open(paths["get"], encoding="utf-8") as f:
            if status != 200 or body != f.read():
                raise BenchError(f"delayed backend answered {status} and not the recorded body: {body[:200]}")
        for rep in range(reps):
            for variant in ("ok", "flaky"):
                retries = 1 if variant == "flaky" else 0
                for level in levels:
                    active = [c for c in contenders if variant in c[2] and c[0] not in missing]
                    if not active:
                        continue
                    k = rep % len(active)
                    for key, _label, _variants, argv, env, cwd, warm, batches in active[k:] + active[:k]:
                        batches = batches or cfg["conc_batches"]
                        slot = runs.setdefault(variant, {}).setdefault(str(level), {}).setdefault(key, [None] * reps)
                        where = f"concurrent {variant} {level} in flight {key}"
                        try:
                            counts()  # from zero
                            kind, r = run_concurrent_one(argv(base, level, variant, retries, batches), env, cwd)
                            if kind == "missing":
                                missing[key] = r
                                log(f"{where}: MISSING {r}")
                                continue
                            hits = counts()
                            # What the backend saw must be what the run claims: every call answered
                            # once on the plain route, or every flaky id twice (503, then the retry):
                            # ids of their own in each timed batch, paycol_flaky_<batch>_<call>.
                            timed = calls * batches
                            want = {"ok": warm + (timed if variant == "ok" else 0),
                                    "flaky_ids": timed if variant == "flaky" else 0,
                                    "flaky_twice": timed if variant == "flaky" else 0,
                                    "flaky_hits": 2 * timed if variant == "flaky" else 0}
                            got = {name: hits[name] for name in want}
                            if r.get("ok") != timed or r.get("batches") != batches or got != want:
                                raise BenchError(f"{r.get('ok')}/{timed} calls ok in {r.get('batches')}/{batches} "
                                                 f"batches ({r.get('first_error')}); backend hits {got}, expected {want}")
                            slot[rep] = r
                            log(f"{where:40s} rep {rep + 1}/{reps} {r['wall_ms']:8.1f} ms wall (median of {batches}, "
                                f"{r['wall_min_ms']:.1f}–{r['wall_max_ms']:.1f})  "
                                f"{r['user_ms']:6.1f} user + {r['sys_ms']:5.1f} sys ms CPU/batch")
                        except (BenchError, subprocess.TimeoutExpired, ValueError, KeyError) as e:
                            data.setdefault("errors", []).append(f"{where} rep {rep + 1}: {e}")
                            log(f"{where} rep {rep + 1}: ERROR {e}")
    finally:
        delayed.stop()


# ---------------------------------------------------------------------------------------
# verdicts, table, chart
# ---------------------------------------------------------------------------------------

def req_metric(data, op, key, metric):
    return [r[metric] if r and metric in r else None for r in data.get(op, {}).get(key, [])]


def codec_metric(data, payload, op, key, metric):
    return [r.get(metric) if r else None for r in data.get(payload, {}).get(op, {}).get(key, [])]


def conc_metric(conc, variant, level, key, metric):
    return [r.get(metric) if r else None for r in conc.get("runs", {}).get(variant, {}).get(str(level), {}).get(key, [])]


def conc_cpu(conc, variant, level, key):
    return [r["user_ms"] + r["sys_ms"] if r else None
            for r in conc.get("runs", {}).get(variant, {}).get(str(level), {}).get(key, [])]


def conc_floor(conc, level):
    """Per repetition: the flaky floor CONC_BACKOFF_MS + 2 x RT, RT the raw C multi loop's median
    single-attempt wall time (added to done) over its timed ok batches at the same level."""
    return [CONC_BACKOFF_MS + 2 * rt if rt is not None else None for rt in conc_metric(conc, "ok", level, "rawmulti", "rt_ms")]


def conc_vs_floor(conc, level, key):
    return paired(conc_metric(conc, "flaky", level, key, "wall_ms"), conc_floor(conc, level), lambda w, f: w / f)


def rss_delta(codec, payload, key):
    """Peak RSS of the hold run minus the same codec's baseline run, per repetition (kB)."""
    return paired(codec_metric(codec, payload, "hold", key, "rss_kb"),
                  codec_metric(codec, payload, "baseline", key, "rss_kb"), lambda a, b: a - b)


def verdicts(results):
    """Rows (target, measured text, required text, PASS/FAIL/n/a, attainment or None, chart label)."""
    req, codec, startup, ngx = (results.get(k, {}) for k in ("requests", "codec", "startup", "nginx"))
    rows = []

    def ratio_row(name, short, values, need, at_least):
        s = spread(values)
        if s is None:
            rows.append((name, "n/a", ("≥ " if at_least else "≤ ") + f"{need:g}×", "n/a", None, short))
            return
        ok = s[0] >= need if at_least else s[0] <= need
        attain = s[0] / need if at_least else need / s[0]
        rows.append((name, fmt_ratio(s), ("≥ " if at_least else "≤ ") + f"{need:g}×", "PASS" if ok else "FAIL", attain, short))

    def rps_ratio(op, a, b):
        return paired(req_metric(req, op, a, "rps"), req_metric(req, op, b, "rps"), lambda x, y: x / y)

    def cpu_ratio(op, a, b):
        return paired(req_metric(req, op, a, "cpu_us"), req_metric(req, op, b, "cpu_us"), lambda x, y: x / y)

    # Against the raw C loop that sets CURLOPT_URL before every request, on both interpreters;
    # the CURLU loop beside it is information (info_rows).
    for op, name in (("get", "GET `retrieve`"), ("post", "POST `managePaymentSession`")):
        for key, interp, short in (("lua54", "lua5.4", "5.4"), ("luajit", "luajit", "jit")):
            if op in req:
                ratio_row(f"{name}, {interp}: req/s vs the raw C libcurl loop (CURLOPT_URL)",
                          f"{op.upper()} req/s\\n{short} vs C", rps_ratio(op, key, "rawc"), 0.90, True)
                ratio_row(f"{name}, {interp}: CPU per request vs the raw C loop (CURLOPT_URL)",
                          f"{op.upper()} CPU\\n{short} vs C", cpu_ratio(op, key, "rawc"), 1.2, False)
    for op, name in (("get", "GET `retrieve`"), ("post", "POST `managePaymentSession`")):
        if op in req:
            ratio_row(f"{name}, lua5.4: req/s vs medusa-js (same warm-up)", f"{op.upper()} req/s\\nvs js",
                      rps_ratio(op, "lua54", "js"), 3.5, True)
            ratio_row(f"{name}, lua5.4: CPU per request vs medusa-js (same warm-up)", f"{op.upper()} CPU\\nvs js",
                      cpu_ratio(op, "lua54", "js"), 0.2, False)
    if codec:
        for payload, size in (("get", "525 B"), ("big", "1 MB")):
            speed = paired(codec_metric(codec, payload, "decode", "cjson54", "us"),
                           codec_metric(codec, payload, "decode", "medusa54", "us"), lambda c, m: c / m)
            ratio_row(f"decode {size}, lua5.4: speed vs lua-cjson (cjson µs / ours)", f"decode {size}\\nspeed", speed, 1.2, True)
            ours, theirs = spread(rss_delta(codec, payload, "medusa54")), spread(rss_delta(codec, payload, "cjson54"))
            if ours and theirs:
                # RSS moves by a few hundred kB from run to run: within 2% of cjson is "no higher".
                held = HOLD_SMALL if payload == "get" else HOLD_BIG
                rows.append((f"decode {size}, lua5.4: peak RSS holding {held:,} decoded values, over baseline, vs lua-cjson",
                             f"{fmt_spread(ours, 0, ' kB')} vs {fmt_spread(theirs, 0, ' kB')}",
                             "no higher (2% noise)", "PASS" if ours[0] <= theirs[0] * 1.02 else "FAIL",
                             theirs[0] * 1.02 / ours[0], f"decode {size}\\nRSS"))
        for payload, size in (("get", "525 B"), ("big", "1 MB")):
            speed = paired(codec_metric(codec, payload, "encode", "cjson54", "us"),
                           codec_metric(codec, payload, "encode", "medusa54", "us"), lambda c, m: c / m)
            ratio_row(f"encode {size}, lua5.4: speed vs lua-cjson (cjson µs / ours)", f"encode {size}\\nspeed", speed, 1.0, True)
    if startup.get("lua54_medusa"):
        s = spread(startup["lua54_medusa"])
        rows.append(("`lua5.4 -e 'require \"medusa\"'`, whole process", fmt_spread(s, 1, " ms"), "< 10 ms",
                     "PASS" if s[0] < 10 else "FAIL", 10 / s[0], "require\\nmedusa"))
    conc = results.get("concurrent", {})
    if conc:
        lvl = CONC_TARGET_LEVEL
        for key, interp in (("lua54_all", "lua5.4"), ("luajit_all", "luajit")):
            short = "5.4" if key == "lua54_all" else "jit"
            wall = conc_metric(conc, "ok", lvl, key, "wall_ms")
            checks = [
                (f"concurrent, {lvl} in flight, medusa-lua `all` ({interp}): wall per batch vs the raw C curl_multi loop",
                 f"conc {lvl}\\n{short} vs C", paired(wall, conc_metric(conc, "ok", lvl, "rawmulti", "wall_ms"),
                                                   lambda a, b: a / b), 1.15, "≤"),
                (f"concurrent, {lvl} in flight, medusa-lua `all` ({interp}): wall per batch vs medusa-js Promise.all",
                 f"conc {lvl}\\n{short} vs js", paired(wall, conc_metric(conc, "ok", lvl, "js", "wall_ms"),
                                                    lambda a, b: a / b), 1.0, "<"),
                (f"flaky (503 once per call), {lvl} in flight, medusa-lua `all` ({interp}): wall vs "
                 f"{CONC_BACKOFF_MS} ms backoff + 2 × round trip (the raw C multi loop's median call at {lvl})",
                 f"flaky {lvl}\\n{short}", conc_vs_floor(conc, lvl, key), 1.2, "≤"),
            ]
            for name, short_label, values, need, op in checks:
                s = spread(values)
                if s is None:
                    why = conc.get("missing", {}).get(key)
                    rows.append((name, f"not measured: {why}" if why else "n/a", f"{op} {need:g}×", "n/a", None, short_label))
                    continue
                ok = s[0] < need if op == "<" else s[0] <= need
                rows.append((name, fmt_ratio(s), f"{op} {need:g}×", "PASS" if ok else "FAIL", need / s[0], short_label))
    if ngx:
        if ngx.get("skipped") or ngx.get("error"):
            rows.append(("nginx: cosocket-transport handler req/s vs bare cosocket + cjson",
                         ngx.get("skipped") or "error: " + ngx["error"][:200], "≥ 0.9×", "n/a", None, "nginx"))
        else:
            ratio_row("nginx: cosocket-transport handler req/s vs bare cosocket + cjson (wrk)", "nginx\\nvs bare",
                      paired(ngx.get("/medusa", []), ngx.get("/bare", []), lambda a, b: a / b), 0.9, True)
    return rows


def info_rows(results):
    req = results.get("requests", {})
    rows = []
    for op in ("get", "post"):
        for a, b, what in (("rawc", "js", "the raw C loop vs medusa-js, same warm-up (the most any libcurl "
                                          "client can show against the 3.5× and 1/5 targets)"),
                           ("lua54", "js_warm", "vs medusa-js after the long warm-up"),
                           ("rawc_curlu", "rawc", "raw C, CURLU path per request vs CURLOPT_URL"),
                           ("lua54", "rawc_curlu", "lua5.4 vs the raw C CURLU loop"),
                           ("luajit", "rawc_curlu", "luajit vs the raw C CURLU loop"),
                           ("floor_perform", "rawc", "floor: perform alone (no pipeline, no decode) vs the raw C loop"),
                           ("floor_decode", "rawc", "floor: perform + decode into Lua tables vs the raw C loop")):
            rps = spread(paired(req_metric(req, op, a, "rps"), req_metric(req, op, b, "rps"), lambda x, y: x / y))
            cpu = spread(paired(req_metric(req, op, a, "cpu_us"), req_metric(req, op, b, "cpu_us"), lambda x, y: x / y))
            if rps:
                rows.append((f"{op.upper()}: {what}", fmt_ratio(rps), fmt_ratio(cpu)))
    return rows


def render(results, cfg, opts, command):
    lines = []
    add = lines.append
    meta = results["meta"]
    add("# medusa-lua benchmark")
    add("")
    add(f"{meta['date']} · {meta['machine']} · {meta['versions']}")
    add("")
    add(f"Reproduce: `{command}`. {cfg['reps']} repetitions with the contenders' order rotated each time; "
        "medians with (min–max); every ratio is taken within one repetition, then summarised the same way.")
    if results.get("requests"):
        add("")
        add(f"Requests: a loopback nginx (1 worker) answers the recorded Medusa bodies and headers; each client "
            f"reuses one connection for {cfg['n']:,} sequential requests after {cfg['warmup']:,} warm-up requests. "
            "req/s is wall clock; CPU is user+sys of the client process over the timed requests / N (the server "
            "shares the two cores, so CPU is the steadier figure).")
    add("")
    rows = verdicts(results)
    if rows:
        add("## Targets")
        add("")
        add("| target | measured | required | result |")
        add("|---|---|---|---|")
        for name, measured, need, verdict, _a, _s in rows:
            add(f"| {name} | {measured} | {need} | **{verdict}** |")
        add("")
    req = results.get("requests")
    if req:
        add("## Sequential requests")
        add("")
        add("CPU µs per request, user + sys, then each alone (raw C: getrusage; node: process.cpuUsage; the Lua "
            "loops: os.clock split by /proc/self/stat's utime:stime ticks, 10 ms resolution); wrk is there for the "
            "server's ceiling, its CPU not measured.")
        add("")
        add("| client | GET req/s | GET CPU µs/req | GET user | GET sys | POST req/s | POST CPU µs/req | POST user "
            "| POST sys |")
        add("|---|---|---|---|---|---|---|---|---|")
        for key, label, *_ in request_contenders(cfg, opts, ""):
            if not any(req.get(op, {}).get(key) for op in ("get", "post")):
                continue
            cells = []
            for op in ("get", "post"):
                cells.append(fmt_spread(spread(req_metric(req, op, key, "rps"))))
                cells += ["—"] * 3 if key == "wrk" else \
                    [fmt_spread(spread(req_metric(req, op, key, metric)), 1) for metric in ("cpu_us", "user_us", "sys_us")]
            add(f"| {label} | " + " | ".join(cells) + " |")
        add("")
        info = info_rows(results)
        if info:
            add("| comparison (no target) | req/s ratio | CPU/req ratio |")
            add("|---|---|---|")
            for row in info:
                add("| " + " | ".join(row) + " |")
            add("")
    codec = results.get("codec")
    if codec:
        add("## JSON codec")
        add("")
        add(f"CPU µs per call: {cfg['small_iter']:,} calls on the 525-byte GET body, {cfg['big_iter']} on the "
            f"{results['meta']['big_bytes']:,}-byte collection with {payloads.BIG_SESSIONS:,} sessions, after as many "
            "warm-up calls.")
        add("")
        add("| codec | decode 525 B | encode 525 B | decode 1 MB | encode 1 MB |")
        add("|---|---|---|---|---|")
        for key, label, *_ in CODECS:
            cells = [fmt_spread(spread(codec_metric(codec, payload, op, key, "us")), 2 if payload == "get" else 0)
                     for payload, op in (("get", "decode"), ("get", "encode"), ("big", "decode"), ("big", "encode"))]
            add(f"| {label} | " + " | ".join(cells) + " |")
        add("")
        add(f"Memory: peak RSS (`/usr/bin/time -v`) of a process that decodes the payload and keeps every value "
            f"({HOLD_SMALL:,} × 525 B, {HOLD_BIG} × 1 MB), minus the peak RSS of the same process that only "
            "loads and reads the file; every Lua process loads both codecs, so that both start from the same process "
            "image and allocator state (medusa.core alone brings libcurl and OpenSSL) and only the codec that decodes "
            "differs; and the Lua heap one decoded value keeps.")
        add("")
        add("| codec | baseline RSS | 525 B: RSS over baseline | 525 B: heap per value | 1 MB: RSS over baseline | 1 MB: heap per value |")
        add("|---|---|---|---|---|---|")
        for key, label, interp, _codec in CODECS:
            if interp == "node":
                continue
            base = spread([v / 1024 for v in codec_metric(codec, "get", "baseline", key, "rss_kb") if v])
            cells = [fmt_spread(base, 1, " MB")]
            for payload in ("get", "big"):
                cells.append(fmt_spread(spread([v / 1024 for v in rss_delta(codec, payload, key)]), 2, " MB"))
                cells.append(fmt_spread(spread(codec_metric(codec, payload, "hold", key, "heap_kb")), 1, " kB"))
            add(f"| {label} | " + " | ".join(cells) + " |")
        add("")
    startup = results.get("startup")
    if startup:
        add("## Start-up (whole process, wall clock)")
        add("")
        add("| command | ms |")
        add("|---|---|")
        for key, label in startup.get("labels", {}).items():
            add(f"| {label} | {fmt_spread(spread(startup.get(key, [])), 1)} |")
        add("")
        if startup.get("core_ms"):
            add("Inside `lua5.4 -e 'require \"medusa\"'` (CPU ms, `bench/lua/startup_split.lua`): loading the C core "
                f"`medusa.core` (libcurl, OpenSSL, `curl_global_init`) {fmt_spread(spread(startup['core_ms']), 1)}; "
                f"the Lua modules on top {fmt_spread(spread(startup['lua_ms']), 2)}.")
            add("")
    ngx = results.get("nginx")
    if ngx:
        add(f"## Inside nginx (wrk -t1 -c{cfg['nginx_conns']} -d{cfg['wrk_s']}s, one worker each side)")
        add("")
        if ngx.get("skipped"):
            add(ngx["skipped"])
        elif ngx.get("error"):
            add("error: " + ngx["error"])
        else:
            add("| handler | req/s |")
            add("|---|---|")
            add(f"| `retrieve` through medusa-lua's cosocket transport | {fmt_spread(spread(ngx.get('/medusa', [])))} |")
            add(f"| bare cosocket GET + `cjson.decode` (the limit) | {fmt_spread(spread(ngx.get('/bare', [])))} |")
        add("")
    conc = results.get("concurrent")
    if conc:
        render_concurrent(conc, cfg, opts, add)
    errors = [e for part in results.values() if isinstance(part, dict) for e in part.get("errors", [])]
    if errors:
        add("## Errors")
        add("")
        for e in errors:
            add(f"- {e}")
        add("")
    add("Chart: `latest.svg` (and `latest.png`) next to this file.")
    return "\n".join(lines) + "\n", rows


def render_concurrent(conc, cfg, opts, add):
    levels, calls = cfg.get("conc_levels", CONC_LEVELS), cfg.get("conc_calls", CONC_CALLS)
    batches = cfg.get("conc_batches", 1)  # a latest.json from before the K batches: one timed batch
    contenders = concurrent_contenders(opts)
    add(f"## Concurrent requests: batches of {calls} `retrieve` calls, a backend that answers after {CONC_DELAY_MS} ms")
    add("")
    add(f"A loopback nginx (1 worker, bench/nginx/delayed.conf) answers the recorded GET body and headers after "
        f"{CONC_DELAY_MS} ms (`ngx.sleep`). Each client process runs one untimed batch of ok calls at its level "
        f"(connections opened, JIT warm; the sequential loop: 10 calls), then {batches} timed batches of {calls} "
        f"(the sequential loop: {CONC_SEQ_BATCHES}), at most N in flight over N keep-alive connections. Wall: ms for "
        f"the whole batch, the median of {batches} batches per process (a batch at 100 in flight lasts ~25 ms, so "
        "one noisy batch would move a single reading; each batch's wall and their min/max are in latest.json); "
        "the cells give the median (min–max) of those medians over the repetitions. CPU: ms of the client process "
        f"per batch (its CPU over the {batches} timed batches / {batches}), user and system apart (getrusage for C "
        "and Lua, process.cpuUsage for node: the sum is exact, the split the kernel's tick sampling, coarse at a few "
        "ms). Ratios are taken within one repetition against the raw C curl_multi loop at the same level. Every run "
        "is checked against the backend's hit counts: each call answered, each flaky id hit exactly twice (every "
        "timed batch has ids of its own, paycol_flaky_<batch>_<call>, so each meets the 503s).")
    add("")
    for variant in ("ok", "flaky"):
        rows = conc.get("runs", {}).get(variant)
        if not rows:
            continue
        if variant == "ok":
            add("### Every call answered 200")
            add("")
            add(f"| client | in flight | wall ms/batch (median of {batches}) | wall vs raw C multi | user CPU ms/batch "
                "| sys CPU ms/batch | CPU vs raw C multi |")
            add("|---|---|---|---|---|---|---|")
        else:
            add(f"### Flaky: every call answered 503 (no Retry-After) once, then 200; one retry "
                f"({CONC_BACKOFF_MS} ms backoff), {CONC_DELAY_MS} ms each answer")
            add("")
            add(f"Floor = {CONC_BACKOFF_MS} ms + 2 × RT, RT = the raw C multi loop's median single-call wall time "
                "(one attempt, added to done) over the timed ok batches at the same level and repetition. It is the floor only "
                f"when every call is in flight at once ({CONC_TARGET_LEVEL}): below that, the calls come in waves. "
                "The raw C loop and medusa-lua `all` (a slot is held per request, medusa.tasks.scheduler, and the "
                "retry's backoff is a timer) free a call's slot while it waits out its backoff; medusa-js's pool "
                "workers keep theirs, so at 10 in flight they wait out ten backoffs one wave after another. The "
                f"target is at {CONC_TARGET_LEVEL} in flight.")
            add("")
            add(f"| client | in flight | wall ms/batch (median of {batches}) | wall vs raw C multi | wall / floor "
                "| user CPU ms/batch | sys CPU ms/batch | CPU vs raw C multi |")
            add("|---|---|---|---|---|---|---|---|")
        for level in levels:
            raw_wall = conc_metric(conc, variant, level, "rawmulti", "wall_ms")
            raw_cpu = conc_cpu(conc, variant, level, "rawmulti")
            for key, label, variants, *_ in contenders:
                if variant not in variants:
                    continue
                wall = conc_metric(conc, variant, level, key, "wall_ms")
                if not any(v is not None for v in wall):
                    cells = ["not measured (below)" if key in conc.get("missing", {}) else "failed (see Errors)"] \
                        + ["—"] * (4 if variant == "ok" else 5)
                else:
                    cells = [fmt_spread(spread(wall), 1),
                             "1.00×" if key == "rawmulti" else fmt_ratio(spread(paired(wall, raw_wall, lambda a, b: a / b)))]
                    if variant == "flaky":
                        cells.append(fmt_ratio(spread(conc_vs_floor(conc, level, key))))
                    cells += [fmt_spread(spread(conc_metric(conc, variant, level, key, "user_ms")), 1),
                              fmt_spread(spread(conc_metric(conc, variant, level, key, "sys_ms")), 1),
                              "1.00×" if key == "rawmulti" else
                              fmt_ratio(spread(paired(conc_cpu(conc, variant, level, key), raw_cpu, lambda a, b: a / b)))]
                shown_level = "1 (sequential)" if key == "lua54_seq" else str(level)
                add(f"| {label} | {shown_level} | " + " | ".join(cells) + " |")
        add("")
        if variant == "ok":
            rt = [f"{level}: {fmt_spread(spread(conc_metric(conc, 'ok', level, 'rawmulti', 'rt_ms')), 1, ' ms')}"
                  for level in levels]
            add("RT, the raw C multi loop's median single-call wall time: " + "; ".join(rt) + ".")
            add("")
    if conc.get("missing"):
        for key, why in conc["missing"].items():
            label = next((c[1] for c in contenders if c[0] == key), key)
            add(f"- not measured: {label}: {why}")
        add("")


def write_chart(results, cfg, opts, rows, out_svg):
    """Data files + bench/chart.gp -> the SVG; returns a note when gnuplot is missing or fails."""
    datadir = os.path.join(TMP, "chart")
    os.makedirs(datadir, exist_ok=True)
    req = results.get("requests", {})
    with open(os.path.join(datadir, "requests.dat"), "w") as f:
        for key, label, *_ in request_contenders(cfg, opts, ""):
            vals = []
            for metric in ("rps", "cpu_us"):
                for op in ("get", "post"):
                    s = spread(req_metric(req, op, key, metric))
                    vals += list(s) if s else [NAN] * 3
            if any(v == v for v in vals):
                short = label.split(",")[0].replace(" (bench/raw_curl.c)", "")
                if key in ("lua54", "luajit"):
                    short = "medusa-lua " + key.replace("lua54", "lua5.4")
                elif key in ("js", "js_warm"):
                    short = f"medusa-js {cfg['warmup' if key == 'js' else 'long_warmup'] // 1000}k warm"
                elif key in ("floor_perform", "floor_decode"):
                    short = "floor: perform" + (" + decode" if key == "floor_decode" else "")
                elif key == "node_http":
                    short = "node http"
                elif key == "wrk":
                    short = "wrk (ceiling)"
                elif key == "rawc":
                    short = "raw C libcurl"
                elif key == "rawc_curlu":
                    short = "raw C CURLU"
                f.write(f'"{short}" ' + " ".join(f"{v:.3f}" for v in vals) + "\n")
    codec = results.get("codec", {})
    with open(os.path.join(datadir, "codec.dat"), "w") as f:
        for payload, op, label in (("get", "decode", "decode 525 B"), ("big", "decode", "decode 1 MB"),
                                   ("get", "encode", "encode 525 B"), ("big", "encode", "encode 1 MB")):
            vals = []
            for key in ("medusa54", "cjson54", "medusajit", "cjsonjit", "node"):
                s = spread(codec_metric(codec, payload, op, key, "us"))
                vals += list(s) if s else [NAN] * 3
            if any(v == v for v in vals):
                f.write(f'"{label}" ' + " ".join(f"{v:.4f}" for v in vals) + "\n")
    with open(os.path.join(datadir, "targets.dat"), "w") as f:
        for _name, _m, _need, verdict, attain, short in rows:
            if attain is not None:
                f.write(f'"{short}" {attain:.4f} {1 if verdict == "PASS" else 0}\n')
    def has(name):
        return 1 if os.path.getsize(os.path.join(datadir, name)) > 0 else 0
    flags = f"has_requests={has('requests.dat')}; has_codec={has('codec.dat')}; has_targets={has('targets.dat')}"
    for out in (out_svg, out_svg[:-4] + ".png"):
        try:
            p = subprocess.run(["gnuplot", "-e", f"datadir='{datadir}'; out='{out}'; {flags}",
                                os.path.join(BENCH, "chart.gp")], capture_output=True, text=True, timeout=60)
        except FileNotFoundError:
            return "gnuplot not found: no chart"
        if p.returncode != 0:
            return "gnuplot failed: " + p.stderr.strip()[-300:]
    return None


# ---------------------------------------------------------------------------------------
# the README's table (a full run's figures, for users: no targets)
# ---------------------------------------------------------------------------------------

README = os.path.join(ROOT, "README.md")
README_BEGIN = "<!-- BEGIN GENERATED by bench/run.py: do not edit; a full `make bench` rewrites it -->"
README_END = "<!-- END GENERATED by bench/run.py -->"
# What a run's meta says of the raw C loop; runs recorded without it set CURLOPT_URL once, before
# their loop, and had no CURLU contender.
RAWC_URL = "CURLOPT_URL set before every request"
README_CLIENTS = [  # (key in the request runs, label)
    ("lua54", "medusa-lua, Lua 5.4"),
    ("luajit", "medusa-lua, LuaJIT"),
    ("rawc", "raw libcurl C loop, {rawc_url}"),
    ("rawc_curlu", "raw libcurl C loop, a CURLU handle with only its path set per request"),
    ("js", "medusa-js 6.1.10, node"),
]
README_CODECS = [  # (key in the codec runs, label)
    ("medusa54", "medusa-lua, Lua 5.4"),
    ("cjson54", "lua-cjson 2.1.0, Lua 5.4"),
    ("medusajit", "medusa-lua, LuaJIT"),
    ("cjsonjit", "lua-cjson 2.1.0, LuaJIT"),
]


def readme_block(results, cfg):
    """The README's Performance tables (medians only), between and including the marker lines."""
    meta, req, codec, ngx = (results.get(k, {}) for k in ("meta", "requests", "codec", "nginx"))
    lines = [README_BEGIN]
    add = lines.append

    def median(values, digits, scale=1):
        s = spread(values)
        return "—" if s is None else f"{s[0] * scale:,.{digits}f}"
    add(f"Measured {meta.get('date', '?')} on {meta.get('machine', '?')} ({meta.get('versions', '?')}): the "
        f"median of {cfg['reps']} repetitions; every figure with its min–max, and more contenders, in "
        "[bench/results/latest.md](bench/results/latest.md).")
    add("")
    if req:
        add(f"Sequential requests, one connection, {cfg['n']:,} requests after {cfg['warmup']:,} warm-up (CPU: the "
            "client process's user + system time):")
        add("")
        add("| client | GET `retrieve` req/s | GET CPU µs/request | POST `managePaymentSession` req/s "
            "| POST CPU µs/request |")
        add("|---|---|---|---|---|")
        for key, label in README_CLIENTS:
            cells = [median(req_metric(req, op, key, metric), digits)
                     for op in ("get", "post") for metric, digits in (("rps", 0), ("cpu_us", 1))]
            if set(cells) == {"—"}:
                cells = ["not in this run"] + ["—"] * 3
            add(f"| {label.format(rawc_url=meta.get('rawc_url', 'CURLOPT_URL set once, before the loop'))} | "
                + " | ".join(cells) + " |")
        add("")
    if codec:
        add(f"JSON codec, CPU time per call (525 B: the `retrieve` body; 1 MB: a payment collection with "
            f"{payloads.BIG_SESSIONS:,} sessions, {meta.get('big_bytes', 0):,} bytes):")
        add("")
        add("| codec | decode 525 B, µs | encode 525 B, µs | decode 1 MB, ms | encode 1 MB, ms |")
        add("|---|---|---|---|---|")
        for key, label in README_CODECS:
            cells = [median(codec_metric(codec, "get", op, key, "us"), 2) for op in ("decode", "encode")] \
                + [median(codec_metric(codec, "big", op, key, "us"), 2, 1e-3) for op in ("decode", "encode")]
            add(f"| {label} | " + " | ".join(cells) + " |")
        add("")
    if ngx:
        add(f"Inside nginx (one worker, wrk with {cfg['nginx_conns']} connections):")
        add("")
        if ngx.get("skipped") or ngx.get("error"):
            add("not measured in this run.")
        else:
            add("| handler | req/s |")
            add("|---|---|")
            add(f"| `retrieve` through medusa-lua's cosocket transport | {median(ngx.get('/medusa', []), 0)} |")
            add(f"| a bare cosocket GET + `cjson.decode` | {median(ngx.get('/bare', []), 0)} |")
        add("")
    if lines[-1] == "":
        lines.pop()
    add(README_END)
    return "\n".join(lines) + "\n"


def write_readme(block):
    """Replaces the README's span between the marker lines with block (which holds them)."""
    with open(README, encoding="utf-8") as f:
        text = f.read()
    start = text.find(README_BEGIN + "\n")
    end = text.find("\n" + README_END + "\n", start)
    if start < 0 or end < 0:
        raise BenchError(f"README.md: no '{README_BEGIN}' ... '{README_END}' lines")
    text = text[:start] + block + text[end + len(README_END) + 2:]
    with open(README, "w", encoding="utf-8") as f:
        f.write(text)


# ---------------------------------------------------------------------------------------
# the profile (make bench-profile)
# ---------------------------------------------------------------------------------------

def callgrind(cmd, env, out):
    p = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"] + cmd,
                       env=env, cwd=ROOT, capture_output=True, text=True, timeout=1800)
    if p.returncode != 0:
        raise BenchError(f"callgrind {' '.join(cmd)}: {p.stderr.strip()[-500:]}")
    return out


def annotate(out, inclusive):
    """(total Ir, {"function [object]": Ir}) from callgrind_annotate, self or inclusive costs.

    Every function line counts. callgrind_annotate prints `file:function [object]`, but leaves the
    `[object]` off some lines (a function whose code it also lists under another source file, e.g.
    glibc's `arena.c:free` beside `malloc.c:free [libc.so.6]`, or an inlined `dec_value'2`); such a
    line takes the object of the same function's other lines, `[?]` when that is not one object.
    Function names may hold spaces (`(below main)`) and `::`; costs carry thousands separators.
    Self costs of one function's lines add up; inclusive ones overlap (each line's callees include
    the others' when callgrind splits a function by source file), so a function takes its largest."""
    p = subprocess.run(["callgrind_annotate", "--auto=no", f"--inclusive={'yes' if inclusive else 'no'}",
                        "--threshold=100", out], capture_output=True, text=True, timeout=300,
                       cwd="/")  # under the source tree it shortens names and drops the [object] of some
    total, with_obj, without_obj = 0, [], []
    for line in p.stdout.splitlines():
        m = re.match(r"^\s*([\d,]+)\s+\([^)]*\)\s+(.+?)\s*$", line)
        if not m:
            continue
        ir, label = int(m.group(1).replace(",", "")), m.group(2)
        if label == "PROGRAM TOTALS":
            total = ir
            continue
        fn = re.match(r"^[^:]*:(.+?)(?:\s+\[([^\]]+)\])?$", label)
        if not fn:
            raise BenchError(f"callgrind_annotate {out}: unparsed line {line!r}")
        (with_obj if fn.group(2) else without_obj).append((fn.group(1), fn.group(2), ir))
    objects = {}
    for name, obj, _ir in with_obj:
        objects.setdefault(name, set()).add(os.path.basename(obj))
    costs = {}
    for name, obj, ir in with_obj + without_obj:
        if obj:
            key = f"{name} [{os.path.basename(obj)}]"
        else:
            known = objects.get(name, ())
            key = f"{name} [{next(iter(known)) if len(known) == 1 else '?'}]"
        costs[key] = max(costs.get(key, 0), ir) if inclusive else costs.get(key, 0) + ir
    return total, costs


def per_request(full, empty, n):
    """Cost per request of each function: (run with n requests - run with none) / n."""
    return {k: (v - empty.get(k, 0)) / n for k, v in full.items() if v - empty.get(k, 0) > 0}


def profile_one(make, env, n, name, want_inclusive):
    work = os.path.join(TMP, "callgrind")
    os.makedirs(work, exist_ok=True)
    full = callgrind(make(n), env, os.path.join(work, f"{name}-{n}.out"))
    empty = callgrind(make(0), env, os.path.join(work, f"{name}-0.out"))
    (t_full, self_full), (t_empty, self_empty) = annotate(full, False), annotate(empty, False)
    # The self-check: every instruction is some function's self cost, so the parsed self costs
    # must add up to callgrind's PROGRAM TOTALS; a gap means annotate() skipped lines.
    checks = [(os.path.basename(out), total, sum(costs.values()))
              for out, total, costs in ((full, t_full, self_full), (empty, t_empty, self_empty))]
    result = {"ir": (t_full - t_empty) / n, "self": per_request(self_full, self_empty, n), "checks": checks}
    if want_inclusive:
        result["incl"] = per_request(annotate(full, True)[1], annotate(empty, True)[1], n)
    log(f"profile {name}: {result['ir']:,.0f} Ir per request")
    return result


# Functions whose inclusive cost tells where a request's instructions go (lua_sym run).
FLOOR_PARTS = [
    ("libcurl's exchange (the raw C loop's whole cost)", "curl_easy_perform [libcurl.so.4.8.0]"),
    ("our transport call, libcurl included", "l_http_perform [core.so]"),
    ("JSON decode into Lua tables", "l_json_decode [core.so]"),
    ("Lua string patterns (string.find/match/gsub)", "str_find_aux [lua_sym]"),
    ("string.gsub", "str_gsub [lua_sym]"),
    ("string.lower", "str_lower [lua_sym]"),
    ("new strings (interning, incl. lower's results and headers)", "luaS_newlstr [lua_sym]"),
    ("table inserts that grow a table", "luaH_newkey [lua_sym]"),
    ("table resizes", "luaH_resize [lua_sym]"),
    ("garbage collector steps", "luaC_step [lua_sym]"),
    ("pcall (around the decode)", "luaB_pcall [lua_sym]"),
]


# The instruction targets of `make bench-profile`: medusa-lua's Ir per request over the raw C
# loop's (CURLOPT_URL set before every request), on each interpreter, for both operations.
PROFILE_N = 2000
PROFILE_JOBS = 2
PROFILE_OPS = (("get", "GET `retrieve`"), ("post", "POST `managePaymentSession`"))
PROFILE_TARGETS = (("lua54", "Lua 5.4 (Debian `lua5.4`)", "lua5.4", 1.25), ("luajit", "LuaJIT (`luajit`)", "luajit", 1.10))


def profile_contenders(opts, base):
    """(key, label, argv(op, count), env) in table order. `sym` is lua5.4 again, with symbols,
    for the function tables: its total is a check on the Debian binary's, not a target."""
    env54, envjit = lua_env(f"{ROOT}/build/5.4/?.so"), lua_env(opts.luajit_cpath)
    loop = os.path.join(BENCH, "lua", "client_loop.lua")

    floor = os.path.join(BENCH, "lua", "floor_loop.lua")

    def lua(interp, *pre):
        return lambda op, count: [interp, *pre, loop, base, op, str(count), "1"]

    def floor_result(interp):
        return lambda op, count: [interp, floor, base, op, str(count), "1", "result"]
    return [
        ("rawc", "raw C libcurl loop (`bench/raw_curl.c`, CURLOPT_URL set before every request)",
         lambda op, count: raw_curl_argv(base, op, count, 1, False), env54),
        ("rawc_curlu", "raw C loop, a CURLU handle with only its path set per request (`raw_curl --curlu`)",
         lambda op, count: raw_curl_argv(base, op, count, 1, True), env54),
        ("lua54", "medusa-lua, Debian `lua5.4`", lua("lua5.4"), env54),
        ("luajit", "medusa-lua, `luajit` (LuaJIT core)", lua("luajit"), envjit),
        ("sym", "medusa-lua, `bench/build/lua_sym` (lua5.4 with symbols)", lua(LUA_SYM), env54),
        ("floor54", "floor, `lua5.4`: the C transport's perform with the header map, the body decoded into "
                    "Lua tables, no pipeline (`bench/lua/floor_loop.lua … result`)", floor_result("lua5.4"), env54),
        ("floorjit", "floor, `luajit`: the same", floor_result("luajit"), envjit),
        # What the collector costs at most: stopped, nothing is freed and nothing re-used.
        ("lua54_nogc", "medusa-lua, `lua5.4` with the collector stopped (`-e 'collectgarbage(\"stop\")'`)",
         lua("lua5.4", "-e", 'collectgarbage("stop")'), env54),
        ("luajit_nogc", "medusa-lua, `luajit` with the collector stopped",
         lua("luajit", "-e", 'collectgarbage("stop")'), envjit),
    ]


def bound_contenders(opts, base):
    """(key, argv(op, count), env) of the lower bound: bench/lua_bound.c building one result's plain
    tables again from a recording, no network, no parsing (bench/lua/bound_loop.lua)."""
    loop = os.path.join(BENCH, "lua", "bound_loop.lua")
    env54 = lua_env(f"{ROOT}/build/5.4/?.so;{BENCH}/build/5.4/?.so")
    envjit = lua_env(f"{opts.luajit_cpath};{BENCH}/build/luajit/?.so")
    runs = []
    for suffix, interp, env in (("54", "lua5.4", env54), ("jit", "luajit", envjit)):
        for name, what, builder in (("", "result", "cached"), ("body", "body", "cached"), ("fresh", "result", "fresh"),
                                    ("lua", "result", "lua"), ("luabody", "body", "lua")):
            runs.append((f"bound{suffix}{name}",
                         lambda op, count, i=interp, w=what, b=builder: [i, loop, base, op, str(count), w, b], env))
    return runs


def bound_of(report, op, suffix, body=False):
    """The least of the two builders (C API, compiled constructors) for the result or its body."""
    part = "body" if body else ""
    return min(report[op][f"bound{suffix}{part}"]["ir"], report[op][f"bound{suffix}lua{part}"]["ir"])


def bound_section(report):
    """profile.md's lower bound: libcurl's exchange (inclusive curl_easy_perform of the lua_sym
    run for Lua 5.4, of the luajit run for LuaJIT) plus the least a result of
    plain tables costs (bench_bound), against each target; then what each part costs today
    above its share of the bound."""
    curl_fn, decode_fn = "curl_easy_perform [libcurl.so.4.8.0]", "l_json_decode [core.so]"
    perform_fn, map_fn = "l_http_perform [core.so]", "push_header_map [core.so]"
    lines = []
    add = lines.append
    add("## The lower bound: libcurl's exchange plus the least a plain-table result costs")
    add("")
    add("`bench/lua/bound_loop.lua` records one real result and builds the same tables again from the recording, "
        "the garbage collector's share included, two ways: through the Lua C API (`bench/lua_bound.c`: a presized "
        "table per object, kept key strings, a raw set per field, no parsing, no checks, no metatables), and as a "
        "Lua function generated from the recording, one table constructor per table. Both take every string "
        "from the recording, as a cache of strings that always hit at no cost would (less than any decoder can "
        "do; the \"C API, fresh strings\" column makes each from its bytes, as `lua_pushlstring` does). The "
        "constructors know the shape of every table when they are compiled, which no decoder does, so they are "
        "a bound and not a design; on LuaJIT, whose C API costs a call where compiled code stores inline, they "
        "are far below the C API. The bound is the lesser of the two, added to libcurl's exchange (inclusive "
        "`curl_easy_perform` as our transport drives it, a CURLU handle, in the same interpreter's full run): "
        "what any client returning these plain tables through libcurl costs when its parsing, transport glue "
        "and pipeline cost nothing. \"Room\" is what the target leaves for those three; \"today\" is what "
        "they cost now.")
    add("")
    add("| interpreter | request | libcurl's exchange | tables, C API | C API, fresh strings | tables, compiled constructors "
        "| bound total | bound vs raw C | target | room for parse + glue + pipeline | parse + glue + pipeline today |")
    add("|---|---|---|---|---|---|---|---|---|---|---|")
    for key, suffix, interp, need, run in (("lua54", "54", "lua5.4", 1.25, "sym"), ("luajit", "jit", "luajit", 1.10, "luajit")):
        for op, what in PROFILE_OPS:
            curl = report[op][run].get("incl", {}).get(curl_fn)
            if curl is None or f"bound{suffix}" not in report[op]:
                continue
            raw, full = report[op]["rawc"]["ir"], report[op][key]["ir"]
            capi, fresh = report[op][f"bound{suffix}"]["ir"], report[op][f"bound{suffix}fresh"]["ir"]
            lua = report[op][f"bound{suffix}lua"]["ir"]
            total = curl + bound_of(report, op, suffix)
            add(f"| {interp} | {what} | {curl:,.0f} | {capi:,.0f} | {fresh:,.0f} | {lua:,.0f} | {total:,.0f} "
                f"| {total / raw:.3f}× | ≤ {need:.2f}× | {need * raw - total:,.0f} | {full - total:,.0f} |")
    add("")
    add("### Above the bound, part by part (inclusive Ir per request)")
    add("")
    add("The body's share of the bound is the lesser builder's cost for the decoded body alone (`bound_loop.lua "
        "… body`); the rest of the bound is the header map and `response`. The transport's glue (reading the request table, options, URL, collecting "
        "the head and body) and the Lua pipeline (arguments, path, header list, the call's record, the result's "
        "shape, and the collector's share of what they allocate) have no share: a bound of nothing. A collector "
        "step runs inside whichever call allocates when one is due, so the collector's share moves between the "
        "rows from run to run; the four rows add up to everything above libcurl's exchange.")
    add("")
    add("| interpreter | request | part | today | its bound | above the bound |")
    add("|---|---|---|---|---|---|")
    for key, suffix, interp in (("sym", "54", "lua5.4"), ("luajit", "jit", "luajit")):
        for op, what in PROFILE_OPS:
            incl = report[op][key].get("incl")
            if not incl or f"bound{suffix}" not in report[op]:
                continue
            full, body_bound = report[op][key]["ir"], bound_of(report, op, suffix, body=True)
            head_bound = bound_of(report, op, suffix) - body_bound
            curl, decode = incl.get(curl_fn, 0), incl.get(decode_fn, 0)
            perform, hmap = incl.get(perform_fn, 0), incl.get(map_fn, 0)
            parts = [
                ("JSON decode into Lua tables (`l_json_decode`)", decode, body_bound),
                ("response header map (`push_header_map`) and `response`", hmap, head_bound),
                ("transport glue (`l_http_perform` − libcurl − header map)", perform - curl - hmap, 0),
                ("Lua pipeline and the rest (the whole − `l_http_perform` − decode)", full - perform - decode, 0),
            ]
            for name, today, b in parts:
                add(f"| {interp} | {what} | {name} | {today:,.0f} | {b:,.0f} | {today - b:,.0f} |")
    add("")
    return lines


def profile_targets(report):
    """Rows (name, short name, measured ratio, required ratio, PASS/FAIL) of the instruction targets."""
    rows = []
    for op, what in PROFILE_OPS:
        raw = report[op]["rawc"]["ir"]
        for key, interp, short, need in PROFILE_TARGETS:
            ratio = report[op][key]["ir"] / raw
            rows.append((f"{what}, {interp}: Ir per request vs the raw C loop", f"{op.upper()} {short}", ratio, need,
                         "PASS" if ratio <= need else "FAIL"))
    return rows


def profile_summary(report, contenders):
    """The top of profile.md, also what `make bench-profile` prints last: the targets with the
    verdict, then every contender's Ir per request, against both raw C loops."""
    lines = []
    add = lines.append
    rows = profile_targets(report)
    failed = [f"{short} {ratio:.2f}× > {need:.2f}×" for _name, short, ratio, need, verdict in rows if verdict == "FAIL"]
    add("## Targets")
    add("")
    add("| target | measured ratio | required | result |")
    add("|---|---|---|---|")
    for name, _short, ratio, need, verdict in rows:
        add(f"| {name} | {ratio:.3f}× | ≤ {need:.2f}× | **{verdict}** |")
    add("")
    add(f"**VERDICT: {'FAIL' if failed else 'PASS'}: {len(rows) - len(failed)} of {len(rows)} instruction targets "
        f"met{' (' + '; '.join(failed) + ')' if failed else ''}.**")
    add("")
    add("## Instructions per request")
    add("")
    add("| client | GET Ir/request | vs raw C | vs raw C CURLU | POST Ir/request | vs raw C | vs raw C CURLU |")
    add("|---|---|---|---|---|---|---|")
    for key, label, *_ in contenders:
        cells = []
        for op, _what in PROFILE_OPS:
            ir = report[op][key]["ir"]
            cells += [f"{ir:,.0f}", f"{ir / report[op]['rawc']['ir']:.3f}×", f"{ir / report[op]['rawc_curlu']['ir']:.3f}×"]
        add(f"| {label} | " + " | ".join(cells) + " |")
    add("")
    add("The targets are against the CURLOPT_URL loop; the CURLU loop's column is for information. The rows "
        "with the collector stopped bound what garbage collection costs a call: nothing is collected, so "
        "nothing is freed or swept (the rest of the difference is strings that stay interned).")
    add("")
    add("## What the pipeline adds to the floor")
    add("")
    add("The floor rows are what any result costs with no Lua pipeline at all: libcurl's exchange through our "
        "transport, the response header map and the body decoded into Lua tables. What the pipeline adds on top "
        "(arguments, path, header list, retry bookkeeping, the result's shape) is the difference; a target below "
        "the floor's ratio cannot be met by any pipeline on this transport and decoder (the lower bound below "
        "is the floor of any implementation).")
    add("")
    add("| interpreter | request | floor vs raw C | full call vs raw C | pipeline Ir (full − floor) | target |")
    add("|---|---|---|---|---|---|")
    for key, floor_key, interp, need in (("lua54", "floor54", "lua5.4", 1.25), ("luajit", "floorjit", "luajit", 1.10)):
        for op, what in PROFILE_OPS:
            raw, full, fl = report[op]["rawc"]["ir"], report[op][key]["ir"], report[op][floor_key]["ir"]
            add(f"| {interp} | {what} | {fl / raw:.3f}× | {full / raw:.3f}× | {full - fl:,.0f} | ≤ {need:.2f}× |")
    add("")
    return lines


def self_tables(add, title, result):
    """The self cost of one run per request, by object and by function (top 30)."""
    total = result["ir"]
    by_obj = {}
    for label, ir in result["self"].items():
        obj = label.rsplit("[", 1)[-1].rstrip("]")
        by_obj[obj] = by_obj.get(obj, 0) + ir
    add(f"## {title}: self cost per request by object")
    add("")
    add("| object | Ir/request | share |")
    add("|---|---|---|")
    for obj, ir in sorted(by_obj.items(), key=lambda kv: -kv[1])[:8]:
        add(f"| {obj} | {ir:,.0f} | {100 * ir / total:.1f}% |")
    add("")
    add(f"## {title}: top functions by self cost per request")
    add("")
    add("| function [object] | Ir/request | share |")
    add("|---|---|---|")
    for label, ir in sorted(result["self"].items(), key=lambda kv: -kv[1])[:30]:
        add(f"| `{label}` | {ir:,.0f} | {100 * ir / total:.1f}% |")
    add("")


def profile(cfg, opts, base, log):
    """(profile.md's text, its summary lines) after the callgrind runs of every contender, both operations."""
    n = PROFILE_N
    contenders = profile_contenders(opts, base)
    # Two contenders at a time: instruction counts do not depend on the machine's load (under
    # callgrind a client is ~50× slower than the server, whose answer is always there first).
    # Inclusive costs (a second callgrind_annotate pass) only where a table reads them.
    with concurrent.futures.ThreadPoolExecutor(max_workers=PROFILE_JOBS) as pool:
        runs = [(key, argv, env) for key, _label, argv, env in contenders]
        runs += bound_contenders(opts, base)
        jobs = {(op, key): pool.submit(profile_one, lambda count, op=op, argv=argv: argv(op, count), env, n,
                                       f"{key}-{op}", key in ("sym", "luajit"))
                for op, _what in PROFILE_OPS for key, argv, env in runs}
        report = {}
        for (op, key), job in jobs.items():
            report.setdefault(op, {})[key] = job.result()
    env54 = lua_env(f"{ROOT}/build/5.4/?.so")
    hooks = subprocess.run(["lua5.4", os.path.join(BENCH, "lua", "vm_profile.lua"), base, str(n)],
                           env=env54, cwd=ROOT, capture_output=True, text=True, timeout=600)
    lines = []
    add = lines.append
    add(f"# medusa-lua profile: {n:,} sequential `retrieve` (GET) and `managePaymentSession` (POST) calls "
        "vs the raw C loop")
    add("")
    add(f"{time.strftime('%Y-%m-%d %H:%M')} · `valgrind --tool=callgrind` (instructions executed, Ir; repeatable on a "
        f"busy machine) · reproduce: `make bench-profile`. Each figure is (run with {n:,} requests − run with none) / "
        f"{n:,}, both after one warm-up request, so start-up and connection set-up drop out (LuaJIT compiles its "
        "traces inside the timed requests: their cost is spread over them). The function tables come from "
        "`bench/build/lua_sym`, the same liblua5.4.a as Debian's stripped `lua5.4` but with its symbols.")
    add("")
    summary = profile_summary(report, contenders)
    lines += summary
    lines += bound_section(report)
    for (op, key), title in ((("get", "sym"), "medusa-lua `retrieve`"),
                             (("post", "sym"), "medusa-lua `managePaymentSession`"),
                             (("get", "rawc"), "raw C loop, GET"), (("get", "rawc_curlu"), "raw C loop (CURLU), GET")):
        self_tables(add, title, report[op][key])
    rc = report["get"]["rawc"]["ir"]
    total = report["get"]["sym"]["ir"]
    incl = report["get"]["sym"]["incl"]
    add("## Where one `retrieve` goes (inclusive Ir per request; the parts overlap where one calls another)")
    add("")
    add("| part | function | Ir/request | share |")
    add("|---|---|---|---|")
    for what, label in FLOOR_PARTS:
        if label in incl:
            add(f"| {what} | `{label}` | {incl[label]:,.0f} | {100 * incl[label] / total:.1f}% |")
    curl = incl.get("curl_easy_perform [libcurl.so.4.8.0]")
    if curl:
        add(f"| everything but libcurl's exchange | | {total - curl:,.0f} | {100 * (total - curl) / total:.1f}% |")
        add("")
        room = "; ".join(f"{short} ≤ {need:.2f}×: about {need * rc - curl:,.0f}" for _k, _i, short, need in PROFILE_TARGETS)
        add(f"libcurl's exchange alone is {curl / rc:.2f}× the whole raw C request. What the GET targets leave per "
            f"request for everything else (JSON decode into Lua tables included), in Ir: {room}.")
    add("")
    ours = {k: v for k, v in incl.items() if k.endswith("[core.so]") and "'" not in k}
    add("## Our C functions (medusa.core), inclusive cost per `retrieve`")
    add("")
    add("| function | Ir/request | share of the whole request |")
    add("|---|---|---|")
    for label, ir in sorted(ours.items(), key=lambda kv: -kv[1])[:15]:
        add(f"| `{label}` | {ir:,.0f} | {100 * ir / total:.1f}% |")
    add("")
    add("## Self-check: parsed self costs vs callgrind's total")
    add("")
    add("| callgrind run | total Ir | sum of parsed self costs | difference |")
    add("|---|---|---|---|")
    bad = []
    for op in report:
        for key in report[op]:
            for run, t, parsed in report[op][key]["checks"]:
                gap = 100 * (parsed - t) / t if t else 100.0
                add(f"| `{run}` | {t:,} | {parsed:,} | {gap:+.3f}% |")
                if abs(gap) > 0.5:
                    bad.append(f"`{run}` ({gap:+.2f}%)")
    add("")
    check = (f"**WARNING: the parsed self costs miss the total by more than 0.5 % in {', '.join(bad)}: "
             "bench/run.py's annotate() is skipping callgrind_annotate lines.**" if bad
             else "Every run's parsed self costs add up to its total within 0.5 %.")
    add(check)
    add("")
    add("## The Lua side: VM instructions by function (debug.sethook count sampler, lua5.4, `retrieve`)")
    add("")
    add(hooks.stdout.strip().replace(ROOT + "/", "") if hooks.returncode == 0
        else "vm_profile.lua failed: " + hooks.stderr.strip()[-400:])
    add("")
    if bad:
        summary = summary + [check, ""]
    return "\n".join(lines) + "\n", "\n".join(summary) + "\n"


# ---------------------------------------------------------------------------------------

def versions():
    def out(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip() or \
                subprocess.run(cmd, capture_output=True, text=True, timeout=10).stderr.strip()
        except (OSError, subprocess.TimeoutExpired):
            return "?"
    nginx = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip().replace("nginx version: ", "")
    curl = out(["curl-config", "--version"]) if subprocess.run(["which", "curl-config"], capture_output=True).returncode == 0 else "?"
    return (f"{out(['lua5.4', '-v']).split('  Copyright')[0]}, {out(['luajit', '-v']).split(' -- ')[0]}, "
            f"node {out(['node', '--version'])}, {curl}, {nginx}")


def main():
    parser = argparse.ArgumentParser(description="medusa-lua benchmark (make bench)")
    parser.add_argument("command", nargs="?", default="bench", choices=("bench", "profile", "render", "readme"),
                        help="render: redo latest.md and the chart from the last run's bench/results/tmp/latest.json; "
                             "readme: redo README.md's table from the last full run's bench/results/latest.json")
    parser.add_argument("--only", default="", help="comma-separated groups: " + " ".join(GROUPS))
    parser.add_argument("--quick", action="store_true", help="fewer requests and repetitions")
    parser.add_argument("--reps", type=int, help="repetitions (default 5, quick 3)")
    parser.add_argument("--n", type=int, help="timed requests per run (default 20000, quick 3000)")
    parser.add_argument("--luajit-cpath", default="build/luajit/?.so", help="LUA_CPATH entry of the LuaJIT core.so")
    opts = parser.parse_args()
    if not os.path.isabs(opts.luajit_cpath):
        opts.luajit_cpath = os.path.join(ROOT, opts.luajit_cpath)
    groups = [g for g in opts.only.split(",") if g] or list(GROUPS)
    unknown = set(groups) - set(GROUPS)
    if unknown:
        parser.error(f"unknown group(s) {', '.join(sorted(unknown))}; known: {' '.join(GROUPS)}")
    cfg = dict(QUICK if opts.quick else FULL, nginx_conns=8, conc_levels=list(CONC_LEVELS), conc_calls=CONC_CALLS,
               conc_batches=CONC_BATCHES["quick" if opts.quick else "full"])
    cfg.update({k: v for k, v in (("reps", opts.reps), ("n", opts.n)) if v})
    # Only a full run replaces bench/results/latest.* and the README's table; a partial or quick
    # one goes to tmp/.
    full_run = not (opts.only or opts.quick or opts.reps or opts.n)
    os.makedirs(TMP, exist_ok=True)

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    started = time.time()
    if opts.command in ("render", "readme"):
        source = os.path.join(TMP if opts.command == "render" else RESULTS, "latest.json")
        try:
            with open(source, encoding="utf-8") as f:
                last = json.load(f)
        except FileNotFoundError:
            raise BenchError(f"{os.path.relpath(source, ROOT)} does not exist: no run to {opts.command} from") from None
        if opts.command == "readme":
            write_readme(readme_block(last["results"], last["cfg"]))
            log("README.md: the Performance table rewritten from bench/results/latest.json")
            return 0
        # "out_dir": what runs recorded before "full_run" (an absolute path) said instead.
        was_full = last.get("full_run", last.get("out_dir") == RESULTS)
        return publish(last["results"], last["cfg"], opts, last["command"], started, was_full)
    paths = payloads.write(os.path.join(TMP, "payloads"))
    try:
        upstream = start_upstream(paths)
        base = f"http://127.0.0.1:{upstream.port}"
        if opts.command == "profile":
            text, summary = profile(cfg, opts, base, log)
            with open(os.path.join(RESULTS, "profile.md"), "w", encoding="utf-8") as f:
                f.write(text)
            # The whole profile is long; the terminal gets what a reader looks for first. A
            # FAIL is a measurement too: the exit status says only that the runs worked.
            print(summary, end="")
            print(f"Full profile: {os.path.relpath(os.path.join(RESULTS, 'profile.md'), ROOT)}")
            return 0
        results = {"meta": {
            "date": time.strftime("%Y-%m-%d %H:%M"),
            "machine": f"{os.cpu_count()} cores, {platform.machine()}, Linux {platform.release()}",
            "versions": versions(),
            "big_bytes": os.path.getsize(paths["big"]),
            "rawc_url": RAWC_URL,
        }}
        ops = [op for op in ("get", "post") if op in groups]
        if ops:
            measure_requests(cfg, opts, base, ops, results.setdefault("requests", {}), log)
        if "codec" in groups:
            measure_codec(cfg, opts, paths, results.setdefault("codec", {}), log)
        if "startup" in groups:
            measure_startup(cfg, opts, results.setdefault("startup", {}), log)
        if "nginx" in groups:
            measure_nginx(cfg, opts, upstream, results.setdefault("nginx", {}), log)
        if "concurrent" in groups:
            measure_concurrent(cfg, opts, paths, results.setdefault("concurrent", {}), log)
    finally:
        Nginx.stop_all()

    command = "make bench" + (f" BENCH_ONLY={opts.only}" if opts.only else "") + (" QUICK=1" if opts.quick else "") \
        + (f" BENCH_REPS={opts.reps}" if opts.reps else "") + (f" BENCH_N={opts.n}" if opts.n else "")
    # The raw figures: tmp/ for `run.py render`; a full run's beside latest.md too, committed with
    # it, so that its tables (the README's among them) can be made again from what was measured.
    last = {"results": results, "cfg": cfg, "command": command, "full_run": full_run}
    for where in (TMP, RESULTS) if full_run else (TMP,):
        with open(os.path.join(where, "latest.json"), "w", encoding="utf-8") as f:
            json.dump(last, f, indent=1)
            f.write("\n")
    return publish(results, cfg, opts, command, started, full_run)


def publish(results, cfg, opts, command, started, full_run):
    """latest.md and the chart: a full run's in bench/results/, with the README's table; others in tmp/."""
    out_dir = RESULTS if full_run else TMP
    text, rows = render(results, cfg, opts, command)
    chart_note = write_chart(results, cfg, opts, rows, os.path.join(out_dir, "latest.svg"))
    if chart_note:
        text += f"\n{chart_note}\n"
    with open(os.path.join(out_dir, "latest.md"), "w", encoding="utf-8") as f:
        f.write(text)
    print(text)
    where = os.path.relpath(out_dir, ROOT)
    if full_run:
        write_readme(readme_block(results, cfg))
    log(f"done in {time.time() - started:.0f} s: {where}/latest.md, {where}/latest.svg, {where}/latest.png"
        + (", README.md's Performance table" if full_run else ""))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as e:
        log(f"error: {e}")
        sys.exit(1)
    finally:
        Nginx.stop_all()
