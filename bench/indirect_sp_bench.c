// SPDX-License-Identifier: GPL-2.0-only
/*
 * Throughput of the two paths the series changes, and KVM's event counts
 * per operation, with TDP on (L1's MMU is direct, L2 runs on nested page
 * tables that KVM shadows):
 *
 *  retry     each vCPU: run L2 (KVM shadows the nested page tables again),
 *            then an x87 FISTP to the shadowed page directory, which KVM
 *            cannot emulate, so the retry path (reexecute_instruction() in
 *            6.1, __kvm_mmu_unprotect_gfn_and_retry() in 6.12) reads
 *            indirect_shadow_pages and unprotects the gfn.  One op = one
 *            such store.
 *  fep-noisp forced-emulation stores to ordinary memory, no shadow page:
 *            the emulated-write path returns at its count check.
 *  fep-isp   the same once L2 has run: the count is non-zero, so the
 *            emulated-write path takes mmu_lock and finds nothing to do.
 *
 * Prints one "bench:" line per phase and vCPU count: throughput, then each
 * of KVM's counters below per op (debugfs sums over all VMs; the benchmark
 * runs one VM at a time), then mmu_lock write acquisitions and contentions
 * per op if /proc/lock_stat exists (CONFIG_LOCK_STAT).
 *
 * A project tool built against either base's selftest library with the
 * series applied (it uses the series' NPT helpers); SVM only.
 *
 * Each vCPU's L2 runs on nested page tables of its own, so that vCPUs meet
 * only on mmu_lock and the count; with -s they share vCPU 0's, and one
 * vCPU's L2 can shadow the page directory again between another's
 * unprotect and its retry.  The 6.12 base then fails the retried FISTP
 * (KVM refuses a second unprotect for the same RIP and address), so -s
 * works on the 6.1 base only; it runs the retry phase only.
 *
 *   indirect_sp_bench [-s] [-v max_vcpus] [-n ops_per_vcpu]
 */
#include <pthread.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "svm_util.h"

#define TEST_ADDR	0xc0000000ul	/* L2's read; GVA = L2 GPA */
#define TABLE_GVA	0x80000000ul	/* the page directory, for L1 */
#define MAX_BENCH_VCPUS	4
#define FEP		"ud2; .byte 'k', 'v', 'm';"

enum bench_phase { PHASE_RETRY, PHASE_FEP_NOISP, PHASE_FEP_ISP };
static const char * const phase_names[] = { "retry", "fep-noisp", "fep-isp" };

/* KVM's counters, as named in /sys/kernel/debug/kvm/. */
static const char * const events[] = {
	"exits", "pf_taken", "pf_fixed", "pf_emulate", "pf_spurious",
	"insn_emulation", "insn_emulation_fail", "nested_run",
	"mmu_shadow_zapped", "mmu_pte_write", "mmu_flooded", "mmu_cache_miss",
};
#define NR_EVENTS	ARRAY_SIZE(events)

/* Set by the host. */
static uint64_t *test_pde[MAX_BENCH_VCPUS];
static uint64_t bench_phase, bench_ops;
static uint64_t fep_sink[MAX_BENCH_VCPUS * 8];

/*
 * L2 reads TEST_ADDR into RAX and exits; it touches no other register, and
 * #VMEXIT restores L1's RAX and RSP, so several vCPUs can run it at once
 * (the library's run_guest() swaps GPRs through one global).
 */
void l2_read_and_exit(void);
asm(".pushsection .text\n"
    "l2_read_and_exit:\n"
    "	movabsq 0xc0000000, %rax\n"
    "	vmmcall\n"
    ".popsection");

static void run_l2(struct svm_test_data *svm)
{
	struct vmcb *vmcb = svm->vmcb;

	vmcb->save.rip = (uint64_t)l2_read_and_exit;
	vmcb->control.tlb_ctl = TLB_CONTROL_FLUSH_ALL_ASID;
	asm volatile("vmload %%rax\n\tvmrun %%rax\n\tvmsave %%rax"
		     : : "a"(svm->vmcb_gpa) : "memory", "cc");
	GUEST_ASSERT_EQ(vmcb->control.exit_code, SVM_EXIT_VMMCALL);
}

