# shellcheck shell=bash
# Common paths and helpers for the kvm-isp tooling. Sourced, never run.
# shellcheck disable=SC2034  # variables are used by the scripts that source this

ISP_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Every command that sources this file: -h or --help prints the command's
# header comment (its usage) and does nothing else.
case ${1:-} in
-h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; /^# shellcheck/d; s/^# \{0,1\}//'; exit 0 ;;
esac
START_TS=${START_TS:-$(date +%s)}
export START_TS

log() { printf '[%4ds] %s\n' "$(( $(date +%s) - START_TS ))" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The kernel trees the series is kept for, as data: the Debian source
# package, the revision it is pinned to (each security update is another
# tree) and the commit id that importing that revision gives. BASE selects
# one for every command; the first is the default.
BASES=(6.12 6.1)
declare -A BASE_PACKAGE=([6.12]=linux-source-6.12 [6.1]=linux-source-6.1)
declare -A BASE_DEB_VERSION=([6.12]=6.12.117-1~deb12u1 [6.1]=6.1.192-2)
declare -A BASE_IMPORT_COMMIT=(
	[6.12]=dbdaab6a27b8fd2dca1115f0dc68b82668704e05
	[6.1]=8484e9e133082890f92b2389dff4a8f887ebae8b
)
# The newest upstream, to which the series is sent, cannot be fetched whole
# or built here. BASE=mainline names the upstream commit its patches apply
# to; scripts/mainline-tree makes build/mainline/linux from the upstream files
# listed in upstream/manifest.tsv (never committed here), and export-series
# writes the upstream commit as the series' base.
declare -A BASE_UPSTREAM_COMMIT=([mainline]=67f8bc848ee31831336bd478e57d2f993551902e)
# Both series follow the rules of the newest tree: its checkpatch.pl.
RULES_BASE=6.12
BASE=${BASE:-${BASES[0]}}
[[ -n ${BASE_PACKAGE[$BASE]+set} || -n ${BASE_UPSTREAM_COMMIT[$BASE]+set} ]] ||
	die "unknown base '$BASE' (known bases: ${BASES[*]} ${!BASE_UPSTREAM_COMMIT[*]})"
export BASE

# Per base: its kernel tree, builds and runs under build/BASE, its series in
# patches/BASE (cover text in series/BASE), its mutants and environment
# fixes. The compiler cache is shared.
BUILD_ROOT=${BUILD_ROOT:-$ISP_ROOT/build}
BUILD=${BUILD:-$BUILD_ROOT/$BASE}
# The kernel's build and gen_init_cpio's spec format cannot take blanks in
# paths: refuse them before anything is written.
for _p in "$ISP_ROOT" "$BUILD"; do
	[[ $_p != *[[:space:]]* ]] ||
		die "the path '$_p' contains a blank, which the kernel build and gen_init_cpio cannot handle; use a checkout and BUILD without blanks"
done
unset _p
LINUX=$BUILD/linux            # kernel git repo: branch "series" above the base
WT=$BUILD/wt                  # worktrees used for building and testing
OUT=$BUILD/out                # out-of-tree kernel build directories
PATCHES=${PATCHES:-$ISP_ROOT/patches/$BASE}
SERIES=$ISP_ROOT/series/$BASE
MUTANTS=$ISP_ROOT/mutants/$BASE
ENV_FIXES=$ISP_ROOT/env-fixes/$BASE
TESTS=$ISP_ROOT/tests/$BASE    # selftest lists (test names differ by base)
JOBS=${JOBS:-$(nproc)}

# One identity for every commit the tooling creates, so that commit ids
# depend only on content and on dates carried by the patches.
ISP_NAME="kvm-isp developers"
ISP_EMAIL="kvm-isp@users.noreply.invalid"
BASE_DATE="2026-01-01T00:00:00+0000"

export CCACHE_DIR=${CCACHE_DIR:-$BUILD_ROOT/ccache}
export CCACHE_BASEDIR=$BUILD
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-8G}


