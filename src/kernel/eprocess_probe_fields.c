/* The EPROCESS probe's field searches: each tries offsets in a bounded range
 * and keeps the first one System and the other sampled processes agree on. */
#include <string.h>
#include <strings.h>

#include "eprocess_probe_internal.h"

#define MAX_THREADS 0xffff
#define THREADS_WINDOW 0x100   /* ActiveThreads follows ImageFileName by 0x2c..0x48 */
#define THREAD_LIST_GAP 0x20   /* ThreadListHead ends at most this far before it */
#define NAME_LEN 15

/* Does [off, off + width) overlap a field already found? */
static int taken(const epp *p, const ms_eprocess_layout *l, int64_t off, int64_t width)
{
    const struct { int64_t off, width; } f[] = {
        {l->pid, p->ptr},     {l->links, 2 * p->ptr}, {l->name, NAME_LEN}, {l->ppid, p->ptr},
        {l->create_time, 8},  {l->exit_time, 8},      {l->threads, 4},      {l->dtb, p->ptr},
        {l->audit_name, p->ptr}};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (f[i].off >= 0 && off < f[i].off + f[i].width && f[i].off < off + width)
            return 1;
    return 0;
}

/* Process ids are multiples of 4 below 2^28 in practice. */
static int pid_like(uint64_t v)
{
    return v != 0 && (v & 3) == 0 && v < 0x10000000ull;
}

static int pid_at(const epp *p, int64_t off)
{
    uint64_t sys, v, w;
    if (!epp_get(p, 0, off, p->ptr, &sys) || (sys != 4 && sys != 8))
        return 0;
    size_t agree = 0, disagree = 0;
    for (size_t i = 1; i < p->count; i++) {
        if (!epp_get(p, i, off, p->ptr, &v))
            continue;
        int dup = v == sys;
        for (size_t j = 1; j < i && !dup; j++)
            dup = epp_get(p, j, off, p->ptr, &w) && w == v;
        if (pid_like(v) && !dup)
            agree++;
        else
            disagree++;
    }
    return epp_quorum(agree, disagree);
}

int64_t epp_find_pid(epp *p, int64_t links)
{
    if (links >= (int64_t)p->ptr && pid_at(p, links - p->ptr))
        return links - p->ptr;
    for (int64_t off = 0; off + p->ptr <= (int64_t)p->span; off += p->ptr)
        if ((off < links || off >= links + 2 * (int64_t)p->ptr) && pid_at(p, off))
            return off;
    return -1;
}

/* ImageFileName: 1..15 printable characters, NUL-terminated unless all 15
 * are used.  *dotted is set for names with an extension ("smss.exe"). */
static int name_ok(const uint8_t *s, int *dotted)
{
    size_t n = 0;
    *dotted = 0;
    while (n < NAME_LEN && s[n] != 0) {
        if (s[n] < 0x20 || s[n] > 0x7e || s[n] == '\\' || s[n] == '/')
            return 0;
        if (s[n] == '.' && n > 0)
            *dotted = 1;
        n++;
    }
    return n > 0;
}

static int name_at(const epp *p, int64_t off)
{
    size_t agree = 0, disagree = 0, dotted_count = 0;
    for (size_t i = 1; i < p->count; i++) {
        const epp_proc *pr = &p->proc[i];
        if ((size_t)off + NAME_LEN > pr->valid)
            continue;
        int dotted;
        if (name_ok(pr->bytes + off, &dotted)) {
            agree++;
            dotted_count += (size_t)dotted;
        } else {
            disagree++;
        }
    }
    return epp_quorum(agree, disagree) && dotted_count > 0;
}

int64_t epp_find_name(epp *p)
{
    const epp_proc *sys = &p->proc[0];
    for (size_t off = 0; off + NAME_LEN <= sys->valid; off++)
        if (memcmp(sys->bytes + off, "System\0", 7) == 0 && name_at(p, (int64_t)off))
            return (int64_t)off;
    return -1;
}

