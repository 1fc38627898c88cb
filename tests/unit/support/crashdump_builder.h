/* Test helper: builds Windows crash-dump files (PAGEDUMP / PAGEDU64) in
 * memory.  It restates the layout independently of src/image so that a
 * wrong offset in the library is caught by the tests. */
#ifndef MS_TEST_CRASHDUMP_BUILDER_H
#define MS_TEST_CRASHDUMP_BUILDER_H

#include <stddef.h>
#include <stdint.h>

#define CDB_SDMP 0x504d4453u
#define CDB_FDMP 0x504d4446u
#define CDB_PAGE_FILL 0x45474150u

/* Where DumpType 2 puts its counts: the SUMMARY_DUMP32/64 layout of XP..7,
 * or the Windows 8+ bitmap layout (u64 fields at +0x20). */
enum { CDB_SUMMARY_LEGACY = 0, CDB_SUMMARY_BITMAP = 1 };

typedef struct cdb_run {
    uint64_t base_page;
    uint64_t page_count;
} cdb_run;

typedef struct cdb_spec {
    int is_64bit;
    uint32_t dump_type;
    uint32_t major_version, build, machine_type, num_processors;
    uint32_t bugcheck_code;
    uint64_t bugcheck_params[4];
    uint64_t dtb, pfn_database, ps_loaded_module_list, ps_active_process_head, kdbg;
    uint64_t system_time, system_uptime;
    uint32_t product_type, suite_mask;
    int pae_enabled;             /* 32-bit only */
    int attributes_set;          /* 0 leaves the PAGE fill */
    uint32_t attributes;
    const char *comment;         /* NULL leaves the PAGE fill */
    /* Physical pages held: the run list of a full dump, the set bits of a
     * bitmap dump.  Ascending. */
    const cdb_run *runs;
    size_t run_count;
    uint32_t bitmap_signature;   /* CDB_SDMP or CDB_FDMP */
    int summary_layout;          /* DumpType 2 only */
    uint64_t bitmap_bits;        /* 0: one past the highest page */
} cdb_spec;

/* Defaults: plausible values for every header field. */
void cdb_spec_init(cdb_spec *spec, int is_64bit, uint32_t dump_type);

/* Build the file; *out is malloc'ed.  Returns 0, or -1 on a bad spec. */
int cdb_build(const cdb_spec *spec, uint8_t **out, size_t *out_len);

/* Main header size: 0x1000 or 0x2000. */
size_t cdb_header_size(int is_64bit);

/* File offset of the bitmap header's HeaderSize field and of the bitmap
 * itself, for tests that patch them. */
size_t cdb_bitmap_header_size_offset(const cdb_spec *spec);

/* The byte the builder stores at physical address paddr. */
uint8_t cdb_page_byte(uint64_t paddr);

void cdb_put32(uint8_t *buf, size_t off, uint32_t v);
void cdb_put64(uint8_t *buf, size_t off, uint64_t v);

/* Write buf to a new file under $MEMSIFT_TEST_TMP (or /tmp); the path is
 * stored in path.  Returns 0 or -1. */
int cdb_write_temp(const uint8_t *buf, size_t len, char *path, size_t path_cap);

#endif
