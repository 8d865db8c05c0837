#!/usr/bin/env bash
# Failure-path tests of the boot-and-test pipeline: each boots the real base
# kernel (or feeds the real report) and checks that the failure is caught,
# named and bounded in time.
#   tests/pipeline.sh       (needs build/artifacts/base: scripts/build base)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"
[[ -f $BUILD/artifacts/base/bzImage ]] || die "no base kernel: run scripts/build base"

pass=0 fail=0
ok() { echo "ok - $1"; pass=$((pass + 1)); }
notok() { echo "not ok - $1"; printf '    %s\n' "$2" | head -n 30; fail=$((fail + 1)); }
check() { # NAME REGEX TEXT
	if grep -qE "$2" <<<"$3"; then ok "$1"; else notok "$1" "no /$2/ in: $3"; fi
}

# Fixture "kernel builds": the base kernel with tiny test programs.
fx=$BUILD/artifacts/fixture
rm -rf "$fx"
mkdir -p "$fx/kvm"
cp "$BUILD/artifacts/base/bzImage" "$fx/"
printf '#!/bin/sh\necho fixture: sleeping forever\nexec sleep 100000\n' >"$fx/kvm/hang"
printf '#!/bin/sh\necho fixture: fine\nexit 0\n' >"$fx/kvm/pass"
printf '#!/bin/sh\necho fixture: a child keeps stdout open\nsleep 100000 &\nexec sleep 100000\n' >"$fx/kvm/hangfork"
printf '#!/bin/sh\necho fixture: crashing the kernel\necho c >/proc/sysrq-trigger\n' >"$fx/kvm/crash"
chmod +x "$fx/kvm/"*
lists=$BUILD/fixture-lists
export SELFTESTS_FROM=fixture
mkdir -p "$lists"
printf 'hang\npass\nnot_built\nhangfork\npass again\n' >"$lists/hang.list"
printf 'pass\ncrash\npass\n' >"$lists/crash.list"
# The stall watchdog must name the test with its arguments, as listed.
printf 'pass\nhang --with args\n' >"$lists/stall.list"

# 1. A guest kernel that panics while running the tests fails the run, with
#    the panic printed, long before any timeout.
t0=$SECONDS
RUN_NAME=fixture-panic \
	"$root/scripts/run-vm" fixture tdp "$lists/crash.list" >/dev/null 2>&1 || true
out=$("$root/scripts/parse" "$BUILD/runs/fixture-panic" 2>&1) && rc=0 || rc=$?
check "guest panic: parse fails and prints the panic" "Kernel panic - not syncing: sysrq triggered crash" "$out"
if (( rc != 0 )); then ok "guest panic: parse exits non-zero"; else notok "guest panic: parse exits non-zero" "$out"; fi
if (( SECONDS - t0 < 60 )); then ok "guest panic: caught in $((SECONDS - t0))s"; else notok "guest panic: caught in time" "$((SECONDS - t0))s"; fi

# 2. A hanging test is killed at its timeout and named; the next test runs;
#    a listed test that is not in the initramfs is a named failure.
t0=$SECONDS
out=$(RUN_NAME=fixture-hang TEST_TIMEOUT=5 \
	"$root/scripts/run-vm" fixture tdp "$lists/hang.list" 2>&1) && rc=0 || rc=$?
check "scripts/run-vm names the failed tests" "error: test\(s\) failed: hang # TIMEOUT 5 seconds;not_built # missing binary;hangfork" "$out"
if (( rc != 0 )); then ok "scripts/run-vm exits non-zero when a test fails"; else notok "scripts/run-vm exits non-zero when a test fails" "$out"; fi
tap=$(tr -d '\r' <"$BUILD/runs/fixture-hang/tap.log" 2>/dev/null || true)
check "hanging test killed at its timeout and named" "^not ok 1 selftests: kvm: hang # TIMEOUT 5 seconds" "$tap"
check "test after the hanging one still runs" "^ok 2 selftests: kvm: pass$" "$tap"
check "listed test missing from the initramfs is named" "^not ok 3 selftests: kvm: not_built # missing binary" "$tap"
check "test whose child holds stdout is killed with its children" "^not ok 4 selftests: kvm: hangfork # TIMEOUT 5 seconds" "$tap"
check "the run goes on after it" "^ok 5 selftests: kvm: pass again$" "$tap"
out=$("$root/scripts/parse" "$BUILD/runs/fixture-hang" 2>&1 || true)
check "parse counts the hangs and the missing test as failures" "fail 3, pass 2" "$out"

