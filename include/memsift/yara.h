/* memsift: YARA rules over physical and virtual memory.
 *
 * Rules are compiled once (from strings, files or a directory of files) into
 * an ms_yara_rules handle, optionally cached on disk as libyara's compiled
 * form.  A scan walks a list of regions (an address, the physical address
 * behind it and a length) in chunks that overlap so that matches crossing a
 * chunk boundary are found once; several threads scan different chunks and
 * matches reach the caller's callback on the calling thread, ascending by
 * address.  libyara is initialised and finalised by reference count: while
 * any compiler or rules handle exists it stays initialised.
 */
#ifndef MEMSIFT_YARA_H
#define MEMSIFT_YARA_H

#include <stddef.h>
#include <stdint.h>

#include "memsift/error.h"
#include "memsift/image.h"
#include "memsift/paging.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- compiling ---- */

typedef struct ms_yara_rules ms_yara_rules;
typedef struct ms_yara_compiler ms_yara_compiler;

/* Compiler warnings and cache notes; `is_warning` is 0 for notes. */
typedef void (*ms_yara_log_fn)(void *user, int is_warning, const char *message);

typedef struct ms_yara_compile_options {
    /* Directory for compiled rule sets keyed by a hash of their sources;
     * NULL for no disk cache.  Created (mode 0700) when missing. */
    const char *cache_dir;
    /* In a directory, leave out files that do not compile (with a warning)
     * instead of failing. */
    int skip_bad_files;
    ms_yara_log_fn log;
    void *log_user;
} ms_yara_compile_options;

void ms_yara_compile_options_init(ms_yara_compile_options *opts);

/* `opts` is copied (the cache_dir string must outlive the compiler); NULL
 * for defaults. */
ms_status ms_yara_compiler_create(const ms_yara_compile_options *opts, ms_yara_compiler **out);
void ms_yara_compiler_destroy(ms_yara_compiler *c);

/* Rule source text; `origin` names it in error messages ("--rule 1"). */
ms_status ms_yara_compiler_add_string(ms_yara_compiler *c, const char *source, const char *origin);
/* A rule file, or every *.yar / *.yara file of a directory (not recursive,
 * in name order).  Each file gets its own namespace, so two files may use
 * the same rule name. */
ms_status ms_yara_compiler_add_path(ms_yara_compiler *c, const char *path);

/* Compile what was added (or load it from the cache).  A syntax error fails
 * with "FILE:LINE: message"; an empty rule set fails with MS_ERR_NOT_FOUND.
 * The compiler can be destroyed afterwards; the rules stay valid. */
ms_status ms_yara_compiler_finish(ms_yara_compiler *c, ms_yara_rules **out);

void ms_yara_rules_destroy(ms_yara_rules *rules);
size_t ms_yara_rules_count(const ms_yara_rules *rules);
/* 1 when the rules came from the disk cache. */
int ms_yara_rules_from_cache(const ms_yara_rules *rules);

/* Rule source that matches `text` as ASCII and UTF-16LE ("ascii wide"),
 * optionally ignoring case; `rule_name` must be a YARA identifier.  Written
 * to buf (NUL-terminated). */
ms_status ms_yara_rule_for_text(const char *rule_name, const char *text, int nocase, char *buf, size_t size);
/* Rule source for a hex pattern ("4D 5A ?? 00", jumps and alternatives
 * allowed); only hex-string characters are accepted. */
ms_status ms_yara_rule_for_hex(const char *rule_name, const char *hex, char *buf, size_t size);

/* ---- scanning ---- */

/* A run of the scanned address space: `length` bytes at `address` are held
 * at physical `paddr` onwards.  Regions that touch in address are scanned
 * as one stretch, so a match can cross from one into the next. */
typedef struct ms_yara_region {
    uint64_t address;
    uint64_t paddr;
    uint64_t length;
} ms_yara_region;

#define MS_YARA_CONTEXT 16      /* bytes of context kept before and after a match */
#define MS_YARA_MATCH_SHOWN 64  /* bytes of the match itself kept */

typedef struct ms_yara_match {
    uint64_t address;           /* in the scanned space: virtual, or physical */
    uint64_t paddr;             /* physical address of the first byte */
    uint32_t length;            /* length of the match */
    const char *rule;
    const char *rule_namespace;
    const char *string_id;      /* "$a" */
    /* Up to MS_YARA_CONTEXT bytes before the match, up to
     * MS_YARA_MATCH_SHOWN of the match, then up to MS_YARA_CONTEXT after. */
    const uint8_t *context;
    size_t context_len;
    size_t match_at;            /* where the match begins in context */
    size_t match_shown;         /* bytes of the match in context */
} ms_yara_match;

/* Return non-zero to stop the scan (it then ends with MS_OK). */
typedef int (*ms_yara_match_fn)(const ms_yara_match *match, void *user);
/* Called at the end of a scan for each rule whose hits passed the cap:
 * `total` hits were found, the first `max_hits` delivered. */
typedef void (*ms_yara_capped_fn)(void *user, const char *rule, uint64_t total, uint64_t max_hits);
typedef void (*ms_yara_progress_fn)(void *user, uint64_t done, uint64_t total);

typedef struct ms_yara_scan_options {
    size_t chunk_size;          /* bytes per scan; default 16 MiB */
    size_t overlap;             /* minimum overlap; default 4 KiB (raised for long strings) */
    unsigned threads;           /* 0: one per online CPU */
    uint64_t max_hits;          /* per rule and scan; 0 for no cap */
    int timeout;                /* seconds per chunk, 0 for none */
    ms_yara_capped_fn capped;
    ms_yara_progress_fn progress;
    ms_yara_log_fn log;         /* libyara notes (too many matches) */
    void *user;                 /* for capped, progress and log */
} ms_yara_scan_options;

void ms_yara_scan_options_init(ms_yara_scan_options *opts);

/* Scan `regions` (ascending by address, not overlapping) of `image`. */
ms_status ms_yara_scan_regions(ms_yara_rules *rules, ms_image *image, const ms_yara_region *regions,
                               size_t count, const ms_yara_scan_options *opts, ms_yara_match_fn fn, void *user);

/* Every physical byte the image holds; addresses are physical. */
ms_status ms_yara_scan_physical(ms_yara_rules *rules, ms_image *image, const ms_yara_scan_options *opts,
                                ms_yara_match_fn fn, void *user);

/* The resident mappings of [start, end) in `vs` whose physical pages the
 * image holds; addresses are virtual. */
ms_status ms_yara_scan_vspace(ms_yara_rules *rules, ms_vspace *vs, uint64_t start, uint64_t end,
                              const ms_yara_scan_options *opts, ms_yara_match_fn fn, void *user);

/* The regions a vspace scan would visit (for callers that filter them):
 * *out is malloc'd, free() it.  At most `limit` regions (0: 16 Mi). */
ms_status ms_yara_vspace_regions(ms_vspace *vs, uint64_t start, uint64_t end, size_t limit, ms_yara_region **out,
                                 size_t *count);

#ifdef __cplusplus
}
#endif
#endif