static void l1_code(struct svm_test_data *svm, uint64_t idx)
{
	uint64_t *pde = test_pde[idx], val = *pde, i;

	asm volatile("fninit");
	generic_svm_setup(svm, l2_read_and_exit, NULL);
	if (bench_phase == PHASE_FEP_ISP)
		run_l2(svm);	/* KVM now shadows the nested page tables */
	GUEST_SYNC(0);		/* ready: the host starts its clock */

	for (i = 0; i < bench_ops; i++) {
		if (bench_phase != PHASE_RETRY) {
			asm volatile(FEP "movq %1, %0" : "=m"(fep_sink[idx * 8]) : "r"(i));
			continue;
		}
		run_l2(svm);
		/*
		 * Rewrite the entry with its own value.  Two FISTPs take turns:
		 * KVM does not unprotect twice in a row for a fault at the same
		 * RIP and address.
		 */
		if (i % 2)
			asm volatile("fildll %1\n\tfistpll %0" : "=m"(*pde) : "m"(val));
		else
			asm volatile("fildll %1\n\tnop\n\tfistpll %0" : "=m"(*pde) : "m"(val));
	}
	GUEST_DONE();
}

static uint64_t read_event(const char *name)
{
	char path[128];
	uint64_t v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/debug/kvm/%s", name);
	f = fopen(path, "r");
	TEST_ASSERT(f, "cannot open %s (is debugfs mounted?)", path);
	TEST_ASSERT(fscanf(f, "%lu", &v) == 1, "cannot read %s", path);
	fclose(f);
	return v;
}

/*
 * mmu_lock's write side from /proc/lock_stat, false without LOCK_STAT.  A
 * class line is "name: con-bounces contentions waittime-min waittime-max
 * waittime-total waittime-avg acq-bounces acquisitions ...", and rwlock
 * classes have "-W" and "-R" lines; rwlock_init() names the class after
 * its argument, "&(kvm)->mmu_lock".
 */
static bool read_lock_stat(uint64_t *acq, uint64_t *con)
{
	FILE *f = fopen("/proc/lock_stat", "r");
	char line[1024], *name, *rest, *tok, *save;
	size_t len;
	int col;

	if (!f)
		return false;
	*acq = *con = 0;
	while (fgets(line, sizeof(line), f)) {
		rest = strstr(line, ": ");
		if (!rest)
			continue;
		*rest = '\0';
		for (name = line; *name == ' '; name++)
			;
		len = strlen(name);
		if (!strstr(name, ")->mmu_lock") || (len > 2 && !strcmp(name + len - 2, "-R")))
			continue;
		for (col = 0, tok = strtok_r(rest + 2, " \t\n", &save); tok;
		     col++, tok = strtok_r(NULL, " \t\n", &save)) {
			if (col == 1)
				*con += strtoull(tok, NULL, 10);
			else if (col == 7)
				*acq += strtoull(tok, NULL, 10);
		}
	}
	fclose(f);
	return true;
}

static bool go;
static bool ready[MAX_BENCH_VCPUS];

static void *vcpu_thread(void *arg)
{
	struct kvm_vcpu *vcpu = arg;
	struct ucall uc;

	for (;;) {
		vcpu_run(vcpu);
		TEST_ASSERT(vcpu->run->exit_reason == KVM_EXIT_IO,
			    "vCPU %u: exit reason %u", vcpu->id, vcpu->run->exit_reason);
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_SYNC:
			__atomic_store_n(&ready[vcpu->id], true, __ATOMIC_RELEASE);
			while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE))
				;
			break;
		case UCALL_DONE:
			return NULL;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT(uc);
		default:
			TEST_FAIL("vCPU %u: unexpected ucall %lu", vcpu->id, uc.cmd);
		}
	}
}

/*
 * Map TEST_ADDR for each vCPU's L2 through nested page tables of its own, or,
 * if @shared, through vCPU 0's, and map the page directory that translates
 * it for each vCPU's L1 at TABLE_GVA + idx pages.
 */
static void setup_npt(struct kvm_vm *vm, struct svm_test_data **svm, int nr, bool shared)
{
	uint64_t page_gpa = addr_gva2gpa(vm, vm_vaddr_alloc_page(vm)), *table;
	int i, l;

	virt_pg_map(vm, TEST_ADDR, TEST_ADDR);
	for (i = 0; i < nr; i++) {
		if (shared && i) {
			svm[i]->ncr3_gpa = svm[0]->ncr3_gpa;
			test_pde[i] = test_pde[0];
			continue;
		}
		prepare_npt(svm[i], vm);
		npt_map_memslot(svm[i], vm, 0);
		npt_pg_map(svm[i], vm, TEST_ADDR, page_gpa);

		table = svm[i]->ncr3_hva;
		for (l = PG_LEVEL_512G; l > PG_LEVEL_1G; l--)
			table = addr_gpa2hva(vm, PTE_GET_PA(table[(TEST_ADDR >> PG_LEVEL_SHIFT(l)) & 0x1ff]));
		l = (TEST_ADDR >> PG_LEVEL_SHIFT(PG_LEVEL_1G)) & 0x1ff;
		virt_pg_map(vm, TABLE_GVA + i * PAGE_SIZE, PTE_GET_PA(table[l]));
		test_pde[i] = (uint64_t *)(TABLE_GVA + i * PAGE_SIZE +
					   8 * ((TEST_ADDR >> PG_LEVEL_SHIFT(PG_LEVEL_2M)) & 0x1ff));
	}
	sync_global_to_guest(vm, test_pde);
}