# Each test of a run's result.json with its status and first failure line,
# then the run's problems.
results_of() {
	python3 - "$BUILD/runs/$1/result.json" <<'PY' 2>&1
import json, sys
r = json.load(open(sys.argv[1]))
for t, v in r["tests"].items():
    print(f"{t}: {v['status']}: {v['first_failure']}")
print("problems:", len(r["problems"]), r["problems"])
PY
}

# 3. A guest that stops printing is killed by the host watchdog, which names
#    the test it was in. It froze in the list's last test: scripts/run-list
#    (what scripts/ab runs) needs no new boot and makes that test's failure
#    the watchdog's message.
t0=$SECONDS
out=$(RUN_NAME=fixture-stall TEST_TIMEOUT=600 STALL_TIMEOUT=15 \
	"$root/scripts/run-list" tdp fixture "$lists/stall.list" 2>&1 || true)
check "stalled guest killed by the watchdog, test named" "STALL: no guest output for 15s, during hang --with args$" "$out"
if (( SECONDS - t0 < 90 )); then ok "stall caught in $((SECONDS - t0))s"; else notok "stall caught in time" "$((SECONDS - t0))s"; fi
out=$(results_of fixture-stall)
check "frozen last test fails with the watchdog's message" "^hang --with args: FAIL: STALL: no guest output for 15s, during hang --with args$" "$out"
check "frozen last test: no run problem left" "^problems: 0 " "$out"

# 3b. After a freeze in the middle of the list, scripts/run-list boots again
#     with the tests after the frozen one and folds the results: the frozen
#     test fails with the watchdog's message, the rest still count.
printf 'pass\nhang --with args\npass again\n' >"$lists/resume.list"
RUN_NAME=fixture-resume TEST_TIMEOUT=600 STALL_TIMEOUT=15 \
	"$root/scripts/run-list" tdp fixture "$lists/resume.list" >/dev/null 2>&1 || true
out=$(results_of fixture-resume)
check "frozen guest: the test after it ran in a new boot" "^pass again: PASS" "$out"
check "frozen guest: the frozen test fails with the watchdog's message" "^hang --with args: FAIL: STALL: no guest output for 15s, during hang --with args \(the tests after it ran in fixture-resume-resume1\)" "$out"
check "frozen guest: the resumed run has no run problem left" "^problems: 0 " "$out"

# 4. A test list naming a test that was not built (among SELFTESTS_FROM's
#    binaries, here the fixture's) stops scripts/ab at once.
out=$("$root/scripts/ab" "$lists/hang.list" 2>&1) && rc=0 || rc=$?
check "scripts/ab names tests that were not built" "names tests that were not built: not_built$" "$out"

# 5. The report: a test that passes on base and fails on patched in every
#    re-run is a regression; one that also fails on base in a re-run is a
#    flake; a skipped series test fails the report.
fake=$(mktemp -d)
mk() { # RUN TEST STATUS
	mkdir -p "$fake/runs/$1"
	python3 - "$fake/runs/$1/result.json" "$2" "$3" <<'PY'
import json, os, sys
path, test, status = sys.argv[1:]
r = json.load(open(path)) if os.path.exists(path) else {"plan": 0, "tests": {}, "splats": [], "known_splats": [], "problems": []}
r["tests"][test] = {"status": status, "first_failure": "fixture failure line", "seconds": 1}
r["plan"] = len(r["tests"])
json.dump(r, open(path, "w"))
PY
}
m=tdp
{
	mk base-$m t_regress PASS; mk patched-$m t_regress FAIL
	mk base-$m t_flaky PASS; mk patched-$m t_flaky FAIL
	mk base-$m t_env FAIL; mk patched-$m t_env FAIL
	mk patched-$m t_short PASS
	for k in 1 2; do
		mk base-$m-rerun$k t_regress PASS; mk patched-$m-rerun$k t_regress FAIL
		mk base-$m-rerun$k t_flaky PASS; mk patched-$m-rerun$k t_flaky PASS
	done
}
out=$(ISP_RUNS=$fake/runs "$root/scripts/report" tdp 2>&1) && rc=0 || rc=$?
check "report: pass->fail in every re-run is a REGRESSION" "\| t_regress \| PASS \| FAIL \| REGRESSION" "$out"
check "report: pass->fail that passes on re-run is flaky" "\| t_flaky \| PASS \| FAIL \| flaky \| re-runs: base 2/2 pass, patched 2/2 pass" "$out"
check "report: fail on both is an environment limit, listed" "\| t_env \| FAIL \| FAIL \| fail on both \(environment\) \| fixture failure line" "$out"
check "report: a test the base run never reached is not compared" "\| t_short \| MISSING \| PASS \| not run on base \|" "$out"
if (( rc != 0 )); then ok "report: exits non-zero on a regression"; else notok "report: exits non-zero on a regression" "$out"; fi
before=$(sha1sum <"$fake/report.md")
out=$(ISP_RUNS=$fake/runs "$root/scripts/report" intel-tdp 2>&1) && rc=0 || rc=$?
check "report: no runs for a mode is a named error" "no runs for modes intel-tdp" "$out"
if (( rc != 0 )) && [[ $(sha1sum <"$fake/report.md") == "$before" ]]; then
	ok "report: an empty run does not replace a written report"
