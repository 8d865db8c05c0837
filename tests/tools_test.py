#!/usr/bin/env python3
"""Tests of the results half (scripts/isp) on fixture runs: no kernel, no
emulator. TAP goes through the kunit.py of an imported tree (KUNIT_TREE,
default build/BASE/linux: scripts/base-tree).

    tests/tools_test.py [-v]
"""
import os
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from isp import bench, classify, mainline, modes, render, results, runid, series, tap  # noqa: E402
from isp.results import FAIL, PASS, SKIP, Kind, Problem, Result, Test  # noqa: E402

BASE = os.environ.get("BASE", "6.12")
TREE = os.environ.get("KUNIT_TREE", os.path.join(ROOT, "build", BASE, "linux"))

# What the guest's harness writes: a plan, a block per test, a result line.
TAP_TWO_OF_THREE = """\
TAP version 13
# nproc 2
1..3
# selftests: kvm: x86_64/first
# running x86_64/first
# x86_64/first: exit 0 after 1s
ok 1 selftests: kvm: x86_64/first
# selftests: kvm: x86_64/second -n 5
# Random seed: 0x6b8b4567
# ==== Test Assertion Failure ====
#   x86_64/second.c:42: val == expected
#   pid=115 tid=120 errno=0 - Success
# sh: addr2line: not found
#   L2 read 0xaa, expected 0xbb
# x86_64/second -n 5: exit 254 after 3s
not ok 2 selftests: kvm: x86_64/second -n 5 # exit=254
# selftests: kvm: x86_64/third
"""
CONSOLE_QUIET = "[    0.000000] Linux version 6.12.117\n[    2.2] Run /init as init process\n"
CONSOLE_WARNING = CONSOLE_QUIET + """\
[    5.1] ------------[ cut here ]------------
[    5.1] WARNING: CPU: 1 PID: 120 at arch/x86/kvm/mmu/mmu.c:1234 kvm_mmu_zap+0x1/0x2
[    5.1] Call Trace:
[    5.1]  <TASK>
[    5.1] ---[ end trace 0000000000000000 ]---
"""
CONSOLE_KNOWN = CONSOLE_QUIET + """\
[    1.0] WARNING: CPU: 0 PID: 0 at arch/x86/kernel/cpu/topology_common.c:57 parse_legacy+0x1/0x2
[    1.0] Call Trace:
"""


def run_dir(parent, name, tap_text=None, console=None, stall=None):
    d = os.path.join(parent, name)
    os.makedirs(d)
    for fname, text in (("tap.log", tap_text), ("console.log", console), ("stall", stall)):
        if text is not None:
            with open(os.path.join(d, fname), "w") as f:
                f.write(text)
    return d


def result(*tests, problems=()):
    return Result(run="r", tests={n: Test(s, f"why {n}") for n, s in tests},
                  problems=list(problems))


class ModesTest(unittest.TestCase):
    def test_table_and_shell_agree(self):
        table = modes.load()
        self.assertEqual(list(table), ["tdp", "shadow", "intel-tdp", "intel-shadow"])
        for m in table.values():
            out = subprocess.run(
                ["bash", "-c", f". {ROOT}/scripts/lib.sh; runner_for {m.name}; "
                 f"runner_mode {m.runner} {m.arg}"],
                capture_output=True, text=True, env=dict(os.environ, BASE=BASE))
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertEqual(out.stdout.splitlines(),
                             [f"{m.runner} {m.arg}", f"{m.test_timeout} {m.params}"])

    def test_unknown_mode_is_named(self):
        with self.assertRaisesRegex(modes.UnknownMode, "unknown test mode 'amd' .known: tdp"):
            modes.get("amd")


class ParseTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.exists(os.path.join(TREE, "tools/testing/kunit/kunit.py")):
            raise RuntimeError(f"no kunit.py in {TREE}: run BASE={BASE} scripts/base-tree")

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def parse(self, name, **files):
        return tap.parse_run(run_dir(self.tmp.name, name, **files), TREE, ROOT)

    def test_short_plan_names_the_last_test(self):
        r = self.parse("short", tap_text=TAP_TWO_OF_THREE, console=CONSOLE_QUIET)
        self.assertEqual(r.plan, 3)
        self.assertEqual({n: t.status for n, t in r.tests.items()},
                         {"x86_64/first": PASS, "x86_64/second -n 5": FAIL})
        self.assertEqual([p.kind for p in r.problems], [Kind.SHORT_TAP])
        self.assertIn("last started: x86_64/third", r.problems[0].text)

    def test_first_failure_is_the_assertion_message(self):
        r = self.parse("fail", tap_text=TAP_TWO_OF_THREE, console=CONSOLE_QUIET)
        t = r.tests["x86_64/second -n 5"]
        self.assertEqual(t.first_failure, "L2 read 0xaa, expected 0xbb")
        self.assertEqual(t.seconds, 3)

    def test_failure_without_assertion_is_its_last_line(self):
        text = TAP_TWO_OF_THREE + """\
# killed by a signal
# x86_64/third: exit 139 after 0s
not ok 3 selftests: kvm: x86_64/third # exit=139
# isp: all tests done
"""
        r = self.parse("noassert", tap_text=text, console=CONSOLE_QUIET)
        self.assertEqual(r.problems, [])
        self.assertEqual(r.tests["x86_64/third"].first_failure, "killed by a signal")

    def test_silent_timeout_is_named(self):
        text = TAP_TWO_OF_THREE + """\
# x86_64/third: exit 137 after 60s
not ok 3 selftests: kvm: x86_64/third # TIMEOUT 60 seconds
# isp: all tests done
"""
        r = self.parse("timeout", tap_text=text, console=CONSOLE_QUIET)
        self.assertEqual(r.tests["x86_64/third"].first_failure, "TIMEOUT 60 seconds")

    def test_stall_and_no_tap(self):
        r = self.parse("stall", tap_text="", console=CONSOLE_QUIET,
                       stall="STALL: no guest output for 210s during x86_64/first")
        self.assertEqual([p.kind for p in r.problems], [Kind.NO_TAP, Kind.NO_PLAN, Kind.STALL])

    def test_splat_fails_known_warning_does_not(self):
        r = self.parse("splat", tap_text=TAP_TWO_OF_THREE, console=CONSOLE_WARNING)
        self.assertIn(Kind.SPLATS, [p.kind for p in r.problems])
        self.assertIn("mmu.c:1234", r.splats[0])
        r = self.parse("known", tap_text=TAP_TWO_OF_THREE, console=CONSOLE_KNOWN)
        self.assertEqual(r.splats, [])
        self.assertEqual(len(r.known_splats), 1)

    def test_missing_console_is_not_a_splat(self):
        r = self.parse("noconsole", tap_text=TAP_TWO_OF_THREE)
        self.assertEqual(r.splats, [])
        self.assertIn(Kind.NO_CONSOLE, [p.kind for p in r.problems])

    def test_save_load_round_trip(self):
        r = self.parse("rt", tap_text=TAP_TWO_OF_THREE, console=CONSOLE_QUIET)
        d = os.path.join(self.tmp.name, "rt")
        r.save(d)
        self.assertEqual(results.load(d), r)


class MergeTest(unittest.TestCase):
    def test_resume_after_a_frozen_test(self):
        with tempfile.TemporaryDirectory() as tmp:
            first = Result(run="a", plan=3, tests={"x86_64/first": Test(PASS)}, problems=[
                Problem(Kind.SHORT_TAP, "short TAP: plan 1..3, 1 results"),
                Problem(Kind.STALL, "STALL: during x86_64/second"),
                Problem(Kind.SPLATS, "1 kernel splat(s) in console.log")])
            second = Result(run="a-resume1", plan=1, tests={"x86_64/third": Test(FAIL, "x")},
                            problems=[Problem(Kind.SPLATS, "2 kernel splat(s) in console.log")])
            for r in (first, second):
                os.makedirs(os.path.join(tmp, r.run))
                r.save(os.path.join(tmp, r.run))
            with open(os.path.join(tmp, "a", "stall"), "w") as f:
                f.write("STALL: no guest output for 210s during x86_64/second\n")
            m = results.merge(tmp, 3, ["a", "a-resume1"], ["x86_64/second"])
        self.assertEqual({n: t.status for n, t in m.tests.items()},
                         {"x86_64/first": PASS, "x86_64/second": FAIL, "x86_64/third": FAIL})
        self.assertIn("the tests after it ran in a-resume1", m.tests["x86_64/second"].first_failure)
        # The freeze is the frozen test's failure; the splats stay problems.
        self.assertEqual([(p.kind, p.text) for p in m.problems], [
            (Kind.SPLATS, "1 kernel splat(s) in console.log"),
            (Kind.SPLATS, "a-resume1: 2 kernel splat(s) in console.log")])


