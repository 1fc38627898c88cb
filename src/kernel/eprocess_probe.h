/* Finding EPROCESS offsets by structure, for builds no profile describes.
 *
 * Starting from System's EPROCESS and/or the PsActiveProcessHead list head,
 * the probe walks the active process list and looks, in several processes at
 * once, for the values each field must hold (System's pid 4 and name
 * "System", parents that are listed pids, FILETIMEs before the system time,
 * a DirectoryTableBase that maps the kernel...).  Only fields that every
 * check agrees on are reported; the others stay -1.
 */
#ifndef MS_KERNEL_EPROCESS_PROBE_H
#define MS_KERNEL_EPROCESS_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include "kernel_internal.h"

/* `system_eprocess` (the PsInitialSystemProcess value) and
 * `process_list_head` (PsActiveProcessHead) may each be 0, not both.
 * MS_OK when at least ActiveProcessLinks, UniqueProcessId and ImageFileName
 * were validated: `out` then holds every validated offset (-1 for the rest,
 * size 0) and `how` (may be NULL) says what was probed.  Otherwise
 * MS_ERR_NOT_FOUND (or the read error) with the reason in ms_last_error(),
 * and `out` is left alone. */
ms_status ms_eprocess_probe(ms_vspace *vs, unsigned ptr_size, uint64_t system_eprocess, uint64_t process_list_head,
                            ms_eprocess_layout *out, char *how, size_t how_size);

#endif