static bool shared_tables;

static void run_phase(enum bench_phase phase, int nr, uint64_t ops)
{
	uint64_t ev0[NR_EVENTS], ev1[NR_EVENTS], acq0, acq1, con0, con1;
	struct svm_test_data *svm[MAX_BENCH_VCPUS];
	struct kvm_vcpu *vcpus[MAX_BENCH_VCPUS];
	pthread_t threads[MAX_BENCH_VCPUS];
	struct timespec t0, t1;
	vm_vaddr_t svm_gva;
	struct kvm_vm *vm;
	double secs, n = (double)ops * nr;
	bool have_ls;
	int i;

	vm = vm_create_with_vcpus(nr, l1_code, vcpus);
	for (i = 0; i < nr; i++) {
		svm[i] = vcpu_alloc_svm(vm, &svm_gva);
		vcpu_args_set(vcpus[i], 2, svm_gva, (uint64_t)i);
		ready[i] = false;
	}
	setup_npt(vm, svm, nr, shared_tables);
	bench_phase = phase;
	bench_ops = ops;
	sync_global_to_guest(vm, bench_phase);
	sync_global_to_guest(vm, bench_ops);

	go = false;
	for (i = 0; i < nr; i++)
		pthread_create(&threads[i], NULL, vcpu_thread, vcpus[i]);
	for (i = 0; i < nr; i++)
		while (!__atomic_load_n(&ready[i], __ATOMIC_ACQUIRE))
			usleep(1000);

	for (i = 0; i < NR_EVENTS; i++)
		ev0[i] = read_event(events[i]);
	have_ls = read_lock_stat(&acq0, &con0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	__atomic_store_n(&go, true, __ATOMIC_RELEASE);
	for (i = 0; i < nr; i++)
		pthread_join(threads[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	have_ls = have_ls && read_lock_stat(&acq1, &con1);
	for (i = 0; i < NR_EVENTS; i++)
		ev1[i] = read_event(events[i]);
	secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;

	printf("bench: phase=%s vcpus=%d tables=%s ops=%.0f seconds=%.3f ops_per_sec=%.1f",
	       phase_names[phase], nr, shared_tables ? "shared" : "private", n, secs, n / secs);
	for (i = 0; i < NR_EVENTS; i++)
		printf(" %s=%.3f", events[i], (ev1[i] - ev0[i]) / n);
	if (have_ls)
		printf(" mmu_lock_w_acq=%.3f mmu_lock_w_contended=%.4f",
		       (acq1 - acq0) / n, (con1 - con0) / n);
	printf("\n");
	fflush(stdout);
	kvm_vm_free(vm);
}

static bool forced_emulation_enabled(void)
{
	FILE *f = fopen("/sys/module/kvm/parameters/force_emulation_prefix", "r");
	int c = f ? fgetc(f) : EOF;

	if (f)
		fclose(f);
	/* A bool ("Y") in 6.1, a number ("1") in 6.12. */
	return c == 'Y' || (c >= '1' && c <= '9');
}

int main(int argc, char *argv[])
{
	uint64_t ops = 2000;
	int opt, v, max_vcpus = 2;

	while ((opt = getopt(argc, argv, "hsv:n:")) != -1) {
		switch (opt) {
		case 's':
			shared_tables = true;
			break;
		case 'v':
			max_vcpus = atoi(optarg);
			TEST_ASSERT(max_vcpus >= 1 && max_vcpus <= MAX_BENCH_VCPUS,
				    "-v: 1 to %d", MAX_BENCH_VCPUS);
			break;
		case 'n':
			ops = atoll(optarg);
			TEST_ASSERT(ops > 0, "-n: a positive number");
			break;
		case 'h':
		default:
			printf("usage: %s [-s] [-v max_vcpus] [-n ops_per_vcpu]\n", argv[0]);
			exit(opt == 'h' ? 0 : 1);
		}
	}
	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_SVM));
	TEST_REQUIRE(kvm_is_tdp_enabled() && kvm_cpu_has(X86_FEATURE_NPT));
	TEST_REQUIRE(forced_emulation_enabled());

	for (v = 1; v <= max_vcpus; v++)
		run_phase(PHASE_RETRY, v, ops);
	if (shared_tables)
		return 0;	/* the other phases do not use the tables */
	for (v = 1; v <= max_vcpus; v++)
		run_phase(PHASE_FEP_NOISP, v, ops * 5);
	for (v = 1; v <= max_vcpus; v++)
		run_phase(PHASE_FEP_ISP, v, ops * 5);
	return 0;
}
