/* XP / 2003 tcpip.sys code analysis: follows, register by register, LONG
 * globals through div to the remainder, pointer globals loaded into
 * registers, and records where "table[remainder]" is read or addressed. */
#include "xp_code.h"

#include <capstone/capstone.h>
#include <stdlib.h>
#include <string.h>

#include "pe/pe_util.h"

#define NREGS 16
#define MAX_CHAIN 40             /* instructions from a load to its use */
#define MAX_SITES 65536
#define MAX_CODE_BYTES (16u << 20)
#define MAX_GROUPS 256
#define PAGE 0x1000u

typedef enum vkind { V_NONE = 0, V_GLOBAL, V_REM, V_SLOT } vkind;

/* GLOBAL: loaded from global g, `width` bytes; REM: remainder of a
 * division by the LONG at g; SLOT: that remainder times the pointer size. */
typedef struct val {
    uint8_t kind;
    uint8_t width;
    uint32_t g;
    uint64_t born;
} val;

typedef struct site {
    uint32_t rva, table, count;
} site;

struct ms_xp_code_scan {
    csh cs;
    int is_64;
    unsigned ptr;
    uint64_t image_base;
    uint32_t image_size;
    uint64_t ordinal;
    val regs[NREGS];
    site *sites;
    size_t nsites, cap;
};

