/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The window markers of the insns TCG plugin (tcgplugin/insns.c): two architectural no-ops
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

#endif
