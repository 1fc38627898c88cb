/* memsift: profiles - structure layouts and symbol offsets, as data.
 *
 * A profile describes one module (the kernel "nt" or "tcpip") for a range of
 * NT builds and one pointer width.  The profiles shipped in profiles/ are
 * compiled into the library; users can add more (e.g. imported Volatility 3
 * ISF files) from a directory.  See docs/profiles.md for the file format.
 */
#ifndef MEMSIFT_PROFILE_H
#define MEMSIFT_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "memsift/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ms_profile ms_profile;

/* Parse one profile from text.  `origin` names it in error messages
 * ("profiles/kernel/win10-19041-x64.prof:12: ..."). */
ms_status ms_profile_parse(const char *text, size_t len, const char *origin, ms_profile **out);
void ms_profile_destroy(ms_profile *profile);

const char *ms_profile_name(const ms_profile *profile);
const char *ms_profile_module(const ms_profile *profile);   /* "nt", "tcpip" */
unsigned ms_profile_pointer_size(const ms_profile *profile); /* 4 or 8 */
uint32_t ms_profile_build_min(const ms_profile *profile);
uint32_t ms_profile_build_max(const ms_profile *profile);
/* The file-version revisions (fourth number) the profile applies to, for
 * layouts that changed within a build's servicing updates; 0..65535 otherwise. */
uint32_t ms_profile_revision_min(const ms_profile *profile);
uint32_t ms_profile_revision_max(const ms_profile *profile);
/* PDB identity the profile was derived from, or NULL/0 when none. */
const char *ms_profile_pdb_guid(const ms_profile *profile);
uint32_t ms_profile_pdb_age(const ms_profile *profile);
const char *ms_profile_source(const ms_profile *profile);

/* Layout queries.  MS_ERR_NOT_FOUND (with a message naming the profile)
 * when the profile does not know the struct, field or symbol. */
ms_status ms_profile_struct_size(const ms_profile *p, const char *type, uint32_t *size);
ms_status ms_profile_field(const ms_profile *p, const char *type, const char *path, uint32_t *offset);
ms_status ms_profile_bits(const ms_profile *p, const char *type, const char *path,
                          uint32_t *offset, uint32_t *bit_position, uint32_t *bit_length);
ms_status ms_profile_symbol(const ms_profile *p, const char *name, uint64_t *rva);
/* Constants are kept as text; ms_profile_const_u64 parses numeric ones. */
ms_status ms_profile_const(const ms_profile *p, const char *name, const char **value);
ms_status ms_profile_const_u64(const ms_profile *p, const char *name, uint64_t *value);

/* Alternative symbol sets (`candidate SET NAME RVA`), for modules whose
 * builds are known only by a label: a reader tries each set and keeps the
 * one that validates.  Sorted by set, then name. */
size_t ms_profile_candidate_count(const ms_profile *p);
ms_status ms_profile_candidate_at(const ms_profile *p, size_t index, const char **set, const char **name,
                                  uint64_t *rva);

/* ---- the collection of known profiles ---- */

typedef struct ms_profile_db ms_profile_db;

/* The profiles compiled into memsift. */
ms_status ms_profile_db_create(ms_profile_db **out);
void ms_profile_db_destroy(ms_profile_db *db);
/* Add every *.prof file below `dir` (a user's imported profiles). */
ms_status ms_profile_db_add_dir(ms_profile_db *db, const char *dir);
ms_status ms_profile_db_add(ms_profile_db *db, ms_profile *profile); /* takes ownership */

size_t ms_profile_db_count(const ms_profile_db *db);
const ms_profile *ms_profile_db_at(const ms_profile_db *db, size_t index);

/* The profile for `module` and pointer size whose build range holds `build`.
 * When none does, the one with the nearest build is returned and
 * *exact is set to 0 (callers warn, naming both builds). */
ms_status ms_profile_db_find(const ms_profile_db *db, const char *module, unsigned pointer_size,
                             uint32_t build, const ms_profile **out, int *exact);

