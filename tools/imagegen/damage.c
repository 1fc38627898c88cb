/* --damage KIND: after a normal build, corrupt the image in one realistic
 * way and record what a correct tool still reports (README.md, "Damage"). */
#include <stdlib.h>
#include <string.h>

#include "damage.h"

static const struct { const char *name; unsigned bit; } kinds[] = {
    {"process-loop", IG_DAMAGE_PROCESS_LOOP},
    {"process-unmapped", IG_DAMAGE_PROCESS_UNMAPPED},
    {"module-loop", IG_DAMAGE_MODULE_LOOP},
    {"module-unmapped", IG_DAMAGE_MODULE_UNMAPPED},
    {"kernel-headers-paged-out", IG_DAMAGE_KERNEL_HEADERS},
    {"absurd-sizes", IG_DAMAGE_ABSURD_SIZES},
};
#define NKINDS (sizeof kinds / sizeof kinds[0])

ig_status ig_damage_parse(const char *name, unsigned *mask)
{
    for (size_t i = 0; i < NKINDS; i++)
        if (strcmp(kinds[i].name, name) == 0) {
            *mask |= kinds[i].bit;
            return IG_OK;
        }
    return IG_ERR;
}

const char *ig_damage_names(void)
{
    return "process-loop|process-unmapped|module-loop|module-unmapped|kernel-headers-paged-out|absurd-sizes";
}

static const char *kind_name(unsigned bit)
{
    for (size_t i = 0; i < NKINDS; i++)
        if (kinds[i].bit == bit)
            return kinds[i].name;
    return "?";
}

/* A read through the System tables that records no error (ig_read would). */
static int peek(ig_ctx *c, uint64_t va, void *buf, size_t len)
{
    uint8_t *dst = buf;
    while (len > 0) {
        size_t n = IG_PAGE - (size_t)(va % IG_PAGE);
        if (n > len)
            n = len;
        uint64_t pa;
        if (ig_v2p(c, va, &pa) != IG_OK)
            return 0;
        const uint8_t *pg = ig_phys_lookup(c, pa / IG_PAGE);
        if (pg)
            memcpy(dst, pg + pa % IG_PAGE, n);
        else
            memset(dst, 0, n);
        va += n;
        dst += n;
        len -= n;
    }
    return 1;
}

static int peek_ptr(ig_ctx *c, uint64_t va, uint64_t *v)
{
    *v = 0;
    return peek(c, va, v, c->ptr);
}

/* reached[i] = 1 for every links[i] a Flink walk from `head` visits before
 * it returns to the head, meets an entry twice or leaves the known entries
 * (a link into unmapped memory). */
static void walk_from(ig_ctx *c, uint64_t head, const uint64_t *links, int n, int *reached)
{
    memset(reached, 0, (size_t)n * sizeof *reached);
    uint64_t e;
    if (!peek_ptr(c, head, &e))
        return;
    for (int steps = 0; ig_canonical(c, e) != ig_canonical(c, head) && steps <= n; steps++) {
        int i = 0;
        while (i < n && ig_canonical(c, links[i]) != ig_canonical(c, e))
            i++;
        if (i == n || reached[i])
            return;
        reached[i] = 1;
        if (!peek_ptr(c, e, &e))
            return;
    }
}

static void mark_reachable(ig_ctx *c)
{
    uint64_t links[IG_MAX_PROCS > IG_MAX_MODS ? IG_MAX_PROCS : IG_MAX_MODS];
    int reached[IG_MAX_PROCS > IG_MAX_MODS ? IG_MAX_PROCS : IG_MAX_MODS];
    long o_links = ig_off(c, "_EPROCESS", "ActiveProcessLinks");
    for (int i = 0; i < c->nprocs; i++)
        links[i] = c->procs[i].eprocess + (uint64_t)o_links;
    walk_from(c, c->ps_active_head, links, c->nprocs, reached);
    for (int i = 0; i < c->nprocs; i++)
        c->procs[i].unreachable = !reached[i];
    for (int i = 0; i < c->nmods; i++)
        links[i] = c->mods[i].ldr; /* InLoadOrderLinks is the entry's first member */
    walk_from(c, c->ps_loaded_list, links, c->nmods, reached);
    for (int i = 0; i < c->nmods; i++)
        c->mods[i].unreachable = !reached[i];
}

static ig_damage_entry *log_entry(ig_ctx *c, unsigned kind)
{
    ig_damage_entry *d = &c->damage_log->e[c->damage_log->n++];
    memset(d, 0, sizeof *d);
    d->kind = kind;
    return d;
}

