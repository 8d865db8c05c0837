// SPDX-License-Identifier: GPL-2.0-only
/*
 * Throughput of the two paths the series changes, with TDP on (L1's MMU is
 * direct, L2 runs on nested NPT that KVM shadows):
 *
 *  retry     every vCPU: enter L2 (KVM shadows the NPT tables again), then
 *            an x87 store to the shadowed PD that KVM cannot emulate, so
 *            reexecute_instruction() reads indirect_shadow_pages and
 *            unprotects the gfn.  One op = one such store.
 *  fep-noisp forced-emulation stores to ordinary memory with no shadow page
 *            (kvm_mmu_pte_write() returns at its count check).
 *  fep-isp   the same once L2 has run (the count is non-zero, so
 *            kvm_mmu_pte_write() takes mmu_lock and finds nothing to do).
 *
 * Prints one "bench:" line per phase. If /proc/lock_stat exists
 * (CONFIG_LOCK_STAT), mmu_lock write acquisitions and contentions per op are
 * added. Reuses the NPT setup and L2 entry of nested_pte_write_test.c.
 *
 *   indirect_sp_bench [-v vcpus] [-n ops_per_vcpu]
 */
#define main nested_pte_write_test_main
#include "x86_64/nested_pte_write_test.c"
#undef main

enum bench_phase { PHASE_RETRY, PHASE_FEP_NOISP, PHASE_FEP_ISP };
static const char * const phase_names[] = { "retry", "fep-noisp", "fep-isp" };

static uint64_t bench_phase;
static uint64_t bench_ops;
static uint64_t fep_sink[MAX_VCPUS * 8];

static void bench_l1(void *nested, uint64_t idx)
{
	uint64_t l2_guest_stack[L2_GUEST_STACK_SIZE];
	struct l1_state l1 = {
		.nested = nested,
		.l2_slot = &l2_guest_stack[L2_GUEST_STACK_SIZE - 8],
	};
	uint64_t i;

	asm volatile("fninit");
	setup_l2(nested, l1.l2_slot);
	if (bench_phase == PHASE_FEP_ISP)
		enter_l2(&l1, 0);	/* KVM now shadows the NPT tables */
	GUEST_SYNC(0);		/* ready: the host starts its clock */

	for (i = 0; i < bench_ops; i++) {
		if (bench_phase == PHASE_RETRY) {
			enter_l2(&l1, i);
			write_entry(WRITE_UNEMULATED, ctx.pd_entry, ctx.pd_to_pt_a);
		} else {
			write_entry(WRITE_FEP, &fep_sink[idx * 8], i);
		}
	}
	GUEST_DONE();
}

struct lock_counts {
	uint64_t acquisitions, contentions;
};

/*
 * mmu_lock (write side) from /proc/lock_stat; false if not available.  A
 * class line is "name: con-bounces contentions waittime-min waittime-max
 * waittime-total waittime-avg acq-bounces acquisitions holdtime-...", the
 * times with decimals; rwlocks have "-W" and "-R" lines.
 */
static bool read_lock_stat(struct lock_counts *c)
{
	FILE *f = fopen("/proc/lock_stat", "r");
	char line[1024], *name, *rest, *tok, *save;
	size_t len;
	int col;

	if (!f)
		return false;
	memset(c, 0, sizeof(*c));
	while (fgets(line, sizeof(line), f)) {
		rest = strstr(line, ": ");
		if (!rest)
			continue;
		*rest = '\0';
		rest += 2;
		for (name = line; *name == ' '; name++)
			;
		/*
		 * rwlock_init() names the class after its argument, e.g.
		 * "&(kvm)->mmu_lock"; "-R" lines are the read side.
		 */
		len = strlen(name);
		if (!strstr(name, ")->mmu_lock") ||
		    (len > 2 && !strcmp(name + len - 2, "-R")))
			continue;
		for (col = 0, tok = strtok_r(rest, " \t\n", &save); tok;
		     col++, tok = strtok_r(NULL, " \t\n", &save)) {
			if (col == 1)
				c->contentions += strtoull(tok, NULL, 10);
			else if (col == 7)
				c->acquisitions += strtoull(tok, NULL, 10);
		}
	}
	fclose(f);
	return true;
}

static bool ready[MAX_VCPUS];

