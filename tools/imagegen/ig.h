/* ms-imagegen: synthetic Windows memory images with ground truth.
 *
 * Internal API shared by the generator's parts (see README.md, "Internal
 * API").  Nothing here is shared with the memsift library under test.
 */
#ifndef IG_H
#define IG_H

#include <stddef.h>
#include <stdint.h>

#define IG_PAGE 4096u
#define IG_MAX_PROCS 64
#define IG_MAX_MODS 24
#define IG_MAX_CONNS 256
#define IG_MAX_REGIONS 16

typedef enum { IG_OK = 0, IG_ERR = -1 } ig_status;

/* Records the first error message; every failing function calls it. */
ig_status ig_fail(const char *fmt, ...);
const char *ig_last_error(void);

/* ---- deterministic randomness ---- */
typedef struct ig_rng { uint64_t s[4]; } ig_rng;
void ig_rng_seed(ig_rng *r, uint64_t seed);
uint64_t ig_rng_next(ig_rng *r);
uint64_t ig_rng_range(ig_rng *r, uint64_t lo, uint64_t hi); /* [lo, hi] */
uint64_t ig_mix64(uint64_t x);

/* ---- kernel profile data (profiles/kernel/<name>.prof) ---- */
typedef struct ig_prof ig_prof;
ig_status ig_prof_load(const char *path, ig_prof **out);
void ig_prof_free(ig_prof *p);
/* -1 when absent. */
long ig_prof_struct_size(const ig_prof *p, const char *st);
long ig_prof_field(const ig_prof *p, const char *st, const char *path);
ig_status ig_prof_bits(const ig_prof *p, const char *st, const char *path, long *off, int *pos, int *len);
int ig_prof_symbol(const ig_prof *p, const char *name, uint64_t *rva);
int ig_prof_const(const ig_prof *p, const char *name, uint64_t *val);
/* pdb line: name, GUID (32 hex chars), age; 0 if the profile has none. */
int ig_prof_pdb(const ig_prof *p, const char **name, const char **guid, uint32_t *age);
/* Members of `st` past `after`'s offset (and the size) move by `delta`; the
 * pdb line and the symbol RVAs are dropped: the result describes another kernel. */
ig_status ig_prof_shift(ig_prof *p, const char *st, const char *after, long delta);
/* Adds a field (path) or, with path NULL, a struct size; it overrides earlier ones. */
ig_status ig_prof_put(ig_prof *p, const char *st, const char *path, uint64_t v);

/* ---- generator profiles (the --profile names) ---- */
typedef enum { IG_MODE_X86 = 1, IG_MODE_PAE, IG_MODE_X64 } ig_mode;

typedef struct ig_target {
    const char *name;          /* --profile */
    const char *kernel_profile;/* profiles/kernel/<x>.prof */
    uint32_t build;
    uint32_t major, minor;
    uint32_t sp;               /* service pack */
    ig_mode mode;
    const char *pdb_name;      /* ntkrnlmp.pdb / ntkrpamp.pdb */
    const char *fallback_guid; /* used when the profile carries no pdb line */
    int selfref;               /* x64: fixed PML4 index, or -1 = random 0x100..0x1FE */
    int kaslr;                 /* randomised kernel base (Win8.1+) */
    int large_kernel;          /* kernel image on large pages (when memory allows) */
    int kdbg_encoded;          /* Win8+ x64 */
    int low_stub;              /* x64 PROCESSOR_START_BLOCK in low memory */
    int segment_heap_pool;     /* Win10 19H1+: pool VA in 0xFFFF8xxx.. randomised */
    int ob_cookie;             /* Win10+: encoded OBJECT_HEADER.TypeIndex */
    int old_pool;              /* XP/2003 pool and object headers */
    int first_year;            /* plausible boot year range */
    int last_year;
    const char *csd;           /* "Service Pack 1" or "" */
    int eproc_shift;           /* != 0: a later build laid out like kernel_profile, but with the
                                  _EPROCESS members after ActiveProcessLinks moved by this many
                                  bytes and a made-up PDB (fallback_guid) */
} ig_target;

const ig_target *ig_target_find(const char *name);
const ig_target *ig_target_at(size_t i); /* NULL past the end */

/* ---- physical memory ---- */
typedef struct ig_range { uint64_t start, end; } ig_range; /* bytes, [start, end) */

typedef struct ig_pagemap {
    uint64_t *keys;    /* pfn + 1; 0 = empty slot */
    uint8_t **pages;
    size_t cap, count;
} ig_pagemap;

