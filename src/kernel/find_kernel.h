#ifndef MS_KERNEL_FIND_KERNEL_H
#define MS_KERNEL_FIND_KERNEL_H

#include "memsift/kernel.h"
#include "pe/pe.h"

/* 1 when the PDB name or export name is that of an NT kernel image. */
int ms_is_kernel_pe(const ms_pe *pe);

/* Scan the kernel's part of the address space for a resident PE image that
 * is the NT kernel.  Sets *base. */
ms_status ms_find_kernel_scan(ms_vspace *vs, uint64_t *base);

#endif
