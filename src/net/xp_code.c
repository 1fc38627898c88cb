/* XP / 2003 tcpip.sys code analysis: follows LONG globals through div to
 * the remainder and pointer globals loaded into registers, on the register
 * tracker of code_flow, and records where "table[remainder]" is read or
 * addressed. */
#include "xp_code.h"

#include <stdlib.h>
#include <string.h>

#include "symbols/code_flow.h"

#define MAX_CHAIN 40             /* instructions from a load to its use */
#define MAX_SITES 65536
#define MAX_CODE_BYTES (16u << 20)
#define MAX_GROUPS 256

/* REM: remainder of a division by the LONG at g; SLOT: that remainder
 * times the pointer size. */
enum { V_REM = MS_CF_KIND_FIRST, V_SLOT };

typedef struct site {
    uint32_t rva, table, count;
} site;

struct ms_xp_code_scan {
    ms_cf cf;
    site *sites;
    size_t nsites, cap;
};

static void add_site(ms_xp_code_scan *s, const cs_insn *insn, uint32_t table, uint32_t count)
{
    if (table != count && ms_cf_grow((void **)&s->sites, &s->cap, s->nsites + 1, sizeof *s->sites, MAX_SITES))
        s->sites[s->nsites++] = (site){(uint32_t)insn->address, table, count};
}

/* A pointer global loaded into `v`. */
static int table_in(const ms_cf *cf, const ms_cf_val *v)
{
    return ms_cf_holds(cf, v, MS_CF_GLOBAL) && v->width == cf->ptr_width;
}

/* [base + index*scale + 0] with the table pointer in one register and the
 * remainder in the other (a slot read, write or `lea` of its address). */
static void check_mem(ms_xp_code_scan *s, const cs_insn *insn, const x86_op_mem *m)
{
    const ms_cf *cf = &s->cf;
    if (m->disp != 0 || m->base == X86_REG_INVALID || m->index == X86_REG_INVALID)
        return;
    ms_cf_val *b = ms_cf_reg(&s->cf, m->base), *i = ms_cf_reg(&s->cf, m->index);
    if (m->scale == (int)cf->ptr_width && table_in(cf, b) && ms_cf_holds(cf, i, V_REM))
        add_site(s, insn, b->g, i->g);
    else if (m->scale == 1 && table_in(cf, b) && ms_cf_holds(cf, i, V_SLOT))
        add_site(s, insn, b->g, i->g);
    else if (m->scale == 1 && table_in(cf, i) && ms_cf_holds(cf, b, V_SLOT))
        add_site(s, insn, i->g, b->g);
}

static void observe(ms_cf *cf, const cs_insn *insn, void *user)
{
    const cs_x86 *x = &insn->detail->x86;
    (void)cf;
    for (uint8_t k = 0; k < x->op_count; k++)
        if (x->operands[k].type == X86_OP_MEM)
            check_mem(user, insn, &x->operands[k].mem);
}

/* Only a division by a LONG counts. */
static int rem_rule(ms_cf *cf, const cs_insn *insn, const ms_cf_val *d, ms_cf_val *rem, void *user)
{
    (void)user;
    if (insn->detail->x86.operands[0].size != 4 || d->width != 4)
        return 0;
    *rem = (ms_cf_val){.kind = V_REM, .width = 4, .g = d->g, .born = cf->ordinal};
    return 1;
}

static int transfer(ms_cf *cf, const cs_insn *insn, ms_cf_val *out, void *user)
{
    ms_xp_code_scan *s = user;
    const cs_x86 *x = &insn->detail->x86;
    const cs_x86_op *op = x->operands;
    uint32_t g;
    if (x->op_count != 2)
        return 0;
    ms_cf_val *dst = ms_cf_reg(cf, op[0].reg);
    *out = (ms_cf_val){0};
    switch (insn->id) {
    case X86_INS_MOV:
    case X86_INS_MOVSXD:
        if (ms_cf_load(cf, insn, out))
            return 1;
        if (op[1].type == X86_OP_REG && op[0].size >= 4 && op[1].size >= 4) {
            ms_cf_val *src = ms_cf_reg(cf, op[1].reg);
            if (src)
                *out = *src;
            return 1;
        }
        break;
    case X86_INS_SHL:
        if (op[1].type == X86_OP_IMM && (1ull << (op[1].imm & 7)) == cf->ptr_width && op[1].imm > 0 &&
            ms_cf_holds(cf, dst, V_REM)) {
            *out = (ms_cf_val){.kind = V_SLOT, .width = 4, .g = dst->g, .born = dst->born};
            return 1;
        }
        break;
    case X86_INS_ADD:
        if (dst == NULL)
            break;
        if (op[1].type == X86_OP_MEM && ms_cf_global(cf, insn, &op[1].mem, &g) && op[1].size == cf->ptr_width &&
            ms_cf_holds(cf, dst, V_SLOT))
            add_site(s, insn, g, dst->g);
        else if (op[1].type == X86_OP_REG) {
            ms_cf_val *src = ms_cf_reg(cf, op[1].reg);
            if (ms_cf_holds(cf, dst, V_SLOT) && table_in(cf, src))
                add_site(s, insn, src->g, dst->g);
            else if (ms_cf_holds(cf, src, V_SLOT) && table_in(cf, dst))
                add_site(s, insn, dst->g, src->g);
        }
        return 1;
    default:
        break;
    }
    return 0;
}

