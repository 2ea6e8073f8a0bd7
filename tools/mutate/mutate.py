#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""
make mutate: does the test suite notice a plausible bug?

Every mutant in tools/mutate/mutants/*.mut names a file, an exact snippet
of its code (which must occur exactly once), a replacement, and the
fastest tests expected to notice. Each mutant in turn is applied to a
scratch copy of the tree (the working tree as it is, uncommitted changes
included; the real tree is never written), built, and run against its
tests; a mutant those tests miss then meets the whole suite (make
test-tiers) unless --fast. A table says, per mutant, which test killed
it and with what message, or that it survived, and a score closes it.

A mutant whose snippet no longer matches (the code was rewritten) is
reported as "does not apply", with the number of matches, so it can be
updated; one that no longer builds is reported as such. Neither counts
in the score, both make the exit status 1, as does a survivor that is
not marked equivalent. Format of the mutant files: docs/TESTING.md.

--jobs N tests N mutants at once, each in its own scratch copy (its own
build); the tests keep their labs apart by pid (namespaces, pin roots,
state dirs, sockets). A test that measures time or changes the host
(an integration test marked '# integration: serial', and the full suite,
which holds such tests) runs alone: no other test or build runs
meanwhile, as in tests/integration/run.sh.
"""
import argparse
import fnmatch
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(
    __file__)), "..", ".."))
MUTANT_DIR = os.path.join(ROOT, "tools", "mutate", "mutants")
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
FIELDS = ("mutant", "file", "about", "kill", "equivalent", "timeout")



class Gate:
    """Who may run now: any number of shared holders (builds, tests that
    may run side by side) or one exclusive holder (a serial test, the
    full suite) alone. A waiting exclusive holder goes first: no new
    shared holder enters until it has run."""

    def __init__(self):
        self.cond = threading.Condition()
        self.shared = 0
        self.exclusive = False
        self.waiting = 0  # exclusive holders waiting

    def enter(self, exclusive):
        with self.cond:
            if exclusive:
                self.waiting += 1
                while self.exclusive or self.shared:
                    self.cond.wait()
                self.waiting -= 1
                self.exclusive = True
            else:
                while self.exclusive or self.waiting:
                    self.cond.wait()
                self.shared += 1

    def leave(self, exclusive):
        with self.cond:
            if exclusive:
                self.exclusive = False
            else:
                self.shared -= 1
            self.cond.notify_all()


gate = Gate()
# The children running now, so an interrupt can stop their process
# groups; once stopping, no new child starts.
running = set()
running_lock = threading.Lock()
stopping = False
# Every child's start and end, which tree and whether alone (logs/runs.log)
trace = None
trace_lock = threading.Lock()


def traced(what, argv, cwd, alone):
    if trace is None:
        return
    with trace_lock:
        with open(trace, "a", encoding="utf-8") as f:
            f.write("%s %-5s %-6s %-28s %s\n" % (
                time.strftime("%H:%M:%S"), what,
                "alone" if alone else "shared",
                os.path.basename(cwd), " ".join(argv)))


class FormatError(Exception):
    pass


class Mutant:
    def __init__(self, where):
        self.where = where  # file:line of its "mutant:" line
        self.name = self.file = self.about = self.equivalent = None
        self.kill = []
        self.timeout = None  # seconds per kill test; None: kill_bound()
        self.original = self.replacement = None
        # filled in by the run
        self.line = None
        self.result = None  # killed, survived, equivalent, n/a, build
        self.by = ""
        self.message = ""
        self.seconds = 0.0


def parse_file(path):
    """Mutant blocks: fields, then '--- original', the snippet, '+++
    mutant', the replacement, '=== end'. Snippets are taken verbatim
    (tabs, blank lines); '#' comments and blank lines only between
    blocks and fields."""
    mutants, m, block = [], None, None
    rel = os.path.relpath(path, ROOT)
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    for no, line in enumerate(lines, 1):
        here = "%s:%d" % (rel, no)
        if block is not None:
            if line == "+++ mutant" and block == "original":
                block = "replacement"
                m.replacement = []
            elif line == "=== end" and block == "replacement":
                m.original = "\n".join(m.original) + "\n"
                m.replacement = "\n".join(m.replacement) + "\n"
                mutants.append(m)
                m, block = None, None
            elif line in ("--- original", "+++ mutant", "=== end"):
                raise FormatError("%s: '%s' out of order" % (here, line))
            else:
                getattr(m, block).append(line)
            continue
        if not line.strip() or line.startswith("#"):
            continue
        if line == "--- original":
            if m is None:
                raise FormatError("%s: snippet outside a mutant" % here)
            for field in ("name", "file", "about"):
                if not getattr(m, field):
                    raise FormatError("%s: mutant %s has no '%s:'" % (
                        here, m.name, "mutant" if field == "name" else
                        field))
            if not m.kill:
                raise FormatError("%s: mutant %s has no 'kill:'" %
                                  (here, m.name))
            block = "original"
            m.original = []
            continue
        key, sep, value = line.partition(":")
        value = value.strip()
        if not sep or key not in FIELDS or not value:
            raise FormatError("%s: expected one of %s followed by ': "
                              "value', got '%s'" %
                              (here, ", ".join(FIELDS), line))
        if key == "mutant":
            if m is not None:
                raise FormatError("%s: mutant %s has no snippet" %
                                  (here, m.name))
            if not NAME_RE.match(value):
                raise FormatError("%s: mutant name '%s': use a-z, 0-9 "
                                  "and '-'" % (here, value))
            m = Mutant(here)
            m.name = value
        elif m is None:
            raise FormatError("%s: '%s:' before 'mutant:'" % (here, key))
        elif key == "kill":
            m.kill.append(value)
        elif key == "timeout":
            if not value.isdigit():
                raise FormatError("%s: timeout must be seconds" % here)
            m.timeout = int(value)
        else:
            setattr(m, "name" if key == "mutant" else key, value)
    if block is not None or m is not None:
        raise FormatError("%s: file ends inside mutant %s" %
                          (rel, m.name))
    return mutants


def load_mutants():
    mutants, seen = [], {}
    files = sorted(f for f in os.listdir(MUTANT_DIR) if f.endswith(".mut"))
    for f in files:
        for m in parse_file(os.path.join(MUTANT_DIR, f)):
            if m.original == m.replacement:
                raise FormatError("%s: mutant %s changes nothing" %
                                  (m.where, m.name))
            if m.name in seen:
                raise FormatError("%s: mutant %s already defined at %s" %
                                  (m.where, m.name, seen[m.name]))
            seen[m.name] = m.where
            mutants.append(m)
    return mutants


def tree_files():
    """Tracked and untracked-but-not-ignored files of the working tree."""
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                          "--exclude-standard"], cwd=ROOT, check=True,
                         stdout=subprocess.PIPE).stdout
    return [f for f in out.decode().split("\0") if f and
            os.path.lexists(os.path.join(ROOT, f))]


def copy_tree(dest):
    for f in tree_files():
        src, dst = os.path.join(ROOT, f), os.path.join(dest, f)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if os.path.islink(src):
            os.symlink(os.readlink(src), dst)
        else:
            shutil.copy2(src, dst)


INTEGRATION_RUNNER = "tests/integration/run.sh"


def kill_argv(cmd, tree):
    """The argv of a kill test. 'tests/integration/run.sh NAME' naming one
    test runs that test's script directly: its output then reaches the
    log as it is printed (run.sh prints a test's output only when it
    ends, so a test stopped at its bound left nothing to read), and NAME
    selects that test alone (run.sh takes every test whose name holds
    it: test_traffic also ran test_traffic_dp)."""
    argv = shlex.split(cmd)
    if len(argv) == 2 and argv[0] == INTEGRATION_RUNNER:
        name = argv[1] if argv[1].startswith("test_") else "test_" + argv[1]
        script = os.path.join("tests", "integration", name + ".sh")
        if os.path.isfile(os.path.join(tree, script)):
            return ["bash", script]
    return argv


# run.sh's environment for the tests it runs: Debian's python3 first;
# nothing of the make that started us (make mutate JOBS=N must not set
# run.sh's JOBS in the full-suite stage).
TEST_ENV = dict((k, v) for k, v in os.environ.items()
                if k not in ("JOBS", "MAKEFLAGS", "MFLAGS", "MAKELEVEL"))
TEST_ENV["PATH"] = "/usr/bin:" + os.environ.get("PATH", "")


def serial(argv, cwd):
    """Must argv run alone? The full suite (it holds the serial tests)
    and an integration test marked as run.sh's serial ones are."""
    if argv[:1] == ["make"] and "test-tiers" in argv:
        return True
    script = None
    if argv[:1] == ["bash"] and len(argv) == 2:
        script = argv[1]
    elif argv[:1] == [INTEGRATION_RUNNER]:
        # run.sh NAME runs every test whose name holds NAME
        names = argv[1:]
        d = os.path.join(cwd, "tests", "integration")
        if not names:
            return True
        for f in sorted(os.listdir(d)):
            if (f.startswith("test_") and f.endswith(".sh") and
                    any(n in f[:-3] for n in names) and
                    serial(["bash", os.path.join("tests", "integration",
                                                 f)], cwd)):
                return True
        return False
    if not script:
        return False
    try:
        with open(os.path.join(cwd, script), encoding="utf-8") as f:
            # run.sh's test: grep '^# integration: serial'
            return any(line.startswith("# integration: serial")
                       for line in f)
    except OSError:
        return False


def run(argv, cwd, timeout, log):
    """Run argv in its own process group, alone if it must be (serial());
    'timeout' or its exit code."""
    alone = serial(argv, cwd)
    gate.enter(alone)
    traced("start", argv, cwd, alone)
    try:
        with open(log, "ab") as out:
            out.write(("$ %s%s\n" % (" ".join(argv), "   (alone)" if alone
                                      else "")).encode())
            out.flush()
            with running_lock:
                if stopping:
                    return "stopped"
                proc = subprocess.Popen(argv, cwd=cwd, stdout=out,
                                        stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL,
                                        start_new_session=True,
                                        env=TEST_ENV)
                running.add(proc)
            try:
                rc = proc.wait(timeout)
            except subprocess.TimeoutExpired:
                stop(proc)
                rc = "timeout"
            with running_lock:
                running.discard(proc)
    finally:
        traced("end", argv, cwd, alone)
        gate.leave(alone)
    return rc


def stop(proc):
    """TERM the group (the tests' traps tear their labs down), then KILL."""
    for sig, grace in ((signal.SIGTERM, 20), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(grace)
            return
        except subprocess.TimeoutExpired:
            pass


# What tests print when something fails, most telling first: TAP-style
# checks and cmocka's fail_msg, then summaries and error lines.
FAIL_LINES = (re.compile(r"^(not ok - |ERROR: )"),
              re.compile(r"^(FAIL: |Error: |error: |.*: error: |"
                         r"\[  FAILED  \] )"))
# cmocka's assert_*: "[  ERROR   ] --- 0x2 != 0x3", then the place.
CMOCKA_ASSERT = re.compile(r"^\[  ERROR   \] --- ([^[].*)$")
CMOCKA_LINE = re.compile(r"^\[   LINE   \] --- (\S+): error")
CMOCKA_RUN = re.compile(r"^\[ RUN      \] (\S+)")


def first_failure(log, start, strict=False):
    """The first line of the log from offset start that says what
    failed, else (unless strict: then None) its last non-empty line."""
    with open(log, "rb") as f:
        f.seek(start)
        lines = [line.rstrip() for line in
                 f.read().decode(errors="replace").split("\n")]
    lines = [line for line in lines if line and not line.startswith("$ ")]
    test = "?"
    for i, line in enumerate(lines):
        run = CMOCKA_RUN.match(line)
        if run:
            test = run.group(1)
        if FAIL_LINES[0].match(line):
            return line
        failed = CMOCKA_ASSERT.match(line)
        if failed:
            where = CMOCKA_LINE.match(lines[i + 1]) if i + 1 < len(
                lines) else None
            return "%s (%s): %s" % (test, where.group(1) if where else "?",
                                    failed.group(1))
    for line in lines:
        if FAIL_LINES[1].match(line):
            return line
    if strict:
        return None
    return lines[-1] if lines else ""


def short(text, n=200):
    text = " ".join(text.split())
    return text if len(text) <= n else text[:n - 3] + "..."


def make(cwd, target, log, timeout):
    return run(["make", "--no-print-directory", "-j%d" % os.cpu_count(),
                target], cwd, timeout, log)


def apply(m, tree):
    """Apply m in tree; None, or why it does not apply."""
    path = os.path.join(tree, m.file)
    if not os.path.isfile(path):
        return "does not apply: %s no longer exists" % m.file
    with open(path, encoding="utf-8") as f:
        text = f.read()
    n = text.count(m.original)
    if n != 1:
        return ("does not apply: snippet found %d times in %s (update "
                "the mutant)" % (n, m.file))
    m.line = text[:text.index(m.original)].count("\n") + 1
    with open(path, "w", encoding="utf-8") as f:
        f.write(text.replace(m.original, m.replacement))
    return None


SUMMARY = re.compile(r"^(unit|bpf|integration): \d+ passed, (\d+) failed, "
                     r"\d+ skipped ?(.*)$")


RUN_SH_FAIL = re.compile(r"^-- FAIL (\S+) ")


def suite_failures(log, start):
    with open(log, "rb") as f:
        f.seek(start)
        text = f.read().decode(errors="replace")
    names = []
    for line in text.split("\n"):
        s = SUMMARY.match(line.strip())
        if s and int(s.group(2)):
            names += ["%s %s" % (s.group(1), n) for n in s.group(3).split()]
        # run.sh's verdict of each test as it ends: what failed before
        # a suite stopped at its bound
        f = RUN_SH_FAIL.match(line.strip())
        if f:
            names.append("integration " + f.group(1))
    return sorted(set(names), key=names.index)


def suite_test_argv(name):
    """The command that runs one test of a suite summary ("tier name")."""
    tier, test = name.split(" ", 1)
    if tier == "integration":
        return ["tests/integration/run.sh", test]
    if tier == "unit" and test.endswith(".sh"):
        return ["tests/unit/" + test]
    return ["build/tests/%s/%s" % (tier, test)]


def unconfirmed(names, base, log):
    """Tests the full suite failed that fail on the unmutated tree too
    (a loaded machine, another engineer's lab): they prove nothing."""
    flaky = []
    for name in names:
        with open(log, "ab") as out:
            out.write(("mutate: does %s fail without the mutant?\n" %
                       name).encode())
        if run(suite_test_argv(name), base, 600, log) != 0:
            flaky.append(name)
    return flaky


# Where each baseline test's output is (the baseline stage fills it).
BASELINE_LOGS = {}
TAP = re.compile(r"^(ok|not ok) - (.+)$")


def checks(log, start=0):
    """The TAP checks a log holds from offset start: {name: passed}."""
    if not log:
        return {}
    with open(log, "rb") as f:
        f.seek(start)
        text = f.read().decode(errors="replace")
    out = {}
    for line in text.split("\n"):
        t = TAP.match(line.rstrip())
        if t:
            out[t.group(2)] = out.get(t.group(2), True) and t.group(1) == "ok"
    return out


def new_failures(base_log, log, start):
    """Checks that fail in log (from start) but passed in base_log, the
    same test's run on the unmutated tree."""
    before = checks(base_log)
    return [name for name, ok in checks(log, start).items()
            if not ok and before.get(name) is True]


def kill_bound(m, cmd, took):
    """Seconds a kill test may take: the mutant's timeout: if it has one,
    else three times what the test took on the unmutated tree in this
    run (the same machine, about the same load), at least 300 s (600 s
    for an integration test)."""
    if m.timeout:
        return m.timeout
    least = 600 if cmd.startswith(INTEGRATION_RUNNER) else 300
    return max(least, int(3 * took.get(cmd, 0)))


def timed_out(cmd, bound, base, log, start):
    """A kill test hit its bound: killed if it had printed a failing
    check, or if the unmutated tree passes it within the same bound now
    (the mutant made it hang); else inconclusive (the machine is too
    loaded to tell)."""
    failed = first_failure(log, start, strict=True)
    if failed:
        return "killed", "timed out after %d s, after: %s" % (bound, failed)
    with open(log, "ab") as out:
        out.write(("mutate: %s timed out; does it pass without the "
                   "mutant?\n" % cmd).encode())
    t0 = time.time()
    rc = run(kill_argv(cmd, base), base, bound, log)
    if rc == 0:
        return "killed", ("hangs: no verdict in %d s; without the mutant "
                          "it passes in %.0f s" % (bound, time.time() - t0))
    return "timeout", ("no verdict in %d s and no failing check; without "
                       "the mutant: %s too: inconclusive (a loaded "
                       "machine? rerun it, or raise its timeout:)" %
                       (bound, "timed out" if rc == "timeout" else
                        "exit %s" % rc))


def test_mutant(m, base, work, logs, args, baseline, took):
    tree = os.path.join(work, m.name)
    log = os.path.join(logs, m.name + ".log")
    t0 = time.time()
    try:
        # the built unmutated tree, mtimes kept: the build after the
        # edit is incremental
        subprocess.run(["cp", "-a", "--reflink=auto", base, tree],
                       check=True)
        why = apply(m, tree)
        if why:
            m.result, m.message = "n/a", why
            return
        if make(tree, "build-mutant", log, 900) != 0:
            m.result = "build"
            m.message = first_failure(log, 0)
            return
        for cmd in m.kill:
            start = os.path.getsize(log)
            bound = kill_bound(m, cmd, took)
            rc = run(kill_argv(cmd, tree), tree, bound, log)
            if baseline.get(cmd) not in (None, 0):
                # it failed without the mutant: only a check that passed
                # there and fails here tells the mutant apart
                new = new_failures(BASELINE_LOGS.get(cmd), log, start)
                if rc not in (0, 77, "timeout") and new:
                    m.result, m.by = "killed", cmd
                    m.message = ("not ok - %s (passed without the mutant, "
                                 "where only other checks failed)" %
                                 "; ".join(new))
                else:
                    m.result, m.by = "baseline", cmd
                    m.message = ("fails without the mutant too, and no "
                                 "check that passed there fails here")
                return
            if rc == 77:
                m.result, m.by = "skipped", cmd
                m.message = "the test skipped (exit 77): not root?"
                return
            if rc == "timeout":
                m.result, m.message = timed_out(cmd, bound, base, log,
                                                start)
                m.by = cmd if m.result == "killed" else ""
                return
            if rc != 0:
                m.result, m.by = "killed", cmd
                m.message = first_failure(log, start)
                return
        if args.fast:
            m.result = "equivalent" if m.equivalent else "survived"
            return
        start = os.path.getsize(log)
        rc = make(tree, "test-tiers", log, args.suite_timeout)
        if rc != 0:
            names = suite_failures(log, start)
            flaky = unconfirmed(names, base, log)
            killers = [n for n in names if n not in flaky]
            also = ("; %s failed too, also without the mutant" %
                    ", ".join(flaky)) if flaky else ""
            if rc == "timeout" and not killers:
                # as a kill test's timeout: no failing test of its own,
                # no verdict (a loaded machine, or a hang no test saw)
                m.result = "timeout"
                m.message = ("the full suite hit its bound of %d s with "
                             "no test failing by the mutant%s: "
                             "inconclusive" % (args.suite_timeout, also))
                return
            if names and not killers:
                m.result = "equivalent" if m.equivalent else "survived"
                m.message = ("%s failed in the full suite but also fails "
                             "without the mutant" % ", ".join(flaky))
                return
            m.result = "killed"
            m.by = "full suite: " + (", ".join(killers) or "make test-tiers")
            m.message = first_failure(log, start)
            if rc == "timeout":
                m.message += "; the suite then hit its bound of %d s" % (
                    args.suite_timeout)
            return
        m.result = "equivalent" if m.equivalent else "survived"
    finally:
        m.seconds = time.time() - t0
        shutil.rmtree(tree, ignore_errors=True)


def md(text):
    return text.replace("|", "\\|")


def table(mutants):
    rows = ["| mutant | file:line | the bug | result | killed by | "
            "message or reason |", "|---|---|---|---|---|---|"]
    words = {"killed": "killed", "survived": "**survived**",
             "equivalent": "equivalent", "n/a": "**does not apply**",
             "build": "**build failed**", "baseline": "**baseline fails**",
             "skipped": "**skipped**", "timeout": "**inconclusive**"}
    for m in mutants:
        where = "%s:%s" % (m.file, m.line if m.line else "?")
        note = m.equivalent if m.result == "equivalent" else m.message
        rows.append("| %s | %s | %s | %s | %s | %s |" % (
            m.name, where, md(m.about), words.get(m.result, m.result),
            md(m.by) if m.by else "-", md(short(note or "-"))))
    return "\n".join(rows)


def score(mutants, elapsed):
    count = {}
    for m in mutants:
        count[m.result] = count.get(m.result, 0) + 1
    killed = count.get("killed", 0)
    by_suite = sum(1 for m in mutants if m.result == "killed" and
                   m.by.startswith("full suite"))
    live = count.get("survived", 0)
    scored = killed + live
    other = ", ".join("%d %s" % (n, {"n/a": "do not apply",
                                     "build": "failed to build",
                                     "baseline": "had a failing baseline",
                                     "skipped": "skipped",
                                     "timeout": "inconclusive (timeout)"}[r])
                      for r, n in sorted(count.items())
                      if r in ("n/a", "build", "baseline", "skipped",
                               "timeout"))
    return ("mutants: %d run; killed %d (%d by their own tests, %d by the "
            "full suite), survived %d, equivalent %d%s; score %d/%d = "
            "%.0f%%; %d min %d s" % (
                len(mutants), killed, killed - by_suite, by_suite, live,
                count.get("equivalent", 0), "; " + other if other else "",
                killed, scored, 100.0 * killed / scored if scored else 0,
                elapsed // 60, elapsed % 60))


def in_parallel(items, work_fn, done_fn, jobs):
    """work_fn(item) for every item, jobs at once in threads; done_fn(its
    result) in this thread as each ends. This thread only waits (in
    short steps, so a signal is handled at once)."""
    todo = list(items)
    lock = threading.Lock()
    results = []  # (result or None, exception or None)
    wake = threading.Event()

    def worker():
        while True:
            with lock:
                if not todo:
                    return
                item = todo.pop(0)
            try:
                r = (work_fn(item), None)
            except BaseException as e:  # reported by the main thread
                r = (None, e)
            with lock:
                results.append(r)
            wake.set()

    threads = [threading.Thread(target=worker, daemon=True)
               for _ in range(min(jobs, len(todo)))]
    for t in threads:
        t.start()
    while True:
        wake.wait(1)
        wake.clear()
        with lock:
            ready, results[:] = results[:], []
        for result, error in ready:
            if error is not None:
                raise error
            done_fn(result)
        if not any(t.is_alive() for t in threads):
            with lock:
                ready = results[:]
            for result, error in ready:
                if error is not None:
                    raise error
                done_fn(result)
            return


def main():
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # make mutate LIST=1 | head
    ap = argparse.ArgumentParser(
        description="Mutation testing of slotlb (docs/TESTING.md).")
    ap.add_argument("--only", metavar="NAMES",
                    help="comma-separated mutant names or globs")
    ap.add_argument("--fast", action="store_true",
                    help="no full-suite stage for mutants that survive "
                    "their own tests")
    ap.add_argument("--check", action="store_true",
                    help="only say whether each mutant still applies")
    ap.add_argument("--list", action="store_true", help="list the mutants")
    ap.add_argument("--no-baseline", action="store_true",
                    help="do not run the tests on the unmutated tree first")
    ap.add_argument("--logs", metavar="DIR",
                    help="keep every mutant's build and test log in DIR")
    ap.add_argument("--table", metavar="FILE",
                    help="also write the result table to FILE")
    ap.add_argument("--suite-timeout", type=int, default=1800,
                    metavar="S", help="bound of the full-suite stage")
    ap.add_argument("--jobs", type=int, default=3, metavar="N",
                    help="mutants tested at once, each in its own scratch "
                    "copy (default 3); serial tests still run alone")
    args = ap.parse_args()
    if args.jobs < 1:
        print("Error: mutate: --jobs %d: at least 1" % args.jobs,
              file=sys.stderr)
        return 2

    try:
        mutants = load_mutants()
    except (FormatError, OSError) as e:
        print("Error: mutants: %s" % e, file=sys.stderr)
        return 2
    if args.only:
        pats = [p.strip() for p in args.only.split(",") if p.strip()]
        unknown = [p for p in pats if not any(fnmatch.fnmatch(m.name, p)
                                              for m in mutants)]
        if unknown:
            print("Error: mutate: no mutant named %s (make mutate LIST=1)"
                  % ", ".join(unknown), file=sys.stderr)
            return 2
        mutants = [m for m in mutants
                   if any(fnmatch.fnmatch(m.name, p) for p in pats)]
    if args.list:
        for m in mutants:
            print("%-28s %-32s %s" % (m.name, m.file, m.about))
        return 0
    if args.check:
        bad = 0
        for m in mutants:
            with tempfile.TemporaryDirectory() as d:
                os.makedirs(os.path.dirname(os.path.join(d, m.file)),
                            exist_ok=True)
                src = os.path.join(ROOT, m.file)
                if os.path.exists(src):
                    shutil.copy2(src, os.path.join(d, m.file))
                why = apply(m, d)
            bad += why is not None
            print("%-28s %s" % (m.name, why or "applies at %s:%d" %
                                (m.file, m.line)))
        return 1 if bad else 0
    if os.geteuid() != 0:
        print("Error: mutate: needs root (the BPF and integration tests "
              "it runs do)", file=sys.stderr)
        return 2

    t_start = time.time()
    work = tempfile.mkdtemp(prefix="slotlb-mutate.")
    logs = args.logs or os.path.join(work, "logs")
    os.makedirs(logs, exist_ok=True)
    global trace
    trace = os.path.join(logs, "runs.log")

    def interrupted(sig, frame):
        global stopping
        with running_lock:
            stopping = True
            procs = list(running)
        for proc in procs:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for proc in procs:
            stop(proc)
        shutil.rmtree(work, ignore_errors=True)
        print("\nmutate: interrupted", file=sys.stderr)
        os._exit(130)

    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)
    try:
        base = os.path.join(work, "base")
        print("mutate: copying the working tree to %s and building it" %
              base, file=sys.stderr)
        copy_tree(base)
        blog = os.path.join(logs, "base.log")
        if make(base, "build-mutant", blog, 1800) != 0:
            print("Error: mutate: the unmutated tree does not build: %s" %
                  first_failure(blog, 0), file=sys.stderr)
            return 1
        baseline, took = {}, {}
        cmds = sorted({c for m in mutants for c in m.kill})
        blogs = os.path.join(logs, "baseline")
        os.makedirs(blogs, exist_ok=True)

        def base_test(i, cmd):
            log = os.path.join(blogs, "%02d-%s.log" % (
                i, re.sub(r"[^A-Za-z0-9_.-]+", "_", cmd)[-60:]))
            t0 = time.time()
            rc = run(kill_argv(cmd, base), base, 1200, log)
            return cmd, rc, time.time() - t0, log

        def base_done(result):
            cmd, rc, secs, log = result
            BASELINE_LOGS[cmd] = log
            baseline[cmd], took[cmd] = rc, secs
            print("mutate: baseline %s: %s (%.0f s)" % (
                cmd, "ok" if rc == 0 else
                "FAILS (%s): %s" % (rc, first_failure(log, 0)), secs),
                file=sys.stderr)

        if not args.no_baseline:
            print("mutate: the baseline: %d tests on the unmutated tree, "
                  "%d at once" % (len(cmds), args.jobs), file=sys.stderr)
            in_parallel(list(enumerate(cmds)), lambda c: base_test(*c),
                        base_done, args.jobs)

        # The longest first (their tests' baseline time), so the last
        # jobs are short ones; the table keeps the files' order.
        order = sorted(mutants, key=lambda m: -sum(took.get(c, 0)
                                                   for c in m.kill))
        done = [0]

        def mutant_done(m):
            done[0] += 1
            print("mutate: [%d/%d] %s: %s%s (%.0f s)" % (
                done[0], len(mutants), m.name, m.result,
                " by " + m.by if m.by else "", m.seconds), file=sys.stderr)

        def one(m):
            test_mutant(m, base, work, logs, args, baseline, took)
            return m

        in_parallel(order, one, mutant_done, args.jobs)
        elapsed = int(time.time() - t_start)
        out = table(mutants) + "\n\n" + score(mutants, elapsed) + "\n"
        print(out)
        if args.table:
            with open(args.table, "w", encoding="utf-8") as f:
                f.write(out)
        if args.logs:
            print("mutate: logs in %s" % args.logs, file=sys.stderr)
        ok = all(m.result in ("killed", "equivalent") for m in mutants)
        return 0 if ok else 1
    finally:
        # scratch trees and, unless --logs put them elsewhere, the logs
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
