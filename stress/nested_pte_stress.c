// SPDX-License-Identifier: GPL-2.0-only
/*
 * Races the paths nested_pte_write_test drives against KVM's page faults:
 * vCPU 0's L1 rewrites a page directory entry of the tables L2 runs on
 * (L2's nested page tables with TDP, L1's own without) while vCPU 1's L1
 * runs L2 through it, over and over.  Each round, a FISTP makes KVM
 * unprotect the table (zap its shadow pages), then a MOV races L2's next
 * fault, which walks the table, shadows it again and links the entry: the
 * MOV is a plain store if it comes first, else emulated, and then
 * kvm_mmu_track_write() must zap what the fault linked.  Then, with the
 * table shadowed, an emulated MOV zaps the entry and another races the
 * fault that links it again.  A fault that links what it walked before a
 * store leaves L2 reading a page the entry no longer points to.
 *
 * The entry points, in turn, at one of NR_PTS page tables, each mapping
 * the address L2 reads to a page holding that table's number.  The writer
 * publishes each store's number in @done once the store has retired; the
 * reader's L1 flushes L2's TLB before each run, so L2 must read the number
 * of a store between the @done it saw before the run and the one after
 * (plus one in flight).  After its racing stores, the writer waits for two
 * reader runs, so that a stale entry is seen before the next store zaps it.
 *
 * Not a selftest: whether the race is hit depends on how the host (or the
 * emulator) interleaves the vCPUs; see the project's README.
 *
 *   nested_pte_stress [-n ROUNDS]
 */
#include <pthread.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "svm_util.h"
#include "vmx.h"

#define TEST_ADDR		0xc0000000ul	/* L2's read; GVA = L2 GPA */
#define TABLE_GVA		0x80000000ul	/* the page directory, for L1 */
#define NR_PTS			8
#define MAX_SPIN		4096
#define L2_STACK_SIZE		64

/* Set by the host. */
static uint64_t *test_pde;
static uint64_t pt_gpa[NR_PTS];
static uint64_t nr_rounds = 2000;
static bool l2_on_svm;

/* Shared by the two vCPUs. */
static uint64_t done;		/* number of stores retired */
static uint64_t reads;		/* L2 runs the reader has checked */
static bool writer_finished;
static bool hold, parked;	/* the reader stays out of L2 */

static uint64_t l2_read;
static uint64_t l2_stack[L2_STACK_SIZE] __aligned(16);
#define L2_RSP			(&l2_stack[L2_STACK_SIZE - 1])

static void l2_guest_code(void)
{
	WRITE_ONCE(l2_read, READ_ONCE(*(uint64_t *)TEST_ADDR));
	if (l2_on_svm)
		vmmcall();
	else
		vmcall();
}

static void store_next_pt(bool emulatable)
{
	uint64_t val = (*test_pde & ~PHYSICAL_PAGE_MASK) | pt_gpa[(done + 1) % NR_PTS];

	/*
	 * KVM refuses to unprotect twice in a row for a fault at the same RIP
	 * and address (its guard against unprotect loops), and the MOV
	 * between two FISTPs need not fault: alternate two FISTPs.
	 */
	if (emulatable)
		asm volatile("movq %1, %0" : "=m"(*test_pde) : "r"(val));
	else if (done % 4)
		asm volatile("fildll %1\n\tfistpll %0" : "=m"(*test_pde) : "m"(val));
	else
		asm volatile("fildll %1\n\tnop\n\tfistpll %0" : "=m"(*test_pde) : "m"(val));
	WRITE_ONCE(done, done + 1);
}

/* Give the reader's fault a head start, of a different length each round. */
static void spin(uint64_t round)
{
	uint64_t i, n = (round * 2654435761u >> 8) % MAX_SPIN;

	/*
	 * No PAUSE: under single-threaded TCG, each PAUSE hands the host CPU
	 * to the other vCPU for a whole time slice.
	 */
	for (i = 0; i < n; i++)
		barrier();
}

static void wait_for_reader(void)
{
	uint64_t target = READ_ONCE(reads) + 2;

	while (READ_ONCE(reads) < target)
		cpu_relax();
}

static void writer_code(void)
{
	uint64_t round;

	for (round = 0; round < nr_rounds; round++) {
		/*
		 * The FISTP faults, KVM unprotects the table and the CPU
		 * retries the store.  Were the table shadowed again before
		 * the retry, KVM would see the same RIP and address fault
		 * twice and give up, so the reader stays out of L2 meanwhile.
		 */
		WRITE_ONCE(hold, true);
		while (!READ_ONCE(parked))
			cpu_relax();
		store_next_pt(false);
		WRITE_ONCE(hold, false);

		/*
		 * L2's next read faults and shadows the table again: the MOV
		 * is a plain store if it comes first, else emulated.
		 */
		spin(round);
		store_next_pt(true);
		wait_for_reader();

		/*
		 * The table is shadowed: the first MOV is emulated and zaps
		 * the entry, the second races the fault that links it again.
		 */
		store_next_pt(true);
		spin(round);
		store_next_pt(true);
		wait_for_reader();
	}
	WRITE_ONCE(writer_finished, true);
	GUEST_DONE();
}