static const ms_cf_rules rules = {0, observe, rem_rule, transfer};

ms_status ms_xp_code_scan_create(uint16_t machine, uint64_t image_base, uint32_t image_size, ms_xp_code_scan **out)
{
    if (out == NULL)
        return ms_fail(MS_ERR_ARG, "ms_xp_code_scan_create needs an out-parameter");
    ms_xp_code_scan *s = calloc(1, sizeof *s);
    if (s == NULL)
        return ms_fail(MS_ERR_NOMEM, "out of memory for the XP tcpip code scan");
    ms_status st = ms_cf_open(&s->cf, machine, image_base, image_size, MAX_CHAIN, &rules, s,
                              "XP tcpip code analysis");
    if (st != MS_OK) {
        free(s);
        return st;
    }
    *out = s;
    return MS_OK;
}

void ms_xp_code_scan_destroy(ms_xp_code_scan *scan)
{
    if (scan == NULL)
        return;
    ms_cf_close(&scan->cf);
    free(scan->sites);
    free(scan);
}

ms_status ms_xp_code_scan_code(ms_xp_code_scan *s, const uint8_t *code, size_t len, uint32_t rva)
{
    if (s == NULL || (code == NULL && len > 0))
        return ms_fail(MS_ERR_ARG, "ms_xp_code_scan_code needs a scan and code bytes");
    ms_cf_run(&s->cf, code, len, rva);
    return MS_OK;
}

static int by_sites(const void *a, const void *b)
{
    const ms_xp_code_table *x = a, *y = b;
    if (x->sites != y->sites)
        return x->sites > y->sites ? -1 : 1;
    return x->site_rva[0] < y->site_rva[0] ? -1 : x->site_rva[0] > y->site_rva[0];
}

/* Groups are keyed (table, count). */
static void keep_group(const ms_xp_code_scan *scan, const ms_cf_group *g, ms_xp_code_table *t)
{
    memset(t, 0, sizeof *t);
    t->table_rva = g->key[0];
    t->count_rva = g->key[1];
    t->sites = g->votes[0];
    for (size_t i = g->first; i < scan->nsites && t->site_count < MS_XP_CODE_MAX_SITES; i++)
        if (scan->sites[i].table == t->table_rva && scan->sites[i].count == t->count_rva)
            t->site_rva[t->site_count++] = scan->sites[i].rva;
}

ms_status ms_xp_code_scan_decide(const ms_xp_code_scan *scan, const ms_pe *pe, ms_xp_code_result *out)
{
    if (scan == NULL || out == NULL)
        return ms_fail(MS_ERR_ARG, "ms_xp_code_scan_decide needs a scan and an out-parameter");
    memset(out, 0, sizeof *out);
    ms_cf_vote v;
    ms_status st = ms_cf_vote_init(&v, MAX_GROUPS, "XP tcpip code sites");
    if (st != MS_OK)
        return st;
    for (size_t i = 0; i < scan->nsites; i++)
        ms_cf_vote_add(&v, scan->sites[i].table, scan->sites[i].count, 0, 0, i);
    ms_xp_code_table all[MAX_GROUPS];
    size_t nall = 0;
    for (size_t k = 0; k < v.count; k++) {
        const ms_cf_group *g = &v.groups[k];
        uint32_t table = g->key[0], count = g->key[1];
        if (g->votes[0] < 2)
            out->lone_sites += g->votes[0];
        else if (ms_cf_overlap(table, scan->cf.ptr_width, count, 4) ||
                 (pe != NULL && (!ms_cf_writable_data(pe, table) || !ms_cf_writable_data(pe, count))))
            out->not_data++;
        else
            keep_group(scan, g, &all[nall++]);
    }
    ms_cf_vote_free(&v);
    if (nall == 0)
        return ms_fail(MS_ERR_NOT_FOUND,
                       "no pointer global is indexed by hash %% a LONG global at two sites or more (%zu sites seen, "
                       "%u alone, %u pairs outside writable data)",
                       scan->nsites, out->lone_sites, out->not_data);
    qsort(all, nall, sizeof *all, by_sites);
    out->count = nall < MS_XP_CODE_MAX_TABLES ? nall : MS_XP_CODE_MAX_TABLES;
    memcpy(out->tables, all, out->count * sizeof *all);
    return MS_OK;
}

static ms_status scan_run(void *user, const uint8_t *code, size_t len, uint32_t rva)
{
    return ms_xp_code_scan_code(user, code, len, rva);
}

ms_status ms_xp_code_find(const ms_pe *pe, uint64_t load_base, ms_xp_code_result *out)
{
    if (pe == NULL || out == NULL)
        return ms_fail(MS_ERR_ARG, "ms_xp_code_find needs PE headers and an out-parameter");
    ms_status st = ms_cf_check_code(pe, MAX_CODE_BYTES, "tcpip.sys");
    if (st != MS_OK)
        return st;
    ms_xp_code_scan *scan;
    st = ms_xp_code_scan_create(pe->machine, load_base ? load_base : pe->image_base, pe->size_of_image, &scan);
    if (st != MS_OK)
        return st;
    st = ms_cf_sections(pe, MAX_CODE_BYTES, "tcpip.sys", scan_run, scan);
    if (st == MS_OK)
        st = ms_xp_code_scan_decide(scan, pe, out);
    ms_xp_code_scan_destroy(scan);
    return st;
}