# Background children (emulators, builds) of this command: stopped, with
# everything they started, when the command ends or is interrupted, so that
# Ctrl-C (or a kill of the command) leaves no emulator or compiler running.
ISP_CHILDREN=()
track_child() { ISP_CHILDREN+=("$1"); }
kill_tree() {
	local child
	for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do kill_tree "$child"; done
	kill -TERM "$1" 2>/dev/null || true
}
stop_children() {
	local pid
	for pid in "${ISP_CHILDREN[@]}"; do kill_tree "$pid"; done
	ISP_CHILDREN=()
}
trap 'stop_children; release_lock' EXIT
trap 'stop_children; release_lock; trap - INT; kill -INT $$' INT
trap 'stop_children; release_lock; exit 143' TERM

# One command at a time writes a build directory: commands that write it call
# lock_build; a second one stops with a named error instead of interleaving.
# The commands a locked command runs inherit its lock (ISP_LOCKED). The lock
# is a directory holding the owner's PID, not an flock: git and make leave
# daemons behind (git gc --auto) that would inherit and keep a lock file
# descriptor. A lock whose owner is gone is taken over.
# The owner is recorded as "PID START (COMMAND)", START the process's start
# time (/proc/PID/stat), so that a PID reused by another process is not
# taken for the owner.
ISP_LOCK_DIR=
proc_start() { awk '{ print $22 }' "/proc/$1/stat" 2>/dev/null || true; }
lock_build() {
	[[ ${ISP_LOCKED:-} == *"|$BUILD|"* ]] && return 0
	local lock=$BUILD/.lock owner pid start out
	mkdir -p "$BUILD" 2>/dev/null || die "cannot create ${BUILD}: check its permissions, or use another BUILD"
	if ! out=$(LC_ALL=C mkdir "$lock" 2>&1); then
		[[ $out == *"File exists"* ]] ||
			die "cannot write ${BUILD} (${out#mkdir: }): check its permissions, or use another BUILD"
		owner=$(cat "$lock/owner" 2>/dev/null || true)
		read -r pid start _ <<<"$owner"
		[[ ${start:-} =~ ^[0-9]+$ ]] || start=
		if [[ -n ${pid:-} ]] && kill -0 "$pid" 2>/dev/null &&
			[[ -z $start || $(proc_start "$pid") == "$start" ]]; then
			die "${BUILD#"$ISP_ROOT"/} is in use by PID $pid (${owner##* (}; wait for it to end, or use another BUILD (if no such command runs, remove ${lock})"
		fi
		rm -rf "$lock"
		mkdir "$lock" 2>/dev/null || die "${BUILD#"$ISP_ROOT"/} was just taken by another command"
	fi
	echo "$$ $(proc_start $$) ($(basename "$0"))" >"$lock/owner"
	ISP_LOCK_DIR=$lock
	export ISP_LOCKED="${ISP_LOCKED:-|}$BUILD|"
}
release_lock() {
	[[ -n $ISP_LOCK_DIR && $(cat "$ISP_LOCK_DIR/owner" 2>/dev/null) == "$$ "* ]] && rm -rf "$ISP_LOCK_DIR"
	ISP_LOCK_DIR=
}

git_isp() {
	GIT_AUTHOR_NAME=$ISP_NAME GIT_AUTHOR_EMAIL=$ISP_EMAIL \
	GIT_COMMITTER_NAME=$ISP_NAME GIT_COMMITTER_EMAIL=$ISP_EMAIL \
	git "$@"
}

