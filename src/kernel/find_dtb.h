#ifndef MS_KERNEL_FIND_DTB_H
#define MS_KERNEL_FIND_DTB_H

#include "memsift/image.h"
#include "memsift/paging.h"
#include "memsift/profile.h"

typedef struct ms_dtb_result {
    ms_paging_mode mode;
    uint64_t dtb;
    const char *source;
} ms_dtb_result;

/* Choose the paging mode and DTB: the crash-dump header's when `use_hints`
 * and it validates, else the x64 low stub, else a scan of physical memory
 * for self-referencing top-level tables, else (with `profiles`) a scan for
 * the System process's KPROCESS.  A candidate is accepted only if it
 * translates KUSER_SHARED_DATA to a plausible Windows version. */
ms_status ms_find_dtb(ms_image *image, int use_hints, const ms_profile_db *profiles, ms_dtb_result *out);

#endif
