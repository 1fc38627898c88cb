/* Following values through x86/x64 code register by register: the
 * disassembly loop, what control transfers and writes forget, and the
 * loads and divisions every analysis starts from. */
#include "code_flow.h"

#include <stdlib.h>
#include <string.h>

#define RUN_GAP 100000 /* ordinal distance between runs: no window spans two */

int ms_cf_slot(x86_reg r)
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

ms_cf_val *ms_cf_reg(ms_cf *cf, x86_reg r)
{
    int i = ms_cf_slot(r);
    return i < 0 ? NULL : &cf->regs[i];
}

int ms_cf_fresh(const ms_cf *cf, const ms_cf_val *v)
{
    return cf->ordinal - v->born <= cf->max_chain;
}

int ms_cf_holds(const ms_cf *cf, const ms_cf_val *v, unsigned kind)
{
    return v != NULL && v->kind == kind && ms_cf_fresh(cf, v);
}

int ms_cf_global(const ms_cf *cf, const cs_insn *insn, const x86_op_mem *m, uint32_t *rva)
{
    if (m->index != X86_REG_INVALID)
        return 0;
    uint64_t target;
    if (cf->is_64) {
        if (m->base != X86_REG_RIP)
            return 0;
        target = insn->address + insn->size + (uint64_t)m->disp;
    } else {
        if (m->base != X86_REG_INVALID)
            return 0;
        target = ((uint64_t)(uint32_t)m->disp - cf->image_base) & 0xffffffffu;
    }
    if (target >= cf->image_size)
        return 0;
    *rva = (uint32_t)target;
    return 1;
}

int ms_cf_load(const ms_cf *cf, const cs_insn *insn, ms_cf_val *out)
{
    const cs_x86 *x = &insn->detail->x86;
    uint32_t g;
    if (x->op_count != 2 || x->operands[1].type != X86_OP_MEM || !ms_cf_global(cf, insn, &x->operands[1].mem, &g))
        return 0;
    *out = (ms_cf_val){.kind = MS_CF_GLOBAL, .width = x->operands[1].size, .g = g, .born = cf->ordinal};
    return 1;
}

/* `div` by a global in memory, or by a register holding a fresh one. */
static int div_global(ms_cf *cf, const cs_insn *insn, ms_cf_val *divisor)
{
    const cs_x86 *x = &insn->detail->x86;
    if (insn->id != X86_INS_DIV || x->op_count != 1)
        return 0;
    const cs_x86_op *op = &x->operands[0];
    uint32_t g;
    if (op->type == X86_OP_MEM && ms_cf_global(cf, insn, &op->mem, &g)) {
        *divisor = (ms_cf_val){.kind = MS_CF_GLOBAL, .width = op->size, .g = g, .born = cf->ordinal};
        return 1;
    }
    if (op->type == X86_OP_REG) {
        const ms_cf_val *d = ms_cf_reg(cf, op->reg);
        if (ms_cf_holds(cf, d, MS_CF_GLOBAL)) {
            *divisor = *d;
            return 1;
        }
    }
    return 0;
}

static void clear_volatile(ms_cf *cf)
{
    static const int vol64[] = {0, 1, 2, 8, 9, 10, 11};
    if (cf->is_64) {
        for (size_t k = 0; k < sizeof vol64 / sizeof vol64[0]; k++)
            cf->regs[vol64[k]] = (ms_cf_val){0};
    } else {
        cf->regs[0] = cf->regs[1] = cf->regs[2] = (ms_cf_val){0};
    }
}

static void forget(ms_cf *cf, x86_reg r)
{
    ms_cf_val *v = ms_cf_reg(cf, r);
    if (v)
        *v = (ms_cf_val){0};
}

static void step(ms_cf *cf, const cs_insn *insn)
{
    const cs_x86 *x = &insn->detail->x86;
    const ms_cf_rules *rules = cf->rules;
    switch (insn->id) {
    case X86_INS_RET:
    case X86_INS_JMP:
    case X86_INS_INT3:
        memset(cf->regs, 0, sizeof cf->regs);
        return;
    case X86_INS_CALL:
        if (rules->call_forgets_all)
            memset(cf->regs, 0, sizeof cf->regs);
        else
            clear_volatile(cf);
        return;
    default:
        break;
    }
    if (rules->observe)
        rules->observe(cf, insn, cf->user);
    ms_cf_val divisor, rem;
    int is_div = rules->remainder && div_global(cf, insn, &divisor) &&
                 rules->remainder(cf, insn, &divisor, &rem, cf->user);
    ms_cf_val out = {0};
    int handled = x->op_count >= 1 && x->operands[0].type == X86_OP_REG && rules->transfer(cf, insn, &out, cf->user);

    for (uint8_t k = 0; k < x->op_count; k++)
        if (x->operands[k].type == X86_OP_REG && (x->operands[k].access & CS_AC_WRITE))
            forget(cf, x->operands[k].reg);
    for (uint8_t k = 0; k < insn->detail->regs_write_count; k++)
        forget(cf, (x86_reg)insn->detail->regs_write[k]);
    if (handled) {
        ms_cf_val *v = ms_cf_reg(cf, x->operands[0].reg);
        if (v)
            *v = out;
    }
    if (is_div)
        cf->regs[2] = rem;
}

void ms_cf_run(ms_cf *cf, const uint8_t *code, size_t len, uint32_t rva)
{
    memset(cf->regs, 0, sizeof cf->regs);
    cf->ordinal += RUN_GAP;
    uint64_t addr = rva;
    while (len > 0) {
        if (!cs_disasm_iter(cf->cs, &code, &len, &addr, cf->insn)) {
            /* Not an instruction: resynchronise one byte further on. */
            code++;
            len--;
            addr++;
            memset(cf->regs, 0, sizeof cf->regs);
            continue;
        }
        cf->ordinal++;
        step(cf, cf->insn);
    }
}

ms_status ms_cf_open(ms_cf *cf, uint16_t machine, uint64_t image_base, uint32_t image_size, unsigned max_chain,
                     const ms_cf_rules *rules, void *user, const char *what)
{
    if (machine != MS_PE_MACHINE_AMD64 && machine != MS_PE_MACHINE_I386)
        return ms_fail(MS_ERR_UNSUPPORTED, "%s handles x64 and x86, not machine 0x%x", what, machine);
    memset(cf, 0, sizeof *cf);
    cf->is_64 = machine == MS_PE_MACHINE_AMD64;
    cf->ptr_width = cf->is_64 ? 8 : 4;
    cf->image_base = image_base;
    cf->image_size = image_size;
    cf->max_chain = max_chain;
    cf->rules = rules;
    cf->user = user;
    if (cs_open(CS_ARCH_X86, cf->is_64 ? CS_MODE_64 : CS_MODE_32, &cf->cs) != CS_ERR_OK)
        return ms_fail(MS_ERR_INTERNAL, "capstone cannot open an x86 disassembler");
    cs_option(cf->cs, CS_OPT_DETAIL, CS_OPT_ON);
    cf->insn = cs_malloc(cf->cs);
    if (cf->insn == NULL) {
        cs_close(&cf->cs);
        return ms_fail(MS_ERR_NOMEM, "out of memory for a capstone instruction");
    }
    return MS_OK;
}

void ms_cf_close(ms_cf *cf)
{
    if (cf->insn != NULL)
        cs_free(cf->insn, 1);
    cf->insn = NULL;
    if (cf->cs)
        cs_close(&cf->cs);
}