# Run a long command, printing a progress line every 30 s so that the
# terminal is never silent for minutes. Output goes to a log file, whose
# tail is printed if the command fails.
run_logged() {
	local what=$1 logf=$2; shift 2
	local pid rc t0=$SECONDS
	log "$what (log: ${logf#"$ISP_ROOT"/})"
	"$@" >"$logf" 2>&1 &
	pid=$!
	track_child "$pid"
	local next=$((t0 + 30))
	while kill -0 "$pid" 2>/dev/null; do
		sleep 2
		if (( SECONDS >= next )); then
			log "  ... $what: $((SECONDS - t0))s"
			next=$((next + 30))
		fi
	done
	rc=0; wait "$pid" || rc=$?
	if (( rc != 0 )); then
		tail -n 40 "$logf" >&2
		die "$what failed (exit $rc); full log: $logf"
	fi
	log "$what done in $((SECONDS - t0))s"
	record_timing "$what" $((SECONDS - t0))
}

# Stage durations, for the report.
record_timing() {
	mkdir -p "$BUILD"
	printf '%s\t%s\n' "$1" "$2" >>"$BUILD/timings.txt"
}

# The results half (scripts/isp, a Python package): python3 -m isp.MODULE.
export PYTHONPATH="$ISP_ROOT/scripts${PYTHONPATH:+:$PYTHONPATH}"

# The entries of a test list, the one reader of the format: a test per
# line, "NAME [ARGS]", in the selftests' output directory (x86_64/foo_test
# -n 5); "#" starts a comment, at the start of a line or after a blank; blank
# lines, leading and trailing blanks and CRLF line ends are ignored.
list_entries() {
	sed -e 's/\r$//' -e 's/^#.*//' -e 's/[[:space:]]#.*//' \
		-e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' "$1" | grep -v '^$' || true
}

# Checks of values from the user, made before anything is written.
# need_count NAME VALUE: a positive integer (seconds, counts).
need_count() {
	[[ $2 =~ ^[1-9][0-9]{0,8}$ ]] || die "$1 must be a positive whole number, not '$2'"
}
# need_name NAME VALUE: one path component of ours (a run or label name), so
# that it cannot leave its directory.
need_name() {
	[[ $2 =~ ^[A-Za-z0-9_][A-Za-z0-9._-]*$ ]] ||
		die "$1 must be a plain name (letters, digits, . _ -), not '$2'"
}

# Test modes: config/modes, one row each ("mode | runner | arg | platform |
# test timeout | kernel parameters").
MODES_TABLE=$ISP_ROOT/config/modes
# mode_rows: the rows, fields "|"-separated and trimmed; mode_row MODE: one.
mode_rows() { sed -e '/^#/d' -e '/^[[:space:]]*$/d' -e 's/[[:space:]]*|[[:space:]]*/|/g' "$MODES_TABLE"; }
mode_row() { mode_rows | awk -F'|' -v m="$1" '$1 == m'; }
# all_modes: every mode's name; runner_modes RUNNER: those one runner boots.
all_modes() { mode_rows | awk -F'|' '{ printf "%s%s", sep, $1; sep = " " }'; }
# run_id [--purpose P] [--rerun K] LABEL MODE | run_id --resume K NAME: the
# name of a run directory under build/BASE/runs (scripts/isp/runid.py).
run_id() { python3 -m isp.runid "$@"; }
# mode_of RUNNER ARG: the mode (row of config/modes) that RUNNER boots for ARG.
mode_of() { mode_rows | awk -F'|' -v r="$1" -v a="$2" '$2 == r && $3 == a { print $1 }'; }
runner_modes() { mode_rows | awk -F'|' -v r="$1" '$2 == r { printf "%s%s", sep, $1; sep = " " }'; }
# runner_for MODE: "RUNNER ARG", or a named error listing the modes.
runner_for() {
	local row
	row=$(mode_row "$1")
	[[ -n $row ]] || die "unknown test mode '$1' (known: $(all_modes); config/modes)"
	awk -F'|' '{ print $2, $3 }' <<<"$row"
}
# runner_mode RUNNER ARG: "TEST_TIMEOUT PARAMETERS..." of the row the runner
# RUNNER boots for its argument ARG, or a named error.
runner_mode() {
	local row
	row=$(mode_rows | awk -F'|' -v r="$1" -v a="$2" '$2 == r && $3 == a')
	[[ -n $row ]] || die "$1 has no mode '$2' (known: $(mode_rows | awk -F'|' -v r="$1" '$2 == r { printf "%s%s", sep, $3; sep = " " }'); config/modes)"
	awk -F'|' '{ print $5, $6 }' <<<"$row"
}