static int reg_slot(x86_reg r)
{
#define R4(a, b, c, d, n) case X86_REG_##a: case X86_REG_##b: case X86_REG_##c: case X86_REG_##d: return n;
    switch (r) {
    case X86_REG_AH: return 0;
    case X86_REG_CH: return 1;
    case X86_REG_DH: return 2;
    case X86_REG_BH: return 3;
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

static val *reg_val(ms_xp_code_scan *s, x86_reg r)
{
    int i = reg_slot(r);
    return i < 0 ? NULL : &s->regs[i];
}

static int fresh(const ms_xp_code_scan *s, const val *v, vkind kind)
{
    return v != NULL && v->kind == kind && s->ordinal - v->born <= MAX_CHAIN;
}

/* RVA of a plain global operand: RIP-relative on x64, absolute on x86. */
static int mem_global(const ms_xp_code_scan *s, const cs_insn *insn, const x86_op_mem *m, uint32_t *rva)
{
    uint64_t target;
    if (m->index != X86_REG_INVALID)
        return 0;
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

static void add_site(ms_xp_code_scan *s, const cs_insn *insn, uint32_t table, uint32_t count)
{
    if (table == count)
        return;
    if (s->nsites == s->cap) {
        if (s->cap >= MAX_SITES)
            return;
        size_t n = s->cap ? s->cap * 2 : 64;
        site *p = realloc(s->sites, n * sizeof *p);
        if (p == NULL)
            return;
        s->sites = p;
        s->cap = n;
    }
    s->sites[s->nsites++] = (site){(uint32_t)insn->address, table, count};
}

/* [base + index*scale + 0] with the table pointer in one register and the
 * remainder in the other (a slot read, write or `lea` of its address). */
static void check_mem(ms_xp_code_scan *s, const cs_insn *insn, const x86_op_mem *m)
{
    if (m->disp != 0 || m->base == X86_REG_INVALID || m->index == X86_REG_INVALID)
        return;
    val *b = reg_val(s, m->base), *i = reg_val(s, m->index);
    if (m->scale == (int)s->ptr && fresh(s, b, V_GLOBAL) && b->width == s->ptr && fresh(s, i, V_REM))
        add_site(s, insn, b->g, i->g);
    else if (m->scale == 1 && fresh(s, b, V_GLOBAL) && b->width == s->ptr && fresh(s, i, V_SLOT))
        add_site(s, insn, b->g, i->g);
    else if (m->scale == 1 && fresh(s, i, V_GLOBAL) && i->width == s->ptr && fresh(s, b, V_SLOT))
        add_site(s, insn, i->g, b->g);
}

static void clear_volatile(ms_xp_code_scan *s)
{
    static const int vol64[] = {0, 1, 2, 8, 9, 10, 11};
    if (s->is_64) {
        for (size_t k = 0; k < sizeof vol64 / sizeof vol64[0]; k++)
            s->regs[vol64[k]] = (val){0};
    } else {
        s->regs[0] = s->regs[1] = s->regs[2] = (val){0};
    }
}

/* The value an instruction leaves in its first (register) operand when it
 * is one the tracker follows; *handled = 0 otherwise. */
static val transfer(ms_xp_code_scan *s, const cs_insn *insn, int *handled)
{
    const cs_x86 *x = &insn->detail->x86;
    const cs_x86_op *op = x->operands;
    val none = {0};
    uint32_t g;
    *handled = 1;
    if (x->op_count != 2 || op[0].type != X86_OP_REG) {
        *handled = 0;
        return none;
    }
    val *dst = reg_val(s, op[0].reg);
    switch (insn->id) {
    case X86_INS_MOV:
    case X86_INS_MOVSXD:
        if (op[1].type == X86_OP_MEM && mem_global(s, insn, &op[1].mem, &g))
            return (val){V_GLOBAL, op[1].size, g, s->ordinal};
        if (op[1].type == X86_OP_REG && op[0].size >= 4 && op[1].size >= 4) {
            val *src = reg_val(s, op[1].reg);
            return src ? *src : none;
        }
        break;
    case X86_INS_SHL:
        if (op[1].type == X86_OP_IMM && (1ull << (op[1].imm & 7)) == s->ptr && op[1].imm > 0 &&
            fresh(s, dst, V_REM))
            return (val){V_SLOT, 4, dst->g, dst->born};
        break;
    case X86_INS_ADD:
        if (dst == NULL)
            break;
        if (op[1].type == X86_OP_MEM && mem_global(s, insn, &op[1].mem, &g) && op[1].size == s->ptr &&
            fresh(s, dst, V_SLOT))
            add_site(s, insn, g, dst->g);
        else if (op[1].type == X86_OP_REG) {
            val *src = reg_val(s, op[1].reg);
            if (fresh(s, dst, V_SLOT) && fresh(s, src, V_GLOBAL) && src->width == s->ptr)
                add_site(s, insn, src->g, dst->g);
            else if (fresh(s, src, V_SLOT) && fresh(s, dst, V_GLOBAL) && dst->width == s->ptr)
                add_site(s, insn, dst->g, src->g);
        }
        return none;
    default:
        break;
    }
    *handled = 0;
    return none;
}

/* div by a LONG global (in memory or loaded into a register): the
 * remainder lands in edx. */
static int track_div(ms_xp_code_scan *s, const cs_insn *insn, val *rem)
{
    const cs_x86 *x = &insn->detail->x86;
    if (insn->id != X86_INS_DIV || x->op_count != 1 || x->operands[0].size != 4)
        return 0;
    const cs_x86_op *op = &x->operands[0];
    uint32_t g;
    if (op->type == X86_OP_MEM && mem_global(s, insn, &op->mem, &g)) {
        *rem = (val){V_REM, 4, g, s->ordinal};
        return 1;
    }
    if (op->type == X86_OP_REG) {
        val *d = reg_val(s, op->reg);
        if (fresh(s, d, V_GLOBAL) && d->width == 4) {
            *rem = (val){V_REM, 4, d->g, s->ordinal};
            return 1;
        }
    }
    return 0;
}

static void step(ms_xp_code_scan *s, const cs_insn *insn)
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
    for (uint8_t k = 0; k < x->op_count; k++)
        if (x->operands[k].type == X86_OP_MEM)
            check_mem(s, insn, &x->operands[k].mem);
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
    if (handled) {
        val *v = reg_val(s, x->operands[0].reg);
        if (v)
            *v = out;
    }
    if (is_div)
        s->regs[2] = rem;
}

ms_status ms_xp_code_scan_create(uint16_t machine, uint64_t image_base, uint32_t image_size, ms_xp_code_scan **out)
{
    if (out == NULL)
        return ms_fail(MS_ERR_ARG, "ms_xp_code_scan_create needs an out-parameter");
    if (machine != MS_PE_MACHINE_AMD64 && machine != MS_PE_MACHINE_I386)
        return ms_fail(MS_ERR_UNSUPPORTED, "XP tcpip code analysis handles x86 and x64, not machine 0x%x", machine);
    ms_xp_code_scan *s = calloc(1, sizeof *s);
    if (s == NULL)
        return ms_fail(MS_ERR_NOMEM, "out of memory for the XP tcpip code scan");
    s->is_64 = machine == MS_PE_MACHINE_AMD64;
    s->ptr = s->is_64 ? 8 : 4;
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

void ms_xp_code_scan_destroy(ms_xp_code_scan *scan)
{
    if (scan == NULL)
        return;
    cs_close(&scan->cs);
    free(scan->sites);
    free(scan);
}

ms_status ms_xp_code_scan_code(ms_xp_code_scan *s, const uint8_t *code, size_t len, uint32_t rva)
{
    if (s == NULL || (code == NULL && len > 0))
        return ms_fail(MS_ERR_ARG, "ms_xp_code_scan_code needs a scan and code bytes");
    cs_insn *insn = cs_malloc(s->cs);
    if (insn == NULL)
        return ms_fail(MS_ERR_NOMEM, "out of memory for a capstone instruction");
    memset(s->regs, 0, sizeof s->regs);
    s->ordinal += 2 * MAX_CHAIN;
    uint64_t addr = rva;
    while (len > 0) {
        if (!cs_disasm_iter(s->cs, &code, &len, &addr, insn)) {
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
    return MS_OK;
}

static int writable_data(const ms_pe *pe, uint32_t rva)
{
    const ms_pe_section *sec = ms_pe_section_at(pe, rva);
    return sec != NULL && (sec->characteristics & MS_PE_SCN_WRITE) && !(sec->characteristics & MS_PE_SCN_EXECUTE);
}

typedef struct group {
    uint32_t table, count;
    unsigned n;
} group;

static int by_sites(const void *a, const void *b)
{
    const ms_xp_code_table *x = a, *y = b;
    if (x->sites != y->sites)
        return x->sites > y->sites ? -1 : 1;
    return x->site_rva[0] < y->site_rva[0] ? -1 : x->site_rva[0] > y->site_rva[0];
}

ms_status ms_xp_code_scan_decide(const ms_xp_code_scan *scan, const ms_pe *pe, ms_xp_code_result *out)
{
    if (scan == NULL || out == NULL)
        return ms_fail(MS_ERR_ARG, "ms_xp_code_scan_decide needs a scan and an out-parameter");
    memset(out, 0, sizeof *out);
    group *groups = calloc(MAX_GROUPS, sizeof *groups);
    if (groups == NULL)
        return ms_fail(MS_ERR_NOMEM, "out of memory grouping XP tcpip code sites");
    size_t ng = 0;
    for (size_t i = 0; i < scan->nsites; i++) {
        const site *st = &scan->sites[i];
        size_t k = 0;
        while (k < ng && (groups[k].table != st->table || groups[k].count != st->count))
            k++;
        if (k == ng) {
            if (ng == MAX_GROUPS)
                continue;
            groups[ng++] = (group){st->table, st->count, 0};
        }
        groups[k].n++;
    }
    ms_xp_code_table all[MAX_GROUPS];
    size_t nall = 0;
    for (size_t k = 0; k < ng; k++) {
        const group *g = &groups[k];
        uint32_t lo = g->table < g->count ? g->table : g->count, hi = g->table ^ g->count ^ lo;
        unsigned lo_width = lo == g->table ? scan->ptr : 4;
        if (g->n < 2) {
            out->lone_sites += g->n;
            continue;
        }
        if (hi - lo < lo_width || (pe != NULL && (!writable_data(pe, g->table) || !writable_data(pe, g->count)))) {
            out->not_data++;
            continue;
        }
        ms_xp_code_table *t = &all[nall++];
        memset(t, 0, sizeof *t);
        t->table_rva = g->table;
        t->count_rva = g->count;
        t->sites = g->n;
        for (size_t i = 0; i < scan->nsites && t->site_count < MS_XP_CODE_MAX_SITES; i++)
            if (scan->sites[i].table == g->table && scan->sites[i].count == g->count)
                t->site_rva[t->site_count++] = scan->sites[i].rva;
    }
    free(groups);
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

/* Scan the readable page runs of one executable section. */
static ms_status scan_section(ms_xp_code_scan *scan, const ms_pe *pe, const ms_pe_section *sec, uint8_t *buf)
{
    uint32_t run_start = 0, run_len = 0;
    for (uint32_t off = 0; off < sec->virtual_size; off += PAGE) {
        uint32_t n = sec->virtual_size - off < PAGE ? sec->virtual_size - off : PAGE;
        ms_status st = ms_pe_read(pe, (uint64_t)sec->rva + off, buf + off, n);
        if (st == MS_OK) {
            if (run_len == 0)
                run_start = off;
            run_len += n;
            continue;
        }
        if (!ms_pe_is_page_status(st))
            return st;
        if (run_len > 0)
            ms_xp_code_scan_code(scan, buf + run_start, run_len, sec->rva + run_start);
        run_len = 0;
    }
    if (run_len > 0)
        ms_xp_code_scan_code(scan, buf + run_start, run_len, sec->rva + run_start);
    return MS_OK;
}

ms_status ms_xp_code_find(const ms_pe *pe, uint64_t load_base, ms_xp_code_result *out)
{
    if (pe == NULL || out == NULL)
        return ms_fail(MS_ERR_ARG, "ms_xp_code_find needs PE headers and an out-parameter");
    uint64_t total = 0;
    for (uint32_t i = 0; i < pe->section_count; i++)
        if (pe->sections[i].characteristics & (MS_PE_SCN_EXECUTE | MS_PE_SCN_CODE))
            total += pe->sections[i].virtual_size;
    if (total == 0)
        return ms_fail(MS_ERR_NOT_FOUND, "tcpip.sys has no executable section to analyse");
    if (total > MAX_CODE_BYTES)
        return ms_fail(MS_ERR_LIMIT, "tcpip.sys claims 0x%llx bytes of code, more than the 0x%x analysed",
                       (unsigned long long)total, MAX_CODE_BYTES);
    ms_xp_code_scan *scan;
    ms_status st = ms_xp_code_scan_create(pe->machine, load_base ? load_base : pe->image_base, pe->size_of_image,
                                          &scan);
    if (st != MS_OK)
        return st;
    for (uint32_t i = 0; i < pe->section_count && st == MS_OK; i++) {
        const ms_pe_section *sec = &pe->sections[i];
        if (!(sec->characteristics & (MS_PE_SCN_EXECUTE | MS_PE_SCN_CODE)) || sec->virtual_size == 0)
            continue;
        uint8_t *buf = malloc(sec->virtual_size);
        if (buf == NULL) {
            st = ms_fail(MS_ERR_NOMEM, "out of memory reading section '%s' (%u bytes)", sec->name,
                         sec->virtual_size);
            break;
        }
        st = scan_section(scan, pe, sec, buf);
        free(buf);
    }
    if (st == MS_OK)
        st = ms_xp_code_scan_decide(scan, pe, out);
    ms_xp_code_scan_destroy(scan);
    return st;
}
