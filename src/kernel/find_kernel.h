#ifndef MS_KERNEL_FIND_KERNEL_H
#define MS_KERNEL_FIND_KERNEL_H

#include "memsift/kernel.h"
#include "pe/pe.h"

/* 1 when the PDB name or export name is that of an NT kernel image. */
int ms_is_kernel_pe(const ms_pe *pe);

/* Scan the kernel's part of the address space for a resident PE image that
 * is the NT kernel.  Sets *base. */
ms_status ms_find_kernel_scan(ms_vspace *vs, uint64_t *base);

/* When the kernel's headers are not in the image: find a plain KDBG in
 * physical memory and take its KernBase (works where KDBG is not encoded:
 * Windows XP to 7, and 32-bit Windows).  Sets *base and *kdbg (its VA). */
ms_status ms_find_kernel_by_kdbg(ms_vspace *vs, uint64_t *base, uint64_t *kdbg);

#endif
