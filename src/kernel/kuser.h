/* KUSER_SHARED_DATA: the page Windows maps at a fixed address in every
 * address space; its version fields make a cheap test that a DTB really
 * translates a Windows kernel. */
#ifndef MS_KERNEL_KUSER_H
#define MS_KERNEL_KUSER_H

#include <stdint.h>

#include "memsift/paging.h"

#define MS_KUSER_X86 0xffdf0000ull
#define MS_KUSER_X64 0xfffff78000000000ull

/* Offsets stable from NT 5 to Windows 11. */
#define MS_KUSER_SYSTEM_TIME 0x14      /* KSYSTEM_TIME: Low, High1, High2 */
#define MS_KUSER_NT_BUILD 0x260        /* Windows 10+ only */
#define MS_KUSER_NT_PRODUCT_TYPE 0x264
#define MS_KUSER_NT_MAJOR 0x26c
#define MS_KUSER_NT_MINOR 0x270
#define MS_KUSER_ACTIVE_PROCESSORS 0x3c0 /* Vista+ */

typedef struct ms_kuser {
    uint64_t address;
    uint32_t nt_major;
    uint32_t nt_minor;
    uint32_t nt_build;             /* 0 before Windows 10 */
    uint32_t product_type;
    uint64_t system_time;          /* FILETIME */
} ms_kuser;

/* Read and sanity-check KUSER_SHARED_DATA through `vs`. */
ms_status ms_kuser_read(ms_vspace *vs, ms_kuser *out);

#endif
