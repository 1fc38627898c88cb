/* The pattern of tcpip_code: values loaded from globals followed through
 * div, scaling and addition to the places where "table + index * size" is
 * formed, on the register tracker of code_flow. */
#include "tcpip_code.h"

#include <stdlib.h>
#include <string.h>

#include "code_flow.h"

#define MAX_CHAIN 40          /* instructions from the first load to the site */
#define LOOP_WINDOW 48        /* instructions between a loop site and its compare */
#define MAX_CANDIDATES 65536
#define MAX_COMPARES (1u << 20)
#define MIN_SIZE 0x20
#define MAX_SIZE 0x400
#define MAX_SCALE 0x10000

/* REM: hash % count global g (width: of the count); SCALED: a remainder
 * (flag set) or a loop index, times scale. */
enum { V_REM = MS_CF_KIND_FIRST, V_SCALED };

typedef struct compare {
    uint64_t ordinal;
    uint32_t g;
    uint8_t width;
} compare;

typedef struct loop_site {
    uint64_t ordinal;
    uint32_t rva;
    uint32_t table;
    uint32_t size;
} loop_site;

struct ms_tcpip_scan {
    ms_cf cf;
    ms_tcpip_candidate *cand;
    size_t ncand, cand_cap;
    compare *cmps;
    size_t ncmp, cmp_cap;
    loop_site *loops;
    size_t nloop, loop_cap;
};

static int is_scalable(const ms_cf_val *v)
{
    return v->kind == V_REM || v->kind == V_SCALED;
}

/* `v` multiplied by `k`; an unknown register becomes a loop index. */
static ms_cf_val scaled(const ms_cf *cf, const ms_cf_val *v, uint64_t k)
{
    ms_cf_val r = {0};
    if (is_scalable(v) && ms_cf_fresh(cf, v)) {
        r = *v;
        r.flag = v->kind == V_REM ? 1 : v->flag;
        k *= v->kind == V_REM ? 1 : v->scale;
    } else if (v->kind == MS_CF_NONE) {
        r.born = cf->ordinal;
    } else {
        return (ms_cf_val){0};
    }
    if (k == 0 || k > MAX_SCALE)
        return (ms_cf_val){0};
    r.kind = V_SCALED;
    r.scale = (uint32_t)k;
    return r;
}

static void add_candidate(ms_tcpip_scan *s, const ms_tcpip_candidate *c)
{
    if (ms_cf_grow((void **)&s->cand, &s->cand_cap, s->ncand + 1, sizeof *s->cand, MAX_CANDIDATES))
        s->cand[s->ncand++] = *c;
}

/* "table + scaled" was formed at `insn`. */
static void site(ms_tcpip_scan *s, const cs_insn *insn, const ms_cf_val *idx, uint32_t mult, uint32_t table,
                 unsigned table_width, int64_t disp)
{
    uint64_t size = (uint64_t)idx->scale * mult;
    if (idx->kind != V_SCALED || !ms_cf_fresh(&s->cf, idx) || table_width != s->cf.ptr_width)
        return;
    if (size < MIN_SIZE || size > MAX_SIZE || size % 8 != 0 || disp < 0 || (uint64_t)disp >= size)
        return;
    if (idx->flag) {
        if (idx->g == table || idx->width == 0 || idx->width > 4)
            return;
        ms_tcpip_candidate c = {MS_TCPIP_SITE_HASH, (uint32_t)insn->address, idx->g, table, (uint32_t)size,
                                idx->width};
        add_candidate(s, &c);
        return;
    }
    if (ms_cf_grow((void **)&s->loops, &s->loop_cap, s->nloop + 1, sizeof *s->loops, MAX_CANDIDATES))
        s->loops[s->nloop++] = (loop_site){s->cf.ordinal, (uint32_t)insn->address, table, (uint32_t)size};
}

static void note_compare(ms_tcpip_scan *s, uint32_t g, unsigned width)
{
    if (width == 0 || width > 4)
        return;
    if (ms_cf_grow((void **)&s->cmps, &s->cmp_cap, s->ncmp + 1, sizeof *s->cmps, MAX_COMPARES))
        s->cmps[s->ncmp++] = (compare){s->cf.ordinal, g, (uint8_t)width};
}

/* A memory operand [base + index*k + disp] where one register holds the
 * table pointer and the other a scaled index. */
