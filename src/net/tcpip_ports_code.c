/* Vista+ (14393 on): finding TcpCompartmentSet / UdpCompartmentSet in
 * tcpip.sys's code.  They are pointer globals whose value is dereferenced
 * at _INET_COMPARTMENT_SET.InetCompartment within a few instructions of
 * the load (tcpip 10.0.19041.4780: the only two such globals, 12 and 5
 * sites).  Which is TCP and which UDP is left to the caller, who walks what
 * each leads to. */
#include <capstone/capstone.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/module_identity.h"
#include "pe/pe.h"
#include "vista_net.h"

#define WINDOW 8                  /* instructions between the load and the use */
#define MAX_GLOBALS 4096
#define MAX_CODE_BYTES (64u << 20)
#define MIN_SITES 2

typedef struct reg_load {
    uint32_t rva;
    uint64_t ordinal;
    int live;
} reg_load;

typedef struct hit {
    uint32_t rva;
    unsigned sites;
} hit;

typedef struct cscan {
    csh cs;
    int is_64;
    uint64_t image_base;
    uint32_t image_size;
    uint64_t inet_off;
    uint64_t ordinal;
    reg_load regs[X86_REG_ENDING];
    hit *hits;
    size_t nhits;
} cscan;

static int global_operand(const cscan *s, const cs_insn *insn, const x86_op_mem *m, uint32_t *rva)
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

static void add_site(cscan *s, uint32_t rva)
{
    for (size_t i = 0; i < s->nhits; i++)
        if (s->hits[i].rva == rva) {
            s->hits[i].sites++;
            return;
        }
    if (s->nhits < MAX_GLOBALS)
        s->hits[s->nhits++] = (hit){rva, 1};
}

static void step(cscan *s, const cs_insn *insn)
{
    const cs_x86 *x = &insn->detail->x86;
    s->ordinal++;
    if (insn->id == X86_INS_RET || insn->id == X86_INS_JMP || insn->id == X86_INS_CALL) {
        memset(s->regs, 0, sizeof s->regs);
        return;
    }
    for (uint8_t k = 0; k < x->op_count; k++) {
        const cs_x86_op *op = &x->operands[k];
        if (op->type != X86_OP_MEM || op->mem.index != X86_REG_INVALID || (uint64_t)op->mem.disp != s->inet_off ||
            op->mem.base <= X86_REG_INVALID || op->mem.base >= X86_REG_ENDING)
            continue;
        reg_load *r = &s->regs[op->mem.base];
        if (r->live && s->ordinal - r->ordinal <= WINDOW) {
            add_site(s, r->rva);
            r->live = 0;
        }
    }
    unsigned ptr = s->is_64 ? 8 : 4;
    int loaded = 0;
    if (insn->id == X86_INS_MOV && x->op_count == 2 && x->operands[0].type == X86_OP_REG &&
        x->operands[1].type == X86_OP_MEM && x->operands[1].size == ptr) {
        uint32_t rva;
        if (global_operand(s, insn, &x->operands[1].mem, &rva)) {
            x86_reg r = x->operands[0].reg;
            if (r > X86_REG_INVALID && r < X86_REG_ENDING) {
                s->regs[r] = (reg_load){rva, s->ordinal, 1};
                loaded = 1;
            }
        }
    }
    if (!loaded)
        for (uint8_t k = 0; k < insn->detail->regs_write_count; k++) {
            uint16_t r = insn->detail->regs_write[k];
            if (r < X86_REG_ENDING)
                s->regs[r].live = 0;
        }
    if (!loaded && x->op_count >= 1 && x->operands[0].type == X86_OP_REG && (x->operands[0].access & CS_AC_WRITE) &&
        x->operands[0].reg < X86_REG_ENDING)
        s->regs[x->operands[0].reg].live = 0;
}

