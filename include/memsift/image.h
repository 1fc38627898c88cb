/* memsift: physical memory images.
 *
 * An ms_image is the physical address space of a memory image file.  The
 * container format is detected from the file's bytes (never its name):
 * raw/padded and VMware .vmem, Windows crash dumps (32- and 64-bit; full,
 * summary, bitmap; triage recognised), LiME, and any of these gzip-compressed.
 * The one use of names: a raw image's VMware metadata (NAME.vmss/.vmsn) is
 * looked for beside it, since a .vmem has no header of its own.
 */
#ifndef MEMSIFT_IMAGE_H
#define MEMSIFT_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "memsift/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ms_image ms_image;

typedef enum ms_image_format {
    MS_FORMAT_RAW = 0,      /* raw, padded, VMware .vmem without metadata */
    MS_FORMAT_CRASH32,      /* PAGEDUMP */
    MS_FORMAT_CRASH64,      /* PAGEDU64 */
    MS_FORMAT_LIME,
    MS_FORMAT_VMWARE        /* .vmem mapped through its .vmss/.vmsn */
} ms_image_format;

/* DUMP_TYPE values of the crash-dump header (mindumpdef.h). */
typedef enum ms_dump_type {
    MS_DUMP_NONE = 0,
    MS_DUMP_FULL = 1,
    MS_DUMP_SUMMARY = 2,
    MS_DUMP_HEADER = 3,
    MS_DUMP_TRIAGE = 4,
    MS_DUMP_BITMAP_FULL = 5,
    MS_DUMP_BITMAP_KERNEL = 6
} ms_dump_type;

/* IMAGE_FILE_MACHINE_* values from the crash-dump header. */
#define MS_MACHINE_I386  0x014c
#define MS_MACHINE_AMD64 0x8664
#define MS_MACHINE_ARM64 0xaa64

/* DUMP_FILE_ATTRIBUTES bit that marks an encrypted dump. */
#define MS_DUMP_ATTR_ENCRYPTED (1u << 8)

/* What the container header says about the system.  Only crash dumps carry
 * these; `has_header` is 0 for raw and LiME images. */
typedef struct ms_dump_header {
    int has_header;
    int is_64bit;
    uint32_t major_version;     /* 0xF free build, 0xC checked build */
    uint32_t minor_version;     /* the NT build number */
    uint32_t dump_type;         /* ms_dump_type */
    uint32_t machine_type;      /* MS_MACHINE_* */
    uint32_t num_processors;
    uint32_t bugcheck_code;
    uint64_t bugcheck_params[4];
    uint64_t directory_table_base;
    uint64_t pfn_database;
    uint64_t ps_loaded_module_list;
    uint64_t ps_active_process_head;
    uint64_t kd_debugger_data_block;
    uint64_t system_time;       /* FILETIME, 100 ns since 1601, UTC */
    uint64_t system_uptime;     /* 100 ns units */
    uint32_t attributes;        /* DUMP_FILE_ATTRIBUTES */
    uint32_t product_type;
    uint32_t suite_mask;
    int pae_enabled;            /* 32-bit dumps only; -1 when unknown */
    char comment[129];
    /* Bitmap dumps: pages the bitmap says are present, and its size in bits. */
    uint64_t bitmap_pages;
    uint64_t bitmap_bits;
} ms_dump_header;

typedef struct ms_image_info {
    ms_image_format format;
    int compressed;             /* 1 when read through gzip */
    uint64_t file_size;         /* bytes of the (decompressed) container */
    uint64_t max_address;       /* one past the highest physical byte held */
    uint64_t present_bytes;     /* physical bytes actually held */
    size_t range_count;         /* number of physical ranges held */
    int has_physical_memory;    /* 0 for triage and header-only dumps */
    ms_dump_header header;
    /* MS_FORMAT_VMWARE: the metadata file used (owned by the image) and its
     * regionsCount (0: the .vmem is read flat).  NULL and 0 otherwise. */
    const char *vmware_metadata;
    size_t vmware_regions;
} ms_image_info;

typedef struct ms_image_options {
    /* Build and cache a gzip checkpoint index beside the image when the
     * directory is writable (default 1). */
    int gzip_cache_index;
    /* Use pread instead of mmap for uncompressed files (default 0). */
    int no_mmap;
    /* VMware metadata for a raw image: NULL (default) looks for NAME.vmss,
     * then NAME.vmsn, beside the image; MS_VMWARE_METADATA_NONE reads the
     * image flat; anything else is the metadata file to use. */
    const char *vmware_metadata;
} ms_image_options;

#define MS_VMWARE_METADATA_NONE ""

void ms_image_options_init(ms_image_options *opts);

/* Open `path`, detect its format and build the physical address map.
 * `opts` may be NULL for defaults. */
ms_status ms_image_open(const char *path, const ms_image_options *opts, ms_image **out);
void ms_image_close(ms_image *image);

const ms_image_info *ms_image_get_info(const ms_image *image);

/* Short names for display: "raw", "crash dump (64-bit)", "full", "bitmap (kernel)"... */
const char *ms_image_format_name(ms_image_format format);
const char *ms_dump_type_name(uint32_t dump_type);
const char *ms_machine_name(uint32_t machine_type);

/* Read `len` bytes of physical memory at `paddr`.
 * MS_OK: all bytes read.  MS_ERR_NOT_PRESENT: some byte is not held by the
 * image (the buffer is then filled with zeros where absent).  MS_ERR_IO:
 * the underlying file could not be read. */
ms_status ms_image_read(ms_image *image, uint64_t paddr, void *buf, size_t len);

/* A physical range held by the image. */
typedef struct ms_phys_range {
    uint64_t start;
    uint64_t length;
} ms_phys_range;

/* The held ranges, ascending and non-overlapping; `index` < range_count. */
ms_status ms_image_range(const ms_image *image, size_t index, ms_phys_range *out);

/* Zero-copy access for scanners: if [paddr, paddr+len) lies in one held
 * range backed by a memory mapping, set *ptr and return MS_OK; otherwise
 * MS_ERR_UNSUPPORTED (use ms_image_read). */
ms_status ms_image_map(ms_image *image, uint64_t paddr, size_t len, const uint8_t **ptr);

#ifdef __cplusplus
}
#endif
#endif