/* A page of freed pool: VA reserved, nothing mapped behind it. */
static ig_status unmapped_page(ig_ctx *c, uint64_t *va)
{
    if (ig_kva_reserve(c, IG_VA_NPPOOL, IG_PAGE, va) != IG_OK)
        return IG_ERR;
    uint64_t pa;
    if (ig_v2p(c, *va, &pa) == IG_OK)
        return ig_fail("damage: reserved page 0x%llx is mapped", (unsigned long long)*va);
    return IG_OK;
}

/* Flink of item `j` -> item `i` (an earlier one): a cycle that never comes
 * back to the head.  Blinks stay as they were. */
static ig_status process_loop(ig_ctx *c, ig_rng *r, long o_links, int *used)
{
    int n = c->nprocs;
    int j = (int)ig_rng_range(r, (uint64_t)n / 2, (uint64_t)n * 3 / 4);
    int i = (int)ig_rng_range(r, 1, (uint64_t)j - 1);
    *used = j;
    ig_damage_entry *d = log_entry(c, IG_DAMAGE_PROCESS_LOOP);
    d->at = c->procs[j].eprocess;
    d->extra[0] = c->procs[i].eprocess;
    d->target = d->extra[0] + (uint64_t)o_links;
    return ig_wptr(c, d->at + (uint64_t)o_links, d->target);
}

static ig_status process_unmapped(ig_ctx *c, ig_rng *r, long o_links, int avoid)
{
    int n = c->nprocs;
    int j = (int)ig_rng_range(r, (uint64_t)n / 3, (uint64_t)n - 2);
    if (j == avoid)
        j--;
    uint64_t page;
    if (unmapped_page(c, &page) != IG_OK)
        return IG_ERR;
    ig_damage_entry *d = log_entry(c, IG_DAMAGE_PROCESS_UNMAPPED);
    d->at = c->procs[j].eprocess;
    d->target = page + 0x40 + (uint64_t)o_links;
    return ig_wptr(c, d->at + (uint64_t)o_links, d->target);
}

static ig_status module_loop(ig_ctx *c, ig_rng *r, int *used)
{
    int n = c->nmods;
    int j = (int)ig_rng_range(r, (uint64_t)n / 2, (uint64_t)n * 3 / 4);
    int i = (int)ig_rng_range(r, 1, (uint64_t)j - 1);
    *used = j;
    ig_damage_entry *d = log_entry(c, IG_DAMAGE_MODULE_LOOP);
    d->at = c->mods[j].ldr;
    d->target = c->mods[i].ldr;
    return ig_wptr(c, d->at, d->target);
}

static ig_status module_unmapped(ig_ctx *c, ig_rng *r, int avoid)
{
    int j = (int)ig_rng_range(r, 2, (uint64_t)c->nmods - 2);
    if (j == avoid)
        j--;
    uint64_t page;
    if (unmapped_page(c, &page) != IG_OK)
        return IG_ERR;
    ig_damage_entry *d = log_entry(c, IG_DAMAGE_MODULE_UNMAPPED);
    d->at = c->mods[j].ldr;
    d->target = page + ig_pool_header_size(c);
    return ig_wptr(c, d->at, d->target);
}

/* ---- kernel headers paged out ---- */

static unsigned entry_width(const ig_ctx *c) { return c->mode == IG_MODE_X86 ? 4 : 8; }

static uint64_t table_frame(const ig_ctx *c, uint64_t e)
{
    return e & (c->mode == IG_MODE_X64 ? 0x000FFFFFFFFFF000ull
                : c->mode == IG_MODE_PAE ? 0x0000000FFFFFF000ull : 0xFFFFF000ull);
}

static uint64_t rd_entry(ig_ctx *c, uint64_t pa)
{
    uint64_t v = 0;
    const uint8_t *pg = ig_phys_lookup(c, pa / IG_PAGE);
    if (pg)
        memcpy(&v, pg + pa % IG_PAGE, entry_width(c));
    return v;
}

static ig_status wr_entry(ig_ctx *c, uint64_t pa, uint64_t v)
{
    return ig_phys_write(c, pa, &v, entry_width(c));
}

/* Replace the large-page PDE at `pde_pa` with a page table mapping the same
 * frames with the same attributes, so that one 4 KiB page of it can be made
 * non-present. */
