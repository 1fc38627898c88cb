/* XP / 2003 tcpip.sys code that uses the tables the way tcpip does: a
 * lookup (hash, div by the count global, load the table pointer, read the
 * bucket head), an insertion (count loaded into a register and divided by,
 * `lea` of the slot) and a removal (slot offset by `shl`, then `add` of the
 * table pointer), for the TCB table and for the address-object table; and
 * the same lookup twice for a decoy hash table of other objects.  x86
 * operands are absolute addresses, x64 ones RIP-relative.  The shapes
 * follow the public description of the globals (TCBTable[hash %
 * MaxHashTableSize], AddrObjTable[hash % AddrObjTableSize]); the
 * instruction choice and registers are this generator's. */
#include <stdlib.h>
#include <string.h>

#include "net_xp.h"

typedef struct asm_buf {
    uint8_t b[2048];
    size_t len;
    uint32_t rva;            /* RVA of b[0] */
    uint64_t base;
    int x64, overflow;
} asm_buf;

static void put(asm_buf *a, const uint8_t *p, size_t n)
{
    if (a->len + n > sizeof a->b) {
        a->overflow = 1;
        return;
    }
    memcpy(a->b + a->len, p, n);
    a->len += n;
}

#define PUT(a, ...) do { static const uint8_t bytes_[] = {__VA_ARGS__}; put((a), bytes_, sizeof bytes_); } while (0)

/* The operand of the instruction being written (its last field). */
static void mem(asm_buf *a, uint32_t target_rva)
{
    uint32_t v = a->x64 ? target_rva - (a->rva + (uint32_t)a->len + 4) : (uint32_t)(a->base + target_rva);
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put(a, x, 4);
}

static void pad16(asm_buf *a)
{
    while (a->len % 16)
        PUT(a, 0xCC);
}

/* bucket = Table[hash % Count], then a search of its Next chain */
static void lookup(asm_buf *a, uint32_t table, uint32_t count, int variant)
{
    if (a->x64) {
        if (variant == 0) {
            PUT(a, 0x48, 0x89, 0x5C, 0x24, 0x08, 0x0F, 0xB7, 0xC1, 0x0F, 0xB7, 0xD2, 0xC1, 0xE2, 0x10, 0x03, 0xC2,
                0x41, 0x33, 0xC0, 0x33, 0xD2, 0xF7, 0x35);
            mem(a, count);                          /* div dword [rip+count] */
            PUT(a, 0x48, 0x8B, 0x0D);
            mem(a, table);                          /* mov rcx, [rip+table] */
            PUT(a, 0x48, 0x8B, 0x1C, 0xD1,          /* mov rbx, [rcx+rdx*8] */
                0x48, 0x85, 0xDB, 0x74, 0x0B, 0x44, 0x39, 0x43, 0x18, 0x74, 0x05, 0x48, 0x8B, 0x1B, 0xEB, 0xF0,
                0x48, 0x8B, 0xC3, 0x48, 0x8B, 0x5C, 0x24, 0x08, 0xC3);
        } else {
            PUT(a, 0x0F, 0xB7, 0xC2, 0x03, 0xC1, 0x33, 0xD2, 0xF7, 0x35);
            mem(a, count);
            PUT(a, 0x4C, 0x8B, 0x05);
            mem(a, table);                          /* mov r8, [rip+table] */
            PUT(a, 0x49, 0x8B, 0x04, 0xD0,          /* mov rax, [r8+rdx*8] */
                0x48, 0x85, 0xC0, 0x74, 0x0A, 0x39, 0x48, 0x18, 0x74, 0x05, 0x48, 0x8B, 0x00, 0xEB, 0xF1, 0xC3);
        }
    } else if (variant == 0) {
        PUT(a, 0x8B, 0xFF, 0x55, 0x8B, 0xEC, 0x56, 0x0F, 0xB7, 0x45, 0x08, 0x0F, 0xB7, 0x4D, 0x0C, 0xC1, 0xE1, 0x10,
            0x03, 0xC1, 0x33, 0x45, 0x10, 0x33, 0xD2, 0xF7, 0x35);
        mem(a, count);                              /* div dword [count] */
        PUT(a, 0xA1);
        mem(a, table);                              /* mov eax, [table] */
        PUT(a, 0x8B, 0x34, 0x90,                    /* mov esi, [eax+edx*4] */
            0x85, 0xF6, 0x74, 0x0C, 0x8B, 0x46, 0x0C, 0x3B, 0x45, 0x10, 0x74, 0x04, 0x8B, 0x36, 0xEB, 0xF0,
            0x8B, 0xC6, 0x5E, 0x5D, 0xC2, 0x0C, 0x00);
    } else {
        PUT(a, 0x8B, 0xFF, 0x55, 0x8B, 0xEC, 0x57, 0x0F, 0xB7, 0x45, 0x0C, 0x03, 0x45, 0x08, 0x33, 0xD2, 0xF7, 0x35);
        mem(a, count);
        PUT(a, 0x8B, 0x0D);
        mem(a, table);                              /* mov ecx, [table] */
        PUT(a, 0x8B, 0x3C, 0x91,                    /* mov edi, [ecx+edx*4] */
            0x85, 0xFF, 0x74, 0x0C, 0x8B, 0x47, 0x0C, 0x3B, 0x45, 0x08, 0x74, 0x04, 0x8B, 0x3F, 0xEB, 0xF0,
            0x8B, 0xC7, 0x5F, 0x5D, 0xC2, 0x08, 0x00);
    }
    pad16(a);
}