/* ---- virtual regions the generator allocates from ---- */
typedef enum {
    IG_VA_KERNEL = 0,   /* kernel image (fixed, not an allocator) */
    IG_VA_NPPOOL,       /* nonpaged pool */
    IG_VA_PPOOL,        /* paged pool (may be paged out) */
    IG_VA_SYSPTE,       /* system PTEs: KPCR pages, stacks, misc */
    IG_VA_DRIVERS,      /* driver images */
    IG_VA_PFNDB,        /* PFN database */
    IG_VA_COUNT
} ig_va_kind;

typedef struct ig_region { uint64_t base, next, end; } ig_region;

typedef struct ig_proc_truth {
    uint32_t pid, ppid;
    char name[16];           /* EPROCESS.ImageFileName as stored */
    char full_name[160];     /* "" = null in truth */
    uint64_t eprocess, eprocess_pa, dtb, root_pa;
    uint32_t threads;
    uint64_t create_time, exit_time; /* FILETIME, 0 = none */
    int absent;              /* EPROCESS page left out of a bitmap dump */
    uint64_t peb;
    uint64_t user_pt_pages[4];/* PAE: the 4 PDs; x64: PML4 frame in [0] */
    int unreachable;         /* --damage: a Flink walk from the head misses it */
} ig_proc_truth;

typedef struct ig_mod_truth {
    char name[32];
    char path[96];
    uint64_t base, size;
    char pdb_name[32];
    char guid[33];
    uint32_t age;
    uint64_t ldr;            /* VA of the KLDR_DATA_TABLE_ENTRY */
    int unreachable;         /* --damage: a Flink walk from the head misses it */
    int headers_out;         /* --damage: its header page is not present */
} ig_mod_truth;

typedef struct ig_ctx {
    const ig_target *t;
    ig_prof *prof;
    uint64_t seed;
    ig_rng rng;
    int header_hints;

    /* physical */
    uint64_t size;           /* bytes of physical address space */
    uint64_t npfn;
    ig_range ram[4];
    int nram;
    uint8_t *used;           /* bitmap: frame taken */
    ig_pagemap pm;
    uint8_t *nodump;         /* bitmap: page left out of bitmap dumps (kernel dump) */
    uint8_t *imgframe;       /* bitmap: frame inside a mapped kernel image (no decoys) */
    uint64_t absent_pages;

    /* paging */
    ig_mode mode;
    unsigned ptr;            /* pointer size */
    uint64_t dtb;            /* System CR3 (PDPT address with PAE) */
    uint64_t root_pa;        /* PML4 / PD3-less: top table frame; PAE: PDPT frame */
    uint64_t pae_pd[4];      /* PAE: the System PDs */
    unsigned selfref;        /* x64 PML4 index */
    uint64_t pte_base;       /* VA of the PTE self-map */
    uint64_t pae_pdpt_page;  /* PAE: page that holds process PDPTs */
    unsigned pae_pdpt_slots;

    ig_region va[IG_VA_COUNT];

    /* kernel */
    uint64_t kbase, ksize;
    uint64_t kbase_pa;       /* when mapped physically contiguous */
    int kernel_sparse;       /* only touched pages of the image are mapped */
    uint64_t kfixed;         /* VA - PA of the kernel image on pre-KASLR systems, 0 = none */
    uint64_t kspare, kspare_end; /* .data room for globals the profile has no RVA for */
    struct { const char *name; uint64_t va; } kspare_syms[64]; /* globals placed there, by name */
    size_t kspare_nsyms;
    uint32_t kdata_lo, kdata_hi, ktext_end, krdata;
    uint64_t kdbg, kd_version_block, ps_active_head, ps_loaded_list;
    uint64_t kpcr, kprcb;
    uint64_t ki_wait_never, ki_wait_always, kdp_encoded_va;
    uint64_t pfn_database;
    uint64_t kuser;
    uint64_t system_time;    /* FILETIME at dump */
    uint64_t boot_time;
    uint32_t processors;
    uint8_t ob_cookie;
    uint64_t process_type;   /* pre-Vista: OBJECT_TYPE of processes */
    char kguid[33];
    uint32_t kage;
    const char *kpdb_name;

    /* pool cursors (one partially filled page per pool kind) */
    uint64_t pool_page[2];
    uint32_t pool_used[2];
    uint32_t pool_prev[2];   /* size of the previous block in the page */

    ig_proc_truth procs[IG_MAX_PROCS];
    int nprocs;
    ig_mod_truth mods[IG_MAX_MODS];
    int nmods;
    char *conns[IG_MAX_CONNS]; /* rendered JSON objects (part 2) */
    int nconns;

    unsigned damage;         /* --damage: IG_DAMAGE_* bits (damage.h) */
    struct ig_damage_log *damage_log;
} ig_ctx;