/* The reader stays in L1 while the writer holds it off. */
static void reader_park(void)
{
	if (!READ_ONCE(hold))
		return;
	WRITE_ONCE(parked, true);
	while (READ_ONCE(hold))
		cpu_relax();
	WRITE_ONCE(parked, false);
}

/* L2 read the page of table @pt: was that table in use during the run? */
static void check_read(uint64_t before, uint64_t after)
{
	uint64_t pt = READ_ONCE(l2_read), s;

	if (after + 1 - before >= NR_PTS)
		return;		/* too many stores to tell; does not happen */
	for (s = before; s <= after + 1; s++)
		if (s % NR_PTS == pt)
			return;
	__GUEST_ASSERT(0, "L2 read the page of table %lu, but the stores in flight were %lu..%lu (tables %lu..%lu), after %lu runs",
		       pt, before, after + 1, before % NR_PTS,
		       (after + 1) % NR_PTS, READ_ONCE(reads));
}

static void reader_svm_code(struct svm_test_data *svm)
{
	struct vmcb *vmcb = svm->vmcb;
	uint64_t before;

	generic_svm_setup(svm, l2_guest_code, L2_RSP);
	while (!READ_ONCE(writer_finished)) {
		reader_park();
		before = READ_ONCE(done);
		vmcb->save.rip = (uint64_t)l2_guest_code;
		vmcb->save.rsp = (uint64_t)L2_RSP;
		vmcb->control.tlb_ctl = TLB_CONTROL_FLUSH_ALL_ASID;
		run_guest(vmcb, svm->vmcb_gpa);
		__GUEST_ASSERT(vmcb->control.exit_code == SVM_EXIT_VMMCALL,
			       "Unexpected L2 exit 0x%x, info 0x%lx 0x%lx",
			       vmcb->control.exit_code, vmcb->control.exit_info_1,
			       vmcb->control.exit_info_2);
		check_read(before, READ_ONCE(done));
		WRITE_ONCE(reads, reads + 1);
	}
	GUEST_DONE();
}

static void reader_vmx_code(struct vmx_pages *vmx)
{
	bool launched = false;
	uint64_t before;

	GUEST_ASSERT(prepare_for_vmx_operation(vmx));
	GUEST_ASSERT(load_vmcs(vmx));
	prepare_vmcs(vmx, l2_guest_code, L2_RSP);
	while (!READ_ONCE(writer_finished)) {
		reader_park();
		before = READ_ONCE(done);
		/* VPID is off: VM-entry flushes linear translations. */
		if (vmx->eptp_gpa)
			GUEST_ASSERT(!__invept(INVEPT_ALL_CONTEXTS, 0));
		GUEST_ASSERT(!vmwrite(GUEST_RIP, (uint64_t)l2_guest_code));
		GUEST_ASSERT(!vmwrite(GUEST_RSP, (uint64_t)L2_RSP));
		GUEST_ASSERT(!(launched ? vmresume() : vmlaunch()));
		launched = true;
		__GUEST_ASSERT(vmreadz(VM_EXIT_REASON) == EXIT_REASON_VMCALL,
			       "Unexpected L2 exit %lu, qualification 0x%lx",
			       vmreadz(VM_EXIT_REASON), vmreadz(EXIT_QUALIFICATION));
		check_read(before, READ_ONCE(done));
		WRITE_ONCE(reads, reads + 1);
	}
	GUEST_DONE();
}

static uint64_t *table_entry(struct kvm_vm *vm, uint64_t root_gpa,
			     uint64_t addr, int level)
{
	uint64_t *table = addr_gpa2hva(vm, root_gpa);
	int l;

	for (l = PG_LEVEL_512G; l > level; l--)
		table = addr_gpa2hva(vm, PTE_GET_PA(table[(addr >> PG_LEVEL_SHIFT(l)) & 0x1ff]));
	return &table[(addr >> PG_LEVEL_SHIFT(level)) & 0x1ff];
}

/*
 * Page table k maps TEST_ADDR to a page holding k, through L2's nested
 * page tables (TDP) or L1's own; the page directory is mapped at TABLE_GVA.
 */
static void setup_tables(struct kvm_vm *vm, struct svm_test_data *svm,
			 struct vmx_pages *vmx, bool tdp)
{
	vm_vaddr_t pages = vm_vaddr_alloc_pages(vm, NR_PTS);
	uint64_t page_gpa[NR_PTS], root_gpa, *pde, *pt;
	int k, i = (TEST_ADDR >> PAGE_SHIFT) & 0x1ff;

	for (k = 0; k < NR_PTS; k++) {
		page_gpa[k] = addr_gva2gpa(vm, pages + k * PAGE_SIZE);
		*(uint64_t *)addr_gpa2hva(vm, page_gpa[k]) = k;
	}