static void check_mem_site(ms_tcpip_scan *s, const cs_insn *insn, const x86_op_mem *m)
{
    ms_cf_val *b = ms_cf_reg(&s->cf, m->base), *i = ms_cf_reg(&s->cf, m->index);
    if (b == NULL || i == NULL)
        return;
    if (b->kind == MS_CF_GLOBAL && ms_cf_fresh(&s->cf, b) && i->kind == V_SCALED)
        site(s, insn, i, (uint32_t)m->scale, b->g, b->width, m->disp);
    else if (i->kind == MS_CF_GLOBAL && ms_cf_fresh(&s->cf, i) && m->scale == 1 && b->kind == V_SCALED)
        site(s, insn, b, 1, i->g, i->width, m->disp);
}

static void track_compare(ms_tcpip_scan *s, const cs_insn *insn)
{
    const cs_x86 *x = &insn->detail->x86;
    if (insn->id != X86_INS_CMP || x->op_count != 2)
        return;
    for (int k = 0; k < 2; k++) {
        const cs_x86_op *op = &x->operands[k];
        uint32_t g;
        if (op->type == X86_OP_MEM && ms_cf_global(&s->cf, insn, &op->mem, &g))
            note_compare(s, g, op->size);
        else if (op->type == X86_OP_REG) {
            ms_cf_val *v = ms_cf_reg(&s->cf, op->reg);
            if (v && v->kind == MS_CF_GLOBAL && ms_cf_fresh(&s->cf, v))
                note_compare(s, v->g, v->width);
        }
    }
}

static void observe(ms_cf *cf, const cs_insn *insn, void *user)
{
    (void)cf;
    ms_tcpip_scan *s = user;
    const cs_x86 *x = &insn->detail->x86;
    track_compare(s, insn);
    for (uint8_t k = 0; k < x->op_count; k++)
        if (x->operands[k].type == X86_OP_MEM && insn->id != X86_INS_LEA)
            check_mem_site(s, insn, &x->operands[k].mem);
}

/* The remainder of a division by a count of at most 4 bytes. */
static int rem_rule(ms_cf *cf, const cs_insn *insn, const ms_cf_val *d, ms_cf_val *rem, void *user)
{
    (void)cf;
    (void)user;
    if (insn->detail->x86.operands[0].size < 2 || d->width > 4)
        return 0;
    *rem = (ms_cf_val){V_REM, d->width, 1, d->g, 1, d->born};
    return 1;
}

static int transfer(ms_cf *cf, const cs_insn *insn, ms_cf_val *out, void *user)
{
    ms_tcpip_scan *s = user;
    const cs_x86 *x = &insn->detail->x86;
    const cs_x86_op *op = x->operands;
    ms_cf_val *dst = ms_cf_reg(cf, op[0].reg);
    uint32_t g;
    *out = (ms_cf_val){0};

    switch (insn->id) {
    case X86_INS_MOV:
    case X86_INS_MOVZX:
    case X86_INS_MOVSX:
    case X86_INS_MOVSXD:
        if (ms_cf_load(cf, insn, out))
            return 1;
        if (x->op_count == 2 && op[1].type == X86_OP_REG) {
            ms_cf_val *src = ms_cf_reg(cf, op[1].reg);
            if (src)
                *out = *src;
            return 1;
        }
        break;
    case X86_INS_SHL:
        if (x->op_count == 2 && op[1].type == X86_OP_IMM && op[1].imm > 0 && op[1].imm <= 12 && dst) {
            *out = scaled(cf, dst, 1ull << op[1].imm);
            return 1;
        }
        break;
    case X86_INS_IMUL:
        if (x->op_count == 3 && op[1].type == X86_OP_REG && op[2].type == X86_OP_IMM && op[2].imm > 0) {
            ms_cf_val *src = ms_cf_reg(cf, op[1].reg);
            if (src)
                *out = scaled(cf, src, (uint64_t)op[2].imm);
            return 1;
        }
        break;
    case X86_INS_LEA: {
        if (x->op_count != 2 || op[1].type != X86_OP_MEM)
            break;
        const x86_op_mem *m = &op[1].mem;
        ms_cf_val *b = ms_cf_reg(cf, m->base), *i = ms_cf_reg(cf, m->index);
        if (b != NULL && i != NULL && ms_cf_slot(m->base) == ms_cf_slot(m->index) && m->disp == 0)
            *out = scaled(cf, b, (uint64_t)m->scale + 1);
        else if (m->base == X86_REG_INVALID && i != NULL && m->disp == 0 && m->scale > 1)
            *out = scaled(cf, i, (uint64_t)m->scale);
        else
            check_mem_site(s, insn, m);
        return 1;
    }
    case X86_INS_ADD:
        if (x->op_count != 2 || dst == NULL)
            break;
        if (op[1].type == X86_OP_REG && ms_cf_slot(op[1].reg) == ms_cf_slot(op[0].reg)) {
            *out = scaled(cf, dst, 2);
            return 1;
        }
        if (op[1].type == X86_OP_MEM && ms_cf_global(cf, insn, &op[1].mem, &g)) {
            if (dst->kind == V_SCALED)
                site(s, insn, dst, 1, g, op[1].size, 0);
            return 1;
        }
        if (op[1].type == X86_OP_REG) {
            ms_cf_val *src = ms_cf_reg(cf, op[1].reg);
            if (src && dst->kind == V_SCALED && src->kind == MS_CF_GLOBAL && ms_cf_fresh(cf, src))
                site(s, insn, dst, 1, src->g, src->width, 0);
            else if (src && src->kind == V_SCALED && dst->kind == MS_CF_GLOBAL && ms_cf_fresh(cf, dst))
                site(s, insn, src, 1, dst->g, dst->width, 0);
        }
        return 1;
    default:
        break;
    }
    return 0;
}