/* phys.c */
ig_status ig_phys_init(ig_ctx *c, uint64_t size);
void ig_phys_free(ig_ctx *c);
int ig_pfn_is_ram(const ig_ctx *c, uint64_t pfn);
/* The stored content of a frame, created zeroed; NULL if not RAM. */
uint8_t *ig_phys_page(ig_ctx *c, uint64_t pfn);
/* Stored content or NULL when the frame holds generated filler. */
const uint8_t *ig_phys_lookup(const ig_ctx *c, uint64_t pfn);
/* A random free frame above 1 MiB (below `limit` bytes if nonzero). */
ig_status ig_frame_alloc(ig_ctx *c, uint64_t *pa);
ig_status ig_frame_alloc_below(ig_ctx *c, uint64_t limit, uint64_t *pa);
ig_status ig_frame_claim(ig_ctx *c, uint64_t pa);
/* `count` contiguous free frames aligned to `align` bytes. */
ig_status ig_frames_alloc_contig(ig_ctx *c, uint64_t count, uint64_t align, uint64_t lo,
                                 uint64_t hi, uint64_t *pa);
ig_status ig_phys_write(ig_ctx *c, uint64_t pa, const void *buf, size_t len);

/* paging.c */
enum {
    IG_MAP_NX = 1,       /* no-execute */
    IG_MAP_USER = 2,     /* user-mode page */
    IG_MAP_RO = 4,       /* read-only */
};
ig_status ig_paging_init(ig_ctx *c);
/* Map one 4 KiB page in the System address space (kernel half is shared
 * with every process). */
ig_status ig_map(ig_ctx *c, uint64_t va, uint64_t pa, unsigned flags);
/* Same in an arbitrary top-level table (process user half). */
ig_status ig_map_in(ig_ctx *c, uint64_t root, uint64_t va, uint64_t pa, unsigned flags);
/* A large page (2 MiB x64/PAE, 4 MiB x86). */
ig_status ig_map_large(ig_ctx *c, uint64_t va, uint64_t pa, unsigned flags);
/* Replace the final PTE of a mapped small page with a software PTE. */
ig_status ig_pte_make_transition(ig_ctx *c, uint64_t va);
ig_status ig_pte_make_pagefile(ig_ctx *c, uint64_t va, uint32_t file, uint64_t offset_pages);
ig_status ig_pte_make_prototype(ig_ctx *c, uint64_t va, uint64_t proto_va);
ig_status ig_pte_make_prototype_in(ig_ctx *c, uint64_t root, uint64_t va, uint64_t proto_va);
/* VA -> PA through the System tables (valid or transition). */
ig_status ig_v2p(ig_ctx *c, uint64_t va, uint64_t *pa);
ig_status ig_v2p_in(ig_ctx *c, uint64_t root, uint64_t va, uint64_t *pa);
/* New process top-level table(s); returns CR3 and fills kernel half later. */
ig_status ig_paging_new_process(ig_ctx *c, ig_proc_truth *p);
ig_status ig_paging_finish(ig_ctx *c);
uint64_t ig_canonical(const ig_ctx *c, uint64_t va);

/* vmem.c: kernel virtual memory */
/* Reserve `size` bytes (page-rounded) in a region, back them by fresh
 * scattered frames and map them. */
ig_status ig_kva_alloc(ig_ctx *c, ig_va_kind kind, size_t size, uint64_t *va);
/* Reserve VA only (no frames, nothing mapped). */
ig_status ig_kva_reserve(ig_ctx *c, ig_va_kind kind, size_t size, uint64_t *va);
/* Back one page of the kernel image (or any VA) if not mapped yet. */
ig_status ig_ensure_mapped(ig_ctx *c, uint64_t va, size_t len, unsigned flags);
ig_status ig_write(ig_ctx *c, uint64_t va, const void *buf, size_t len);
ig_status ig_read(ig_ctx *c, uint64_t va, void *buf, size_t len);
ig_status ig_w8(ig_ctx *c, uint64_t va, uint8_t v);
ig_status ig_w16(ig_ctx *c, uint64_t va, uint16_t v);
ig_status ig_w32(ig_ctx *c, uint64_t va, uint32_t v);
ig_status ig_w64(ig_ctx *c, uint64_t va, uint64_t v);
/* Pointer of the target's width. */
ig_status ig_wptr(ig_ctx *c, uint64_t va, uint64_t v);
/* LIST_ENTRY helpers (pointer width). */
ig_status ig_list_init(ig_ctx *c, uint64_t head);
ig_status ig_list_append(ig_ctx *c, uint64_t head, uint64_t entry);
/* Writes a UNICODE_STRING at `us` whose buffer is at `buf` (written too). */
ig_status ig_unicode_at(ig_ctx *c, uint64_t us, uint64_t buf, const char *ascii);
size_t ig_unicode_size(const ig_ctx *c, const char *ascii);
/* NUL-terminated UTF-16 copy of an ASCII string. */
ig_status ig_wstr(ig_ctx *c, uint64_t va, const char *ascii);

