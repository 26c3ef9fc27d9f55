#!/usr/bin/env python3
"""Integration tests for hyphad: real daemons on 127.0.0.x, driven over the
HTTP API with the standard library only.

    hyphad_integ.py config|api|cluster|liveness

HYPHAD names the daemon (the build dir's src/hyphad/hyphad by default),
HYPHA the command-line tool (src/hypha/hypha). "liveness" skips with
HY_INTEG_LIVENESS=0 in the environment.
Every wait polls with a deadline; nothing sleeps for a tuned time. Each test
stops only the processes it started. Exit 0 on success, 1 on failure.
"""
import base64
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HYPHAD = os.environ.get("HYPHAD") or os.path.join(os.getcwd(), "src",
                                                  "hyphad", "hyphad")
HYPHA = os.environ.get("HYPHA") or os.path.join(os.getcwd(), "src",
                                                "hypha", "hypha")
FAILS = []
PROCS = []


def check(cond, what):
    if cond:
        print("ok   " + what)
    else:
        print("FAIL " + what)
        FAILS.append(what)
    return cond


def wait_for(pred, timeout, step=0.05):
    """Poll pred() until it returns a true value or timeout seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(step)


def free_port(ip):
    """A port free for TCP and UDP on ip (probed; the daemon binds it next)."""
    for _ in range(200):
        port = random.randint(20000, 60000)
        ok = True
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            s = socket.socket(socket.AF_INET, kind)
            try:
                s.bind((ip, port))
            except OSError:
                ok = False
            finally:
                s.close()
        if ok:
            return port
    raise RuntimeError("no free port on " + ip)


def run(args, timeout=10):
    """Run hyphad to completion: (exit status, stdout, stderr)."""
    p = subprocess.run([HYPHAD] + args, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


class Daemon:
    """One hyphad process with its own loopback address and ports."""

    def __init__(self, tmp, name, ip, network, seeds=(), extra=()):
        self.name, self.ip, self.network = name, ip, network
        self.port = free_port(ip)
        self.api_port = free_port(ip)
        self.state = os.path.join(tmp, name)
        self.seeds = list(seeds)
        self.extra = list(extra)
        self.log = os.path.join(tmp, name + ".log")
        self.proc = None

    @property
    def addr(self):
        return "%s:%d" % (self.ip, self.port)

    def args(self):
        a = ["--foreground", "--listen", self.addr, "--api",
             "%s:%d" % (self.ip, self.api_port), "--network", self.network,
             "--state-dir", self.state, "--rpc-timeout-ms", "300"]
        for s in self.seeds:
            a += ["--seed", s]
        return a + self.extra

    def start(self, wait=True):
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen([HYPHAD] + self.args(),
                                     stdout=logf, stderr=logf)
        logf.close()
        PROCS.append(self.proc)
        if wait and not wait_for(self.ready, 10):
            raise RuntimeError("%s did not start: %s" % (self.name,
                                                         self.logtext()))
        return self

    def ready(self):
        if self.proc.poll() is not None:
            raise RuntimeError("%s exited %d: %s" % (
                self.name, self.proc.returncode, self.logtext()))
        try:
            return self.req("GET", "/v1/status", timeout=2)[0] == 200
        except OSError:
            return False

    def logtext(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()[-2000:]
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Signal our process and wait: its exit status (None: killed)."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            return None

    def conn(self, timeout=20):
        return http.client.HTTPConnection(self.ip, self.api_port,
                                          timeout=timeout)

    def req(self, method, path, body=None, timeout=20, conn=None):
        """(status, parsed JSON or raw text, headers)."""
        c = conn or self.conn(timeout)
        try:
            c.request(method, path, body=body)
            r = c.getresponse()
            data = r.read()
            ctype = r.getheader("Content-Type") or ""
            if ctype.startswith("application/json"):
                try:
                    data = json.loads(data)
                except ValueError:
                    data = None
            else:
                data = data.decode(errors="replace")
            return r.status, data, r
        finally:
            if conn is None:
                c.close()

    def status(self):
        st, j, _ = self.req("GET", "/v1/status")
        return j if st == 200 else None


def is_error(j, code=None):
    return (isinstance(j, dict) and isinstance(j.get("error"), str) and
            isinstance(j.get("code"), str) and
            (code is None or j["code"] == code))


# ---------------------------------------------------------------- members

STATES = ("alive", "suspect", "down")
MEMBER_KEYS = {"id": str, "addr": str, "state": str, "seq": int,
               "since_ms": int, "confirmations": int, "active": bool,
               "in_table": bool}


def is_count(v):
    return type(v) is int and v >= 0  # not bool


def members_problems(j):
    """What is wrong with a GET /v1/members answer, as a list of strings
    (empty: it has exactly the documented shape)."""
    if not isinstance(j, dict):
        return ["not a JSON object: %r" % (j,)]
    bad = []
    if set(j) != {"members", "counts", "health"}:
        bad.append("top-level keys %r" % sorted(j))
    if not is_count(j.get("health")):
        bad.append("health %r" % (j.get("health"),))
    counts = j.get("counts")
    if not isinstance(counts, dict) or set(counts) != set(STATES) or \
            not all(is_count(v) for v in counts.values()):
        bad.append("counts %r" % (counts,))
    members = j.get("members")
    if not isinstance(members, list):
        return bad + ["members %r" % (members,)]
    for m in members:
        if not isinstance(m, dict) or set(m) != set(MEMBER_KEYS):
            bad.append("member keys %r" % (m,))
            continue
        for k, t in MEMBER_KEYS.items():
            ok = isinstance(m[k], bool) if t is bool else \
                is_count(m[k]) if t is int else isinstance(m[k], t)
            if not ok:
                bad.append("member %s %r" % (k, m[k]))
        if len(m["id"]) != 64 or m["id"].strip("0123456789abcdef"):
            bad.append("member id %r" % m["id"])
        if m["state"] not in STATES:
            bad.append("member state %r" % m["state"])
        if ":" not in m["addr"]:
            bad.append("member addr %r" % m["addr"])
    if len({m.get("id") for m in members if isinstance(m, dict)}) != \
            len(members):
        bad.append("duplicate member ids")
    return bad


def without_since(j):
    """A members answer without the one field that moves by itself."""
    j = json.loads(json.dumps(j))
    for m in j.get("members", []):
        m.pop("since_ms", None)
    return j


def hypha(d, *args, timeout=30):
    """Run the CLI against d's API: (exit status, stdout, stderr)."""
    p = subprocess.run([HYPHA, "--api", "%s:%d" % (d.ip, d.api_port)] +
                       list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def check_members_cli(d, tries=5):
    """hypha members --json/--compact/--state against GET /v1/members.
    Members can change state between the two requests, so a mismatch is
    retried a few times before it counts."""
    if not os.access(HYPHA, os.X_OK):
        print("skip hypha members: %s not built" % HYPHA)
        return
    for flags, query in ((["--json"], ""), (["--compact"], ""),
                         (["--compact", "--state", "alive"], "?state=alive"),
                         (["--json", "--state=down"], "?state=down")):
        for _ in range(tries):
            rc, out, err = hypha(d, "members", *flags)
            st, j, _ = d.req("GET", "/v1/members" + query)
            try:
                mine = json.loads(out)
            except ValueError:
                mine = None
            same = rc == 0 and st == 200 and mine is not None and \
                without_since(mine) == without_since(j)
            if same:
                break
        check(same and (out.count("\n") == 1) == ("--compact" in flags),
              "hypha members %s matches GET /v1/members%s (rc %d %s)" %
              (" ".join(flags), query, rc, err.strip()))
    rc, out, err = hypha(d, "members")
    lines = out.splitlines()
    check(rc == 0 and lines and lines[0].split() ==
          ["ID", "ADDR", "STATE", "SINCE", "SEQ"],
          "hypha members prints a table (rc %d %s)" % (rc, err.strip()))
    rc, out, err = hypha(d, "members", "--state", "dead")
    check(rc == 2 and out == "" and err.startswith("hypha: ") and
          err.count("\n") == 1,
          "hypha members --state dead: usage error, exit 2 (%d)" % rc)
    rc, out, err = hypha(d, "status", "--state", "alive")
    check(rc == 2, "--state with another command: exit 2 (%d)" % rc)


# ---------------------------------------------------------------- config


def test_config(tmp):
    def conf(name, text):
        path = os.path.join(tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    good = conf("good.conf", "# a comment\n\nlisten 127.0.0.1:4242\n"
                "seed a.example:1\nseed 127.0.0.2:4242  # trailing\n"
                "network testnet\nstate-dir /nonexistent/hypha\n"
                "api 127.0.0.1:4280\nk 20\nalpha 4\n")
    rc, out, err = run(["--config", good, "-t"])
    check(rc == 0 and err == "", "-t accepts a good config file")

    rc, out, err = run(["--config", good, "-T"])
    check(rc == 0 and "seed a.example:1\nseed 127.0.0.2:4242\n" in out and
          "alpha 4\n" in out and "network testnet\n" in out,
          "-T prints the file's settings")
    dumped = conf("dumped.conf", out)
    rc2, out2, _ = run(["--config", dumped, "-T"])
    check(rc2 == 0 and out2 == out, "-T output reads back to the same -T")
    rc, _, _ = run(["--config", dumped, "-t"])
    check(rc == 0, "-T output passes -t")

    rc, out, _ = run(["--config", good, "--k", "8", "--listen",
                      "127.0.0.9:5000", "--seed=b.example:2", "-T"])
    check(rc == 0 and "\nk 8\n" in out and "listen 127.0.0.9:5000\n" in out
          and "127.0.0.1:4242" not in out and "seed b.example:2\n" in out
          and "a.example" not in out,
          "command line overrides the file (repeatable keys replaced)")

    rc, out, _ = run(["-T", "--value-ttl-s", "77", "--rpc-retries=2"])
    check(rc == 0 and "value-ttl-s 77\n" in out and "rpc-retries 2\n" in out,
          "every library option is a long option (--name v, --name=v)")

    bad = [
        ("unknown.conf", "k 20\nno-such-key 1\n", 2),
        ("range.conf", "# c\nk 999\n", 2),
        ("number.conf", "alpha x\n", 1),
        ("novalue.conf", "\n\nlisten\n", 3),
        ("listen.conf", "listen nowhere\n", 1),
        ("seed.conf", "seed :0\n", 1),
        ("api.conf", "# c\napi 10.1.2.3:80\n", 2),
        ("apiaddr.conf", "api banana\n", 1),
        ("bool.conf", "api-public maybe\n", 1),
        ("long.conf", "network " + "x" * 2000 + "\n", 1),
        ("overridden.conf", "k 1\n", 1),
    ]
    for name, text, line in bad:
        path = conf(name, text)
        args = ["--config", path, "-t"]
        if name == "overridden.conf":
            args += ["--k", "20"]
        rc, out, err = run(args)
        ok = rc == 1 and ("%s:%d:" % (path, line)) in err
        check(ok and err.startswith("hyphad: ") and err.count("\n") == 1,
              "bad config %s: exit 1, one line naming FILE:LINE (%s)" %
              (name, err.strip()))

    rc, out, err = run(["--config", conf("pub.conf",
                                         "api 10.1.2.3:80\napi-public yes\n"),
                        "-t"])
    check(rc == 0, "api-public allows a non-loopback API address")

    for args, opt in ((["--k", "abc"], "--k:"), (["--bogus", "1"], "--bogus:"),
                      (["--listen"], "--listen:"), (["-x"], "-x"),
                      (["--api", "8.8.8.8:1"], "--api:")):
        rc, out, err = run(args + ["-t"])
        check(rc == 1 and err.startswith("hyphad: ") and opt in err,
              "bad option %s: exit 1 (%s)" % (" ".join(args), err.strip()))
    rc, out, err = run(["--config", os.path.join(tmp, "missing.conf"), "-t"])
    check(rc == 1 and "missing.conf" in err, "a missing config file: exit 1")


# ---------------------------------------------------------------- api


def sse_open(d):
    s = socket.create_connection((d.ip, d.api_port), timeout=10)
    s.sendall(b"GET /v1/events HTTP/1.1\r\nHost: x\r\n\r\n")
    return s


def sse_read_until(s, needle, timeout):
    buf = b""
    deadline = time.monotonic() + timeout
    while needle not in buf and time.monotonic() < deadline:
        s.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        buf += chunk
    return buf


def test_api(tmp):
    d = Daemon(tmp, "alone", "127.0.0.1", "integ-api-%d" % os.getpid())
    d.start()

    cases = [
        ("GET", "/nope", None, 404, "not_found"),
        ("GET", "/v1/", None, 404, "not_found"),
        ("POST", "/v1/status", b"", 405, "method_not_allowed"),
        ("DELETE", "/v1/routes", None, 405, "method_not_allowed"),
        ("PATCH", "/v1/values/k", b"x", 405, "method_not_allowed"),
        ("PUT", "/v1/peers/k", b"{}", 405, "method_not_allowed"),
        ("PUT", "/metrics", b"", 405, "method_not_allowed"),
        ("PUT", "/v1/values/k?ttl=abc", b"x", 400, "bad_ttl"),
        ("PUT", "/v1/values/k?ttl=0", b"x", 400, "bad_ttl"),
        ("PUT", "/v1/values/k?ttl=99999999999999999999", b"x", 400,
         "bad_ttl"),
        ("PUT", "/v1/values/k?permanent=maybe", b"x", 400, "bad_permanent"),
        ("PUT", "/v1/values/k", b"x" * 65537, 413, "too_large"),
        ("PUT", "/v1/values/", b"x", 400, "bad_key"),
        ("POST", "/v1/peers/k", b"{\"port\":", 400, "bad_json"),
        ("POST", "/v1/peers/k", b"[1,2]", 400, "bad_json"),
        ("POST", "/v1/peers/k", b"", 400, "bad_json"),
        ("POST", "/v1/peers/k", b"{\"port\":0}", 400, "bad_port"),
        ("POST", "/v1/peers/k", b"{\"port\":65536}", 400, "bad_port"),
        ("POST", "/v1/peers/k", b"{\"port\":\"80\"}", 400, "bad_port"),
        ("POST", "/v1/peers/k", b"{\"port\":1.5}", 400, "bad_port"),
        ("DELETE", "/v1/values/never-put", None, 404, "not_found"),
        ("GET", "/v1/members?state=bogus", None, 400, "bad_state"),
        ("GET", "/v1/members?state=", None, 400, "bad_state"),
        ("GET", "/v1/members?state=ALIVE", None, 400, "bad_state"),
        ("POST", "/v1/members", b"", 405, "method_not_allowed"),
        ("DELETE", "/v1/members?state=down", None, 405,
         "method_not_allowed"),
    ]
    for method, path, body, code, ecode in cases:
        st, j, _ = d.req(method, path, body)
        check(st == code and is_error(j, ecode),
              "%s %s -> %d %s (got %d %r)" % (method, path[:40], code, ecode,
                                              st, j))

    # A node without contacts cannot store or find anything.
    st, j, _ = d.req("PUT", "/v1/values/lonely", b"v")
    check(st == 503 and is_error(j, "unreachable"),
          "PUT on a node without peers -> 503 unreachable (%d %r)" % (st, j))
    st, j, _ = d.req("GET", "/v1/values/%00%ff%2F..%2F")
    check(st in (404, 503, 504) and is_error(j),
          "GET of an odd percent-encoded key -> JSON error (%d)" % st)

    # Random requests: every error is a JSON error, nothing kills the
    # daemon. Fixed seed, printed on failure.
    rnd = random.Random(1234)
    bad = []
    c = d.conn()
    for i in range(150):
        method = rnd.choice(["GET", "PUT", "POST", "DELETE", "PATCH",
                             "OPTIONS"])
        path = rnd.choice(["/v1/values/", "/v1/peers/", "/v1/", "/",
                           "/v1/status/", "/metrics/", "/v1/values",
                           "/v1/members"])
        path += "".join(rnd.choice("ab%2F%00%ff?&=ttl=permanent=1-")
                        for _ in range(rnd.randint(0, 12)))
        body = bytes(rnd.getrandbits(8) for _ in range(rnd.randint(0, 40)))
        try:
            st, j, _ = d.req(method, path, body, conn=c)
        except (OSError, http.client.HTTPException):
            c.close()
            c = d.conn()
            continue
        if st >= 400 and not is_error(j) or st >= 500 and st not in (503,
                                                                      504):
            bad.append((method, path, st, j))
    c.close()
    check(not bad and d.status() is not None,
          "150 random requests (seed 1234): JSON errors only %r" % bad[:3])

    # Keep-alive: many requests on one connection.
    c = d.conn()
    n = 0
    for i in range(25):
        st, j, r = d.req("GET", "/v1/status" if i % 2 else "/nope", conn=c)
        n += st in (200, 404)
    c.close()
    check(n == 25, "25 requests on one keep-alive connection")

    # Garbage on the socket does not kill the daemon.
    for junk in (b"\x00\xff garbage\r\n\r\n", b"GET " + b"/a" * 10000 +
                 b" HTTP/1.1\r\n\r\n", b"PUT /v1/values/x HTTP/1.1\r\n"
                 b"Content-Length: 99999999999\r\n\r\n"):
        s = socket.create_connection((d.ip, d.api_port), timeout=5)
        try:
            s.sendall(junk)
            s.settimeout(5)
            s.recv(4096)
        except OSError:
            pass
        s.close()
    check(d.status() is not None, "garbage requests do not crash the daemon")

    # Status, routes and metrics.
    j = d.status()
    check(j is not None and len(j.get("id", "")) == 64 and
          j.get("network") == d.network and j.get("addresses") == [d.addr]
          and j.get("status") == "alone" and "routing" in j and
          "store" in j and "rtable.contacts" in j.get("counters", {}),
          "GET /v1/status fields (%r)" % (j and j.get("status")))
    st, j, _ = d.req("GET", "/v1/routes")
    check(st == 200 and j == {"contacts": []}, "GET /v1/routes (empty)")
    st, text, _ = d.req("GET", "/metrics")
    check(st == 200 and "\nhypha_uptime_seconds " in text and
          "# TYPE hypha_rtable_contacts gauge\n" in text and
          "# TYPE hypha_dht_lookups counter\n" in text,
          "GET /metrics in Prometheus text format")
    check(st == 200 and "# TYPE hypha_members gauge\n" in text and
          all("\nhypha_members{state=\"%s\"} " % s in text for s in STATES)
          and "# TYPE hypha_health gauge\nhypha_health " in text,
          "GET /metrics has the member and health gauges")

    # The member view: its shape, the ?state= filter, the counts in
    # /v1/status, the CLI. A node alone has no members yet.
    st, j, _ = d.req("GET", "/v1/members")
    problems = members_problems(j)
    check(st == 200 and not problems,
          "GET /v1/members has the documented shape %r" % problems)
    check(st == 200 and len(j["members"]) == 1 and
          j["members"][0]["state"] == "alive" and
          not j["members"][0]["in_table"] and j["counts"] ==
          {"alive": 1, "suspect": 0, "down": 0},
          "a node alone lists only itself, alive (%r)" % (j,))
    for state in STATES:
        st, jf, _ = d.req("GET", "/v1/members?state=" + state)
        check(st == 200 and not members_problems(jf) and
              all(m["state"] == state for m in jf["members"]),
              "GET /v1/members?state=%s lists only %s members" %
              (state, state))
    st, jf, _ = d.req("GET", "/v1/members?other=1")
    check(st == 200 and not members_problems(jf),
          "GET /v1/members ignores unknown query parameters")
    j = d.status()
    check(j is not None and is_count(j.get("health")) and
          isinstance(j.get("members"), dict) and
          set(j["members"]) == set(STATES) and
          all(is_count(v) for v in j["members"].values()),
          "GET /v1/status has health and the member counts (%r %r)" %
          (j and j.get("health"), j and j.get("members")))
    check_members_cli(d)

    # Event-stream clients are bounded.
    socks = [sse_open(d) for _ in range(16)]
    ok = all(b"text/event-stream" in sse_read_until(s, b"hypha events", 5)
             for s in socks)
    check(ok, "16 event-stream clients accepted")
    st, j, _ = d.req("GET", "/v1/events")
    check(st == 503 and is_error(j, "busy"), "the 17th gets 503 busy")
    for s in socks:
        s.close()
    check(wait_for(lambda: d.req("GET", "/metrics")[1].find(
        "hypha_api_event_clients 0") >= 0, 20, 0.2),
        "closed event clients are noticed")

    # A second daemon on the same state directory refuses to start.
    other = Daemon(tmp, "alone", "127.0.0.1", d.network)
    other.log = os.path.join(tmp, "second.log")
    other.start(wait=False)
    try:
        rc = other.proc.wait(10)
    except subprocess.TimeoutExpired:
        rc = None
    log = other.logtext()
    check(rc == 1 and ("pid %d" % d.proc.pid) in log,
          "a second daemon on a locked state dir exits 1 naming pid %d (%s)"
          % (d.proc.pid, log.strip()))
    check(d.status() is not None, "the first daemon is unharmed")

    the_id = d.status()["id"]
    stream = sse_open(d)  # left open across SIGTERM
    sse_read_until(stream, b"hypha events", 5)
    rc = d.stop(signal.SIGTERM)
    stream.close()
    check(rc == 0, "SIGTERM -> exit 0 (got %r)" % rc)
    check(os.path.exists(os.path.join(d.state, "node.key")) and
          os.path.exists(os.path.join(d.state, "contacts")),
          "state saved (node.key, contacts)")
    d2 = Daemon(tmp, "alone", "127.0.0.1", d.network)
    d2.start()
    check(d2.status().get("id") == the_id, "same ID after a restart")
    check(d2.stop(signal.SIGINT) == 0, "SIGINT -> exit 0")


# ---------------------------------------------------------------- cluster


def test_cluster(tmp):
    # Distinct ports on 127.0.0.1 by default. HYPHAD_INTEG_DISTINCT_IPS=1
    # puts each daemon on its own 127.0.0.x instead (values larger than a
    # datagram then fail: outbound TLS is not bound to the listen address).
    distinct = os.environ.get("HYPHAD_INTEG_DISTINCT_IPS") == "1"

    def ip(i):
        return "127.0.0.%d" % i if distinct else "127.0.0.1"
    net = "integ-cluster-%d" % os.getpid()
    seed = Daemon(tmp, "seed", "127.0.0.1", net).start()
    nodes = [seed]
    for i in range(2, 8):
        nodes.append(Daemon(tmp, "n%d" % i, ip(i), net,
                            seeds=[seed.addr]).start(wait=False))
    for d in nodes:
        if not wait_for(d.ready, 10):
            raise RuntimeError("%s did not start" % d.name)

    def all_joined():
        # the seed only answers, so it need not count itself joined
        for d in nodes:
            j = d.status()
            if not j or j["routing"]["contacts"] < 3 or \
                    (d is not seed and j["status"] != "joined"):
                return False
        return True
    check(wait_for(all_joined, 15, 0.1), "7 daemons joined through one seed")

    # SSE: a new daemon shows up as contact_added on the seed's stream.
    s = sse_open(seed)
    sse_read_until(s, b"hypha events", 5)
    late = Daemon(tmp, "late", ip(9), net, seeds=[seed.addr]).start()
    nodes.append(late)
    buf = sse_read_until(s, late.addr.encode(), 10)
    s.close()
    check(b"event: contact_added" in buf and late.addr.encode() in buf,
          "the seed's event stream reports the new contact")

    def get_value(d, key, want, timeout=10):
        def probe():
            st, j, _ = d.req("GET", "/v1/values/" + key)
            if st == 200:
                for v in j["values"]:
                    if base64.b64decode(v["data_b64"]) == want:
                        return j
            return None
        return wait_for(probe, timeout, 0.1)

    st, j, _ = nodes[1].req("PUT", "/v1/values/hello%20world?ttl=600",
                            "héllo".encode())
    check(st == 200 and j["stored_on"] >= 3 and len(j["key"]) == 64,
          "PUT over the API (%d %r)" % (st, j))
    j = get_value(nodes[5], "hello%20world", "héllo".encode())
    check(j is not None and j["values"][0]["data"] == "héllo" and
          j["values"][0]["size"] == 6 and
          isinstance(j["values"][0]["id"], str) and
          0 < j["values"][0]["ttl"] <= 600,
          "GET on another node finds it (text as data)")

    rnd = random.Random(7)
    big = b"\xff" + bytes(rnd.getrandbits(8) for _ in range(19999))
    st, j, _ = nodes[2].req("PUT", "/v1/values/big", big)
    check(st == 200 and j["stored_on"] >= 1, "PUT of a 20 KB value")
    j = get_value(nodes[6], "big", big)
    check(j is not None and j["values"][0]["data"] is None and
          j["values"][0]["size"] == 20000,
          "GET of the 20 KB value on another node (binary: data null) %r" %
          (j and [(v["size"], (v["data"] or "")[:20]) for v in j["values"]]))

    st, j, _ = nodes[4].req("GET", "/v1/values/never-stored")
    check(st == 404 and is_error(j, "not_found"), "GET of a missing key 404")

    st, j, _ = nodes[3].req("POST", "/v1/peers/some%20content",
                            b"{\"port\": 6881}")
    check(st == 200 and j["stored_on"] >= 1, "announce (%d %r)" % (st, j))

    def peers():
        st, j, _ = nodes[6].req("GET", "/v1/peers/some%20content")
        return j if st == 200 and any(p.endswith(":6881")
                                      for p in j["peers"]) else None
    j = wait_for(peers, 10, 0.1)
    check(j is not None and "%s:6881" % nodes[3].ip in j["peers"],
          "get_peers on another node finds the announcer (%r)" % j)
    st, j, _ = nodes[6].req("GET", "/v1/peers/nobody-has-this")
    check(st == 404 and is_error(j), "peers of an unknown key 404")

    st, j, _ = nodes[2].req("PUT", "/v1/values/perm?permanent=1", b"p")
    check(st == 200, "permanent PUT")
    st, j, _ = nodes[2].req("DELETE", "/v1/values/perm")
    check(st == 200 and j == {"cancelled": 1}, "DELETE cancels it (%r)" % j)
    st, j, _ = nodes[2].req("DELETE", "/v1/values/perm")
    check(st == 404 and is_error(j), "a second DELETE 404")

    # Clients that hang up while their lookup runs: the reply goes
    # nowhere, the daemon neither crashes nor leaks (see ASan builds).
    for i in range(20):
        s = socket.create_connection((nodes[5].ip, nodes[5].api_port), 5)
        s.sendall(b"GET /v1/values/gone%d HTTP/1.1\r\nHost: x\r\n\r\n" % i
                  if i % 2 else b"PUT /v1/values/gone HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Length: 3\r\n\r\nabc")
        s.close()
    check(nodes[5].status() is not None, "clients hanging up mid-request")

    st, j, _ = nodes[3].req("GET", "/v1/routes")
    check(st == 200 and len(j["contacts"]) >= 3 and
          all(len(c["id"]) == 64 and c["status"] in
              ("good", "questionable", "bad") and "bucket" in c
              for c in j["contacts"]), "GET /v1/routes lists contacts")

    # Restart one daemon with the seed down: same ID, rejoins through its
    # saved contacts, finds a value.
    victim = nodes[4]
    vid = victim.status()["id"]
    check(victim.stop() == 0, "SIGTERM a daemon: exit 0")
    check(seed.stop() == 0, "SIGTERM the seed: exit 0")
    victim.start()
    j = victim.status()
    check(j["id"] == vid, "restarted daemon keeps its ID")
    check(wait_for(lambda: victim.status()["status"] == "joined", 15, 0.1),
          "it rejoins with the seed down")
    check(get_value(victim, "hello%20world", "héllo".encode()) is not None,
          "and finds a value stored before")

    for d in nodes:
        if d.proc.poll() is None:
            check(d.stop() == 0, "%s: SIGTERM -> exit 0" % d.name)


# ---------------------------------------------------------------- liveness


def sse_events(buf):
    """The (name, data) pairs of a server-sent event stream's bytes; data
    parsed as JSON (None if it is not)."""
    out = []
    for frame in buf.replace(b"\r\n", b"\n").split(b"\n\n"):
        name, data = None, None
        for line in frame.split(b"\n"):
            if line.startswith(b"event: "):
                name = line[7:].decode(errors="replace")
            elif line.startswith(b"data: "):
                try:
                    data = json.loads(line[6:])
                except ValueError:
                    data = None
        if name is not None:
            out.append((name, data))
    return out


def test_liveness(tmp):
    """5 daemons joined through one seed see each other alive; one is
    SIGKILLed and every other one must report it down within 60 s, with a
    member_down event carrying its id and addr. Prints each observer's
    detection times (suspect, down) counted from the kill."""
    distinct = os.environ.get("HYPHAD_INTEG_DISTINCT_IPS") == "1"

    def ip(i):
        return "127.0.0.%d" % i if distinct else "127.0.0.1"
    net = "integ-liveness-%d" % os.getpid()
    seed = Daemon(tmp, "seed", "127.0.0.1", net).start()
    nodes = [seed]
    for i in range(2, 6):
        nodes.append(Daemon(tmp, "m%d" % i, ip(i), net,
                            seeds=[seed.addr]).start(wait=False))
    for d in nodes:
        if not wait_for(d.ready, 10):
            raise RuntimeError("%s did not start" % d.name)
    ids = {d.name: d.status()["id"] for d in nodes}
    names = {v: k for k, v in ids.items()}

    def view(d):
        """{id: member} from d's GET /v1/members, or None."""
        try:
            st, j, _ = d.req("GET", "/v1/members", timeout=5)
        except (OSError, http.client.HTTPException):
            return None
        if st != 200 or members_problems(j):
            return None
        return {m["id"]: m for m in j["members"]}

    def summary():
        rows = []
        for d in nodes:
            if d.proc.poll() is not None:
                continue
            v = view(d) or {}
            rows.append("%s: %s" % (d.name, ", ".join(
                "%s=%s" % (names.get(i, i[:8]), m["state"])
                for i, m in sorted(v.items()))))
        return "; ".join(rows)

    def all_alive():
        for d in nodes:
            v = view(d)
            if v is None or any(
                    v.get(ids[o.name], {}).get("state") != "alive"
                    for o in nodes if o is not d):
                return False
        return True
    t = time.monotonic()
    ok = wait_for(all_alive, 30, 0.2)
    check(ok, "every daemon lists the other 4 as alive (%.1f s)%s" %
          (time.monotonic() - t, "" if ok else ": " + summary()))
    if not ok:
        return
    st, j, _ = seed.req("GET", "/v1/members")
    selfs = [m for m in j["members"] if m["id"] == ids["seed"]] \
        if st == 200 else []
    check(st == 200 and not members_problems(j) and len(selfs) == 1 and
          selfs[0]["state"] == "alive" and not selfs[0]["in_table"],
          "a daemon lists itself once, alive, outside its table")
    check_members_cli(nodes[1])

    victim = nodes[3]
    vid = ids[victim.name]
    observers = [d for d in nodes if d is not victim]
    streams = {}
    for d in observers:
        streams[d.name] = sse_open(d)
        sse_read_until(streams[d.name], b"hypha events", 5)

    t0 = time.monotonic()
    victim.stop(signal.SIGKILL)
    suspect_at, down_at, false_down = {}, {}, set()

    def poll():
        for d in observers:
            if d.name in down_at:
                continue
            v = view(d)
            if v is None:
                continue
            now = time.monotonic() - t0
            for i, m in v.items():
                if i == vid and m["state"] == "suspect":
                    suspect_at.setdefault(d.name, now)
                elif i == vid and m["state"] == "down":
                    down_at[d.name] = now
                elif i in names and i != vid and m["state"] == "down":
                    false_down.add((d.name, names[i]))
        return len(down_at) == len(observers)
    ok = wait_for(poll, 60, 0.1)
    for d in observers:
        print("     %-5s saw %s: suspect %s, down %s" % (
            d.name, victim.name,
            "%.2f s" % suspect_at[d.name] if d.name in suspect_at else "-",
            "%.2f s" % down_at[d.name] if d.name in down_at else "-"))
    if down_at:
        times = sorted(down_at.values())
        print("     detection: min %.2f s, median %.2f s, max %.2f s" %
              (times[0], times[len(times) // 2], times[-1]))
    check(ok, "every other daemon reports the SIGKILLed %s down within "
          "60 s%s" % (victim.name, "" if ok else ": " + summary()))
    check(not false_down, "no live daemon reported down %r" %
          sorted(false_down))

    # Each observer's event stream told of it, with its id and addr.
    for d in observers:
        buf = sse_read_until(streams[d.name], vid.encode(), 5)
        if b"member_down" not in buf:
            buf += sse_read_until(streams[d.name], b"event: member_down", 5)
        streams[d.name].close()
        evs = [data for name, data in sse_events(buf)
               if name == "member_down" and isinstance(data, dict) and
               data.get("id") == vid]
        check(evs and evs[0].get("addr") == victim.addr,
              "%s's event stream: member_down with %s's id and addr (%r)" %
              (d.name, victim.name, evs[:1]))

    # The CLI table: alive before suspect before down, IDs ascending.
    if os.access(HYPHA, os.X_OK):
        rc, out, err = hypha(observers[0], "members")
        rank = {s: i for i, s in enumerate(STATES)}
        rows = [line.split() for line in out.splitlines()[1:]]
        keys = [(rank.get(r[2], 3), r[0]) for r in rows if len(r) >= 5]
        check(rc == 0 and keys == sorted(keys) and
              any(r[0] == vid[:16] and r[2] == "down" for r in rows),
              "hypha members: sorted by state then ID, the victim down\n%s"
              % out)
        check_members_cli(observers[0])

    for d in observers:
        check(d.stop() == 0, "%s: SIGTERM -> exit 0" % d.name)


def main():
    tests = {"config": test_config, "api": test_api,
             "cluster": test_cluster, "liveness": test_liveness}
    if len(sys.argv) != 2 or sys.argv[1] not in tests:
        print("usage: hyphad_integ.py config|api|cluster|liveness",
              file=sys.stderr)
        return 2
    if not os.access(HYPHAD, os.X_OK):
        print("SKIP: %s not built" % HYPHAD)
        return 77
    if sys.argv[1] == "liveness" and \
            os.environ.get("HY_INTEG_LIVENESS") == "0":
        print("SKIP: HY_INTEG_LIVENESS=0")
        return 77
    tmp = tempfile.mkdtemp(prefix="hyphad-integ-")
    t0 = time.monotonic()
    try:
        tests[sys.argv[1]](tmp)
    except Exception as e:  # a broken test is a failure, with its cause
        FAILS.append("exception: %r" % e)
        print("FAIL exception: %r" % e)
    finally:
        for p in PROCS:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(5)
        if FAILS:
            for name in sorted(os.listdir(tmp)):
                if name.endswith(".log"):
                    with open(os.path.join(tmp, name), errors="replace") as f:
                        print("--- %s\n%s" % (name, f.read()[-3000:]))
        shutil.rmtree(tmp, ignore_errors=True)
    print("%s: %d failure(s) in %.1f s" % (sys.argv[1], len(FAILS),
                                          time.monotonic() - t0))
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
