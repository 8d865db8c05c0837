// SPDX-License-Identifier: GPL-2.0
/*
 * Run the store-buffering shapes of the litmus tests on two real CPUs and
 * count the bad outcome (both loads see 0):
 *
 *   readonce     kvm-pte-write-readonce.litmus      expected: seen
 *   helper       kvm-pte-write-helper.litmus        expected: never
 *   mb-before    kvm-pte-write-mb-before-inc.litmus expected: seen
 *
 * P0 is the emulated write (store gpte; [smp_mb()]; load count), P1 the
 * fault path (lock; [smp_mb()]; store count; [smp_mb()]; load gpte;
 * unlock).  smp_mb() is the instruction the kernel emits for it on x86_64;
 * READ_ONCE()/WRITE_ONCE() are volatile accesses with compiler barriers;
 * mmu_lock is a test-and-set lock (locked xchg, release by plain store), as
 * uncontended as it is in the shapes.
 *
 * Exits 1 if "helper" ever shows the outcome, or if "readonce" or
 * "mb-before" do not show it within the bound (then the harness could not
 * have seen a broken barrier either). Usage: stress [max_iterations]
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define smp_mb()	asm volatile("lock; addl $0,-4(%%rsp)" ::: "memory", "cc")
#define barrier()	asm volatile("" ::: "memory")
#define READ_ONCE(x)	(*(const volatile typeof(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile typeof(x) *)&(x) = (v))

#define CHUNK 16384

enum shape { READONCE, HELPER, MB_BEFORE, NR_SHAPES };
static const char * const names[] = { "readonce", "helper", "mb-before" };
static const char * const files[] = {
	"kvm-pte-write-readonce.litmus",
	"kvm-pte-write-helper.litmus",
	"kvm-pte-write-mb-before-inc.litmus",
};

struct slot {
	int gpte;
	char pad1[60];
	int count;
	char pad2[60];
} __attribute__((aligned(64)));

static struct slot slots[CHUNK];
static int r0[CHUNK], r1[CHUNK];
static int mmu_lock;
static volatile long arrive[2][16];	/* [thread][0], own cache lines */
static volatile int cur_shape, quit;
static pthread_barrier_t chunk_start, chunk_end;

static void rendezvous(int me, long i)
{
	arrive[me][0] = i;
	while (arrive[!me][0] < i)
		;
}

static void lock(void)
{
	while (__atomic_exchange_n(&mmu_lock, 1, __ATOMIC_ACQUIRE))
		;
}

static void unlock(void)
{
	__atomic_store_n(&mmu_lock, 0, __ATOMIC_RELEASE);
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set)) {
		fprintf(stderr, "stress: cannot pin a thread to CPU %d (needs 2 CPUs)\n", cpu);
		exit(2);
	}
}

static long seq[2];

/* P0: the emulated write, kvm_mmu_pte_write(). */
static void *p0(void *arg)
{
	(void)arg;
	pin(0);
	for (;;) {
		pthread_barrier_wait(&chunk_start);
		if (quit)
			return NULL;
		for (int i = 0; i < CHUNK; i++) {
			rendezvous(0, ++seq[0]);
			WRITE_ONCE(slots[i].gpte, 1);
			if (cur_shape != READONCE)
				smp_mb();
			r0[i] = READ_ONCE(slots[i].count);
		}
		pthread_barrier_wait(&chunk_end);
	}
}

/* P1: the page fault, account_shadowed() then FNAME(gpte_changed). */
static void *p1(void *arg)
{
	(void)arg;
	pin(1);
	for (;;) {
		pthread_barrier_wait(&chunk_start);
		if (quit)
			return NULL;
		for (int i = 0; i < CHUNK; i++) {
			rendezvous(1, ++seq[1]);
			lock();
			if (cur_shape == MB_BEFORE)
				smp_mb();
			WRITE_ONCE(slots[i].count, 1);
			if (cur_shape == HELPER)
				smp_mb();
			r1[i] = READ_ONCE(slots[i].gpte);
			unlock();
		}
		pthread_barrier_wait(&chunk_end);
	}
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	long max = argc > 1 ? atol(argv[1]) : 4000000;
	long seen[NR_SHAPES] = { 0 }, iters[NR_SHAPES] = { 0 };
	pthread_t t0, t1;
	int failed = 0, passed = 0;

	if (max < CHUNK) {
		fprintf(stderr, "stress: max_iterations must be at least %d\n", CHUNK);
		return 2;
	}
	pthread_barrier_init(&chunk_start, NULL, 3);
	pthread_barrier_init(&chunk_end, NULL, 3);
	pthread_create(&t0, NULL, p0, NULL);
	pthread_create(&t1, NULL, p1, NULL);

	for (int s = 0; s < NR_SHAPES; s++) {
		double t = now();

		cur_shape = s;
		/*
		 * Shapes that should show the outcome run until they have shown
		 * it 100 times or hit the bound; "helper" always runs to the
		 * bound, since only the bound says how hard it was tried.
		 */
		while (iters[s] < max && (s == HELPER || seen[s] < 100)) {
			memset(slots, 0, sizeof(slots));
			pthread_barrier_wait(&chunk_start);
			pthread_barrier_wait(&chunk_end);
			for (int i = 0; i < CHUNK; i++)
				seen[s] += !r0[i] && !r1[i];
			iters[s] += CHUNK;
		}
		t = now() - t;
		printf("%-10s %-36s bad outcome %6ld / %8ld iterations (%.4f%%, %.1f M iter/s)\n",
		       names[s], files[s], seen[s], iters[s],
		       100.0 * seen[s] / iters[s], iters[s] / t / 1e6);
	}
	quit = 1;
	pthread_barrier_wait(&chunk_start);
	pthread_join(t0, NULL);
	pthread_join(t1, NULL);

	if (seen[HELPER]) {
		printf("not ok: helper: the outcome the barriers forbid was seen\n");
		failed++;
	} else {
		passed++;
	}
	if (!seen[READONCE] || !seen[MB_BEFORE]) {
		printf("not ok: %s never showed the reordering in %ld iterations: the harness cannot see a missing barrier here\n",
		       !seen[READONCE] ? "readonce" : "mb-before", max);
		failed++;
	} else {
		passed++;
	}
	printf("stress: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