static const ms_cf_rules rules = {0, observe, rem_rule, transfer};

/* Give each loop site the count global compared nearest to it. */
static void pair_loops(ms_tcpip_scan *s)
{
    size_t c = 0;
    for (size_t i = 0; i < s->nloop; i++) {
        const loop_site *l = &s->loops[i];
        while (c < s->ncmp && s->cmps[c].ordinal + LOOP_WINDOW < l->ordinal)
            c++;
        const compare *best = NULL;
        uint64_t best_d = UINT64_MAX;
        for (size_t k = c; k < s->ncmp && s->cmps[k].ordinal <= l->ordinal + LOOP_WINDOW; k++) {
            const compare *m = &s->cmps[k];
            uint64_t d = m->ordinal > l->ordinal ? m->ordinal - l->ordinal : l->ordinal - m->ordinal;
            if (m->g != l->table && d < best_d) {
                best = m;
                best_d = d;
            }
        }
        if (best != NULL) {
            ms_tcpip_candidate cand = {MS_TCPIP_SITE_LOOP, l->rva, best->g, l->table, l->size, best->width};
            add_candidate(s, &cand);
        }
    }
    s->nloop = 0;
    s->ncmp = 0;
}

ms_status ms_tcpip_scan_create(uint16_t machine, uint64_t image_base, uint32_t image_size, ms_tcpip_scan **out)
{
    if (out == NULL)
        return ms_fail(MS_ERR_ARG, "ms_tcpip_scan_create needs an out-parameter");
    ms_tcpip_scan *s = calloc(1, sizeof *s);
    if (s == NULL)
        return ms_fail(MS_ERR_NOMEM, "out of memory for the tcpip code scan");
    ms_status st = ms_cf_open(&s->cf, machine, image_base, image_size, MAX_CHAIN, &rules, s, "tcpip code analysis");
    if (st != MS_OK) {
        free(s);
        return st;
    }
    *out = s;
    return MS_OK;
}

void ms_tcpip_scan_destroy(ms_tcpip_scan *scan)
{
    if (scan == NULL)
        return;
    ms_cf_close(&scan->cf);
    free(scan->cand);
    free(scan->cmps);
    free(scan->loops);
    free(scan);
}

ms_status ms_tcpip_scan_code(ms_tcpip_scan *s, const uint8_t *code, size_t len, uint32_t rva)
{
    if (s == NULL || (code == NULL && len > 0))
        return ms_fail(MS_ERR_ARG, "ms_tcpip_scan_code needs a scan and code bytes");
    ms_cf_run(&s->cf, code, len, rva);
    pair_loops(s);
    return MS_OK;
}

size_t ms_tcpip_scan_count(const ms_tcpip_scan *scan)
{
    return scan->ncand;
}

const ms_tcpip_candidate *ms_tcpip_scan_get(const ms_tcpip_scan *scan, size_t index)
{
    return index < scan->ncand ? &scan->cand[index] : NULL;
}
