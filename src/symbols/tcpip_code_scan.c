/* Instruction-level tracking for tcpip_code: follows, register by
 * register, values loaded from globals through div, scaling and addition,
 * and records the places where "table + index * size" is formed. */
#include "tcpip_code.h"

#include <capstone/capstone.h>
#include <stdlib.h>
#include <string.h>

#define NREGS 16
#define MAX_CHAIN 40          /* instructions from the first load to the site */
#define LOOP_WINDOW 48        /* instructions between a loop site and its compare */
#define RUN_GAP 100000        /* ordinal distance between separate code runs */
#define MAX_CANDIDATES 65536
#define MAX_COMPARES (1u << 20)
#define MIN_SIZE 0x20
#define MAX_SIZE 0x400
#define MAX_SCALE 0x10000

typedef enum vkind { V_NONE = 0, V_GLOBAL, V_REM, V_SCALED } vkind;

typedef struct val {
    uint8_t kind;
    uint8_t width;            /* GLOBAL: bytes loaded; REM/SCALED: of the count */
    uint8_t from_rem;         /* SCALED: a hash remainder rather than an index */
    uint32_t g;               /* GLOBAL: its RVA; REM/SCALED: the count's RVA */
    uint32_t scale;
    uint64_t born;
} val;

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
    csh cs;
    int is_64;
    unsigned ptr_width;
    uint64_t image_base;
    uint32_t image_size;
    uint64_t ordinal;
    val regs[NREGS];
    ms_tcpip_candidate *cand;
    size_t ncand, cand_cap;
    compare *cmps;
    size_t ncmp, cmp_cap;
    loop_site *loops;
    size_t nloop, loop_cap;
};

static int grow(void **arr, size_t *cap, size_t need, size_t elem, size_t limit)
{
    if (need <= *cap)
        return 1;
    if (need > limit)
        return 0;
    size_t n = *cap ? *cap * 2 : 256;
    if (n > limit)
        n = limit;
    void *p = realloc(*arr, n * elem);
    if (p == NULL)
        return 0;
    *arr = p;
    *cap = n;
    return 1;
}

/* Index 0..15 of the 64-bit register holding `r`, or -1. */
static int reg_slot(x86_reg r)
{
#define R4(a, b, c, d, n) case X86_REG_##a: case X86_REG_##b: case X86_REG_##c: case X86_REG_##d: return n;
    switch (r) {
    case X86_REG_AH: return 0;
    case X86_REG_BH: return 3;
    case X86_REG_CH: return 1;
    case X86_REG_DH: return 2;
    R4(AL, AX, EAX, RAX, 0)
    R4(CL, CX, ECX, RCX, 1)
    R4(DL, DX, EDX, RDX, 2)
    R4(BL, BX, EBX, RBX, 3)
    R4(SPL, SP, ESP, RSP, 4)
    R4(BPL, BP, EBP, RBP, 5)
    R4(SIL, SI, ESI, RSI, 6)
    R4(DIL, DI, EDI, RDI, 7)
    R4(R8B, R8W, R8D, R8, 8)
    R4(R9B, R9W, R9D, R9, 9)
    R4(R10B, R10W, R10D, R10, 10)
    R4(R11B, R11W, R11D, R11, 11)
    R4(R12B, R12W, R12D, R12, 12)
    R4(R13B, R13W, R13D, R13, 13)
    R4(R14B, R14W, R14D, R14, 14)
    R4(R15B, R15W, R15D, R15, 15)
    default: return -1;
    }
#undef R4
}

/* The RVA a memory operand names when it is a plain global: RIP-relative
 * on x64, an absolute address on x86. */
static int mem_global(const ms_tcpip_scan *s, const cs_insn *insn, const x86_op_mem *m, uint32_t *rva)
{
    if (m->index != X86_REG_INVALID)
        return 0;
    uint64_t target;
    if (s->is_64) {
        if (m->base != X86_REG_RIP)
            return 0;
        target = insn->address + insn->size + (uint64_t)m->disp;
    } else {
        if (m->base != X86_REG_INVALID)
            return 0;
        target = ((uint64_t)(uint32_t)m->disp - s->image_base) & 0xffffffffu;
    }
    if (target >= s->image_size)
        return 0;
    *rva = (uint32_t)target;
    return 1;
}