class ClassifyTest(unittest.TestCase):
    def cls(self, bs, ps, base_reruns=(), patched_reruns=(), ours=()):
        rows, bad = classify.classify(
            "tdp", result(("t", bs)), result(("t", ps)), set(ours),
            [result(("t", s)) for s in base_reruns], [result(("t", s)) for s in patched_reruns])
        return rows[0][3], bad

    def test_classes(self):
        self.assertEqual(self.cls(PASS, PASS), (classify.BOTH_PASS, []))
        self.assertEqual(self.cls(FAIL, FAIL)[0], classify.BOTH_FAIL)
        self.assertEqual(self.cls(FAIL, PASS)[0], classify.FIXED)
        self.assertEqual(self.cls(PASS, SKIP)[0], classify.SKIPPED)

    def test_regression_fails_every_patched_rerun_and_no_base_one(self):
        c, bad = self.cls(PASS, FAIL, [PASS, PASS], [FAIL, FAIL])
        self.assertEqual(c, classify.REGRESSION)
        self.assertEqual(len(bad), 1)
        self.assertEqual(self.cls(PASS, FAIL)[0], classify.REGRESSION)   # no re-runs

    def test_flaky_rerun(self):
        self.assertEqual(self.cls(PASS, FAIL, [PASS, PASS], [FAIL, PASS]), (classify.FLAKY, []))
        self.assertEqual(self.cls(PASS, FAIL, [PASS, FAIL], [FAIL, FAIL]), (classify.FLAKY, []))

    def test_series_test_must_pass_on_patched(self):
        self.assertEqual(self.cls(SKIP, SKIP, ours=["t"])[0], classify.SERIES_SKIP)
        c, bad = self.cls(FAIL, FAIL, ours=["t"])
        self.assertEqual(len(bad), 1)
        self.assertIn("series test t does not pass", bad[0])

    def test_series_test_that_did_not_run_fails_the_report(self):
        rows, bad = classify.classify("tdp", result(("other", PASS)), result(("other", PASS)),
                                      {"x86_64/nested_pte_write_test"})
        self.assertEqual(bad, ["tdp: series test x86_64/nested_pte_write_test did not run on patched"])
        rows, bad = classify.classify("tdp", result(("t -n 5", PASS)), result(("t -n 5", PASS)), {"t"})
        self.assertEqual(bad, [])

    def test_suspects_pass_on_base_only(self):
        base = result(("a", PASS), ("b", PASS), ("c", FAIL), ("d", PASS))
        patched = result(("a", PASS), ("b", FAIL), ("c", FAIL))
        self.assertEqual(classify.suspects(base, patched), ["b", "d"])
        self.assertEqual(classify.suspects(base, None), ["a", "b", "d"])

    def test_missing_run_and_run_problems_fail(self):
        rows, bad = classify.classify("tdp", None, result(("t", PASS)), set())
        self.assertEqual((rows, bad), ([], ["tdp: no base run"]))
        rows, bad = classify.classify(
            "tdp", result(("t", PASS)),
            result(problems=[Problem(Kind.STALL, "STALL: x")]), set())
        self.assertEqual(rows[0][3], classify.not_run("patched"))
        self.assertEqual(bad, ["tdp/patched: STALL: x"])


class ReportFilesTest(unittest.TestCase):
    """scripts/report on damaged result files and on another BUILD."""
    def report(self, build, env=None):
        e = dict(os.environ, BASE="6.12", BUILD=build)
        e.pop("ISP_RUNS", None)
        e.update(env or {})
        return subprocess.run([os.path.join(ROOT, "scripts", "report"), "tdp"], env=e,
                              capture_output=True, text=True)

    def write(self, build, name, text):
        d = os.path.join(build, "runs", name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "result.json"), "w") as f:
            f.write(text)

    def test_truncated_result_is_a_named_error(self):
        with tempfile.TemporaryDirectory() as b:
            self.write(b, "base-tdp", '{"run": "base-tdp", "tests": {')
            r = self.report(b)
            self.assertEqual(r.returncode, 1)
            self.assertRegex(r.stderr, r"^error: .*base-tdp/result.json is not valid JSON")
            self.assertNotIn("Traceback", r.stderr)

    def test_entry_without_status_is_a_named_error(self):
        with tempfile.TemporaryDirectory() as b:
            self.write(b, "base-tdp", '{"run": "base-tdp", "tests": {"t": {}}}')
            r = self.report(b)
            self.assertEqual(r.returncode, 1)
            self.assertRegex(r.stderr, r"^error: .*is not a result of scripts/parse \(missing or wrong 'status'\)")

    def test_runs_come_from_the_given_build_only(self):
        passing = ('{"run": "%s", "plan": 1, "tests": {"x86_64/nested_pte_write_test": '
                   '{"status": "PASS"}}}')
        failing = passing.replace("PASS", "FAIL")
        with tempfile.TemporaryDirectory() as other, tempfile.TemporaryDirectory() as mine:
            for side in ("base", "patched"):
                self.write(other, f"{side}-tdp", passing % f"{side}-tdp")
                self.write(mine, f"{side}-tdp", failing % f"{side}-tdp")
            r = self.report(mine)
            self.assertEqual(r.returncode, 1, r.stdout)
            self.assertIn("does not pass on patched", r.stdout + r.stderr)
            self.assertTrue(os.path.exists(os.path.join(mine, "report.md")))
            self.assertEqual(self.report(other).returncode, 0)