/* push the object on its bucket: count in a register, div by it, lea slot */
static void insert(asm_buf *a, uint32_t table, uint32_t count)
{
    if (a->x64) {
        PUT(a, 0x44, 0x8B, 0x05);
        mem(a, count);                              /* mov r8d, [rip+count] */
        PUT(a, 0x8B, 0x41, 0x10, 0x03, 0x41, 0x14, 0x33, 0xD2, 0x41, 0xF7, 0xF0, 0x4C, 0x8B, 0x0D);
        mem(a, table);                              /* mov r9, [rip+table] */
        PUT(a, 0x49, 0x8D, 0x04, 0xD1,              /* lea rax, [r9+rdx*8] */
            0x48, 0x8B, 0x10, 0x48, 0x89, 0x11, 0x48, 0x89, 0x08, 0xC3);
    } else {
        PUT(a, 0x8B, 0xFF, 0x55, 0x8B, 0xEC, 0x56, 0x57, 0x8B, 0x75, 0x08, 0x8B, 0x3D);
        mem(a, count);                              /* mov edi, [count] */
        PUT(a, 0x0F, 0xB7, 0x46, 0x0C, 0x03, 0x46, 0x08, 0x33, 0xD2, 0xF7, 0xF7, 0x8B, 0x0D);
        mem(a, table);                              /* mov ecx, [table] */
        PUT(a, 0x8D, 0x04, 0x91,                    /* lea eax, [ecx+edx*4] */
            0x8B, 0x08, 0x89, 0x0E, 0x89, 0x30, 0x5F, 0x5E, 0x5D, 0xC2, 0x04, 0x00);
    }
    pad16(a);
}

/* unlink the object: slot offset = remainder << log2(pointer), + table */
static void removal(asm_buf *a, uint32_t table, uint32_t count)
{
    if (a->x64) {
        PUT(a, 0x8B, 0x41, 0x10, 0x03, 0x41, 0x14, 0x33, 0xD2, 0xF7, 0x35);
        mem(a, count);
        PUT(a, 0x8B, 0xC2, 0x48, 0xC1, 0xE0, 0x03, 0x48, 0x03, 0x05);
        mem(a, table);                              /* add rax, [rip+table] */
        PUT(a, 0x48, 0x8B, 0x10, 0x48, 0x85, 0xD2, 0x74, 0x10, 0x48, 0x3B, 0xD1, 0x74, 0x05, 0x48, 0x8B, 0xC2,
            0xEB, 0xEE, 0x4C, 0x8B, 0x01, 0x4C, 0x89, 0x00, 0xC3);
    } else {
        PUT(a, 0x8B, 0xFF, 0x55, 0x8B, 0xEC, 0x53, 0x8B, 0x5D, 0x08, 0x8B, 0x43, 0x10, 0x03, 0x43, 0x14, 0x33, 0xD2,
            0xF7, 0x35);
        mem(a, count);
        PUT(a, 0xC1, 0xE2, 0x02, 0x03, 0x15);
        mem(a, table);                              /* add edx, [table] */
        PUT(a, 0x8B, 0x02, 0x85, 0xC0, 0x74, 0x0C, 0x3B, 0xC3, 0x74, 0x04, 0x8B, 0xD0, 0xEB, 0xF2, 0x8B, 0x0B,
            0x89, 0x0A, 0x5B, 0x5D, 0xC2, 0x04, 0x00);
    }
    pad16(a);
}