static val *reg_val(ms_tcpip_scan *s, x86_reg r)
{
    int i = reg_slot(r);
    return i < 0 ? NULL : &s->regs[i];
}

static int fresh(const ms_tcpip_scan *s, const val *v)
{
    return s->ordinal - v->born <= MAX_CHAIN;
}

static int is_scalable(const val *v)
{
    return v->kind == V_REM || v->kind == V_SCALED;
}

/* `v` multiplied by `k`; an unknown register becomes a loop index. */
static val scaled(const ms_tcpip_scan *s, const val *v, uint64_t k)
{
    val r = {0};
    if (is_scalable(v) && fresh(s, v)) {
        r = *v;
        r.from_rem = v->kind == V_REM ? 1 : v->from_rem;
        k *= v->kind == V_REM ? 1 : v->scale;
    } else if (v->kind == V_NONE) {
        r.born = s->ordinal;
    } else {
        return (val){0};
    }
    if (k == 0 || k > MAX_SCALE)
        return (val){0};
    r.kind = V_SCALED;
    r.scale = (uint32_t)k;
    return r;
}

static void add_candidate(ms_tcpip_scan *s, const ms_tcpip_candidate *c)
{
    if (grow((void **)&s->cand, &s->cand_cap, s->ncand + 1, sizeof *s->cand, MAX_CANDIDATES))
        s->cand[s->ncand++] = *c;
}

/* "table + scaled" was formed at `insn`. */
static void site(ms_tcpip_scan *s, const cs_insn *insn, const val *idx, uint32_t mult, uint32_t table,
                 unsigned table_width, int64_t disp)
{
    uint64_t size = (uint64_t)idx->scale * mult;
    if (idx->kind != V_SCALED || !fresh(s, idx) || table_width != s->ptr_width)
        return;
    if (size < MIN_SIZE || size > MAX_SIZE || size % 8 != 0 || disp < 0 || (uint64_t)disp >= size)
        return;
    if (idx->from_rem) {
        if (idx->g == table || idx->width == 0 || idx->width > 4)
            return;
        ms_tcpip_candidate c = {MS_TCPIP_SITE_HASH, (uint32_t)insn->address, idx->g, table, (uint32_t)size,
                                idx->width};
        add_candidate(s, &c);
        return;
    }
    if (grow((void **)&s->loops, &s->loop_cap, s->nloop + 1, sizeof *s->loops, MAX_CANDIDATES))
        s->loops[s->nloop++] = (loop_site){s->ordinal, (uint32_t)insn->address, table, (uint32_t)size};
}

static void note_compare(ms_tcpip_scan *s, uint32_t g, unsigned width)
{
    if (width == 0 || width > 4)
        return;
    if (grow((void **)&s->cmps, &s->cmp_cap, s->ncmp + 1, sizeof *s->cmps, MAX_COMPARES))
        s->cmps[s->ncmp++] = (compare){s->ordinal, g, (uint8_t)width};
}

/* A memory operand [base + index*k + disp] where one register holds the
 * table pointer and the other a scaled index. */
static void check_mem_site(ms_tcpip_scan *s, const cs_insn *insn, const x86_op_mem *m)
{
    val *b = reg_val(s, m->base), *i = reg_val(s, m->index);
    if (b == NULL || i == NULL)
        return;
    if (b->kind == V_GLOBAL && fresh(s, b) && i->kind == V_SCALED)
        site(s, insn, i, (uint32_t)m->scale, b->g, b->width, m->disp);
    else if (i->kind == V_GLOBAL && fresh(s, i) && m->scale == 1 && b->kind == V_SCALED)
        site(s, insn, b, 1, i->g, i->width, m->disp);
}

static void clear_volatile(ms_tcpip_scan *s)
{
    static const int vol64[] = {0, 1, 2, 8, 9, 10, 11};
    if (s->is_64) {
        for (size_t k = 0; k < sizeof vol64 / sizeof vol64[0]; k++)
            s->regs[vol64[k]] = (val){0};
    } else {
        s->regs[0] = s->regs[1] = s->regs[2] = (val){0};
    }
}

/* The value an instruction leaves in its first operand, when it is one
 * the tracker follows; *handled = 0 otherwise. */
