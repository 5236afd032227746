#!/usr/bin/python3
"""Run the libFuzzer targets of tests/fuzz/ and report on each.

    run.py --bin DIR [--seconds N] [--jobs J] [--replay] [--artifacts DIR]
           [TARGET...]

Fuzzing: each target runs for N seconds on a copy of its checked-in corpus
(tests/fuzz/corpus/<target>/, copied to a temporary directory so the run
never writes into the repository), with tests/fuzz/<target>.dict if there
is one, at most J targets at a time. Prints per target: seconds, executions
per second, coverage (cov: and ft: of libFuzzer's final stats), crashes.
A crash's input is kept under the artifacts directory (default DIR/crashes)
with its log; the exit status is then 1.

--replay: instead, run every file of tests/fuzz/regressions/<target>/ once
through its target (files whose name starts with '.', and README*, are
skipped); exit status 1 if any fails.
"""

import argparse
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")
REGRESSIONS = os.path.join(HERE, "regressions")


def targets_in(bindir):
    return sorted(f[len("fuzz_"):] for f in os.listdir(bindir)
                  if f.startswith("fuzz_") and
                  os.access(os.path.join(bindir, f), os.X_OK))


def parse_stats(log):
    """cov, ft, exec/s, executions from a libFuzzer log."""
    cov = ft = execs_s = runs = None
    for m in re.finditer(r"cov: (\d+) ft: (\d+)", log):
        cov, ft = int(m.group(1)), int(m.group(2))
    m = re.search(r"stat::average_exec_per_sec:\s*(\d+)", log)
    if m:
        execs_s = int(m.group(1))
    m = re.search(r"stat::number_of_executed_units:\s*(\d+)", log)
    if m:
        runs = int(m.group(1))
    return cov, ft, execs_s, runs


def fuzz_one(bindir, target, seconds, artifacts):
    work = tempfile.mkdtemp(prefix="octo-fuzz-%s-" % target)
    try:
        corpus = os.path.join(work, "corpus")
        seeds = os.path.join(CORPUS, target)
        if os.path.isdir(seeds):
            shutil.copytree(seeds, corpus)
        else:
            os.mkdir(corpus)
        crashdir = os.path.join(work, "artifacts")
        os.mkdir(crashdir)
        cmd = [os.path.join(bindir, "fuzz_" + target),
               "-max_total_time=%d" % seconds,
               "-print_final_stats=1",
               "-timeout=25",
               "-artifact_prefix=%s/" % crashdir]
        d = os.path.join(HERE, target + ".dict")
        if os.path.exists(d):
            cmd.append("-dict=" + d)
        cmd.append(corpus)
        start = time.monotonic()
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           cwd=work)
        elapsed = time.monotonic() - start
        log = p.stdout.decode(errors="replace")
        found = sorted(os.listdir(crashdir))
        kept = []
        if p.returncode != 0 or found:
            keep = os.path.join(artifacts, target)
            os.makedirs(keep, exist_ok=True)
            for f in found:
                shutil.copy(os.path.join(crashdir, f), keep)
                kept.append(os.path.join(keep, f))
            with open(os.path.join(keep, "fuzz.log"), "w") as f:
                f.write(log)
        cov, ft, execs_s, runs = parse_stats(log)
        return {"target": target, "rc": p.returncode, "seconds": elapsed,
                "cov": cov, "ft": ft, "exec_s": execs_s, "runs": runs,
                "crashes": kept, "log": log,
                "corpus": len(os.listdir(corpus))}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def report(log, limit=50):
    """The sanitizer's or libFuzzer's report, without the shadow map."""
    lines = log.splitlines()
    start = None
    for i, line in enumerate(lines):
        if re.search(r"==\d+==ERROR|runtime error:|invariant broken|"
                     r"deadly signal|ERROR: libFuzzer", line):
            start = i
            break
    if start is None:
        return "\n".join(lines[-limit:])
    out = []
    for line in lines[start:]:
        if line.startswith("Shadow bytes around"):
            break
        out.append(line)
        if line.startswith("SUMMARY:") or len(out) >= limit:
            break
    return "\n".join(out)


def fmt(v):
    return "-" if v is None else str(v)


def fuzz(args, targets):
    failed = 0
    results = {}
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        futs = {pool.submit(fuzz_one, args.bin, t, args.seconds,
                            args.artifacts): t for t in targets}
        for fut in concurrent.futures.as_completed(futs):
            r = fut.result()
            results[r["target"]] = r
            print("fuzz %-12s done in %.0f s%s" % (
                r["target"], r["seconds"],
                "" if r["rc"] == 0 else ": CRASH (exit %d)" % r["rc"]),
                flush=True)
    print()
    print("%-12s %8s %10s %12s %6s %7s %7s %8s" % (
        "target", "seconds", "exec/s", "executions", "cov", "ft",
        "corpus", "crashes"))
    for t in targets:
        r = results[t]
        bad = r["rc"] != 0 or r["crashes"]
        ncrash = len(r["crashes"]) or (1 if r["rc"] != 0 else 0)
        print("%-12s %8.0f %10s %12s %6s %7s %7s %8d" % (
            t, r["seconds"], fmt(r["exec_s"]), fmt(r["runs"]),
            fmt(r["cov"]), fmt(r["ft"]), r["corpus"], ncrash))
        if bad:
            failed += 1
    for t in targets:
        r = results[t]
        if r["rc"] == 0 and not r["crashes"]:
            continue
        print("\n== fuzz_%s crashed (exit %d):" % (t, r["rc"]))
        print(report(r["log"]))
        print("full log: %s" % os.path.join(args.artifacts, t, "fuzz.log"))
        for c in r["crashes"]:
            print("input kept: %s" % c)
        print("replay: %s %s" % (os.path.join(args.bin, "fuzz_" + t),
                                 r["crashes"][0] if r["crashes"]
                                 else "<input>"))
        print("once fixed, add it: cp <input> %s/" %
              os.path.relpath(os.path.join(REGRESSIONS, t)))
    return 1 if failed else 0


def replay(args, targets):
    failed = 0
    for t in targets:
        d = os.path.join(REGRESSIONS, t)
        files = []
        if os.path.isdir(d):
            files = sorted(os.path.join(d, f) for f in os.listdir(d)
                           if not f.startswith(".") and
                           not f.startswith("README") and
                           os.path.isfile(os.path.join(d, f)))
        if not files:
            print("replay %-12s no regression inputs" % t)
            continue
        p = subprocess.run([os.path.join(args.bin, "fuzz_" + t)] + files,
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        if p.returncode == 0:
            print("replay %-12s %d inputs ok" % (t, len(files)))
        else:
            failed += 1
            print("replay %-12s FAILED (exit %d)" % (t, p.returncode))
            print(report(p.stdout.decode(errors="replace")))
    return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", required=True,
                    help="directory of the fuzz_<target> binaries")
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--replay", action="store_true")
    ap.add_argument("--artifacts")
    ap.add_argument("targets", nargs="*")
    args = ap.parse_args()
    if args.artifacts is None:
        args.artifacts = os.path.join(args.bin, "crashes")
    args.artifacts = os.path.abspath(args.artifacts)
    args.bin = os.path.abspath(args.bin)
    known = targets_in(args.bin)
    targets = args.targets or known
    for t in targets:
        if t not in known:
            sys.exit("run.py: no fuzz_%s in %s" % (t, args.bin))
    if not targets:
        sys.exit("run.py: no fuzz_* binary in %s" % args.bin)
    sys.exit(replay(args, targets) if args.replay else fuzz(args, targets))


if __name__ == "__main__":
    main()
