/* The EPROCESS structure probe: find System and ActiveProcessLinks, read a
 * sample of the process list, then search the samples for each field. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eprocess_probe_internal.h"
#include "kuser.h"

#define MAX_WALK 256          /* list entries followed per walk */
#define MAX_CANDIDATES 64     /* LIST_ENTRY offsets tried as ActiveProcessLinks */
#define ONE_DAY 864000000000ull

int epp_get(const epp *p, size_t i, int64_t off, unsigned width, uint64_t *value)
{
    const epp_proc *pr = &p->proc[i];
    if (i >= p->count || off < 0 || width == 0 || width > 8 || (uint64_t)off + width > pr->valid)
        return 0;
    uint64_t v = 0;
    for (unsigned b = width; b-- > 0;)
        v = (v << 8) | pr->bytes[(size_t)off + b];
    *value = v;
    return 1;
}

int epp_is_kernel_va(const epp *p, uint64_t va)
{
    return p->ptr == 8 ? va >= 0xffff800000000000ull : (va >= 0x80000000ull && va <= 0xffffffffull);
}

int epp_quorum(size_t agree, size_t disagree)
{
    return agree >= EPP_MIN_OTHERS && disagree * 4 <= agree;
}

int epp_dtb_ok(epp *p, uint64_t eprocess)
{
    uint64_t raw;
    if (ms_vspace_read_ptr(p->vs, eprocess + (uint64_t)p->dtb_off, &raw) != MS_OK)
        return 0;
    ms_paging_mode mode = ms_vspace_mode(p->vs);
    uint64_t root = mode == MS_PAGING_X64   ? raw & 0x000ffffffffff000ull
                    : mode == MS_PAGING_PAE ? raw & 0xffffffe0ull
                                            : raw & 0xfffff000ull;
    if (root == 0)
        return 0;
    ms_vspace *own;
    if (ms_vspace_create(ms_vspace_image(p->vs), mode, root, &own) != MS_OK)
        return 0;
    /* Every process maps kernel space, the EPROCESS included. */
    ms_translation a, b;
    int ok = ms_vspace_translate(p->vs, eprocess, &a) == MS_OK && ms_vspace_translate(own, eprocess, &b) == MS_OK &&
             a.paddr == b.paddr;
    ms_vspace_destroy(own);
    return ok;
}

static int list_entry_check(epp *p, uint64_t va, int allow_empty)
{
    uint64_t flink, blink, back;
    if (ms_vspace_read_ptr(p->vs, va, &flink) != MS_OK || ms_vspace_read_ptr(p->vs, va + p->ptr, &blink) != MS_OK ||
        !epp_is_kernel_va(p, flink) || !epp_is_kernel_va(p, blink))
        return 0;
    if (flink == va || blink == va)
        return allow_empty && flink == va && blink == va;
    return ms_vspace_read_ptr(p->vs, flink + p->ptr, &back) == MS_OK && back == va &&
           ms_vspace_read_ptr(p->vs, blink, &back) == MS_OK && back == va;
}

int epp_list_entry_ok(epp *p, uint64_t va)
{
    return list_entry_check(p, va, 1);
}

/* Read up to span bytes of a process, page by page, stopping at the first
 * unreadable page. */
static int read_block(epp *p, uint64_t va, epp_proc *out)
{
    out->va = va;
    out->valid = 0;
    memset(out->bytes, 0, p->span);
    while (out->valid < p->span) {
        uint64_t at = va + out->valid;
        if (at < va)
            break;
        size_t chunk = 0x1000 - (size_t)(at & 0xfff);
        if (chunk > p->span - out->valid)
            chunk = p->span - out->valid;
        if (ms_vspace_read(p->vs, at, out->bytes + out->valid, chunk) != MS_OK) {
            memset(out->bytes + out->valid, 0, chunk);
            break;
        }
        out->valid += chunk;
    }
    return out->valid > 0;
}

/* Follow the list from System's entry and count the processes whose DTB
 * checks out; with `collect`, read them into the samples. */