# For the runners' watchdogs and progress lines, from a run directory: the
# bytes the guest wrote to both serial ports, the results so far, and the
# test it is in (its "# selftests: kvm: NAME ARGS" line, arguments kept).
guest_output_size() {
	echo $(( $(stat -c %s "$1/tap.log" 2>/dev/null || echo 0) +
		$(stat -c %s "$1/console.log" 2>/dev/null || echo 0) ))
}
results_so_far() { grep -c '^\(not \)\?ok ' "$1/tap.log" 2>/dev/null || true; }
current_test() {
	tr -d '\r' <"$1/tap.log" 2>/dev/null | sed -n 's/^# selftests: kvm: //p' | tail -n 1
}

# The runners' watchdog: every test has its own timeout inside the guest, so
# a guest that prints nothing for longer than that is hung (kernel deadlock,
# emulator livelock). Waits while the emulator PID runs, with a progress line
# a minute, and gives up when the guest printed nothing for STALL seconds
# (before its first TAP line: BOOT seconds) or the run took LIMIT seconds:
# then writes why to RUN/stall and returns 1; the caller kills the emulator.
# DONE_FN RUN, if given, ends the wait early (returns 0) when the guest is
# done but the emulator would not stop by itself.
#   watch_guest PID RUN TITLE STALL BOOT LIMIT [DONE_FN]
watch_guest() {
	local pid=$1 run=$2 title=$3 stall=$4 boot=$5 limit=$6 done_fn=${7:-}
	local t0=$SECONDS size last_size=-1 last_change=$SECONDS next_note=$((SECONDS + 60)) why=
	while kill -0 "$pid" 2>/dev/null; do
		sleep 2
		size=$(guest_output_size "$run")
		if (( size != last_size )); then
			last_size=$size last_change=$SECONDS
		elif [[ ! -s $run/tap.log ]]; then
			(( SECONDS - t0 <= boot )) || why="no TAP output within ${boot}s of start (boot hung?)"
		elif (( SECONDS - last_change > stall )); then
			why="no guest output for ${stall}s"
		fi
		(( SECONDS - t0 <= limit )) || why="run exceeded ${limit}s"
		if [[ -n $done_fn ]] && "$done_fn" "$run"; then
			return 0
		fi
		if [[ -n $why ]]; then
			echo "STALL: $why, during $(current_test "$run")" | tee "$run/stall"
			return 1
		fi
		if (( SECONDS >= next_note )); then
			log "  ... $title: $(results_so_far "$run") done, now $(current_test "$run")"
			next_note=$((SECONDS + 60))
		fi
	done
}

# A runner's exit status: non-zero, with the reason, if the watchdog ended
# the run or a test failed (scripts/parse then tells the details).
runner_verdict() {
	local run=$1 failed
	[[ ! -f $run/stall ]] || die "$(cat "$run/stall")"
	failed=$(tr -d '\r' <"$run/tap.log" 2>/dev/null | sed -n 's/^not ok [0-9]* selftests: kvm: //p' | tr '\n' ';')
	[[ -z $failed ]] || die "test(s) failed: ${failed%;}"
}

# The commands that fetch, build or boot a base's kernel.
require_buildable_base() {
	[[ -n ${BASE_PACKAGE[$BASE]+set} ]] ||
		die "BASE=$BASE cannot be fetched or built here; its series is checked with scripts/mainline-tree and run with scripts/upstream-test"
}

require_tree() {
	[[ -e $LINUX/.git ]] || die "no kernel tree at $LINUX: run scripts/base-tree first"
}

# All builds use one worktree, build/wt/src, switched between commits: the
# out-of-tree build directories keep their objects, make rebuilds only what a
# switch changed, and ccache (same paths, same content) makes switching back
# almost free. The environment fixes are applied on top of every commit.
SRC=$WT/src

