/* memsift: pool-tag scanning of physical memory.
 *
 * An ms_tagscan finds Windows pool allocations by their four-byte tag: every
 * place in the image's physical memory where one of up to MS_TAGSCAN_MAX_TAGS
 * tags sits at POOL_HEADER+4 of a pool-aligned header, whose header passes
 * the validation rules the caller gave for that tag.  Windows versions are
 * not known here: the caller picks one of the two header layouts and says
 * what to accept.
 *
 * Hits are reported in ascending physical order, identically whatever the
 * number of threads, and always from the thread that called ms_tagscan_run.
 */
#ifndef MEMSIFT_SCAN_H
#define MEMSIFT_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "memsift/error.h"
#include "memsift/image.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- pool headers ---- */

typedef enum ms_pool_layout {
    /* 8-byte header, 8-byte units: u16 PreviousSize:9 PoolIndex:7,
     * u16 BlockSize:9 PoolType:7, u32 PoolTag (x86 XP..Win10). */
    MS_POOL_X86 = 0,
    /* 16-byte header, 16-byte units: u8 PreviousSize, u8 PoolIndex,
     * u8 BlockSize, u8 PoolType, u32 PoolTag, u64 ProcessBilled
     * (x64 2003..Win11). */
    MS_POOL_X64 = 1
} ms_pool_layout;

/* Bytes of a header, and of one BlockSize/PreviousSize unit (= the block
 * alignment) in a layout: 8 for x86, 16 for x64. */
unsigned ms_pool_header_size(ms_pool_layout layout);
unsigned ms_pool_unit(ms_pool_layout layout);

typedef struct ms_pool_header {
    uint32_t previous_size;    /* bytes (PreviousSize x unit) */
    uint32_t pool_index;
    uint32_t block_size;       /* bytes (BlockSize x unit), header included */
    uint32_t pool_type;        /* the raw field */
    uint32_t tag;              /* as stored: 'TcpE' is 0x45706354 */
    uint64_t process_billed;   /* x64 only, else 0 */
} ms_pool_header;

/* Decode the header at `p` (ms_pool_header_size bytes readable). */
void ms_pool_decode(ms_pool_layout layout, const uint8_t *p, ms_pool_header *out);

/* How the raw PoolType reads.  Before Vista an odd value is non-paged;
 * from Vista on an odd value is paged.  0 is a free block in both. */
typedef enum ms_pool_type_convention {
    MS_POOLTYPE_ODD_NONPAGED = 0,   /* XP, 2003 */
    MS_POOLTYPE_ODD_PAGED = 1       /* Vista and later */
} ms_pool_type_convention;

#define MS_POOL_CLASS_FREE     0x1u
#define MS_POOL_CLASS_NONPAGED 0x2u
#define MS_POOL_CLASS_PAGED    0x4u

unsigned ms_pool_type_class(ms_pool_type_convention conv, uint32_t pool_type);

/* Validation flags of ms_pool_rule.checks. */
/* The block lies inside one 4 KiB page, and PreviousSize is 0 at the start
 * of a page and reaches no further back than the page start.  Classic pool
 * pages only: the Windows 10 segment heap does not keep PreviousSize. */
#define MS_POOL_CHECK_PAGE       0x1u
/* The previous block in the page has BlockSize == our PreviousSize, and the
 * next one (when it starts inside the page) has PreviousSize == our
 * BlockSize.  Checked only where those bytes are held by the image. */
#define MS_POOL_CHECK_NEIGHBOURS 0x2u
/* The whole block is held by the image (reject blocks cut off at the end
 * of a physical range). */
#define MS_POOL_CHECK_WHOLE      0x4u

#define MS_POOL_ANY_INDEX 0xffffffffu

/* What a header must look like for a tag's hit to be reported.  A block
 * smaller than its own header is never accepted. */
typedef struct ms_pool_rule {
    uint32_t min_block;        /* bytes, header included; 0: no minimum */
    uint32_t max_block;        /* bytes; 0: no maximum */
    uint32_t object_size;      /* bytes after the header that must fit in the block; 0: none */
    uint32_t max_pool_index;   /* MS_POOL_ANY_INDEX: any */
    uint32_t checks;           /* MS_POOL_CHECK_* */
    uint8_t pool_types[32];    /* bitmap of accepted raw PoolType values (bit v of byte v/8) */
} ms_pool_rule;