class RenderTest(unittest.TestCase):
    def test_verdict_first(self):
        m = modes.get("tdp")
        text = render.report("6.12", "base vs patched", ("abc", "def"), [m],
                             {"tdp": [("t", PASS, FAIL, classify.REGRESSION, "why")]},
                             {}, [], ["tdp: t passes on base, fails on patched: why"])
        lines = text.splitlines()
        self.assertTrue(lines[0].startswith("# A/B report"))
        self.assertTrue(lines[2].startswith("Verdict: FAIL (1 problem"))
        self.assertIn("| t | PASS | FAIL | REGRESSION | why |", text)
        self.assertIn(m.params, text)


BENCH_LINES = """\
kernel=base thread=multi pair=1 phase=retry vcpus=2 ops=10 seconds=1 ops_per_sec=100.0 exits=7.000 mmu_flooded=0.000
kernel=patched thread=multi pair=1 phase=retry vcpus=2 ops=10 seconds=1 ops_per_sec=90.0 exits=8.000 mmu_flooded=0.000
kernel=patched thread=multi pair=2 phase=retry vcpus=2 ops=10 seconds=1 ops_per_sec=300.0 exits=8.000 mmu_flooded=0.000
kernel=base thread=multi pair=2 phase=retry vcpus=2 ops=10 seconds=1 ops_per_sec=200.0 exits=7.000 mmu_flooded=0.000
kernel=base-lockstat thread=multi pair=1 phase=retry vcpus=2 ops=10 seconds=1 ops_per_sec=1.0 mmu_lock_w_acq=7.000
kernel=patched-lockstat thread=multi pair=1 phase=retry vcpus=2 ops=10 seconds=1 ops_per_sec=1.0 mmu_lock_w_acq=6.000
"""


class BenchTest(unittest.TestCase):
    def test_ratio_within_pairs_and_counts(self):
        text = bench.report(bench.parse(BENCH_LINES), ["# title"])
        # Pair 1: 90/100, pair 2: 300/200; the median of the two ratios.
        self.assertIn("| retry | 2 | private | 2 | 150 (100-200) | 195 (90-300) | "
                      "1.200 (0.900-1.500) |", text)
        self.assertIn("| 7.000 -> 8.000 |", text)
        self.assertIn("| 7.000 -> 6.000 |", text)   # LOCK_STAT rows apart
        self.assertNotIn("mmu_flooded", text)       # zero everywhere

    def test_malformed_line_is_named(self):
        with self.assertRaisesRegex(bench.BenchError, "line 2"):
            bench.parse(BENCH_LINES.splitlines()[0] + "\nkernel=base vcpus=two\n")


class RunIdTest(unittest.TestCase):
    def test_names(self):
        self.assertEqual(runid.name("base", "tdp"), "base-tdp")
        self.assertEqual(runid.name("patched-kcsan", "shadow", rerun=2),
                         "patched-kcsan-shadow-rerun2")
        self.assertEqual(runid.name("mutant-4", "tdp", purpose="stress"), "stress-mutant-4-tdp")
        self.assertEqual(runid.resumed("base-tdp", 1), "base-tdp-resume1")
        # The report finds a mode's re-runs, not another mode's.
        import fnmatch
        self.assertTrue(fnmatch.fnmatch("base-tdp-rerun1", runid.reruns_glob("base", "tdp")))
        self.assertFalse(fnmatch.fnmatch("base-intel-tdp-rerun1", runid.reruns_glob("base", "tdp")))


