/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The window markers of the insns TCG plugin (tcgplugin/insns.c): architectural no-ops
 * that the plugin recognises by their bytes when it translates them at a user address.
 * Outside QEMU with the plugin they do nothing.
 */
#ifndef MMUSCOPE_INSNS_MARK_H
#define MMUSCOPE_INSNS_MARK_H

/* Start a window: xchg %bx,%bx (66 87 db). */
static inline void insns_mark_start(void)
{
	__asm__ volatile(".byte 0x66, 0x87, 0xdb" ::: "memory");
}

/* End the window: xchg %cx,%cx (66 87 c9). When it returns, the plugin has written the
 * window's document (outdir=DIR: DIR/<window>.json and DIR/last.json). */
static inline void insns_mark_end(void)
{
	__asm__ volatile(".byte 0x66, 0x87, 0xc9" ::: "memory");
}

/*
 * From here on, until the next phase marker or the window's end, the window's instructions
 * count in phase ID as well (0 <= ID < 16, a constant; phase 0 from the window's start):
 * nopl 0x4d4d00ID(%rax) (0f 1f 80 ID 00 4d 4d). The document's "phases" member has each
 * phase's counts (tcgplugin/insns-json.md, which also lists the IDs the workloads use).
 */
#define insns_mark_phase(id) do {							\
	_Static_assert((id) >= 0 && (id) < 16, "a phase is 0 to 15");			\
	__asm__ volatile(".byte 0x0f, 0x1f, 0x80\n\t.long 0x4d4d0000 + %c0"		\
			 :: "i"(id) : "memory");						\
} while (0)

/* The phases of the workloads (tcgplugin/insns-json.md, "Phases"). */
#define INSNS_PHASE_OTHER	0	/* the rest of the window */
#define INSNS_PHASE_CANCEL	1	/* dirty logging stopping: the cancel's request until it is done */
#define INSNS_PHASE_RECOVERY	2	/* after a cancel: the guest running on, until its window ends */
#define INSNS_PHASE_HARVEST	3	/* harvesting the dirty log while the guest writes */

#endif
