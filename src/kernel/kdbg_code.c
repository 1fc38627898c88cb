/* Locating nt!KdCopyDataBlock by its code, to learn where the KDBG decoding
 * keys live.  Its shape, stable since Windows 8 x64: test the byte global
 * KdpDataBlockEncoded, then load &KdDebuggerDataBlock (lea), KiWaitNever and
 * KiWaitAlways (mov/xor from RIP-relative globals), and decode each quadword
 * with xor, rol, bswap and xor before returning. */
#include <capstone/capstone.h>
#include <stdlib.h>
#include <string.h>

#include "kdbg.h"

#define CHUNK 0x20000u
#define WINDOW 0x180u

typedef struct match_state {
    uint64_t flag, kdbg, never, always;
    int bswap, rol;
} match_state;

static uint64_t rip_target(const cs_insn *insn, const cs_x86_op *op)
{
    return insn->address + insn->size + (uint64_t)(int64_t)op->mem.disp;
}

static const cs_x86_op *rip_mem_operand(const cs_insn *insn)
{
    const cs_x86 *x = &insn->detail->x86;
    for (uint8_t i = 0; i < x->op_count; i++)
        if (x->operands[i].type == X86_OP_MEM && x->operands[i].mem.base == X86_REG_RIP)
            return &x->operands[i];
    return NULL;
}

/* Disassemble from a `cmp byte ptr [rip+X], 0` and collect the globals. */
static int match_at(csh cs, const uint8_t *code, size_t len, uint64_t va, ms_kdbg_code *out)
{
    cs_insn *insn = cs_malloc(cs);
    if (insn == NULL)
        return 0;
    match_state m = {0, 0, 0, 0, 0, 0};
    const uint8_t *p = code;
    size_t left = len;
    uint64_t addr = va;
    int count = 0;
    while (count++ < 96 && cs_disasm_iter(cs, &p, &left, &addr, insn)) {
        const cs_x86_op *mem = rip_mem_operand(insn);
        if (count == 1) {
            if (insn->id != X86_INS_CMP || mem == NULL || mem->size != 1)
                break;
            m.flag = rip_target(insn, mem);
            continue;
        }
        if (insn->id == X86_INS_RET || insn->id == X86_INS_INT3 || insn->id == X86_INS_JMP)
            break;
        if (insn->id == X86_INS_BSWAP)
            m.bswap = 1;
        else if (insn->id == X86_INS_ROL || insn->id == X86_INS_ROR)
            m.rol = 1;
        if (mem == NULL)
            continue;
        uint64_t target = rip_target(insn, mem);
        if (insn->id == X86_INS_LEA && target != m.flag && m.kdbg == 0)
            m.kdbg = target;
        else if ((insn->id == X86_INS_MOV || insn->id == X86_INS_XOR) && mem->size == 8 && target != m.flag) {
            if (m.never == 0)
                m.never = target;
            else if (m.always == 0 && target != m.never)
                m.always = target;
        }
    }
    cs_free(insn, 1);
    if (!m.bswap || !m.rol || m.flag == 0 || m.kdbg == 0 || m.never == 0 || m.always == 0)
        return 0;
    out->function = va;
    out->encoded_flag = m.flag;
    out->kdbg = m.kdbg;
    out->wait_never = m.never;
    out->wait_always = m.always;
    return 1;
}

ms_status ms_kdbg_find_code(ms_vspace *vs, uint64_t kernel_base, const ms_pe *pe, ms_kdbg_code *out)
{
    if (ms_vspace_pointer_size(vs) != 8)
        return ms_fail(MS_ERR_UNSUPPORTED, "KDBG is only encoded on x64 Windows");
    csh cs;
    if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK)
        return ms_fail(MS_ERR_INTERNAL, "capstone could not be opened for x86-64");
    cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
    uint8_t *buf = malloc(CHUNK + WINDOW);
    if (buf == NULL) {
        cs_close(&cs);
        return ms_fail(MS_ERR_NOMEM, "out of memory searching for KdCopyDataBlock");
    }
    int found = 0;
    for (uint32_t s = 0; s < pe->section_count && !found; s++) {
        const ms_pe_section *sec = &pe->sections[s];
        if (!(sec->characteristics & MS_PE_SCN_EXECUTE))
            continue;
        for (uint64_t off = 0; off < sec->virtual_size && !found; off += CHUNK) {
            uint64_t len = sec->virtual_size - off;
            if (len > CHUNK + WINDOW)
                len = CHUNK + WINDOW;
            uint64_t va = kernel_base + sec->rva + off;
            ms_vspace_read(vs, va, buf, (size_t)len); /* absent pages read as zeros */
            uint64_t limit = len < CHUNK ? len : CHUNK;
            for (uint64_t i = 0; i + 7 <= limit && !found; i++) {
                /* 80 3D disp32 00: cmp byte ptr [rip+disp32], 0 */
                if (buf[i] != 0x80 || buf[i + 1] != 0x3d || buf[i + 6] != 0x00)
                    continue;
                size_t window = (size_t)(len - i < WINDOW ? len - i : WINDOW);
                found = match_at(cs, buf + i, window, va + i, out);
            }
        }
    }
    free(buf);
    cs_close(&cs);
    if (!found)
        return ms_fail(MS_ERR_NOT_FOUND, "KdCopyDataBlock was not found in the kernel's code: expected a cmp of "
                       "KdpDataBlockEncoded followed by the KDBG decoding loop (lea, two key loads, rol, bswap)");
    return MS_OK;
}
