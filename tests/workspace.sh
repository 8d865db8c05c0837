#!/usr/bin/env bash
# Tests of the workspace itself: each runs the real command on a scratch
# build directory and checks its exit status and message.
#   tests/workspace.sh      (needs build/linux: scripts/base-tree)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"
require_tree

scratch=$(mktemp -d)
cleanup() {
	for wt in "$scratch"/*/linux "$scratch"/dirty; do
		# Not every one is a worktree of build/BASE/linux (stale/linux).
		if [[ -e $wt ]]; then git -C "$LINUX" worktree remove --force "$wt" 2>/dev/null || true; fi
	done
	git -C "$LINUX" worktree prune
	rm -rf "$scratch"
}
trap cleanup EXIT
pass=0 fail=0
ok() { echo "ok - $1"; pass=$((pass + 1)); }
notok() { echo "not ok - $1"; printf '    %s\n' "$2" | head -n 20; fail=$((fail + 1)); }

# expect NAME EXIT_WANTED REGEX -- command...
expect() {
	local name=$1 want=$2 re=$3; shift 4
	local out rc=0
	out=$("$@" 2>&1) || rc=$?
	if [[ $want == nonzero && $rc == 0 ]]; then
		notok "$name" "exit 0, wanted failure; output: $out"
	elif [[ $want == 0 && $rc != 0 ]]; then
		notok "$name" "exit $rc; output: $out"
	elif ! grep -qE "$re" <<<"$out"; then
		notok "$name" "output lacks /$re/: $out"
	else
		ok "$name"
	fi
}

base=$(base_commit)
# A clean kernel tree at the base, standing in for a user's kvm/next checkout.
git -C "$LINUX" worktree add -q --detach "$scratch/user" "$base"
user=$scratch/user

# 1. A patch that does not apply names itself, the file and the hunk.
mkdir -p "$scratch/bad-patches"
cat >"$scratch/bad-patches/0001-bad.patch" <<'PATCH'
From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001
From: Fixture <fixture@invalid>
Date: Thu, 1 Jan 2026 00:00:00 +0000
Subject: [PATCH] fixture: change a line that is not there

---
 arch/x86/kvm/x86.c | 2 +-
 1 file changed, 1 insertion(+), 1 deletion(-)

diff --git a/arch/x86/kvm/x86.c b/arch/x86/kvm/x86.c
--- a/arch/x86/kvm/x86.c
+++ b/arch/x86/kvm/x86.c
@@ -1,3 +1,3 @@
 this line
-is not in
+the file
 x86.c
-- 
2.39.5
PATCH
expect "patch that does not apply is named with file and hunk" nonzero \
	'patch 0001-bad.patch does not apply to the base: arch/x86/kvm/x86.c:1' -- \
	env BUILD="$scratch/b1" PATCHES="$scratch/bad-patches" KERNEL_SRC="$user" \
	"$root/scripts/base-tree"

# 1b. A base revision the archive does not offer is named, not guessed.
expect "unknown Debian base revision is named" nonzero "apt-get download ${BASE_PACKAGE[$BASE]}=0.0-0 failed" -- \
	env BUILD="$scratch/b0" DEB_VERSION=0.0-0 "$root/scripts/base-tree"

# 1c. An unknown base is named, with the known ones, before anything runs.
expect "unknown base is named with the known bases" nonzero "unknown base '5.10' \\(known bases: ${BASES[*]} mainline\\)" -- \
	env BASE=5.10 "$root/scripts/base-tree"

# 1d. --help prints the command's usage and does nothing else.
for cmd in main test base-tree build mutants ab gates export-series stress; do
	expect "scripts/$cmd --help prints usage" 0 "scripts/$cmd|$cmd" -- \
		env BUILD="$scratch/help" "$root/scripts/$cmd" --help
done
if [[ -e $scratch/help ]]; then notok "--help touches nothing" "$scratch/help was created"; else ok "--help touches nothing"; fi

# 2. KERNEL_SRC that is not a kernel tree, or has uncommitted changes.
mkdir -p "$scratch/notkernel"
git -C "$scratch/notkernel" init -q
git -C "$scratch/notkernel" -c user.name=x -c user.email=x@invalid commit -q --allow-empty -m x
expect "KERNEL_SRC at a non-kernel git tree" nonzero 'is not a Linux kernel tree' -- \
	env BUILD="$scratch/b2" KERNEL_SRC="$scratch/notkernel" "$root/scripts/base-tree"
expect "KERNEL_SRC at a plain directory" nonzero 'is not a git tree' -- \
	env BUILD="$scratch/b3" KERNEL_SRC="$scratch/bad-patches" "$root/scripts/base-tree"
git -C "$LINUX" worktree add -q --detach "$scratch/dirty" "$base"
echo "/* uncommitted */" >>"$scratch/dirty/arch/x86/kvm/x86.c"
expect "KERNEL_SRC with uncommitted changes" nonzero 'has uncommitted changes' -- \
	env BUILD="$scratch/b4" KERNEL_SRC="$scratch/dirty" "$root/scripts/base-tree"

# 3. Apply patches/ on a KERNEL_SRC base, export again: byte-identical, and
#    the user's tree is untouched.
before=$(git -C "$user" rev-parse HEAD; git -C "$user" status --porcelain)
expect "apply patches/ through KERNEL_SRC" 0 'base-commit: ' -- \
	env BUILD="$scratch/b5" KERNEL_SRC="$user" "$root/scripts/base-tree"
expect "apply then export is byte-identical to patches/" 0 'patches/ is up to date' -- \
	env BUILD="$scratch/b5" "$root/scripts/export-series" --check
after=$(git -C "$user" rev-parse HEAD; git -C "$user" status --porcelain)
if [[ $before == "$after" ]]; then ok "KERNEL_SRC tree left untouched"; else notok "KERNEL_SRC tree left untouched" "$after"; fi

# 3b. A KERNEL_SRC that is not the tree build/BASE/linux was made from is
#     refused with a named error, not ignored.
expect "KERNEL_SRC other than the tree's base is refused" nonzero 'was made from base .*to switch trees, use another BUILD' -- \
	env BUILD="$scratch/b5" KERNEL_SRC="$scratch/notkernel" "$root/scripts/base-tree"
expect "KERNEL_SRC that does not exist, beside an existing tree, is named" nonzero 'KERNEL_SRC=/nonexistent is not a git tree' -- \
	env BUILD="$scratch/b5" KERNEL_SRC=/nonexistent "$root/scripts/base-tree"
expect "scripts/build without a tree is a named error" nonzero 'no kernel tree at .*run scripts/base-tree first' -- \
	env BUILD="$scratch/empty" "$root/scripts/build" base

# 4. Export twice without a change: no byte moves.
cp -r "$PATCHES" "$scratch/p1"
expect "export twice without change is byte-identical" 0 'patches/ is up to date' -- \
	"$root/scripts/export-series" --check

# 4b. base-tree on a tree with work patches/ does not hold names the kind of
#     work and keeps it; a series applied only in part is applied again.
b5=(env BUILD="$scratch/b5" KERNEL_SRC="$user" "$root/scripts/base-tree")
git -C "$scratch/b5/linux" reset -q --hard HEAD~2
expect "a series applied in part is applied again from patches/" 0 'applied only in part' -- "${b5[@]}"
expect "... and then matches patches/" 0 'patches/ is up to date' -- \
	env BUILD="$scratch/b5" "$root/scripts/export-series" --check
echo "/* uncommitted */" >>"$scratch/b5/linux/Makefile"
expect "uncommitted changes in the tree are refused" nonzero 'has uncommitted changes' -- "${b5[@]}"
git -C "$scratch/b5/linux" checkout -q Makefile
git -C "$scratch/b5/linux" -c user.name=x -c user.email=x@invalid commit -q --allow-empty -m "user work"
expect "a commit of the user's own is refused and kept" nonzero 'has commits that patches/.* does not hold \(from "user work"\)' -- "${b5[@]}"
git -C "$scratch/b5/linux" reset -q --hard HEAD~1
mkdir -p "$scratch/edited"
cp "$PATCHES"/*.patch "$scratch/edited/"
sed -i '0,/^+[^+]/s/^+\([^+].*\)$/+\1 \/\* hand edit \*\//' "$(ls "$scratch"/edited/*0001-*.patch)"
expect "a hand-edited patch file is named" nonzero 'differs from .*0001-' -- \
	env PATCHES="$scratch/edited" "${b5[@]}"

# 4c. Work on branch series while HEAD is detached (at the base, or at an
#     older patch) is found, refused and kept.
b6=(env BUILD="$scratch/b6" "$root/scripts/base-tree")
mkdir -p "$scratch/b6"
git clone -q --shared --no-checkout "$LINUX" "$scratch/b6/linux"
git -C "$scratch/b6/linux" checkout -q --detach "$base"
git -C "$scratch/b6/linux" branch -q -D series
echo "$base" >"$scratch/b6/base-commit"
expect "a fresh tree takes the series" 0 'base-commit: ' -- "${b6[@]}"
git -C "$scratch/b6/linux" -c user.name=x -c user.email=x@invalid commit -q --allow-empty -m "work on series"
work=$(git -C "$scratch/b6/linux" rev-parse HEAD)
git -C "$scratch/b6/linux" checkout -q --detach "$base"
expect "base-tree with HEAD detached at the base keeps work on branch series" nonzero \
	'has commits that patches/.* does not hold \(from "work on series"\) on refs/heads/series' -- "${b6[@]}"
git -C "$scratch/b6/linux" checkout -q --detach series~3
expect "... and with HEAD detached at an older patch" nonzero 'from "work on series"\) on refs/heads/series' -- "${b6[@]}"
if [[ $(git -C "$scratch/b6/linux" rev-parse series) == "$work" ]]; then
	ok "... and branch series still holds the work"
else
	notok "... and branch series still holds the work" "series is $(git -C "$scratch/b6/linux" rev-parse series)"
fi
expect "export-series refuses a HEAD detached from branch series" nonzero 'HEAD detached from branch series' -- \
	env BUILD="$scratch/b6" PATCHES="$scratch/p1" "$root/scripts/export-series"
expect "FORCE=1 names the commits it drops and keeps them on a branch" 0 \
	'kept on branch dropped-[0-9T]*-series' -- env FORCE=1 "${b6[@]}"
if git -C "$scratch/b6/linux" for-each-ref --format='%(objectname)' 'refs/heads/dropped-*' | grep -qx "$work"; then
	ok "... and the dropped commit is still reachable"
else
	notok "... and the dropped commit is still reachable" "no dropped-* branch points at $work"
fi
# An interrupted git am (Ctrl-C in base-tree's apply) is undone, not
# reported as uncommitted changes to commit.
git -C "$scratch/b6/linux" checkout -q series
git -C "$scratch/b6/linux" reset -q --hard HEAD~1
git_isp -C "$scratch/b6/linux" am -q "$scratch/bad-patches/0001-bad.patch" >/dev/null 2>&1 || true
expect "base-tree undoes an interrupted git am and applies the series" 0 'git am --abort' -- "${b6[@]}"
expect "... and the tree then matches patches/" 0 'patches/ is up to date' -- \
	env BUILD="$scratch/b6" "$root/scripts/export-series" --check

# 4d. export-series never deletes a patch it has no replacement for.
git -C "$scratch/b6/linux" reset -q --hard HEAD~2
cp -r "$PATCHES" "$scratch/p6"
ep=(env BUILD="$scratch/b6" PATCHES="$scratch/p6" "$root/scripts/export-series")
expect "export-series refuses a tree with fewer commits than patches" nonzero \
	'holds 4 commit\(s\) above the base, patches/.* holds 6 patch\(es\)' -- "${ep[@]}"
git -C "$scratch/b6/linux" reset -q --hard "$base"
expect "export-series refuses a tree with no commit above the base" nonzero 'holds 0 commit\(s\)' -- "${ep[@]}"
git -C "$scratch/b6/linux" reset -q --hard "$work"
git -C "$scratch/b6/linux" reset -q --hard HEAD~1
git_isp -C "$scratch/b6/linux" am -q "$scratch/bad-patches/0001-bad.patch" >/dev/null 2>&1 || true
expect "export-series refuses a tree in the middle of git am" nonzero 'in the middle of a git am or rebase' -- "${ep[@]}"
git -C "$scratch/b6/linux" am --abort
mkdir -p "$scratch/b6/.lock"
echo "1 (fixture)" >"$scratch/b6/.lock/owner"
expect "export-series refuses while another command holds the build directory" nonzero 'is in use by PID 1' -- "${ep[@]}"
rm -rf "$scratch/b6/.lock"
if diff -r "$PATCHES" "$scratch/p6" >/dev/null; then
	ok "... and every patch file is still there, unchanged"
else
	notok "... and every patch file is still there, unchanged" "$(diff -r "$PATCHES" "$scratch/p6" | head -5)"
fi
# A checkout whose series/BASE lacks the cover letter (a copy of this one).
mkdir -p "$scratch/nocover"
cp -r "$root/scripts" "$root/series" "$root/config" "$scratch/nocover/"
rm "$scratch/nocover/series/$BASE/cover-letter"
expect "export-series names a missing cover letter" nonzero "series/$BASE/cover-letter is missing" -- \
	env BUILD="$scratch/b6" PATCHES="$scratch/p6" "$scratch/nocover/scripts/export-series"

# 5. A checkpatch violation fails the checkpatch gate.
mkdir -p "$scratch/cp"
sed 's/^Signed-off-by: .*$//' "$(ls "$PATCHES"/*0001-*.patch)" >"$scratch/cp/0001-nosob.patch"
expect "checkpatch violation is reported as a failure" nonzero 'checkpatch FAIL 0001-nosob.patch' -- \
	"$root/scripts/checkpatch-series" "$scratch/cp"
expect "the series itself passes checkpatch" 0 'checkpatch ok' -- \
	"$root/scripts/checkpatch-series"

# 6. A mistyped test mode is named before anything is built or booted.
expect "scripts/ab names an unknown mode" nonzero "unknown test mode 'tdp,shadow'" -- \
	env MODES=tdp,shadow "$root/scripts/ab" "$root/tests/$BASE/ci.list"
expect "scripts/mutants names an unknown mode" nonzero "unknown test mode 'amd'" -- \
	env MUTANT_MODES=amd "$root/scripts/mutants"

expect "scripts/bench names a bad pair count" nonzero "PAIRS must be a positive number, not 'ten'" -- \
	"$root/scripts/bench" ten
expect "scripts/bench names a bad thread mode" nonzero "TCG_THREADS: single or multi, not 'both'" -- \
	env TCG_THREADS=both "$root/scripts/bench"
# A damaged cached .deb is named and moved aside, so that a re-run downloads
# it again.
debs=("$BUILD"/deb/*.deb)
if [[ -f ${debs[0]} ]]; then
	mkdir -p "$scratch/damaged/deb"
	head -c 100000 "${debs[0]}" >"$scratch/damaged/deb/$(basename "${debs[0]}")"
	expect "base-tree names a damaged cached .deb" nonzero "is damaged .* moved to .*\.damaged; run again" -- \
		env BUILD="$scratch/damaged" "$root/scripts/base-tree"
	if [[ -f $scratch/damaged/deb/$(basename "${debs[0]}").damaged && ! -e $scratch/damaged/deb/$(basename "${debs[0]}") ]]; then
		ok "... and moves it aside"
	else
		notok "... and moves it aside" "$(ls "$scratch/damaged/deb")"
	fi
else
	notok "base-tree names a damaged cached .deb" "no cached .deb in $BUILD/deb to damage (scripts/base-tree downloads one)"
fi
# A worktree whose tree was made anew (build/BASE/linux removed and
# imported again) is recreated, not reported as "not a git repository".
# A one-file repository stands in for the kernel tree.
stale=$scratch/stale
new_tree() {
	rm -rf "$stale/linux"
	git init -q "$stale/linux"
	echo "$1" >"$stale/linux/file"
	git_isp -C "$stale/linux" add file
	git_isp -C "$stale/linux" commit -q -m "$1"
}
checkout_in_stale() { env BUILD="$stale" bash -c ". '$root/scripts/lib.sh'; checkout_tree HEAD && cat \"\$SRC/file\""; }
new_tree first
expect "checkout_tree makes the worktree" 0 "^first$" -- checkout_in_stale
new_tree second
expect "checkout_tree recreates a worktree whose tree was made anew" 0 "^second$" -- checkout_in_stale
expect "scripts/parse names a tree without kunit.py" nonzero "no kunit.py in $scratch/nokunit" -- \
	"$root/scripts/parse" "$BUILD/runs" "$scratch/nokunit"
expect "scripts/stress names the base it is for" nonzero "use BASE=6.12" -- \
	env BASE=6.1 "$root/scripts/stress"
expect "scripts/stress names a bad count" nonzero "RUNS must be a positive number, not 'lots'" -- \
	"$root/scripts/stress" lots
stress_before=$(cat "$BUILD/stress.md" 2>/dev/null || echo none)
expect "scripts/stress names an unknown mode" nonzero "unknown test mode 'fast'" -- \
	env STRESS_MODE=fast "$root/scripts/stress" 1 1
if [[ $(cat "$BUILD/stress.md" 2>/dev/null || echo none) == "$stress_before" ]]; then
	ok "... and leaves the last stress report as it was"
else
	notok "... and leaves the last stress report as it was" "build/$BASE/stress.md was rewritten"
fi

# 7. Two commands on one build directory do not interleave: the second
#    stops with a named error and leaves the first one's files alone.
mkdir -p "$scratch/lockb/.lock"
echo "1 (fixture)" >"$scratch/lockb/.lock/owner"	# PID 1 is always alive
expect "a second command on a busy build directory stops with a named error" nonzero \
	'is in use by PID 1 \(fixture\)' -- env BUILD="$scratch/lockb" "$root/scripts/run-vm" base tdp
expect "... also for scripts/base-tree" nonzero 'is in use by PID 1 \(fixture\)' -- \
	env BUILD="$scratch/lockb" "$root/scripts/base-tree"
# PID 1 alive, but not started when the lock was taken: a reused PID.
echo "1 1 (old command)" >"$scratch/lockb/.lock/owner"
expect "a lock whose PID now belongs to another process is taken over" nonzero 'no kernel tree at' -- \
	env BUILD="$scratch/lockb" "$root/scripts/build" base
mkdir -p "$scratch/lockb/.lock"
echo "1 (fixture)" >"$scratch/lockb/.lock/owner"
expect "a busy build directory's message says how to clear a stale lock" nonzero \
	"if no such command runs, remove $scratch/lockb/.lock" -- env BUILD="$scratch/lockb" "$root/scripts/build" base
echo "999999 (gone)" >"$scratch/lockb/.lock/owner"
expect "a lock whose owner is gone is taken over" nonzero 'no kernel tree at' -- \
	env BUILD="$scratch/lockb" "$root/scripts/build" base

# 7b. parse and checkpatch-series: named errors; parse names a failing test,
#     with its own failure line (not the guest harness's last note), and
#     exits non-zero.
expect "scripts/parse names a missing run directory" nonzero 'no run directory /nonexistent' -- \
	"$root/scripts/parse" /nonexistent
expect "scripts/parse --help prints its usage" 0 'scripts/parse RUNDIR' -- "$root/scripts/parse" --help
expect "scripts/parse with too many arguments prints its usage" nonzero 'usage: scripts/parse RUNDIR' -- \
	"$root/scripts/parse" a b c
mkdir -p "$scratch/run-fail"
printf '%s\n' "TAP version 13" "1..2" "# selftests: kvm: good" "ok 1 selftests: kvm: good" \
	"# selftests: kvm: bad" "# bad: the assertion that failed" "not ok 2 selftests: kvm: bad" \
	"# isp: all tests done" >"$scratch/run-fail/tap.log"
: >"$scratch/run-fail/console.log"
expect "scripts/parse names a failing test with its failure line and fails" nonzero \
	'FAILED: bad: bad: the assertion that failed$' -- "$root/scripts/parse" "$scratch/run-fail"
expect "scripts/checkpatch-series names a missing directory" nonzero 'no patch directory /nonexistent' -- \
	"$root/scripts/checkpatch-series" /nonexistent

# 8. Ctrl-C on a runner stops the emulator it started (a background child,
#    which ignores SIGINT as background children of scripts do).
if [[ -f $BUILD/artifacts/base/bzImage && -d $BUILD/artifacts/patched/kvm ]]; then
	# A fake EMULATOR (sleep MARKER) that ignores SIGINT; SIGINT to the
	# runner's process group, as Ctrl-C sends it.
	#   sigint_stops RUNNER EMULATOR MARKER
	sigint_stops() {
		local runner_name=$1 emulator=$2 marker=$3 runner
		mkdir -p "$scratch/fakebin"
		printf '#!/bin/sh\ntrap "" INT\nexec sleep %s\n' "$marker" >"$scratch/fakebin/$emulator"
		chmod +x "$scratch/fakebin/$emulator"
		set -m
		RUN_NAME=workspace-sigint PATH="$scratch/fakebin:$PATH" \
			"$root/scripts/$runner_name" base tdp "$TESTS/mutant.list" >/dev/null 2>&1 &
		runner=$!
		set +m
		for _ in $(seq 120); do pgrep -f "sleep $marker" >/dev/null && break; sleep 1; done
		kill -INT -- "-$runner" 2>/dev/null || true
		wait "$runner" 2>/dev/null || true
		sleep 1
		if pgrep -f "sleep $marker" >/dev/null; then
			notok "Ctrl-C on scripts/$runner_name stops $emulator" "$(pgrep -af "sleep $marker")"
			pkill -f "sleep $marker" || true
		else
			ok "Ctrl-C on scripts/$runner_name stops $emulator"
		fi
		rm -rf "$BUILD/runs/workspace-sigint"
	}
	sigint_stops run-vm qemu-system-x86_64 613
	sigint_stops run-bochs bochs 614
	# Every value from the user is checked before a run is emptied or an
	# emulator starts.
	mkdir -p "$BUILD/runs/workspace-keep"
	echo "an earlier run" >"$BUILD/runs/workspace-keep/tap.log"
	for runner in run-vm run-bochs; do
		expect "scripts/$runner names an unknown mode, and boots nothing" nonzero "has no mode 'amd'" -- \
			env RUN_NAME=workspace-keep "$root/scripts/$runner" base amd "$TESTS/mutant.list"
		expect "scripts/$runner names a negative TEST_TIMEOUT" nonzero "TEST_TIMEOUT must be a positive whole number, not '-1'" -- \
			env TEST_TIMEOUT=-1 RUN_NAME=workspace-keep "$root/scripts/$runner" base tdp "$TESTS/mutant.list"
		expect "scripts/$runner names TEST_TIMEOUT=10s" nonzero "TEST_TIMEOUT must be a positive whole number, not '10s'" -- \
			env TEST_TIMEOUT=10s RUN_NAME=workspace-keep "$root/scripts/$runner" base tdp "$TESTS/mutant.list"
		expect "scripts/$runner keeps RUN_NAME inside runs/" nonzero "RUN_NAME must be a plain name .*not '../linux'" -- \
			env RUN_NAME=../linux "$root/scripts/$runner" base tdp "$TESTS/mutant.list"
		printf '# only a comment\n\n' >"$scratch/empty.list"
		expect "scripts/$runner names a list without tests" nonzero 'names no test' -- \
			env RUN_NAME=workspace-keep "$root/scripts/$runner" base tdp "$scratch/empty.list"
	done
	if [[ -f $BUILD/runs/workspace-keep/tap.log && -d $LINUX/.git ]]; then
		ok "... and the earlier run and the tree are still there"
	else
		notok "... and the earlier run and the tree are still there" "workspace-keep or $LINUX is gone"
	fi
	expect "scripts/ab names a list without tests before booting" nonzero 'names no test' -- \
		"$root/scripts/ab" "$scratch/empty.list"
	expect "scripts/ab names a bad RERUNS before booting" nonzero "RERUNS must be a whole number of re-runs, not 'abc'" -- \
		env RERUNS=abc "$root/scripts/ab" "$TESTS/mutant.list"
	expect "scripts/run-vm names a bad SMP" nonzero "SMP must be a number of vCPUs, not 'abc'" -- \
		env SMP=abc RUN_NAME=workspace-smp "$root/scripts/run-vm" base tdp "$TESTS/mutant.list"
	expect "scripts/run-vm reports QEMU failing to start" nonzero 'QEMU exited with status 1: .*memory' -- \
		env MEM=99999999 RUN_NAME=workspace-mem "$root/scripts/run-vm" base tdp "$TESTS/mutant.list"
	rm -rf "$BUILD/runs/workspace-smp" "$BUILD/runs/workspace-mem"
	mkdir -p "$BUILD/runs/workspace-keep"
	echo "an earlier run" >"$BUILD/runs/workspace-keep/tap.log"
	expect "scripts/run-vm names a mistyped list" nonzero 'no test list /typo.list' -- \
		env RUN_NAME=workspace-keep "$root/scripts/run-vm" base tdp /typo.list
	if [[ -f $BUILD/runs/workspace-keep/tap.log ]]; then
		ok "... and keeps the earlier run"
	else
		notok "... and keeps the earlier run" "$BUILD/runs/workspace-keep was emptied"
	fi
	rm -rf "$BUILD/runs/workspace-keep"
else
	notok "Ctrl-C on the runners stops their emulators" "no base kernel: run scripts/build base and patched first"
fi

# Test lists: CRLF line ends, indented and trailing comments, blank lines.
printf 'x86_64/a_test\r\n  # an indented comment\r\n\r\nx86_64/b_test -n 5 # why\r\n\tx86_64/c_test\t\n' >"$scratch/crlf.list"
got=$(list_entries "$scratch/crlf.list" | tr '\n' '|')
if [[ $got == "x86_64/a_test|x86_64/b_test -n 5|x86_64/c_test|" ]]; then
	ok "list_entries reads CRLF, comments and blanks as documented"
else
	notok "list_entries reads CRLF, comments and blanks as documented" "got: $got"
fi
# Blanks in paths are refused by name before anything is written.
expect "a BUILD path with a blank is refused by name" nonzero "contains a blank" -- \
	env BUILD="$scratch/with blank" "$root/scripts/build" base
if [[ ! -e "$scratch/with blank" ]]; then ok "... before creating it"; else notok "... before creating it" "it exists"; fi
expect "install-deps -h prints its usage and does nothing else" 0 '^Install the Debian packages' -- \
	"$root/scripts/install-deps" -h
expect "scripts/report names an unknown BASE" nonzero "unknown base 'bogus'" -- env BASE=bogus "$root/scripts/report"
expect "scripts/parse names an unknown BASE" nonzero "unknown base 'bogus'" -- env BASE=bogus "$root/scripts/parse" "$scratch"
expect "scripts/report names a REPORT that is not a file name" nonzero "REPORT must be a plain file name, not 'sub/dir'" -- \
	env REPORT=sub/dir "$root/scripts/report"

# A build directory the user cannot write is named as such (run as an
# unprivileged user: root writes anywhere).
if command -v setpriv >/dev/null; then
	nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	mkdir -p "$scratch/ro/runs/base-tdp" "$scratch/ro/runs/patched-tdp"
	printf 'TAP version 13\n1..1\nok 1 selftests: kvm: x86_64/nested_pte_write_test\n' |
		tee "$scratch/ro/runs/base-tdp/tap.log" >"$scratch/ro/runs/patched-tdp/tap.log"
	for side in base patched; do
		printf '{"run": "%s-tdp", "plan": 1, "tests": {"x86_64/nested_pte_write_test": {"status": "PASS"}}}' \
			"$side" >"$scratch/ro/runs/$side-tdp/result.json"
	done
	chmod -R a+rX,a-w "$scratch/ro"
	chmod a+x "$scratch"
	expect "a build directory that cannot be written is named as such" nonzero "cannot write $scratch/ro .*Permission denied" -- \
		"${nobody[@]}" env BUILD="$scratch/ro" "$root/scripts/build" base
	expect "scripts/report names a report it cannot write" nonzero "^error: .*report.md.*Permission denied" -- \
		"${nobody[@]}" env BUILD="$scratch/ro" "$root/scripts/report" tdp
	expect "scripts/parse names a result it cannot write" nonzero "^error: .*Permission denied" -- \
		"${nobody[@]}" env BUILD="$scratch/ro" "$root/scripts/parse" "$scratch/ro/runs/base-tdp" "$LINUX"
	chmod -R u+w "$scratch/ro"
else
	notok "a build directory that cannot be written is named as such" "setpriv (util-linux) is missing"
fi

# scripts/upstream-test: every input is named before anything is written.
up=(env BUILD_ROOT="$BUILD_ROOT" "$root/scripts/upstream-test")
expect "upstream-test without UPSTREAM is a named error" nonzero 'UPSTREAM is not set' -- "${up[@]}"
expect "upstream-test names a missing UPSTREAM" nonzero 'UPSTREAM=/nonexistent does not exist' -- \
	env UPSTREAM=/nonexistent "${up[@]}"
expect "upstream-test names an UPSTREAM that is not a git repository" nonzero 'is not a git repository' -- \
	env UPSTREAM="$scratch" "${up[@]}"
git -C "$scratch" init -q notlinux
git_isp -C "$scratch/notlinux" commit -q --allow-empty -m empty
expect "upstream-test names a repository without the pinned commit" nonzero \
	"does not hold commit ${BASE_UPSTREAM_COMMIT[mainline]}" -- env UPSTREAM="$scratch/notlinux" "${up[@]}"
expect "upstream-test names a bad commit id" nonzero "UPSTREAM_COMMIT='HEAD;' is not a commit id" -- \
	env UPSTREAM="$scratch/notlinux" UPSTREAM_COMMIT='HEAD;' "${up[@]}"
expect "upstream-test names a series directory without patches" nonzero 'holds no patches' -- \
	env UPSTREAM="$LINUX" UPSTREAM_COMMIT="$base" SERIES_DIR="$scratch/notlinux" "${up[@]}"
expect "upstream-test names an unknown mode" nonzero "unknown test mode 'amd'" -- \
	env UPSTREAM="$LINUX" UPSTREAM_COMMIT="$base" SERIES_DIR="$PATCHES" MODES=amd "${up[@]}"
expect "upstream-test names a kernel that was not built" nonzero "no 6.12 kernel 'nokernel'" -- \
	env UPSTREAM="$LINUX" UPSTREAM_COMMIT="$base" SERIES_DIR="$PATCHES" KERNEL=nokernel "${up[@]}"
if [[ -f $BUILD/artifacts/patched/bzImage ]]; then
	expect "upstream-test names the patch that does not apply" nonzero '0001-bad.patch does not apply to' -- \
		env UPSTREAM="$LINUX" UPSTREAM_COMMIT="$base" SERIES_DIR="$scratch/bad-patches" "${up[@]}"
fi
# ... and fails when the test it built fails: on the kernel whose
# kvm_mmu_track_write() does not zap (scripts/mutants builds it).
if [[ -f $BUILD/artifacts/mutant-1-track-write-skips-zap/bzImage ]]; then
	expect "upstream-test fails when the series' test fails on the kernel" nonzero \
		"did not pass on the 6.12 kernel 'mutant-1-track-write-skips-zap': x86_64/nested_pte_write_test \\(tdp\\)" -- \
		env UPSTREAM="$LINUX" UPSTREAM_COMMIT="$base" SERIES_DIR="$PATCHES" MODES=tdp \
		KERNEL=mutant-1-track-write-skips-zap "${up[@]}"
fi

# scripts/mainline-tree: only for BASE=mainline, and only from files whose
# blob ids the manifest records.
expect "mainline-tree refuses another base" nonzero "is for BASE=mainline, not '6.12'" -- \
	env BASE=6.12 "$root/scripts/mainline-tree"
mkdir -p "$scratch/wrongfiles/arch/x86/kvm/mmu"
echo "not the upstream file" >"$scratch/wrongfiles/arch/x86/kvm/mmu/mmu.c"
expect "mainline-tree names upstream files with the wrong blob id" nonzero \
	'not found with the manifest.s blob id: arch/x86/kvm/mmu/mmu.c' -- \
	env BASE=mainline BUILD="$scratch/mainline" UPSTREAM_FILES="$scratch/wrongfiles" "$root/scripts/mainline-tree"
expect "base-tree says BASE=mainline cannot be built" nonzero 'BASE=mainline cannot be fetched or built here' -- \
	env BASE=mainline BUILD="$scratch/mainline" "$root/scripts/base-tree"

echo "workspace: $pass passed, $fail failed"
(( fail == 0 ))