	if (!tdp) {
		virt_pg_map(vm, TEST_ADDR, page_gpa[0]);
		root_gpa = vm->pgd;
	} else if (svm) {
		virt_pg_map(vm, TEST_ADDR, TEST_ADDR);
		prepare_npt(svm, vm);
		npt_map_memslot(svm, vm, 0);
		npt_pg_map(svm, vm, TEST_ADDR, page_gpa[0]);
		root_gpa = svm->ncr3_gpa;
	} else {
		virt_pg_map(vm, TEST_ADDR, TEST_ADDR);
		prepare_eptp(vmx, vm, 0);
		nested_map_memslot(vmx, vm, 0);
		nested_pg_map(vmx, vm, TEST_ADDR, page_gpa[0]);
		root_gpa = vmx->eptp_gpa;
	}

	pde = table_entry(vm, root_gpa, TEST_ADDR, PG_LEVEL_2M);
	pt_gpa[0] = PTE_GET_PA(*pde);
	for (k = 1; k < NR_PTS; k++) {
		pt_gpa[k] = vm_alloc_page_table(vm);
		pt = addr_gpa2hva(vm, pt_gpa[k]);
		memcpy(pt, addr_gpa2hva(vm, pt_gpa[0]), PAGE_SIZE);
		pt[i] = (pt[i] & ~PHYSICAL_PAGE_MASK) | page_gpa[k];
	}

	virt_pg_map(vm, TABLE_GVA,
		    PTE_GET_PA(*table_entry(vm, root_gpa, TEST_ADDR, PG_LEVEL_1G)));
	test_pde = (uint64_t *)(TABLE_GVA + ((uint64_t)pde & (PAGE_SIZE - 1)));

	sync_global_to_guest(vm, test_pde);
	sync_global_to_guest(vm, pt_gpa);
	l2_on_svm = svm;
	sync_global_to_guest(vm, l2_on_svm);
}

static void *vcpu_thread(void *arg)
{
	struct kvm_vcpu *vcpu = arg;
	struct ucall uc;

	for (;;) {
		vcpu_run(vcpu);
		TEST_ASSERT(vcpu->run->exit_reason != KVM_EXIT_INTERNAL_ERROR,
			    "vCPU %u: KVM failed to emulate an instruction (suberror %u)",
			    vcpu->id, vcpu->run->internal.suberror);
		TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);

		switch (get_ucall(vcpu, &uc)) {
		case UCALL_DONE:
			return NULL;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT(uc);
		default:
			TEST_FAIL("vCPU %u: unexpected ucall %lu", vcpu->id, uc.cmd);
		}
	}
}

int main(int argc, char *argv[])
{
	struct svm_test_data *svm = NULL;
	struct vmx_pages *vmx = NULL;
	uint64_t pte_writes, zapped;
	struct kvm_vcpu *vcpu[2];
	pthread_t thread[2];
	vm_vaddr_t nested_gva;
	struct kvm_vm *vm;
	bool tdp;
	int opt, i;

	while ((opt = getopt(argc, argv, "n:")) != -1) {
		TEST_ASSERT(opt == 'n', "Usage: %s [-n ROUNDS]", argv[0]);
		nr_rounds = atoi_positive("Number of rounds", optarg);
	}

	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_SVM) || kvm_cpu_has(X86_FEATURE_VMX));

	vm = vm_create_with_one_vcpu(&vcpu[0], writer_code);
	if (kvm_cpu_has(X86_FEATURE_SVM)) {
		vcpu[1] = vm_vcpu_add(vm, 1, reader_svm_code);
		svm = vcpu_alloc_svm(vm, &nested_gva);
		tdp = kvm_cpu_has_npt();
	} else {
		vcpu[1] = vm_vcpu_add(vm, 1, reader_vmx_code);
		vmx = vcpu_alloc_vmx(vm, &nested_gva);
		tdp = kvm_cpu_has_ept();
	}
	vcpu_args_set(vcpu[1], 1, nested_gva);
	setup_tables(vm, svm, vmx, tdp);
	sync_global_to_guest(vm, nr_rounds);
	pr_info("%lu rounds of a FISTP and three MOVs to %s\n", nr_rounds,
		tdp ? "L2's nested page tables" : "L1's page tables, shared with L2");

	pte_writes = vm_get_stat(vm, "mmu_pte_write");
	zapped = vm_get_stat(vm, "mmu_shadow_zapped");
	for (i = 0; i < 2; i++)
		pthread_create(&thread[i], NULL, vcpu_thread, vcpu[i]);
	for (i = 0; i < 2; i++)
		pthread_join(thread[i], NULL);
	pte_writes = vm_get_stat(vm, "mmu_pte_write") - pte_writes;
	zapped = vm_get_stat(vm, "mmu_shadow_zapped") - zapped;

	sync_global_from_guest(vm, reads);
	pr_info("%lu L2 runs checked; mmu_pte_write +%lu, mmu_shadow_zapped +%lu\n",
		reads, pte_writes, zapped);
	/* Both paths must have been taken, or the race was not run. */
	TEST_ASSERT(pte_writes && zapped,
		    "Stores were not emulated (mmu_pte_write +%lu) or did not unprotect (mmu_shadow_zapped +%lu)",
		    pte_writes, zapped);
	kvm_vm_free(vm);
	return 0;
}