/* pool.c */
typedef enum { IG_POOL_NONPAGED = 0, IG_POOL_PAGED = 1 } ig_pool_type;
size_t ig_pool_header_size(const ig_ctx *c);
size_t ig_pool_align(const ig_ctx *c);
/* Allocate a pool block; *body is the VA after the pool header, *hdr the
 * header's VA (may be NULL).  Bodies up to one page minus the header. */
ig_status ig_pool_alloc(ig_ctx *c, ig_pool_type type, const char tag[4], size_t body_size,
                        uint64_t *body, uint64_t *hdr);
/* Scatter unrelated allocations (random tags, random content). */
ig_status ig_pool_noise(ig_ctx *c, ig_pool_type type, int count);
/* Close the current pool pages with a free block. */
ig_status ig_pool_flush(ig_ctx *c);
/* An executive object: pool header + optional headers + OBJECT_HEADER;
 * returns the object body VA. */
ig_status ig_object_alloc(ig_ctx *c, const char tag[4], uint8_t type_index, uint64_t type_ptr,
                          size_t body_size, uint64_t *body);

/* pe.c */
typedef struct ig_pe_export { const char *name; uint32_t rva; } ig_pe_export;
typedef struct ig_pe_section { const char *name; uint32_t rva, size, chars; } ig_pe_section;
typedef struct ig_pe_spec {
    uint64_t base;
    uint32_t size_of_image;
    int pe64;
    uint16_t machine;
    const ig_pe_section *sections;
    int nsections;
    const char *dll_name;          /* export directory name, NULL = none */
    const ig_pe_export *exports;
    int nexports;
    uint32_t dir_rva;              /* where export+debug data go (an rdata page) */
    const char *pdb_name;
    const char *guid;              /* 32 hex chars */
    uint32_t age;
    uint32_t timestamp;
    uint32_t entry_rva;
} ig_pe_spec;
ig_status ig_pe_write(ig_ctx *c, const ig_pe_spec *spec);
ig_status ig_guid_parse(const char *hex32, uint8_t out[16]);

/* kernel.c */
ig_status ig_kernel_build(ig_ctx *c);
/* VA of a kernel global: the profile RVA, else room in .data; page backed; 0 on error. */
uint64_t ig_kernel_symbol(ig_ctx *c, const char *name, uint64_t size);
long ig_off(const ig_ctx *c, const char *st, const char *path);
long ig_need(const ig_ctx *c, const char *st, const char *path); /* fails if absent */

uint64_t ig_kdbg_decode(uint64_t q, uint64_t never, uint64_t always, uint64_t enc_va);
void ig_layout_kernel(ig_ctx *c);
void ig_layout_regions(ig_ctx *c);

/* procs.c / modules.c */
ig_status ig_processes_build(ig_ctx *c);
ig_status ig_modules_build(ig_ctx *c);

/* The loaded module named `name` (e.g. "tcpip.sys"), or NULL. */
ig_mod_truth *ig_module_find(ig_ctx *c, const char *name);
/* Directory of the profile data (--profiles). */
extern const char *ig_profile_dir;

/* net.c: runs after processes and modules, before the pools are closed
 * and the process page tables are finished. */
ig_status ig_network_build(ig_ctx *c);
/* net_vista*.c (Vista and later) and net_xp*.c (XP, 2003), called by net.c. */
ig_status ig_net_vista_build(ig_ctx *c);
ig_status ig_net_xp_build(ig_ctx *c);
ig_status ig_processes_finish(ig_ctx *c);

/* truth.c */
ig_status ig_truth_add_connection(ig_ctx *c, const char *json_object);
ig_status ig_truth_write(ig_ctx *c, const char *path, const char *format, int dump_type,
                         int compressed, uint64_t file_size);
void ig_filetime_iso(uint64_t ft, char out[32]);
uint64_t ig_filetime_from(int year, int mon, int day, int h, int m, int s);

/* filler.c */
/* Procedurally generated content for an unplaced RAM frame; returns 0 if
 * the page is all zeros (buf untouched). */
int ig_filler(uint64_t seed, uint64_t pfn, uint8_t *buf, int decoys);

/* output.c */
typedef enum {
    IG_FMT_RAW = 0, IG_FMT_CRASH, IG_FMT_BITMAP5, IG_FMT_BITMAP6, IG_FMT_SUMMARY
} ig_format;
ig_status ig_output_write(ig_ctx *c, ig_format fmt, const char *path, int gz, uint64_t *file_size,
                          int *dump_type);

/* verify.c */
ig_status ig_verify(ig_ctx *c, ig_format fmt, const char *path, int gz);

#endif
