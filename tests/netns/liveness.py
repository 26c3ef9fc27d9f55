#!/usr/bin/env python3
"""The daemon half of tests/netns/liveness.sh, run inside the network
namespace that script made (its loopback drops a share of incoming UDP).

    liveness.py TMPDIR

Starts N hyphad processes on 127.0.0.1 (node 0 first, the others seeded with
it), waits until every one lists the N-1 others "alive" in GET /v1/members,
then polls every daemon's view once a second for a window in which nobody
fails and counts each (observer, subject) pair leaving "alive": entering
"down" is a false down (fails the test), entering "suspect" a suspicion
(reported only), leaving the view altogether a vanished member (fails).
Then it SIGKILLs one daemon other than node 0 and times, per observer, how
long until the observer reports it "down"; every observer must within the
bound. Prints the figures as "name: value" lines.

Settings come from the environment (liveness.sh passes them on):
  HYPHAD                 the daemon binary
  HY_NETNS_N             daemons (20)
  HY_NETNS_WINDOW_S      no-failure window in seconds (180)
  HY_NETNS_DETECT_S      detection bound in seconds (default: hyphad(8)'s
                         promise, 5 + 10 log10(N - 1))
  HY_NETNS_CONVERGE_S    bound on the initial convergence (60)
  HY_NETNS_SEED          replays the choice of the daemon killed

Its own PID and every PID it starts are appended to TMPDIR/pids at once,
so the shell can kill survivors if this process dies. Only those PIDs are
ever signalled. Every wait has a deadline. Exit: 0 pass, 1 fail.
"""
import http.client
import json
import math
import os
import random
import signal
import statistics
import subprocess
import sys
import time

HOST = "127.0.0.1"
PORT0, API0 = 20000, 21000   # our own namespace: nothing else binds here

mono = time.monotonic


def env_num(name, default, kind=float):
    v = os.environ.get(name, "")
    try:
        return kind(v) if v != "" else default
    except ValueError:
        sys.exit("liveness.py: %s=%r is not a number" % (name, v))