static ms_status walk(epp *p, uint64_t system, int64_t links, uint64_t head, int collect, size_t *others)
{
    ms_visit_set seen;
    ms_status st = ms_visit_set_init(&seen, MAX_WALK + 1);
    if (st != MS_OK)
        return st;
    uint64_t start = system + (uint64_t)links, entry = start, next, back;
    size_t found = 0, strangers = 0;
    ms_visit_set_add(&seen, start);
    for (size_t steps = 0; steps < MAX_WALK && found + 1 < EPP_MAX_SAMPLES; steps++) {
        if (ms_vspace_read_ptr(p->vs, entry, &next) != MS_OK || !epp_is_kernel_va(p, next) ||
            ms_vspace_read_ptr(p->vs, next + p->ptr, &back) != MS_OK || back != entry)
            break;
        if (next == start || ms_visit_set_add(&seen, next) != 1)
            break;
        entry = next;
        if (next == head)
            continue;
        uint64_t eprocess = next - (uint64_t)links;
        if (!epp_dtb_ok(p, eprocess)) {
            /* the list head, when it is not known, and at most one oddity */
            if (++strangers > 1)
                break;
            continue;
        }
        if (collect) {
            epp_proc *pr = &p->proc[p->count];
            pr->bytes = p->storage + p->count * p->span;
            if (!read_block(p, eprocess, pr))
                continue;
            p->count++;
        }
        found++;
    }
    ms_visit_set_free(&seen);
    *others = found;
    return MS_OK;
}

typedef struct candidate {
    uint64_t system;
    int64_t links;
} candidate;

/* Where ActiveProcessLinks may be: fixed by the head's first entry when
 * both are known, else every non-empty LIST_ENTRY of System, else (head
 * only) every offset that puts a valid DirectoryTableBase before the first
 * entry. */
static size_t find_candidates(epp *p, uint64_t system, uint64_t head, candidate *out)
{
    size_t n = 0;
    uint64_t first = 0, back;
    int64_t lo = p->dtb_off + p->ptr, hi = (int64_t)p->span - 2 * (int64_t)p->ptr;
    if (head != 0 && (ms_vspace_read_ptr(p->vs, head, &first) != MS_OK || !epp_is_kernel_va(p, first) ||
                      ms_vspace_read_ptr(p->vs, first + p->ptr, &back) != MS_OK || back != head))
        first = 0;
    if (system != 0 && first > system && first - system <= (uint64_t)hi && (first - system) % p->ptr == 0 &&
        (int64_t)(first - system) >= lo) {
        out[n++] = (candidate){system, (int64_t)(first - system)};
        return n;
    }
    for (int64_t l = lo; l <= hi && n < MAX_CANDIDATES; l += p->ptr) {
        if (system != 0) {
            if (list_entry_check(p, system + (uint64_t)l, 0))
                out[n++] = (candidate){system, l};
        } else if (first != 0 && epp_dtb_ok(p, first - (uint64_t)l)) {
            out[n++] = (candidate){first - (uint64_t)l, l};
        }
    }
    return n;
}

/* System's pid just before the links: how every Windows lays it out, so it
 * picks ActiveProcessLinks among lists that also link EPROCESSes. */
static int pid_hint(epp *p, const candidate *c)
{
    uint64_t v;
    return ms_vspace_read_ptr(p->vs, c->system + (uint64_t)c->links - p->ptr, &v) == MS_OK && (v == 4 || v == 8);
}

