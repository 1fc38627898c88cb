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

#ifdef __cplusplus
}
#endif
#endif