class Daemon:
    def __init__(self, tmp, idx):
        self.idx = idx
        self.name = "hy%02d" % idx
        self.addr = "%s:%d" % (HOST, PORT0 + idx)
        self.api = API0 + idx
        self.state = os.path.join(tmp, self.name)
        self.log = os.path.join(tmp, self.name + ".log")
        self.proc = None
        self.id = None

    def start(self, binary, seed, pidfile):
        os.makedirs(self.state, exist_ok=True)
        argv = [binary, "--listen", self.addr, "--api",
                "%s:%d" % (HOST, self.api), "--state-dir", self.state,
                "--foreground"]
        if seed:
            argv += ["--seed", seed]
        with open(self.log, "ab") as logf:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                         stdout=logf, stderr=logf)
        with open(pidfile, "a") as f:
            f.write("%d\n" % self.proc.pid)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def get(self, path, timeout=1.0):
        """(HTTP status, decoded JSON or None); (None, None) if unanswered."""
        c = http.client.HTTPConnection(HOST, self.api, timeout=timeout)
        try:
            c.request("GET", path)
            r = c.getresponse()
            body = r.read()
        except (OSError, http.client.HTTPException):
            return None, None
        finally:
            c.close()
        try:
            return r.status, json.loads(body)
        except ValueError:
            return r.status, None

    def kill(self):
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
        if self.proc is not None:
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass

    def logtail(self, n=15):
        try:
            with open(self.log, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""


class Views:
    """GET /v1/members of every observer, as {subject name: state}."""

    def __init__(self, daemons):
        self.daemons = daemons
        self.names = {}
        self.not_found = 0
        self.unanswered = 0
        self.health = {}

    def learn_ids(self):
        for d in self.daemons:
            st, j = d.get("/v1/status", 2.0)
            if st == 200 and isinstance(j, dict) and j.get("id"):
                d.id = j["id"].lower()
                self.names[d.id] = d.name
        return all(d.id for d in self.daemons)

    def view(self, d):
        st, j = d.get("/v1/members")
        if st == 404:
            self.not_found += 1
        if st != 200 or not isinstance(j, dict) or \
                not isinstance(j.get("members"), list):
            self.unanswered += 1
            return None
        if isinstance(j.get("health"), int):
            self.health[d.name] = max(self.health.get(d.name, 0), j["health"])
        out = {}
        for m in j["members"]:
            if isinstance(m, dict) and isinstance(m.get("id"), str):
                name = self.names.get(m["id"].lower())
                if name is not None:
                    out[name] = str(m.get("state", "?"))
        return out


def fmt(v):
    return "n/a" if v is None else "%.2f" % v


def main():
    tmp = sys.argv[1]
    binary = os.environ.get("HYPHAD", "hyphad")
    n = env_num("HY_NETNS_N", 20, int)
    window = env_num("HY_NETNS_WINDOW_S", 180.0)
    # the bound hyphad(8) promises for the lan preset: 5 + 10 log10(n) s,
    # n the contacts an observer watches
    detect_bound = env_num("HY_NETNS_DETECT_S",
                           5.0 + 10.0 * math.log10(max(n - 1, 10)))
    conv_bound = env_num("HY_NETNS_CONVERGE_S", 60.0)
    seed = env_num("HY_NETNS_SEED", random.randrange(1 << 30), int)
    pidfile = os.path.join(tmp, "pids")
    fails = []

    def fail(what):
        print("FAIL " + what, flush=True)
        fails.append(what)

    with open(pidfile, "a") as f:
        f.write("%d\n" % os.getpid())
    daemons = [Daemon(tmp, i) for i in range(n)]
    views = Views(daemons)

    def stop_all(*_):
        for d in daemons:
            d.kill()

    def on_signal(sig, _frame):
        stop_all()
        sys.exit(128 + sig)

    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, on_signal)
    try:
        print("daemons: %d, window %.0f s, detection bound %.0f s, seed %d"
              % (n, window, detect_bound, seed), flush=True)
        # --- start: node 0, then the others seeded with it ---------------
        daemons[0].start(binary, None, pidfile)
        deadline = mono() + 15
        while mono() < deadline and daemons[0].alive() and \
                daemons[0].get("/v1/status")[0] != 200:
            time.sleep(0.05)
        if daemons[0].get("/v1/status")[0] != 200:
            fail("%s did not answer /v1/status within 15 s:\n%s"
                 % (daemons[0].name, daemons[0].logtail()))
            return 1
        t0 = mono()
        for d in daemons[1:]:
            d.start(binary, daemons[0].addr, pidfile)
        deadline = mono() + 30
        while mono() < deadline and not views.learn_ids():
            dead = [d.name for d in daemons if not d.alive()]
            if dead:
                break
            time.sleep(0.2)
        if not all(d.id for d in daemons):
            bad = [d for d in daemons if not d.id]
            fail("%d daemons did not answer /v1/status within 30 s "
                 "(first: %s, running=%s):\n%s" % (
                     len(bad), bad[0].name, bad[0].alive(), bad[0].logtail()))
            return 1

        # --- convergence: everybody lists the N-1 others alive -----------
        others = {d.name: [x.name for x in daemons if x is not d]
                  for d in daemons}
        pending = set(d.name for d in daemons)
        byname = {d.name: d for d in daemons}
        last = {}
        deadline = t0 + conv_bound
        while pending and mono() < deadline:
            for name in sorted(pending):
                v = views.view(byname[name])
                if v is None:
                    continue
                last[name] = v
                if all(v.get(s) == "alive" for s in others[name]):
                    pending.discard(name)
            if pending:
                time.sleep(0.2)
        if pending:
            name = sorted(pending)[0]
            v = last.get(name)
            fail("no convergence within %.0f s: %d of %d daemons do not list "
                 "all others alive; %s sees %s (members unanswered %d, "
                 "of which 404 %d)" % (
                     conv_bound, len(pending), n, name,
                     "nothing" if v is None else "%d alive of %d listed" % (
                         sum(1 for s in v.values() if s == "alive"), len(v)),
                     views.unanswered, views.not_found))
            return 1
        print("convergence: %.2f s after the first start" % (mono() - t0),
              flush=True)

        # --- window: nobody fails; count pairs leaving "alive" -----------
        prev = {(o, s): "alive" for o in others for s in others[o]}
        counts = {"down": 0, "suspect": 0, "vanished": 0, "other": 0}
        sample = []
        views.unanswered = 0

        def observe(d, v, exclude=None):
            """Count the pairs (d, subject) whose state changed in view v."""
            if v is None:
                return
            for s in others[d.name]:
                if s == exclude:
                    continue
                new, old = v.get(s, "missing"), prev[(d.name, s)]
                if new == old:
                    continue
                prev[(d.name, s)] = new
                kind = {"down": "down", "suspect": "suspect",
                        "missing": "vanished", "alive": None}.get(new, "other")
                if kind == "suspect" and old != "alive":
                    kind = None        # counted when it left alive
                if kind:
                    counts[kind] += 1
                    if len(sample) < 10:
                        sample.append("%.1fs %s sees %s %s->%s" % (
                            mono() - w0, d.name, s, old, new))

        w0 = mono()
        rounds = 0
        while mono() - w0 < window and rounds < int(window) + 10:
            rounds += 1
            r0 = mono()
            for d in daemons:
                observe(d, views.view(d))
            crashed = [d.name for d in daemons if not d.alive()]
            if crashed:
                fail("daemons exited during the window: %s\n%s" % (
                    crashed, byname[crashed[0]].logtail()))
                return 1
            time.sleep(max(0.0, 1.0 - (mono() - r0)))
        print("window: %.1f s, %d poll rounds, %d unanswered polls"
              % (mono() - w0, rounds, views.unanswered), flush=True)

        # --- detection: SIGKILL one daemon other than node 0 -------------
        victim = random.Random(seed).choice(daemons[1:])
        observers = [d for d in daemons if d is not victim]
        victim.kill()
        tk = mono()
        detected = {}
        while len(detected) < len(observers) and mono() - tk < detect_bound:
            r0 = mono()
            for d in observers:
                v = views.view(d)
                if v is not None and d.name not in detected and \
                        v.get(victim.name) == "down":
                    detected[d.name] = mono() - tk
                observe(d, v, exclude=victim.name)
            time.sleep(max(0.0, 0.1 - (mono() - r0)))
        det = sorted(detected.values())

        # --- figures ------------------------------------------------------
        print("false downs: %d" % counts["down"])
        print("suspicions: %d" % counts["suspect"])
        print("vanished members: %d" % counts["vanished"])
        if counts["other"]:
            print("other states: %d" % counts["other"])
        for line in sample:
            print("  transition: " + line)
        if views.health:
            print("max health: %d (median of per-daemon max %g)" % (
                max(views.health.values()),
                statistics.median(views.health.values())))
        print("killed: %s" % victim.name)
        print("detected by: %d of %d observers" % (len(det), len(observers)))
        print("detection median: %s s" % fmt(statistics.median(det)
                                              if det else None))
        print("detection max: %s s" % fmt(det[-1] if det else None),
              flush=True)
        if counts["down"]:
            fail("%d false downs in the window" % counts["down"])
        if counts["vanished"] or counts["other"]:
            fail("%d members vanished from a view, %d unknown states" % (
                counts["vanished"], counts["other"]))
        if len(det) < len(observers):
            miss = [d for d in observers if d.name not in detected]
            v = views.view(miss[0])
            fail("%d observers did not report %s down within %.0f s "
                 "(%s says %s)" % (len(miss), victim.name, detect_bound,
                                   miss[0].name,
                                   None if v is None else v.get(victim.name)))
        return 1 if fails else 0
    finally:
        stop_all()


if __name__ == "__main__":
    sys.exit(main())