static val transfer(ms_tcpip_scan *s, const cs_insn *insn, int *handled)
{
    const cs_x86 *x = &insn->detail->x86;
    const cs_x86_op *op = x->operands;
    val none = {0};
    *handled = 1;
    if (x->op_count < 1 || op[0].type != X86_OP_REG) {
        *handled = 0;
        return none;
    }
    val *dst = reg_val(s, op[0].reg);
    uint32_t g;

    switch (insn->id) {
    case X86_INS_MOV:
    case X86_INS_MOVZX:
    case X86_INS_MOVSX:
    case X86_INS_MOVSXD:
        if (x->op_count != 2)
            break;
        if (op[1].type == X86_OP_MEM && mem_global(s, insn, &op[1].mem, &g))
            return (val){V_GLOBAL, op[1].size, 0, g, 0, s->ordinal};
        if (op[1].type == X86_OP_REG) {
            val *src = reg_val(s, op[1].reg);
            return src ? *src : none;
        }
        break;
    case X86_INS_SHL:
        if (x->op_count == 2 && op[1].type == X86_OP_IMM && op[1].imm > 0 && op[1].imm <= 12 && dst)
            return scaled(s, dst, 1ull << op[1].imm);
        break;
    case X86_INS_IMUL:
        if (x->op_count == 3 && op[1].type == X86_OP_REG && op[2].type == X86_OP_IMM && op[2].imm > 0) {
            val *src = reg_val(s, op[1].reg);
            return src ? scaled(s, src, (uint64_t)op[2].imm) : none;
        }
        break;
    case X86_INS_LEA: {
        if (x->op_count != 2 || op[1].type != X86_OP_MEM)
            break;
        const x86_op_mem *m = &op[1].mem;
        val *b = reg_val(s, m->base), *i = reg_val(s, m->index);
        if (b != NULL && i != NULL && reg_slot(m->base) == reg_slot(m->index) && m->disp == 0)
            return scaled(s, b, (uint64_t)m->scale + 1);
        if (m->base == X86_REG_INVALID && i != NULL && m->disp == 0 && m->scale > 1)
            return scaled(s, i, (uint64_t)m->scale);
        check_mem_site(s, insn, m);
        return none;
    }
    case X86_INS_ADD:
        if (x->op_count != 2 || dst == NULL)
            break;
        if (op[1].type == X86_OP_REG && reg_slot(op[1].reg) == reg_slot(op[0].reg))
            return scaled(s, dst, 2);
        if (op[1].type == X86_OP_MEM && mem_global(s, insn, &op[1].mem, &g)) {
            if (dst->kind == V_SCALED)
                site(s, insn, dst, 1, g, op[1].size, 0);
            return none;
        }
        if (op[1].type == X86_OP_REG) {
            val *src = reg_val(s, op[1].reg);
            if (src && dst->kind == V_SCALED && src->kind == V_GLOBAL && fresh(s, src))
                site(s, insn, dst, 1, src->g, src->width, 0);
            else if (src && src->kind == V_SCALED && dst->kind == V_GLOBAL && fresh(s, dst))
                site(s, insn, src, 1, dst->g, dst->width, 0);
        }
        return none;
    default:
        break;
    }
    *handled = 0;
    return none;
}

/* div: the remainder of a division by a count global lands in rdx/edx. */
static int track_div(ms_tcpip_scan *s, const cs_insn *insn, val *rem)
{
    const cs_x86 *x = &insn->detail->x86;
    if (insn->id != X86_INS_DIV || x->op_count != 1 || x->operands[0].size < 2)
        return 0;
    const cs_x86_op *op = &x->operands[0];
    uint32_t g;
    if (op->type == X86_OP_MEM && mem_global(s, insn, &op->mem, &g) && op->size <= 4) {
        *rem = (val){V_REM, op->size, 1, g, 1, s->ordinal};
        return 1;
    }
    if (op->type == X86_OP_REG) {
        val *d = reg_val(s, op->reg);
        if (d && d->kind == V_GLOBAL && d->width <= 4 && fresh(s, d)) {
            *rem = (val){V_REM, d->width, 1, d->g, 1, d->born};
            return 1;
        }
    }
    return 0;
}