static int is_sampled_pid(const epp *p, const ms_eprocess_layout *l, uint64_t v)
{
    uint64_t pid;
    for (size_t i = 0; i < p->count; i++)
        if (epp_get(p, i, l->pid, p->ptr, &pid) && pid == v)
            return 1;
    return 0;
}

/* System's parent is 0 and someone's (smss.exe, Registry) is System; most
 * parents are listed too, as the list runs in creation order, which small
 * handle values elsewhere in EPROCESS (Win32WindowStation) are not. */
static int ppid_at(const epp *p, const ms_eprocess_layout *l, int64_t off)
{
    uint64_t sys, syspid, v, own;
    if (!epp_get(p, 0, off, p->ptr, &sys) || sys != 0 || !epp_get(p, 0, l->pid, p->ptr, &syspid))
        return 0;
    size_t agree = 0, disagree = 0, to_system = 0, listed = 0;
    for (size_t i = 1; i < p->count; i++) {
        if (!epp_get(p, i, off, p->ptr, &v) || !epp_get(p, i, l->pid, p->ptr, &own))
            continue;
        if (pid_like(v) && v != own) {
            agree++;
            to_system += v == syspid;
            listed += is_sampled_pid(p, l, v);
        } else {
            disagree++;
        }
    }
    return epp_quorum(agree, disagree) && to_system > 0 && listed * 2 >= agree;
}

/* Between the links and the name first (where every build keeps it), then
 * anywhere else. */
int64_t epp_find_ppid(epp *p, const ms_eprocess_layout *l)
{
    int64_t lo = l->links + 2 * (int64_t)p->ptr, hi = l->name;
    for (int64_t off = lo; off + p->ptr <= hi; off += p->ptr)
        if (!taken(p, l, off, p->ptr) && ppid_at(p, l, off))
            return off;
    for (int64_t off = 0; off + p->ptr <= (int64_t)p->span; off += p->ptr)
        if ((off < lo || off + p->ptr > hi) && !taken(p, l, off, p->ptr) && ppid_at(p, l, off))
            return off;
    return -1;
}

static int time_ok(const epp *p, uint64_t t)
{
    return t >= EPP_TIME_MIN && t <= p->time_max;
}

/* System's CreateTime is the boot time (0 on XP), the others' later. */
static int create_at(const epp *p, int64_t off)
{
    uint64_t sys, v, first = 0;
    if (!epp_get(p, 0, off, 8, &sys) || (sys != 0 && !time_ok(p, sys)))
        return 0;
    size_t agree = 0, disagree = 0;
    int distinct = 0;
    for (size_t i = 1; i < p->count; i++) {
        if (!epp_get(p, i, off, 8, &v))
            continue;
        if (time_ok(p, v) && v >= sys) {
            if (agree++ == 0)
                first = v;
            distinct |= v != first;
        } else {
            disagree++;
        }
    }
    return epp_quorum(agree, disagree) && distinct;
}

int64_t epp_find_create_time(epp *p, const ms_eprocess_layout *l)
{
    for (int64_t off = 0; off + 8 <= (int64_t)p->span; off += 8)
        if (!taken(p, l, off, 8) && create_at(p, off))
            return off;
    return -1;
}

/* ExitTime is 0 while a process runs, so only an exited process still in
 * the list shows it: every sample must be 0 or a time after its creation.
 * With ActiveThreads known, exited means no threads left, which ties the
 * field down; without, the offset must be the only one that fits. */
static int exit_at(const epp *p, const ms_eprocess_layout *l, int64_t off)
{
    uint64_t sys, v, created, threads;
    if (!epp_get(p, 0, off, 8, &sys) || sys != 0)
        return 0;
    size_t running = 0, exited = 0;
    for (size_t i = 1; i < p->count; i++) {
        if (!epp_get(p, i, off, 8, &v))
            continue;
        int have_threads = l->threads >= 0 && epp_get(p, i, l->threads, 4, &threads);
        if (have_threads && (v == 0) != (threads != 0))
            return 0;
        if (v == 0) {
            running++;
            continue;
        }
        if (!time_ok(p, v) || (l->create_time >= 0 && epp_get(p, i, l->create_time, 8, &created) && v < created))
            return 0;
        exited++;
    }
    return exited > 0 && running >= EPP_MIN_OTHERS;
}

