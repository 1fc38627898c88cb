/* Shared state of the EPROCESS structure probe (eprocess_probe*.c). */
#ifndef MS_KERNEL_EPROCESS_PROBE_INTERNAL_H
#define MS_KERNEL_EPROCESS_PROBE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "eprocess_probe.h"

/* Bytes of each EPROCESS examined: the largest known EPROCESS is 0xb80
 * (x64) and 0x4c0 (x86) bytes. */
#define EPP_SPAN_X64 0x1000
#define EPP_SPAN_X86 0x800
/* Processes read for validation, System included. */
#define EPP_MAX_SAMPLES 32
/* Besides System, processes that must agree on a field. */
#define EPP_MIN_OTHERS 2

/* FILETIMEs: 2000-01-01 and 2100-01-01. */
#define EPP_TIME_MIN 0x01bf53eb256d4000ull
#define EPP_TIME_FAR 0x022f716377640000ull

typedef struct epp_proc {
    uint64_t va;
    uint8_t *bytes;       /* span bytes, zero past `valid` */
    size_t valid;         /* readable prefix */
} epp_proc;

typedef struct epp {
    ms_vspace *vs;
    unsigned ptr;
    size_t span;
    int64_t dtb_off;
    uint64_t time_max;    /* latest plausible FILETIME */
    epp_proc proc[EPP_MAX_SAMPLES]; /* [0] is System */
    size_t count;
    uint8_t *storage;
} epp;

/* A value of `width` bytes (1..8) at `off` of process `i`; 0 when the bytes
 * are past what was readable. */
int epp_get(const epp *p, size_t i, int64_t off, unsigned width, uint64_t *value);
int epp_is_kernel_va(const epp *p, uint64_t va);
/* Whether `eprocess`'s DirectoryTableBase maps `eprocess` itself as the
 * probe's address space does. */
int epp_dtb_ok(epp *p, uint64_t eprocess);
/* A non-empty LIST_ENTRY at `va` whose neighbours point back at it. */
int epp_list_entry_ok(epp *p, uint64_t va);

/* Enough of the others agree: at least EPP_MIN_OTHERS, and at most one
 * dissenter per four. */
int epp_quorum(size_t agree, size_t disagree);

/* Field searches over the samples; each returns the offset or -1. */
int64_t epp_find_pid(epp *p, int64_t links);
int64_t epp_find_name(epp *p);
int64_t epp_find_ppid(epp *p, const ms_eprocess_layout *l);
int64_t epp_find_create_time(epp *p, const ms_eprocess_layout *l);
int64_t epp_find_exit_time(epp *p, const ms_eprocess_layout *l);
int64_t epp_find_threads(epp *p, const ms_eprocess_layout *l);
int64_t epp_find_audit_name(epp *p, const ms_eprocess_layout *l);

#endif