static ms_status choose_links(epp *p, uint64_t system, uint64_t head, candidate *best, uint64_t *best_head)
{
    candidate cands[MAX_CANDIDATES];
    size_t n = find_candidates(p, system, head, cands);
    if (n == 0)
        return ms_fail(MS_ERR_NOT_FOUND, "EPROCESS probe: no LIST_ENTRY near %s 0x%llx leads to other processes",
                       system ? "System's EPROCESS" : "the process list head",
                       (unsigned long long)(system ? system : head));
    size_t best_others = 0;
    int best_hint = -1, tie = 0;
    for (size_t i = 0; i < n; i++) {
        /* an unknown head is System's Blink: System is the first process */
        uint64_t h = head;
        if (h == 0 && ms_vspace_read_ptr(p->vs, cands[i].system + (uint64_t)cands[i].links + p->ptr, &h) != MS_OK)
            continue;
        if (!epp_dtb_ok(p, cands[i].system))
            continue;
        size_t others;
        ms_status st = walk(p, cands[i].system, cands[i].links, h, 0, &others);
        if (st != MS_OK)
            return st;
        if (others < EPP_MIN_OTHERS)
            continue;
        int hint = pid_hint(p, &cands[i]);
        if (hint > best_hint || (hint == best_hint && others > best_others)) {
            *best = cands[i];
            *best_head = h;
            best_hint = hint;
            best_others = others;
            tie = 0;
        } else if (hint == best_hint && others == best_others) {
            tie = 1;
        }
    }
    if (best_hint < 0)
        return ms_fail(MS_ERR_NOT_FOUND,
                       "EPROCESS probe: no process list with System and at least %d other processes was found "
                       "(%zu candidate offsets tried)",
                       EPP_MIN_OTHERS, n);
    if (tie)
        return ms_fail(MS_ERR_NOT_FOUND, "EPROCESS probe: several lists link %zu processes; ActiveProcessLinks "
                       "is ambiguous", best_others);
    return MS_OK;
}