class SeriesTest(unittest.TestCase):
    def test_cover_letter_placeholders_and_change_id(self):
        patch = ("Subject: [PATCH 0/2] *** SUBJECT HERE ***\n\n*** BLURB HERE ***\n\n"
                 "base-commit: abc\n-- \n")
        text = series.fill_cover(patch, "KVM: x86: Do it\n\nWhy.\n", "20261202-x")
        self.assertIn("[PATCH 0/2] KVM: x86: Do it\n\nWhy.\n", text)
        self.assertIn("base-commit: abc\nchange-id: 20261202-x\n", text)


# A two-patch series in the shape git format-patch writes, for isp.mainline.
ML_PATCH1 = """Subject: [PATCH 1/2] change a

diff --git a/a.c b/a.c
index 1111111..2222222 100644
--- a/a.c
+++ b/a.c
@@ -1 +1 @@
-old
+new
-- 
"""
ML_PATCH2 = """Subject: [PATCH 2/2] add a test

diff --git a/a.c b/a.c
index 2222222..3333333 100644
--- a/a.c
+++ b/a.c
@@ -1 +1 @@
-new
+newer
diff --git a/tools/testing/selftests/kvm/x86/foo_test.c b/tools/testing/selftests/kvm/x86/foo_test.c
new file mode 100644
index 0000000..4444444
--- /dev/null
+++ b/tools/testing/selftests/kvm/x86/foo_test.c
@@ -0,0 +1,2 @@
+gva_t x;
+vm_get_stat(vm, mmu_pte_write);
-- 
"""


class MainlineTest(unittest.TestCase):
    def series(self, d, p1=ML_PATCH1, cover="base-commit: feed\n"):
        os.makedirs(d, exist_ok=True)
        for name, text in (("0000-cover-letter.patch", cover), ("0001-a.patch", p1),
                           ("0002-b.patch", ML_PATCH2)):
            with open(os.path.join(d, name), "w") as f:
                f.write(text)
        return mainline.patch_files(d)

    def test_base_commit_must_be_the_pinned_one(self):
        mainline.check_base("base-commit: feed\n", "feed")
        with self.assertRaisesRegex(mainline.CheckError, "base-commit is .*beef"):
            mainline.check_base("base-commit: beef\n", "feed")

    def test_patches_must_start_from_the_manifest_blobs(self):
        with tempfile.TemporaryDirectory() as d:
            patches = self.series(d)
            mainline.check_manifest(patches, {"a.c": ("apply", "x", "1111111abc")})
            with self.assertRaisesRegex(mainline.CheckError, "pre-image 1111111 is not 9999999"):
                mainline.check_manifest(patches, {"a.c": ("apply", "x", "9999999abc")})
            with self.assertRaisesRegex(mainline.CheckError, "does not list for apply"):
                mainline.check_manifest(patches, {"a.c": ("read", "x", "1111111abc")})

    def test_backport_differs_only_by_the_rules(self):
        with tempfile.TemporaryDirectory() as d:
            path, text = mainline.new_file(self.series(d), mainline.TEST_PATTERN)
        self.assertEqual(path, "tools/testing/selftests/kvm/x86/foo_test.c")
        rules = [("gva_t", "vm_vaddr_t"), ("mmu_pte_write)", '"mmu_pte_write")')]
        good = 'vm_vaddr_t x;\nvm_get_stat(vm, "mmu_pte_write");\n'
        mainline.check_backport(text, good, rules)
        with self.assertRaisesRegex(mainline.CheckError, "beyond the rules"):
            mainline.check_backport(text, good.replace("x;", "y;"), rules)
        with self.assertRaisesRegex(mainline.CheckError, "not in the mainline test"):
            mainline.check_backport(text, good, rules + [("absent", "x")])

    def test_rules_file_format(self):
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "rules")
            with open(p, "w") as f:
                f.write("# comment\n=== mainline\na\nb\n=== backport\nc\n=== end\n")
            self.assertEqual(mainline.read_rules(p), [("a\nb", "c")])
            with open(p, "w") as f:
                f.write("=== mainline\na\n=== backport\nc\n")
            with self.assertRaisesRegex(mainline.CheckError, "not closed"):
                mainline.read_rules(p)


if __name__ == "__main__":
    unittest.main()
