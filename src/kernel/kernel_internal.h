/* The kernel handle and the structure offsets resolved once from the profile. */
#ifndef MS_KERNEL_INTERNAL_H
#define MS_KERNEL_INTERNAL_H

#include "memsift/kernel.h"
#include "module_identity.h"

/* Offsets of the EPROCESS members memsift reads; -1 when unknown. */
typedef struct ms_eprocess_layout {
    int64_t pid, links, ppid, name, create_time, exit_time, threads, dtb, audit_name, peb;
    uint32_t size;
} ms_eprocess_layout;

typedef struct ms_ldr_layout {
    int64_t links, dll_base, size_of_image, full_name, base_name;
} ms_ldr_layout;

struct ms_kernel {
    ms_image *image;
    ms_vspace *vs;
    ms_kernel_info info;
    ms_kernel_options opts;
    ms_profile_db *profiles;
    int own_profiles;
    const ms_profile *profile;
    ms_eprocess_layout ep;
    ms_ldr_layout ldr;
    ms_vspace_pe_reader kernel_reader; /* read context of the kernel's ms_pe; lives as long as k */
    int profile_same_pdb;              /* the profile was derived from this very kernel */
    uint64_t kdbg_found;               /* a plain KDBG met while finding the kernel base, or 0 */
};

void ms_kernel_log(const ms_kernel *k, ms_kernel_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Fill k->ep and k->ldr from k->profile (and the fixed facts where the
 * profile lacks them). */
ms_status ms_kernel_resolve_layouts(ms_kernel *k);

/* Read a UNICODE_STRING at `va` as UTF-8 into out (always terminated). */
ms_status ms_read_unicode_string(ms_vspace *vs, uint64_t va, char *out, size_t size);

/* Loop guard for list walks: remembers visited addresses. */
typedef struct ms_visit_set {
    uint64_t *slots;
    size_t capacity;
    size_t count;
} ms_visit_set;

ms_status ms_visit_set_init(ms_visit_set *set, size_t max_items);
/* 1 if newly added, 0 if already present, -1 when full. */
int ms_visit_set_add(ms_visit_set *set, uint64_t value);
void ms_visit_set_free(ms_visit_set *set);



/* Walk a LIST_ENTRY list from its head by Flink, with a loop guard and a cap
 * of `max_entries`.  `fn` returns 0 to go on, 1 to stop, -1 when the entry
 * is unreadable (the walk then stops with a warning). */
typedef int (*ms_list_entry_fn)(ms_kernel *k, uint64_t entry, void *user);
ms_status ms_kernel_walk_list(ms_kernel *k, uint64_t head, const char *what, size_t max_entries,
                              ms_list_entry_fn fn, void *user);
#endif
