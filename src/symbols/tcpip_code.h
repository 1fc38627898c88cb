/* Finding tcpip.sys's PartitionTable and PartitionCount without symbols, by
 * reading its code with capstone.
 *
 * Two kinds of site are recognised:
 *  - hash sites: a count global is loaded, a hash is divided by it, the
 *    remainder is scaled by the partition size and added to a pointer
 *    global (the table): &PartitionTable[hash % PartitionCount];
 *  - loop sites: an index scaled by the same size is added to the same
 *    pointer global near a compare against the same count global
 *    (for i < PartitionCount: &PartitionTable[i]).
 * The (count, table, size) triple with the most hash sites wins when
 * enough independent sites agree and no other triple comes close.
 */
#ifndef MS_SYMBOLS_TCPIP_CODE_H
#define MS_SYMBOLS_TCPIP_CODE_H

#include <stddef.h>
#include <stdint.h>

#include "memsift/error.h"
#include "pe/pe.h"

#define MS_TCPIP_MAX_SITES 16

typedef enum ms_tcpip_site_kind {
    MS_TCPIP_SITE_HASH = 1,
    MS_TCPIP_SITE_LOOP
} ms_tcpip_site_kind;

typedef struct ms_tcpip_site {
    ms_tcpip_site_kind kind;
    uint32_t rva;              /* the instruction that adds the table pointer */
    uint32_t function_rva;     /* start of its function (x64 .pdata), 0 if unknown */
} ms_tcpip_site;

typedef struct ms_tcpip_partitions {
    uint32_t table_rva;        /* PartitionTable: the pointer to the array */
    uint32_t count_rva;        /* PartitionCount */
    unsigned count_width;      /* bytes the code reads for the count: 1, 2 or 4 */
    uint32_t partition_size;   /* sizeof(_PARTITION) */
    unsigned hash_sites;       /* agreeing sites of each kind */
    unsigned loop_sites;
    unsigned other_sites;      /* hash sites naming another triple */
    unsigned site_count;       /* the first agreeing sites, hash sites first */
    ms_tcpip_site sites[MS_TCPIP_MAX_SITES];
} ms_tcpip_partitions;

/* Analyse the executable sections of the tcpip.sys image `pe` (AMD64 or
 * I386, from pe->machine).  `load_base` is the address 32-bit code's
 * absolute operands are relative to (the module's base in memory); 0 means
 * the header's ImageBase.  Pages the callback cannot read are skipped.
 * MS_ERR_NOT_FOUND with the evidence in the message when it is not
 * conclusive; MS_ERR_FORMAT when the winner is not in writable data. */
ms_status ms_tcpip_find_partitions(const ms_pe *pe, uint64_t load_base, ms_tcpip_partitions *out);

/* Lower level, for tests: the candidate sites found in one run of code. */
typedef struct ms_tcpip_candidate {
    ms_tcpip_site_kind kind;
    uint32_t site_rva;
    uint32_t count_rva;
    uint32_t table_rva;
    uint32_t size;
    uint8_t count_width;
} ms_tcpip_candidate;

typedef struct ms_tcpip_scan ms_tcpip_scan;

/* `machine` is MS_PE_MACHINE_AMD64 or MS_PE_MACHINE_I386; `image_base`
 * converts 32-bit absolute operands to RVAs; `image_size` bounds them. */
ms_status ms_tcpip_scan_create(uint16_t machine, uint64_t image_base, uint32_t image_size, ms_tcpip_scan **out);
void ms_tcpip_scan_destroy(ms_tcpip_scan *scan);

/* Disassemble `len` bytes of code placed at `rva` and collect candidates. */
ms_status ms_tcpip_scan_code(ms_tcpip_scan *scan, const uint8_t *code, size_t len, uint32_t rva);

size_t ms_tcpip_scan_count(const ms_tcpip_scan *scan);
const ms_tcpip_candidate *ms_tcpip_scan_get(const ms_tcpip_scan *scan, size_t index);

/* Vote over the candidates; `pe` (may be NULL) checks that the globals are
 * in writable data and maps sites to functions. */
ms_status ms_tcpip_scan_decide(const ms_tcpip_scan *scan, const ms_pe *pe, ms_tcpip_partitions *out);

#endif