static void track_compare(ms_tcpip_scan *s, const cs_insn *insn)
{
    const cs_x86 *x = &insn->detail->x86;
    if (insn->id != X86_INS_CMP || x->op_count != 2)
        return;
    for (int k = 0; k < 2; k++) {
        const cs_x86_op *op = &x->operands[k];
        uint32_t g;
        if (op->type == X86_OP_MEM && mem_global(s, insn, &op->mem, &g))
            note_compare(s, g, op->size);
        else if (op->type == X86_OP_REG) {
            val *v = reg_val(s, op->reg);
            if (v && v->kind == V_GLOBAL && fresh(s, v))
                note_compare(s, v->g, v->width);
        }
    }
}

static void step(ms_tcpip_scan *s, const cs_insn *insn)
{
    const cs_x86 *x = &insn->detail->x86;
    switch (insn->id) {
    case X86_INS_RET:
    case X86_INS_JMP:
    case X86_INS_INT3:
        memset(s->regs, 0, sizeof s->regs);
        return;
    case X86_INS_CALL:
        clear_volatile(s);
        return;
    default:
        break;
    }
    track_compare(s, insn);
    for (uint8_t k = 0; k < x->op_count; k++)
        if (x->operands[k].type == X86_OP_MEM && insn->id != X86_INS_LEA)
            check_mem_site(s, insn, &x->operands[k].mem);

    val rem;
    int is_div = track_div(s, insn, &rem);
    int handled;
    val out = transfer(s, insn, &handled);

    for (uint8_t k = 0; k < x->op_count; k++)
        if (x->operands[k].type == X86_OP_REG && (x->operands[k].access & CS_AC_WRITE)) {
            val *v = reg_val(s, x->operands[k].reg);
            if (v)
                *v = (val){0};
        }
    for (uint8_t k = 0; k < insn->detail->regs_write_count; k++) {
        val *v = reg_val(s, (x86_reg)insn->detail->regs_write[k]);
        if (v)
            *v = (val){0};
    }
    if (handled && x->op_count >= 1 && x->operands[0].type == X86_OP_REG) {
        val *v = reg_val(s, x->operands[0].reg);
        if (v)
            *v = out;
    }
    if (is_div)
        s->regs[2] = rem;
}

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
    if (machine != MS_PE_MACHINE_AMD64 && machine != MS_PE_MACHINE_I386)
        return ms_fail(MS_ERR_UNSUPPORTED, "tcpip code analysis handles x64 and x86, not machine 0x%x", machine);
    ms_tcpip_scan *s = calloc(1, sizeof *s);
    if (s == NULL)
        return ms_fail(MS_ERR_NOMEM, "out of memory for the tcpip code scan");
    s->is_64 = machine == MS_PE_MACHINE_AMD64;
    s->ptr_width = s->is_64 ? 8 : 4;
    s->image_base = image_base;
    s->image_size = image_size;
    if (cs_open(CS_ARCH_X86, s->is_64 ? CS_MODE_64 : CS_MODE_32, &s->cs) != CS_ERR_OK) {
        free(s);
        return ms_fail(MS_ERR_INTERNAL, "capstone cannot open an x86 disassembler");
    }
    cs_option(s->cs, CS_OPT_DETAIL, CS_OPT_ON);
    *out = s;
    return MS_OK;
}

void ms_tcpip_scan_destroy(ms_tcpip_scan *scan)
{
    if (scan == NULL)
        return;
    cs_close(&scan->cs);
    free(scan->cand);
    free(scan->cmps);
    free(scan->loops);
    free(scan);
}

ms_status ms_tcpip_scan_code(ms_tcpip_scan *s, const uint8_t *code, size_t len, uint32_t rva)
{
    if (s == NULL || (code == NULL && len > 0))
        return ms_fail(MS_ERR_ARG, "ms_tcpip_scan_code needs a scan and code bytes");
    cs_insn *insn = cs_malloc(s->cs);
    if (insn == NULL)
        return ms_fail(MS_ERR_NOMEM, "out of memory for a capstone instruction");
    memset(s->regs, 0, sizeof s->regs);
    s->ordinal += RUN_GAP;
    uint64_t addr = rva;
    while (len > 0) {
        if (!cs_disasm_iter(s->cs, &code, &len, &addr, insn)) {
            /* Not an instruction: resynchronise one byte further on. */
            code++;
            len--;
            addr++;
            memset(s->regs, 0, sizeof s->regs);
            continue;
        }
        s->ordinal++;
        step(s, insn);
    }
    cs_free(insn, 1);
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