static ig_status split_large(ig_ctx *c, uint64_t pde_pa, uint64_t pde, uint64_t *table)
{
    int x86 = c->mode == IG_MODE_X86;
    unsigned w = entry_width(c), n = IG_PAGE / w;
    uint64_t base = x86 ? pde & 0xFFC00000ull : table_frame(c, pde) & ~0x1FFFFFull;
    uint64_t attrs = (pde & 0xFFFull & ~0x80ull) | (pde & (1ull << 63));
    uint64_t pt;
    if (ig_frame_alloc(c, &pt) != IG_OK)
        return IG_ERR;
    uint8_t buf[IG_PAGE];
    for (unsigned i = 0; i < n; i++) {
        uint64_t e = (base + (uint64_t)i * IG_PAGE) | attrs;
        memcpy(buf + (size_t)i * w, &e, w);
    }
    if (ig_phys_write(c, pt, buf, sizeof buf) != IG_OK || wr_entry(c, pde_pa, pt | 0x63) != IG_OK)
        return IG_ERR;
    *table = pt;
    return IG_OK;
}

/* Physical address of the System PTE of `va`, splitting a large page. */
static ig_status pte_slot(ig_ctx *c, uint64_t va, uint64_t *slot)
{
    int top = c->mode == IG_MODE_X64 ? 4 : c->mode == IG_MODE_PAE ? 3 : 2;
    uint64_t table = c->mode == IG_MODE_PAE ? c->dtb : c->root_pa;
    for (int level = top; level >= 2; level--) {
        unsigned shift = c->mode == IG_MODE_X86 ? 12 + 10 * (unsigned)(level - 1) : 12 + 9 * (unsigned)(level - 1);
        unsigned bits = c->mode == IG_MODE_X86 ? 10 : c->mode == IG_MODE_PAE && level == 3 ? 2 : 9;
        uint64_t ea = table + ((va >> shift) & ((1ull << bits) - 1)) * entry_width(c);
        uint64_t e = rd_entry(c, ea);
        if (!(e & 1))
            return ig_fail("damage: no page table maps 0x%llx", (unsigned long long)va);
        if (level == 2 && (e & 0x80)) {
            if (split_large(c, ea, e, &table) != IG_OK)
                return IG_ERR;
        } else {
            table = table_frame(c, e);
        }
    }
    unsigned bits = c->mode == IG_MODE_X86 ? 10 : 9;
    *slot = table + ((va >> 12) & ((1ull << bits) - 1)) * entry_width(c);
    return IG_OK;
}

/* The kernel's MZ/PE header page goes to the pagefile (x64) or becomes a
 * demand-zero PTE (x86), and its old frame is reused (zeroed). */
static ig_status kernel_headers(ig_ctx *c, ig_rng *r)
{
    uint64_t slot = 0, pa = 0;
    if (ig_v2p(c, c->kbase, &pa) != IG_OK)
        return ig_fail("damage: the kernel header page is not mapped");
    if (pte_slot(c, c->kbase, &slot) != IG_OK)
        return IG_ERR;
    ig_damage_entry *d = log_entry(c, IG_DAMAGE_KERNEL_HEADERS);
    d->at = c->kbase;
    d->extra[0] = pa & ~(uint64_t)(IG_PAGE - 1);
    d->pagefile = c->mode == IG_MODE_X64;
    uint8_t *page = ig_phys_page(c, pa / IG_PAGE);
    if (page == NULL)
        return ig_fail("damage: kernel header frame 0x%llx is not RAM", (unsigned long long)pa);
    memset(page, 0, IG_PAGE);
    c->mods[0].headers_out = 1;
    if (d->pagefile)
        return ig_pte_make_pagefile(c, c->kbase, 0, ig_rng_range(r, 0x100, 0x3FFFF));
    return wr_entry(c, slot, 4ull << 5); /* Protection MM_READWRITE, no pagefile offset */
}

/* ---- absurd sizes ---- */

static int find_proc(const ig_ctx *c, const char *prefix)
{
    for (int i = 0; i < c->nprocs; i++)
        if (strncmp(c->procs[i].name, prefix, strlen(prefix)) == 0)
            return i;
    return -1;
}

static int find_mod(const ig_ctx *c, const char *name)
{
    for (int i = 0; i < c->nmods; i++)
        if (strcmp(c->mods[i].name, name) == 0)
            return i;
    return -1;
}

