/* A DTB from the System (or Idle) process itself: its KPROCESS starts with
 * a DISPATCHER_HEADER of Type 3 whose Size is sizeof(KPROCESS)/4, its
 * ImageFileName reads "System", and KPROCESS.DirectoryTableBase holds the
 * kernel's CR3.  A fallback for images whose page tables the self-map scan
 * does not recognise. */
#ifndef MS_KERNEL_DTB_PROCESS_H
#define MS_KERNEL_DTB_PROCESS_H

#include <stddef.h>
#include <stdint.h>

#include "memsift/image.h"
#include "memsift/profile.h"

typedef struct ms_process_sig {
    unsigned pointer_size;
    uint8_t header_size;       /* DISPATCHER_HEADER.Size; 0 where sizeof(KPROCESS)/4 overflows the byte */
    uint32_t name_offset;      /* EPROCESS.ImageFileName */
} ms_process_sig;

#define MS_MAX_PROCESS_SIGS 64

/* The distinct signatures of every kernel profile in `db`. */
size_t ms_process_sigs(const ms_profile_db *db, ms_process_sig *out, size_t cap);

/* Look for a System/Idle EPROCESS at the pool-aligned offsets of the page
 * at `paddr`; on a match set *dtb and *pointer_size.  Names are read from
 * the image, since ImageFileName usually lies beyond the page. */
int ms_dtb_from_process_page(ms_image *image, const uint8_t *page, uint64_t paddr, const ms_process_sig *sigs,
                             size_t nsigs, uint64_t *dtb, unsigned *pointer_size);

#endif