static void *bench_vcpu_thread(void *arg)
{
	struct kvm_vcpu *vcpu = arg;
	struct ucall uc;

	for (;;) {
		switch (run_to_ucall(vcpu, &uc)) {
		case UCALL_SYNC:
			__atomic_store_n(&ready[vcpu->id], true, __ATOMIC_RELEASE);
			/* Hold until every vCPU is ready, then run together. */
			while (!__atomic_load_n(&writer_done, __ATOMIC_ACQUIRE))
				;
			break;
		case UCALL_DONE:
			return NULL;
		default:
			TEST_FAIL("unknown ucall %lu", uc.cmd);
		}
	}
}

static void run_phase(enum bench_phase phase, int nr, uint64_t ops)
{
	struct kvm_vcpu *vcpus[MAX_VCPUS];
	vm_vaddr_t nested_gva, gva_a, gva_b;
	pthread_t threads[MAX_VCPUS];
	struct lock_counts l0, l1;
	vm_paddr_t gpa_a, gpa_b;
	struct timespec t0, t1;
	struct kvm_vm *vm;
	bool have_ls;
	double secs;
	int i;

	vm = vm_create_with_vcpus(nr, bench_l1, vcpus);
	for (i = 0; i < nr; i++) {
		vcpu_alloc_svm(vm, &nested_gva);
		vcpu_args_set(vcpus[i], 2, nested_gva, (uint64_t)i);
		ready[i] = false;
	}
	gva_a = alloc_page(vm, &gpa_a);
	gva_b = alloc_page(vm, &gpa_b);
	(void)gva_b;
	ctx.npt = true;
	setup_tdp(vm, &npt_format, gva_a, gpa_a, gpa_b);
	l2_target_gva = ctx.target_gva;
	bench_phase = phase;
	bench_ops = ops;
	sync_global_to_guest(vm, ctx);
	sync_global_to_guest(vm, l2_target_gva);
	sync_global_to_guest(vm, bench_phase);
	sync_global_to_guest(vm, bench_ops);

	writer_done = false;	/* reused as the host-side start flag */
	for (i = 0; i < nr; i++)
		pthread_create(&threads[i], NULL, bench_vcpu_thread, vcpus[i]);
	for (i = 0; i < nr; i++)
		while (!__atomic_load_n(&ready[i], __ATOMIC_ACQUIRE))
			usleep(1000);

	if (access("/proc/lock_stat", W_OK) == 0) {
		FILE *f = fopen("/proc/lock_stat", "w");

		if (f) {
			fputs("0\n", f);
			fclose(f);
		}
	}
	have_ls = read_lock_stat(&l0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	__atomic_store_n(&writer_done, true, __ATOMIC_RELEASE);
	for (i = 0; i < nr; i++)
		pthread_join(threads[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	have_ls = have_ls && read_lock_stat(&l1);
	secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;

	printf("bench: phase=%s vcpus=%d ops=%lu seconds=%.3f ops_per_sec=%.1f",
	       phase_names[phase], nr, ops * nr, secs, ops * nr / secs);
	if (have_ls)
		printf(" mmu_lock_w_acq_per_op=%.3f mmu_lock_w_contended_per_op=%.4f",
		       (double)(l1.acquisitions - l0.acquisitions) / (ops * nr),
		       (double)(l1.contentions - l0.contentions) / (ops * nr));
	else
		printf(" mmu_lock_w_acq_per_op=n/a mmu_lock_w_contended_per_op=n/a");
	printf("\n");
	fflush(stdout);
	kvm_vm_free(vm);
}

int main(int argc, char *argv[])
{
	uint64_t ops = 2000;
	int opt, v, max_vcpus = 2;

	while ((opt = getopt(argc, argv, "v:n:")) != -1) {
		switch (opt) {
		case 'v':
			max_vcpus = atoi(optarg);
			TEST_ASSERT(max_vcpus >= 1 && max_vcpus <= MAX_VCPUS,
				    "-v: 1 to %d", MAX_VCPUS);
			break;
		case 'n':
			ops = atoll(optarg);
			TEST_ASSERT(ops > 0, "-n: positive");
			break;
		default:
			printf("usage: %s [-v max_vcpus] [-n ops_per_vcpu]\n", argv[0]);
			exit(0);
		}
	}
	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_SVM));
	TEST_REQUIRE(kvm_is_tdp_enabled() && kvm_cpu_has(X86_FEATURE_NPT));
	TEST_REQUIRE(kvm_force_emulation_prefix());

	for (v = 1; v <= max_vcpus; v++)
		run_phase(PHASE_RETRY, v, ops);
	for (v = 1; v <= max_vcpus; v++)
		run_phase(PHASE_FEP_NOISP, v, ops * 5);
	for (v = 1; v <= max_vcpus; v++)
		run_phase(PHASE_FEP_ISP, v, ops * 5);
	return 0;
}