else
	notok "report: an empty run does not replace a written report" "exit $rc; $out"
fi
out=$(ISP_RUNS=$fake/runs "$root/scripts/report" amd 2>&1) && rc=0 || rc=$?
check "report: an unknown mode is a named error" "unknown test mode 'amd'" "$out"
rm -rf "$fake"

# 6. The Bochs (Intel) runner: a panic ends the run with its lines (Bochs
#    cannot be told not to reboot), and a guest that stops printing is
#    killed by the wall-clock watchdog, test named.
t0=$SECONDS
RUN_NAME=fixture-intel-panic "$root/scripts/run-bochs" fixture tdp "$lists/crash.list" >/dev/null 2>&1 || true
out=$("$root/scripts/parse" "$BUILD/runs/fixture-intel-panic" 2>&1) && rc=0 || rc=$?
check "Bochs: guest panic printed" "Kernel panic - not syncing: sysrq triggered crash" "$out"
if (( rc != 0 )); then ok "Bochs: guest panic fails the run"; else notok "Bochs: guest panic fails the run" "$out"; fi
if (( SECONDS - t0 < 180 )); then ok "Bochs: panic caught in $((SECONDS - t0))s"; else notok "Bochs: panic caught in time" "$((SECONDS - t0))s"; fi
t0=$SECONDS
RUN_NAME=fixture-intel-stall TEST_TIMEOUT=600 STALL_TIMEOUT=15 \
	"$root/scripts/run-bochs" fixture tdp "$lists/stall.list" >/dev/null 2>&1 || true
out=$("$root/scripts/parse" "$BUILD/runs/fixture-intel-stall" 2>&1 || true)
check "Bochs: stalled guest killed by the watchdog, test named" "STALL: no guest output for 15s, during hang --with args$" "$out"
if (( SECONDS - t0 < 180 )); then ok "Bochs: stall caught in $((SECONDS - t0))s"; else notok "Bochs: stall caught in time" "$((SECONDS - t0))s"; fi

# 7. Known environment warnings (config/known-splats) are reported and do
#    not fail a run; a new splat right after one, or one not listed, does.
fake=$(mktemp -d)
printf 'TAP version 13\n1..1\nok 1 selftests: kvm: pass\n' >"$fake/tap.log"
known_warn="WARNING: CPU: 0 PID: 0 at arch/x86/kernel/fpu/xstate.c:606 fpu__init_system_xstate+0x6e1/0x998"
{
	echo "[    0.07] $known_warn"
	echo "[    0.07] RIP: 0010:fpu__init_system_xstate+0x6e1/0x998"
	echo "[    0.07] Call Trace:"
	echo "[    0.07] ---[ end trace 0000000000000000 ]---"
} >"$fake/console.log"
out=$("$root/scripts/parse" "$fake" 2>&1) && rc=0 || rc=$?
if (( rc == 0 )); then ok "known environment warning (with its trace) does not fail the run"; else notok "known environment warning does not fail the run" "$out"; fi
echo "[    0.08] WARNING: CPU: 0 PID: 1 at arch/x86/kvm/mmu/mmu.c:1234 kvm_mmu_pte_write+0x1/0x2" >>"$fake/console.log"
out=$("$root/scripts/parse" "$fake" 2>&1) && rc=0 || rc=$?
check "a new warning right after a known one is a splat" "kvm_mmu_pte_write" "$out"
if (( rc != 0 )); then ok "a new warning fails the run"; else notok "a new warning fails the run" "$out"; fi
rm -rf "$fake"

echo "pipeline: $pass passed, $fail failed"
(( fail == 0 ))