checkout_tree() {
	local commit key fix
	commit=$(git -C "$LINUX" rev-parse --verify "$1^{commit}") ||
		die "no such commit in build/linux: $1"
	key="$commit $({ cat "$ENV_FIXES"/*.patch 2>/dev/null || true; } | sha1sum | cut -c1-12)"
	if [[ -e $SRC ]] && ! git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1; then
		# The tree it was a worktree of is gone (build/BASE/linux made anew).
		rm -rf "$WT"
	fi
	if [[ ! -e $SRC ]]; then
		mkdir -p "$WT"
		git -C "$LINUX" worktree add -q --detach "$SRC" "$commit"
	elif [[ $(cat "$WT/src.key" 2>/dev/null) == "$key" ]]; then
		return 0
	fi
	git -C "$SRC" am --abort >/dev/null 2>&1 || true
	git -C "$SRC" checkout -q -f --detach "$commit"
	for fix in "$ENV_FIXES"/*.patch; do
		[[ -e $fix ]] || continue
		git_isp -C "$SRC" am -q --committer-date-is-author-date "$fix" ||
			die "environment fix $(basename "$fix") does not apply on $commit"
	done
	echo "$key" >"$WT/src.key"
}

base_commit() { cat "$BUILD/base-commit"; }
series_commit() { git -C "$LINUX" rev-parse HEAD; }

# A commit of PATCH on top of the series, made without touching build/linux's
# working tree (a temporary index), with fixed identity and dates: prints it.
#   commit_on_series PATCH MESSAGE
commit_on_series() {
	local patch msg=$2 head idx tree
	patch=$(realpath "$1")
	head=$(series_commit)
	idx=$(mktemp)
	GIT_INDEX_FILE=$idx git -C "$LINUX" read-tree "$head"
	if ! GIT_INDEX_FILE=$idx git -C "$LINUX" apply --cached "$patch"; then
		rm -f "$idx"
		die "$(basename "$patch") does not apply on the series"
	fi
	tree=$(GIT_INDEX_FILE=$idx git -C "$LINUX" write-tree)
	rm -f "$idx"
	GIT_AUTHOR_DATE=$BASE_DATE GIT_COMMITTER_DATE=$BASE_DATE \
		git_isp -C "$LINUX" commit-tree "$tree" -p "$head" -m "$msg"
}

# A program of the project's (bench/, stress/) linked like a KVM selftest
# against the patched tree's selftest library, into build/BASE/artifacts/
# LABEL/kvm/DIR/NAME, so that run-vm/run-bochs with SELFTESTS_FROM=LABEL run
# it as the test list line "DIR/NAME ARGS".
#   build_selftest_program SOURCE LABEL DIR
build_selftest_program() {
	local src=$1 label=$2 dir=$3 t=$LINUX/tools/testing/selftests/kvm lib=$OUT/selftests-patched/lib
	local name
	name=$(basename "$src" .c)
	[[ -f $lib/kvm_util.o ]] || die "no selftest library objects in $lib: run scripts/build patched"
	mkdir -p "$BUILD/artifacts/$label/kvm/$dir"
	gcc -Wall -Werror -Wno-unused-function -O2 -g -std=gnu99 -static \
		-fno-stack-protector -fno-PIE -no-pie -pthread \
		-I"$LINUX/tools/include" -I"$LINUX/tools/arch/x86/include" \
		-isystem "$OUT/test/usr/include" -I"$t/include" -I"$t/include/x86_64" \
		-I"$t" -I"$t/.." -I"$t/x86_64" \
		-o "$BUILD/artifacts/$label/kvm/$dir/$name" "$src" "$lib/"*.o "$lib/x86_64/"*.o
}

make_kernel() {
	local cfg=$1; shift
	make -C "$SRC" O="$OUT/$cfg" -j"$JOBS" CC="ccache gcc" HOSTCC="ccache gcc" "$@"
}