static void scan_code(cscan *s, const uint8_t *code, size_t len, uint64_t rva, cs_insn *insn)
{
    memset(s->regs, 0, sizeof s->regs);
    while (len > 0) {
        if (!cs_disasm_iter(s->cs, &code, &len, &rva, insn)) {
            code++;
            len--;
            rva++;
            memset(s->regs, 0, sizeof s->regs);
            continue;
        }
        step(s, insn);
    }
}

static int by_sites(const void *a, const void *b)
{
    const hit *x = a, *y = b;
    return x->sites != y->sites ? (x->sites < y->sites ? 1 : -1) : (x->rva > y->rva) - (x->rva < y->rva);
}

ms_status ms_tcpip_find_compartment_sets(ms_vspace *vs, uint64_t base, uint64_t inet_off, uint32_t *rvas, size_t max,
                                         size_t *count)
{
    if (vs == NULL || rvas == NULL || count == NULL)
        return ms_fail(MS_ERR_ARG, "ms_tcpip_find_compartment_sets needs an address space and outputs");
    *count = 0;
    ms_vspace_pe_reader reader = {vs, base};
    ms_pe pe;
    ms_status st = ms_pe_parse(ms_vspace_pe_read, &reader, &pe);
    if (st != MS_OK)
        return st;
    if (pe.machine != MS_PE_MACHINE_AMD64 && pe.machine != MS_PE_MACHINE_I386)
        return ms_fail(MS_ERR_UNSUPPORTED, "tcpip.sys machine 0x%x", pe.machine);
    cscan *s = calloc(1, sizeof *s);
    if (s == NULL || (s->hits = calloc(MAX_GLOBALS, sizeof *s->hits)) == NULL) {
        free(s);
        return ms_fail(MS_ERR_NOMEM, "out of memory for the compartment-set code scan");
    }
    s->is_64 = pe.machine == MS_PE_MACHINE_AMD64;
    s->image_base = base;
    s->image_size = pe.size_of_image;
    s->inet_off = inet_off;
    if (cs_open(CS_ARCH_X86, s->is_64 ? CS_MODE_64 : CS_MODE_32, &s->cs) != CS_ERR_OK) {
        free(s->hits);
        free(s);
        return ms_fail(MS_ERR_INTERNAL, "capstone cannot open an x86 disassembler");
    }
    cs_option(s->cs, CS_OPT_DETAIL, CS_OPT_ON);
    cs_insn *insn = cs_malloc(s->cs);
    uint8_t *page = malloc(0x1000);
    uint64_t total = 0;
    for (uint32_t i = 0; insn && page && i < pe.section_count; i++) {
        const ms_pe_section *sec = &pe.sections[i];
        if (!(sec->characteristics & (MS_PE_SCN_EXECUTE | MS_PE_SCN_CODE)))
            continue;
        /* Page by page: a site split across a page edge is lost, which the
         * vote tolerates. */
        for (uint32_t off = 0; off < sec->virtual_size && total < MAX_CODE_BYTES; off += 0x1000) {
            uint32_t n = sec->virtual_size - off < 0x1000 ? sec->virtual_size - off : 0x1000;
            total += n;
            if (ms_pe_read(&pe, (uint64_t)sec->rva + off, page, n) == MS_OK)
                scan_code(s, page, n, (uint64_t)sec->rva + off, insn);
        }
    }
    qsort(s->hits, s->nhits, sizeof *s->hits, by_sites);
    for (size_t i = 0; i < s->nhits && *count < max && s->hits[i].sites >= MIN_SITES; i++) {
        const ms_pe_section *sec = ms_pe_section_at(&pe, s->hits[i].rva);
        if (sec != NULL && (sec->characteristics & MS_PE_SCN_WRITE) && !(sec->characteristics & MS_PE_SCN_EXECUTE))
            rvas[(*count)++] = s->hits[i].rva;
    }
    free(page);
    if (insn)
        cs_free(insn, 1);
    cs_close(&s->cs);
    free(s->hits);
    free(s);
    return MS_OK;
}
