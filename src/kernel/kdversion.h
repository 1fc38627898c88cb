/* _DBGKD_GET_VERSION64 (nt!KdVersionBlock): the kernel's version block for
 * debuggers, holding the build number, machine type, KernBase and
 * PsLoadedModuleList. */
#ifndef MS_KERNEL_KDVERSION_H
#define MS_KERNEL_KDVERSION_H

#include <stdint.h>

#include "memsift/paging.h"
#include "pe/pe.h"

typedef struct ms_kdversion {
    uint64_t address;
    uint16_t major;              /* 0xF free build, 0xC checked */
    uint16_t minor;              /* the build number */
    uint16_t machine;            /* IMAGE_FILE_MACHINE_* */
    uint64_t ps_loaded_module_list;
} ms_kdversion;

/* Search the kernel image's non-code sections for a version block whose
 * KernBase is `kernel_base` and whose machine type fits the pointer size. */
ms_status ms_kdversion_scan(ms_vspace *vs, uint64_t kernel_base, const ms_pe *pe, ms_kdversion *out);

#endif