/* Symbol RVAs of one tcpip.pdb build, from the symbol index. */
typedef struct ms_tcpip_symbols {
    char guid[33];
    uint32_t age;
    unsigned pointer_size;
    uint64_t partition_table;     /* 0 when absent */
    uint64_t partition_count;
    uint64_t tcp_port_pool;
    uint64_t udp_port_pool;
    uint64_t tcp_compartment_set;
    uint64_t udp_compartment_set;
} ms_tcpip_symbols;

ms_status ms_profile_db_tcpip_symbols(const ms_profile_db *db, const char *guid, uint32_t age,
                                      ms_tcpip_symbols *out);
size_t ms_profile_db_tcpip_count(const ms_profile_db *db);


/* ---- importing Volatility 3 symbol files (ISF) ---- */

/* The `builds` of a profile that applies only to its own PDB (GUID/age):
 * written when neither the ISF nor the user gives the build. */
#define MS_PROFILE_BUILD_PDB_ONLY 0xffffffffu

typedef struct ms_isf_import_options {
    uint32_t build;      /* NT build when the ISF metadata has none; 0: unknown */
    const char *name;    /* profile name; NULL: from module, build and arch (or GUID) */
} ms_isf_import_options;

/* What one conversion produced.  Strings belong to the import. */
typedef struct ms_isf_summary {
    const char *name;
    const char *module;       /* "nt", "tcpip", or the PDB's base name */
    const char *pdb_name;     /* "ntkrnlmp.pdb" */
    const char *guid;         /* 32 upper-case hex digits */
    uint32_t age;
    unsigned pointer_size;
    uint32_t build_min;       /* MS_PROFILE_BUILD_PDB_ONLY when unknown */
    uint32_t build_max;
    const char *version;      /* "10.0.19041.1288" or "" */
    size_t structs;
    size_t fields;            /* field and bits lines */
    size_t symbols;
    size_t skipped_names;     /* symbol, type and member names the profile format cannot hold */
    int build_ignored;        /* a build was given but the module's profile applies by PDB only */
} ms_isf_summary;

typedef struct ms_isf_import ms_isf_import;

/* Convert an ISF (JSON, gzip or xz, detected from its bytes) to profile text. */
ms_status ms_isf_import_file(const char *path, const ms_isf_import_options *opts, ms_isf_import **out);
ms_status ms_isf_import_buffer(const void *data, size_t len, const char *origin, const ms_isf_import_options *opts,
                               ms_isf_import **out);
void ms_isf_import_destroy(ms_isf_import *imp);

const ms_isf_summary *ms_isf_import_summary(const ms_isf_import *imp);
/* The .prof text. */
const char *ms_isf_import_text(const ms_isf_import *imp, size_t *len);
/* The tcpip symbol index line ("GUID AGE ARCH NAME=RVA ...") for a tcpip.pdb
 * ISF, NULL for other modules. */
const char *ms_isf_import_index_line(const ms_isf_import *imp);

/* Write NAME.prof into `dir` (created if missing) and, for tcpip, the index
 * line into dir/tcpip.idx (replacing one of the same GUID/age).  An existing
 * NAME.prof with other contents is kept (MS_ERR_ARG) unless `force`.
 * `path` receives the .prof path; *unchanged is 1 when it already held this text. */
ms_status ms_isf_import_save(const ms_isf_import *imp, const char *dir, int force, char *path, size_t path_size,
                             int *unchanged);

/* The user's profile directory: $MEMSIFT_PROFILES, else
 * $XDG_DATA_HOME/memsift/profiles, else ~/.local/share/memsift/profiles. */
ms_status ms_profile_user_dir(char *buf, size_t size);
/* Add the user's directory, when it exists. */
ms_status ms_profile_db_add_user_dir(ms_profile_db *db);

#ifdef __cplusplus
}
#endif
#endif