/* Defaults: any block size, PoolIndex and PoolType, no checks. */
void ms_pool_rule_init(ms_pool_rule *rule);

/* Accept exactly the raw PoolType values whose class (under `conv`) is in
 * `classes` (MS_POOL_CLASS_* bits). */
void ms_pool_rule_set_types(ms_pool_rule *rule, ms_pool_type_convention conv, unsigned classes);

/* Check a decoded header found at physical address `paddr` against `rule`.
 * `block` holds `avail` bytes from the header on; `before` bytes before the
 * header are readable at block - before (for the neighbour check). */
int ms_pool_rule_accepts(const ms_pool_rule *rule, ms_pool_layout layout, uint64_t paddr,
                         const ms_pool_header *hdr, const uint8_t *block, size_t avail, size_t before);

/* ---- the scanner ---- */

#define MS_TAGSCAN_MAX_TAGS 16

/* The search routine; AUTO picks the fastest the CPU supports. */
typedef enum ms_tagscan_kernel {
    MS_TAGSCAN_AUTO = 0,
    MS_TAGSCAN_PORTABLE,       /* plain C */
    MS_TAGSCAN_SSE2,
    MS_TAGSCAN_AVX2
} ms_tagscan_kernel;

typedef struct ms_tagscan_options {
    ms_pool_layout layout;
    /* Scan threads, 1..64; 0: one per online CPU, at most 4.  With more
     * than one, the hits are still reported from the calling thread. */
    unsigned threads;
    ms_tagscan_kernel kernel;
    /* Bytes scanned per work unit, rounded to pages (0: 4 MiB).  The heap
     * stays about (threads + 1) x (chunk + chunk / 2) at most on x64 and
     * (threads + 1) x 2 chunks on x86, whatever the image size; a mapped
     * image with few hits needs almost none. */
    size_t chunk_size;
} ms_tagscan_options;

void ms_tagscan_options_init(ms_tagscan_options *opts);

typedef struct ms_tagscan ms_tagscan;

ms_status ms_tagscan_create(const ms_tagscan_options *opts, ms_tagscan **out);
void ms_tagscan_destroy(ms_tagscan *scanner);

/* Add a tag of four characters ("TcpE") with its rule (NULL: defaults).
 * *index (may be NULL) receives its position, which hits report. */
ms_status ms_tagscan_add_tag(ms_tagscan *scanner, const char tag[4], const ms_pool_rule *rule, size_t *index);

/* The tag as ms_pool_header.tag stores it: "TcpE" -> 0x45706354. */
uint32_t ms_pool_tag_value(const char tag[4]);

typedef struct ms_pool_hit {
    uint64_t paddr;            /* physical address of the pool header */
    size_t tag_index;
    ms_pool_header header;
    /* The block from its header on: `block_len` bytes (block_size, or fewer
     * where the image's memory ends), valid only during the callback. */
    const uint8_t *block;
    size_t block_len;
} ms_pool_hit;

/* Return non-zero to stop the scan. */
typedef int (*ms_tagscan_fn)(const ms_pool_hit *hit, void *user);
/* Physical bytes scanned so far out of the image's present bytes. */
typedef void (*ms_tagscan_progress_fn)(void *user, uint64_t done, uint64_t total);

/* Scan every physical range of `image`.  MS_OK when the scan completed or
 * the callback stopped it.  The image must not be used by others meanwhile
 * (gzip images keep a single read position). */
ms_status ms_tagscan_run(ms_tagscan *scanner, ms_image *image, ms_tagscan_fn callback, void *user,
                         ms_tagscan_progress_fn progress, void *progress_user);

/* Name of the search routine a run uses ("avx2", "sse2", "portable"). */
const char *ms_tagscan_kernel_name(const ms_tagscan *scanner);

#ifdef __cplusplus
}
#endif
#endif