static ig_status absurd_sizes(ig_ctx *c)
{
    const char *L = "_LDR_DATA_TABLE_ENTRY", *E = "_EPROCESS";
    int x64 = c->ptr == 8;
    long o_size = ig_off(c, L, "SizeOfImage"), o_full = ig_off(c, L, "FullDllName");
    if (o_size < 0)
        o_size = x64 ? 0x40 : 0x20;
    if (o_full < 0)
        o_full = x64 ? 0x48 : 0x24;
    long o_name = ig_off(c, E, "ImageFileName"), o_audit = ig_off(c, E, "SeAuditProcessCreationInfo");
    long o_at = ig_off(c, E, "ActiveThreads");
    int acpi = find_mod(c, "ACPI.sys"), kdcom = find_mod(c, "kdcom.dll");
    int longname = find_proc(c, c->t->build < 10240 ? "GoogleUpdate" : "MicrosoftEdge");
    int explorer = find_proc(c, "explorer.exe");
    if (acpi < 0 || kdcom < 0 || longname < 0 || explorer < 0 || o_name < 0 || o_at < 0)
        return ig_fail("damage: absurd-sizes found no victims in profile %s", c->t->name);
    ig_damage_entry *d = log_entry(c, IG_DAMAGE_ABSURD_SIZES);

    /* SizeOfImage 0xFFFFFFFF */
    ig_mod_truth *m = &c->mods[acpi];
    m->size = 0xFFFFFFFFull;
    d->extra[0] = m->ldr;
    if (ig_w32(c, m->ldr + (uint64_t)o_size, 0xFFFFFFFFu) != IG_OK)
        return IG_ERR;

    /* FullDllName: Length = MaximumLength = 0xFFFE, Buffer in unmapped pool */
    m = &c->mods[kdcom];
    uint64_t page;
    if (unmapped_page(c, &page) != IG_OK)
        return IG_ERR;
    d->extra[1] = m->ldr;
    d->target = page + 0x10;
    m->path[0] = '\0';
    if (ig_w16(c, m->ldr + (uint64_t)o_full, 0xFFFE) != IG_OK ||
        ig_w16(c, m->ldr + (uint64_t)o_full + 2, 0xFFFE) != IG_OK ||
        ig_wptr(c, m->ldr + (uint64_t)o_full + c->ptr, d->target) != IG_OK)
        return IG_ERR;

    /* ImageFileName filled to its last byte, no NUL after it (Win7+: the
     * next byte is PriorityClass; XP/Vista's array has a 16th byte, which
     * stays 0), and no SeAuditProcessCreationInfo name to fall back on */
    ig_proc_truth *p = &c->procs[longname];
    d->extra[2] = p->eprocess;
    if (strlen(p->name) != 15)
        return ig_fail("damage: %s's ImageFileName is not 15 characters", p->name);
    if (c->t->build >= 7600 && ig_w8(c, p->eprocess + (uint64_t)o_name + 15, 0x02) != IG_OK)
        return IG_ERR;
    if (o_audit >= 0 && ig_wptr(c, p->eprocess + (uint64_t)o_audit, 0) != IG_OK)
        return IG_ERR;
    p->full_name[0] = '\0';

    /* ActiveThreads 0xFFFFFFFF */
    p = &c->procs[explorer];
    d->extra[3] = p->eprocess;
    p->threads = 0xFFFFFFFFu;
    return ig_w32(c, p->eprocess + (uint64_t)o_at, 0xFFFFFFFFu);
}

ig_status ig_damage_apply(ig_ctx *c)
{
    if (c->damage == 0)
        return IG_OK;
    c->damage_log = calloc(1, sizeof *c->damage_log);
    if (c->damage_log == NULL)
        return ig_fail("out of memory");
    if (c->nprocs < 6 || c->nmods < 6)
        return ig_fail("damage: too few processes or modules to damage");
    /* a stream of its own: the undamaged parts stay as without --damage */
    ig_rng r;
    ig_rng_seed(&r, c->seed ^ 0x64616D616765ull);
    long o_links = ig_off(c, "_EPROCESS", "ActiveProcessLinks");
    int ploop = -1, mloop = -1;
    int st = IG_OK;
    if (c->damage & IG_DAMAGE_PROCESS_LOOP)
        st |= process_loop(c, &r, o_links, &ploop);
    if (c->damage & IG_DAMAGE_PROCESS_UNMAPPED)
        st |= process_unmapped(c, &r, o_links, ploop);
    if (c->damage & IG_DAMAGE_MODULE_LOOP)
        st |= module_loop(c, &r, &mloop);
    if (c->damage & IG_DAMAGE_MODULE_UNMAPPED)
        st |= module_unmapped(c, &r, mloop);
    if (c->damage & IG_DAMAGE_KERNEL_HEADERS)
        st |= kernel_headers(c, &r);
    if (c->damage & IG_DAMAGE_ABSURD_SIZES)
        st |= absurd_sizes(c);
    if (st != IG_OK)
        return IG_ERR;
    mark_reachable(c);
    return IG_OK;
}