static void append(char *how, size_t size, size_t *pos, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static void append(char *how, size_t size, size_t *pos, const char *fmt, ...)
{
    if (*pos + 1 >= size)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(how + *pos, size - *pos, fmt, ap);
    va_end(ap);
    if (n > 0)
        *pos = (size_t)n < size - *pos ? *pos + (size_t)n : size - 1;
}

static void describe(const epp *p, const ms_eprocess_layout *l, char *how, size_t size)
{
    if (how == NULL || size == 0)
        return;
    const struct { const char *name; int64_t off; } f[] = {
        {"ActiveProcessLinks", l->links}, {"UniqueProcessId", l->pid}, {"ImageFileName", l->name},
        {"InheritedFromUniqueProcessId", l->ppid}, {"CreateTime", l->create_time}, {"ExitTime", l->exit_time},
        {"ActiveThreads", l->threads}, {"Pcb.DirectoryTableBase", l->dtb},
        {"SeAuditProcessCreationInfo", l->audit_name}};
    size_t pos = 0, missing = 0;
    how[0] = '\0';
    append(how, size, &pos, "structure probe: %zu processes agree (System at 0x%llx):", p->count,
           (unsigned long long)p->proc[0].va);
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (f[i].off >= 0)
            append(how, size, &pos, " %s 0x%llx", f[i].name, (unsigned long long)f[i].off);
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (f[i].off < 0)
            append(how, size, &pos, "%s%s", missing++ ? ", " : "; not validated: ", f[i].name);
}

static void find_fields(epp *p, int64_t links, ms_eprocess_layout *l)
{
    *l = (ms_eprocess_layout){.pid = -1, .links = links, .ppid = -1, .name = -1, .create_time = -1,
                              .exit_time = -1, .threads = -1, .dtb = p->dtb_off, .audit_name = -1, .peb = -1};
    l->pid = epp_find_pid(p, links);
    l->name = epp_find_name(p);
    if (l->pid < 0 || l->name < 0)
        return;
    l->ppid = epp_find_ppid(p, l);
    l->create_time = epp_find_create_time(p, l);
    l->threads = epp_find_threads(p, l);
    l->exit_time = epp_find_exit_time(p, l);
    l->audit_name = epp_find_audit_name(p, l);
}

static uint64_t latest_time(ms_vspace *vs)
{
    ms_kuser ku;
    if (ms_kuser_read(vs, &ku) == MS_OK && ku.system_time > EPP_TIME_MIN && ku.system_time < EPP_TIME_FAR)
        return ku.system_time + ONE_DAY;
    return EPP_TIME_FAR;
}

static ms_status probe(epp *p, uint64_t system, uint64_t head, ms_eprocess_layout *out, char *how, size_t how_size)
{
    candidate best = {0, 0};
    uint64_t best_head = 0;
    ms_status st = choose_links(p, system, head, &best, &best_head);
    if (st != MS_OK)
        return st;
    p->proc[0].bytes = p->storage;
    if (!read_block(p, best.system, &p->proc[0]))
        return ms_fail(MS_ERR_NOT_PRESENT, "EPROCESS probe: System's EPROCESS at 0x%llx is not readable",
                       (unsigned long long)best.system);
    p->count = 1;
    size_t others;
    st = walk(p, best.system, best.links, best_head, 1, &others);
    if (st != MS_OK)
        return st;
    if (p->count < 1 + EPP_MIN_OTHERS)
        return ms_fail(MS_ERR_NOT_FOUND, "EPROCESS probe: only %zu readable processes in the list; at least %d needed",
                       p->count, 1 + EPP_MIN_OTHERS);
    ms_eprocess_layout l;
    find_fields(p, best.links, &l);
    if (l.pid < 0 || l.name < 0)
        return ms_fail(MS_ERR_NOT_FOUND,
                       "EPROCESS probe: ActiveProcessLinks is at 0x%llx, but %s not agree across %zu processes",
                       (unsigned long long)best.links,
                       l.pid < 0 && l.name < 0 ? "no UniqueProcessId or ImageFileName offset does"
                       : l.pid < 0            ? "no UniqueProcessId offset does"
                                              : "no ImageFileName offset does",
                       p->count);
    *out = l;
    describe(p, &l, how, how_size);
    return MS_OK;
}

ms_status ms_eprocess_probe(ms_vspace *vs, unsigned ptr_size, uint64_t system_eprocess, uint64_t process_list_head,
                            ms_eprocess_layout *out, char *how, size_t how_size)
{
    if (vs == NULL || out == NULL || (system_eprocess == 0 && process_list_head == 0))
        return ms_fail(MS_ERR_ARG, "the EPROCESS probe needs an address space, an out-parameter and System's "
                       "EPROCESS or the process list head");
    if (ptr_size != ms_vspace_pointer_size(vs))
        return ms_fail(MS_ERR_ARG, "EPROCESS probe: expected pointer size %u for this address space, found %u",
                       ms_vspace_pointer_size(vs), ptr_size);
    epp *p = calloc(1, sizeof *p);
    if (p == NULL)
        return ms_fail(MS_ERR_NOMEM, "out of memory for the EPROCESS probe");
    p->vs = vs;
    p->ptr = ptr_size;
    p->span = ptr_size == 8 ? EPP_SPAN_X64 : EPP_SPAN_X86;
    p->dtb_off = ptr_size == 8 ? 0x28 : 0x18; /* KPROCESS.DirectoryTableBase in every build */
    if ((system_eprocess != 0 && !epp_is_kernel_va(p, system_eprocess)) ||
        (process_list_head != 0 && !epp_is_kernel_va(p, process_list_head))) {
        free(p);
        return ms_fail(MS_ERR_ARG, "EPROCESS probe: expected kernel addresses, found System 0x%llx and list head 0x%llx",
                       (unsigned long long)system_eprocess, (unsigned long long)process_list_head);
    }
    p->time_max = latest_time(vs);
    p->storage = malloc(EPP_MAX_SAMPLES * p->span);
    ms_status st = p->storage == NULL ? ms_fail(MS_ERR_NOMEM, "out of memory for the EPROCESS probe")
                                      : probe(p, system_eprocess, process_list_head, out, how, how_size);
    if (st != MS_OK && st != MS_ERR_NOMEM && system_eprocess != 0 && process_list_head != 0) {
        /* a wrong System pointer: the head alone may do */
        char first[512], second[512];
        snprintf(first, sizeof first, "%s", ms_last_error());
        p->count = 0;
        st = probe(p, 0, process_list_head, out, how, how_size);
        if (st != MS_OK) {
            snprintf(second, sizeof second, "%s", ms_last_error());
            st = ms_fail(st, "%s; from the list head alone: %s", first, second);
        }
    }
    free(p->storage);
    free(p);
    return st;
}
