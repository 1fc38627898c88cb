/* XP / 2003: finding tcpip.sys's TCBTable/MaxHashTableSize and
 * AddrObjTable/AddrObjTableSize by reading its code with capstone.
 *
 * tcpip looks a connection up in TCBTable[hash % MaxHashTableSize] and an
 * address object in AddrObjTable[hash % AddrObjTableSize]: a hash is
 * divided by a LONG global (`div dword [MaxHashTableSize]`, or the global
 * loaded into a register first) and the remainder, scaled by the pointer
 * size, indexes the array a pointer global holds (`mov eax, [TCBTable]`;
 * `mov ecx, [eax+edx*4]`, or the slot's address by `lea`, or `shl edx, 2`
 * then `add edx, [TCBTable]`).  On x86 the globals are absolute addresses,
 * on x64 RIP-relative.  Each (table, count) pair that at least two sites
 * agree on is reported; which one is the TCB table and which the
 * address-object table is for the caller to decide from what the arrays
 * hold (the code does not say). */
#ifndef MS_NET_XP_CODE_H
#define MS_NET_XP_CODE_H

#include <stddef.h>
#include <stdint.h>

#include "memsift/error.h"
#include "pe/pe.h"

#define MS_XP_CODE_MAX_TABLES 8
#define MS_XP_CODE_MAX_SITES 8

typedef struct ms_xp_code_table {
    uint32_t table_rva;        /* the pointer global (TCBTable or AddrObjTable) */
    uint32_t count_rva;        /* the LONG bucket count */
    unsigned sites;            /* agreeing sites */
    unsigned site_count;       /* the first of them, in code order */
    uint32_t site_rva[MS_XP_CODE_MAX_SITES];
} ms_xp_code_table;

typedef struct ms_xp_code_result {
    size_t count;              /* tables, most sites first */
    ms_xp_code_table tables[MS_XP_CODE_MAX_TABLES];
    unsigned lone_sites;       /* sites of pairs seen only once */
    unsigned not_data;         /* pairs dropped: a global outside writable data */
} ms_xp_code_result;

/* Analyse the executable sections of the tcpip.sys image `pe` (I386 or
 * AMD64).  `load_base` is the address x86 absolute operands are relative
 * to (the module's base; 0 = the header's ImageBase).  Unreadable pages are
 * skipped.  MS_ERR_NOT_FOUND with the evidence when no pair has two sites. */
ms_status ms_xp_code_find(const ms_pe *pe, uint64_t load_base, ms_xp_code_result *out);

/* Lower level, for tests. */
typedef struct ms_xp_code_scan ms_xp_code_scan;

ms_status ms_xp_code_scan_create(uint16_t machine, uint64_t image_base, uint32_t image_size,
                                 ms_xp_code_scan **out);
void ms_xp_code_scan_destroy(ms_xp_code_scan *scan);
/* Disassemble `len` bytes of code placed at `rva` and collect sites. */
ms_status ms_xp_code_scan_code(ms_xp_code_scan *scan, const uint8_t *code, size_t len, uint32_t rva);
/* Group the sites; `pe` (may be NULL) drops pairs outside writable data. */
ms_status ms_xp_code_scan_decide(const ms_xp_code_scan *scan, const ms_pe *pe, ms_xp_code_result *out);

#endif