/* Not a bucket read: the remainder indexes an array of 8/16-byte entries
 * at a field offset (as a statistics or route array would be). */
static void not_a_site(asm_buf *a, uint32_t table, uint32_t count)
{
    if (a->x64) {
        PUT(a, 0x8B, 0xC1, 0x33, 0xD2, 0xF7, 0x35);
        mem(a, count);
        PUT(a, 0x48, 0x8B, 0x0D);
        mem(a, table);
        PUT(a, 0x48, 0xC1, 0xE2, 0x04, 0x8B, 0x44, 0x0A, 0x08, 0xC3); /* shl rdx,4; mov eax,[rdx+rcx+8] */
    } else {
        PUT(a, 0x8B, 0x44, 0x24, 0x04, 0x33, 0xD2, 0xF7, 0x35);
        mem(a, count);
        PUT(a, 0xA1);
        mem(a, table);
        PUT(a, 0x8B, 0x44, 0xD0, 0x04, 0xC2, 0x04, 0x00);          /* mov eax,[eax+edx*8+4] */
    }
    pad16(a);
}

static ig_status flush(ig_ctx *c, const ig_mod_truth *m, asm_buf *a)
{
    if (a->overflow)
        return ig_fail("XP tcpip code buffer overflow");
    if (ig_ensure_mapped(c, m->base + a->rva, a->len, 0) != IG_OK)
        return IG_ERR;
    return ig_write(c, m->base + a->rva, a->b, a->len);
}

ig_status xp_code_write(ig_ctx *c, xp_net *n, const ig_mod_truth *m)
{
    asm_buf *a = calloc(1, sizeof *a);
    if (a == NULL)
        return ig_fail("out of memory");
    uint32_t text_end = XP_TEXT_END(n->x64);
    const uint32_t r[6] = {(uint32_t)n->rva[XP_TCB_TABLE], (uint32_t)n->rva[XP_TCB_SIZE],
                           (uint32_t)n->rva[XP_AO_TABLE],  (uint32_t)n->rva[XP_AO_SIZE],
                           (uint32_t)n->decoy_rva[0],      (uint32_t)n->decoy_rva[1]};
    ig_status st = IG_OK;
    /* three clusters of functions, as a linker lays out three source files */
    for (int k = 0; k < 3 && st == IG_OK; k++) {
        memset(a, 0, sizeof *a);
        a->x64 = n->x64;
        a->base = m->base;
        a->rva = (0x4000u + (uint32_t)k * ((text_end - 0x8000u) / 3) + 0x40u * (uint32_t)ig_rng_range(&c->rng, 0, 40)) &
                 ~0xFu;
        switch (k) {
        case 0: /* TCB */
            lookup(a, r[0], r[1], 0);
            not_a_site(a, r[4], r[1]);
            insert(a, r[0], r[1]);
            removal(a, r[0], r[1]);
            break;
        case 1: /* address objects */
            removal(a, r[2], r[3]);
            lookup(a, r[2], r[3], 1);
            insert(a, r[2], r[3]);
            break;
        default: /* the decoy hash table */
            lookup(a, r[4], r[5], 1);
            not_a_site(a, r[2], r[5]);
            lookup(a, r[4], r[5], 0);
            break;
        }
        st = flush(c, m, a);
    }
    free(a);
    return st;
}