int64_t epp_find_exit_time(epp *p, const ms_eprocess_layout *l)
{
    int64_t found = -1;
    for (int64_t off = 0; off + 8 <= (int64_t)p->span; off += 8) {
        if (taken(p, l, off, 8) || !exit_at(p, l, off))
            continue;
        if (l->threads >= 0)
            return off;
        if (found >= 0)
            return -1;
        found = off;
    }
    return found;
}

static int thread_list_before(epp *p, int64_t off)
{
    for (int64_t t = off - 2 * (int64_t)p->ptr; t >= 0 && t >= off - THREAD_LIST_GAP; t -= p->ptr)
        if (t % p->ptr == 0 && epp_list_entry_ok(p, p->proc[0].va + (uint64_t)t))
            return 1;
    return 0;
}

/* Small counts, System's above 0; 0 (an exited process) says nothing. */
static int threads_at(epp *p, int64_t off)
{
    uint64_t sys, v;
    if (!epp_get(p, 0, off, 4, &sys) || sys == 0 || sys > MAX_THREADS)
        return 0;
    size_t agree = 0, disagree = 0;
    int distinct = 0;
    for (size_t i = 1; i < p->count; i++) {
        if (!epp_get(p, i, off, 4, &v) || v == 0)
            continue;
        if (v <= MAX_THREADS) {
            agree++;
            distinct |= v != sys;
        } else {
            disagree++;
        }
    }
    return epp_quorum(agree, disagree) && distinct && thread_list_before(p, off);
}

/* ActiveThreads follows the ThreadListHead LIST_ENTRY, a little after
 * ImageFileName in every build. */
int64_t epp_find_threads(epp *p, const ms_eprocess_layout *l)
{
    int64_t lo = (l->name + NAME_LEN + 3) & ~(int64_t)3, hi = l->name + THREADS_WINDOW;
    for (int64_t off = lo; off < hi && off + 4 <= (int64_t)p->span; off += 4)
        if (!taken(p, l, off, 4) && threads_at(p, off))
            return off;
    return -1;
}

/* The image path's last component begins with ImageFileName (which keeps
 * only 15 characters). */
static int path_matches(const char *path, const char *name)
{
    const char *base = strrchr(path, '\\');
    base = base ? base + 1 : path;
    size_t n = strlen(name);
    if (n == 0 || strncasecmp(base, name, n) != 0)
        return 0;
    return n == NAME_LEN || base[n] == '\0';
}

static int audit_at(epp *p, const ms_eprocess_layout *l, int64_t off)
{
    size_t agree = 0, disagree = 0;
    char name[NAME_LEN + 1], path[1024];
    for (size_t i = 1; i < p->count && (agree > 0 || disagree == 0); i++) {
        uint64_t v;
        int dotted;
        if (!epp_get(p, i, off, p->ptr, &v) || v == 0 || (size_t)l->name + NAME_LEN > p->proc[i].valid ||
            !name_ok(p->proc[i].bytes + l->name, &dotted))
            continue;
        memcpy(name, p->proc[i].bytes + l->name, NAME_LEN);
        name[NAME_LEN] = '\0';
        if (!epp_is_kernel_va(p, v)) {
            disagree++;
            continue;
        }
        /* unreadable (paged out) or empty names say nothing */
        if (ms_read_unicode_string(p->vs, v, path, sizeof path) != MS_OK || path[0] == '\0')
            continue;
        if (path_matches(path, name))
            agree++;
        else
            disagree++;
    }
    return epp_quorum(agree, disagree);
}

int64_t epp_find_audit_name(epp *p, const ms_eprocess_layout *l)
{
    for (int64_t off = 0; off + p->ptr <= (int64_t)p->span; off += p->ptr)
        if (!taken(p, l, off, p->ptr) && audit_at(p, l, off))
            return off;
    return -1;
}