/* ---- truth ---- */

static const char *proc_name_at(const ig_ctx *c, uint64_t eprocess, uint32_t *pid)
{
    for (int i = 0; i < c->nprocs; i++)
        if (c->procs[i].eprocess == eprocess) {
            *pid = c->procs[i].pid;
            return c->procs[i].name;
        }
    *pid = 0;
    return "?";
}

static const char *mod_name_at(const ig_ctx *c, uint64_t ldr)
{
    for (int i = 0; i < c->nmods; i++)
        if (c->mods[i].ldr == ldr)
            return c->mods[i].name;
    return "?";
}

static unsigned long long ull(uint64_t v) { return (unsigned long long)v; }

static void entry_json(const ig_ctx *c, FILE *f, const ig_damage_entry *d, int dump_type)
{
    uint32_t pid, tpid;
    fprintf(f, "{\"kind\": \"%s\"", kind_name(d->kind));
    switch (d->kind) {
    case IG_DAMAGE_PROCESS_LOOP:
    case IG_DAMAGE_PROCESS_UNMAPPED:
        proc_name_at(c, d->at, &pid);
        fprintf(f, ", \"eprocess\": %llu, \"pid\": %u, \"flink_to\": %llu", ull(d->at), pid, ull(d->target));
        if (d->kind == IG_DAMAGE_PROCESS_LOOP) {
            proc_name_at(c, d->extra[0], &tpid);
            fprintf(f, ", \"loops_to_pid\": %u", tpid);
        } else {
            fputs(", \"flink_mapped\": false", f);
        }
        break;
    case IG_DAMAGE_MODULE_LOOP:
    case IG_DAMAGE_MODULE_UNMAPPED:
        fprintf(f, ", \"entry\": %llu, \"module\": \"%s\", \"flink_to\": %llu", ull(d->at), mod_name_at(c, d->at),
                ull(d->target));
        if (d->kind == IG_DAMAGE_MODULE_LOOP)
            fprintf(f, ", \"loops_to_module\": \"%s\"", mod_name_at(c, d->target));
        else
            fputs(", \"flink_mapped\": false", f);
        break;
    case IG_DAMAGE_KERNEL_HEADERS: {
        int hints = dump_type != 0 && c->header_hints;
        fprintf(f, ", \"page\": %llu, \"old_frame\": %llu, \"pte\": \"%s\", \"kernel_found_by\": [", ull(d->at),
                ull(d->extra[0]), d->pagefile ? "pagefile" : "demand-zero");
        fprintf(f, "%s%s%s]", hints ? "\"crash-header\"" : "", hints && !c->t->kdbg_encoded ? ", " : "",
                c->t->kdbg_encoded ? "" : "\"kdbg-scan\"");
        break;
    }
    case IG_DAMAGE_ABSURD_SIZES: {
        const char *name = proc_name_at(c, d->extra[2], &pid);
        proc_name_at(c, d->extra[3], &tpid);
        fprintf(f, ", \"size_of_image\": {\"module\": \"%s\", \"value\": 4294967295}", mod_name_at(c, d->extra[0]));
        fprintf(f, ", \"unreadable_path\": {\"module\": \"%s\", \"length\": 65534, \"buffer\": %llu}",
                mod_name_at(c, d->extra[1]), ull(d->target));
        fprintf(f, ", \"name_without_nul\": {\"pid\": %u, \"name\": \"%s\"}", pid, name);
        fprintf(f, ", \"active_threads\": {\"pid\": %u, \"value\": 4294967295}", tpid);
        break;
    }
    default:
        break;
    }
    fputc('}', f);
}

void ig_damage_truth(const ig_ctx *c, FILE *f, int dump_type)
{
    if (c->damage_log == NULL)
        return;
    fputs("  \"damage\": [", f);
    for (int i = 0; i < c->damage_log->n; i++) {
        fputs(i ? ",\n    " : "\n    ", f);
        entry_json(c, f, &c->damage_log->e[i], dump_type);
    }
    fputs("\n  ],\n", f);
}
