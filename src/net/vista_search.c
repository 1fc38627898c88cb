/* Vista+: layout values some tcpip profiles lack, found in memory -
 * _INET_PORT_POOL.PortAssignments (hvmi: two pointers after the pool's
 * RTL_BITMAP of 65536 bits; MemProcFS: the first pointer to an InPA block
 * in +0xa0..+0x100 on x64) and sizeof(_PARTITION) (hvmi: the next
 * partition is where the first pointer leads to a TcHT block again). */
#include <stdio.h>
#include <string.h>

#include "kernel/kernel_internal.h"
#include "vista_net.h"

#define BITMAP_BITS 0x10000u
#define POOL_SPAN 0x4000u        /* an _INET_PORT_POOL with its bitmap: 3 pages */
#define MAX_CANDIDATES 64
#define VALIDATE_RANGES 4
#define MAX_STRIDE 0x400u

enum { BY_BITMAP = 1, BY_INPA = 2 };

typedef struct candidate {
    int64_t offset;
    unsigned by;
} candidate;

static uint64_t get_ptr(unsigned ptr, const uint8_t *b)
{
    if (ptr == 8) {
        uint64_t v;
        memcpy(&v, b, 8);
        return v;
    }
    uint32_t v;
    memcpy(&v, b, 4);
    return v;
}

static void add(candidate *c, size_t *n, int64_t offset, unsigned by)
{
    for (size_t i = 0; i < *n; i++)
        if (c[i].offset == offset) {
            c[i].by |= by;
            return;
        }
    if (*n < MAX_CANDIDATES)
        c[(*n)++] = (candidate){offset, by};
}

static const char *evidence(unsigned by)
{
    return by == (BY_BITMAP | BY_INPA) ? "RTL_BITMAP and InPA pointer agree"
           : by == BY_BITMAP          ? "after the RTL_BITMAP"
                                      : "InPA pointers";
}

ms_status ms_vista_find_port_assignments(ms_vista_ctx *ctx, uint64_t pool, int64_t *offset, char *how,
                                         size_t how_size)
{
    if (ctx == NULL || offset == NULL)
        return ms_fail(MS_ERR_ARG, "ms_vista_find_port_assignments needs a context and an out-parameter");
    const ms_vista_layout *L = &ctx->L;
    unsigned P = L->ptr;
    if (L->pa_base < 0 || L->pae_entry < 0 || L->pae_size == 0)
        return ms_fail(MS_ERR_UNSUPPORTED, "tcpip profile %s has no _PORT_ASSIGNMENT layout", ctx->profile_name);
    if (!ms_vista_kernel_ptr(P, pool))
        return ms_fail(MS_ERR_FORMAT, "port pool 0x%llx is not a kernel address", (unsigned long long)pool);
    const uint32_t lo = P == 8 ? 0x80 : 0x40, hi = 0x100;
    uint8_t head[0x100 + 8];
    if (ms_vspace_read(ctx->vs, pool, head, hi + P) != MS_OK)
        return ms_fail(MS_ERR_NOT_FOUND, "the port pool at 0x%llx is not readable", (unsigned long long)pool);
    candidate c[MAX_CANDIDATES];
    size_t n = 0;
    /* _RTL_BITMAP: SizeOfBitMap (a ULONG), then Buffer at +pointer size. */
    for (uint32_t b = lo - 2 * P; b + 2 * P <= hi; b += P) {
        uint32_t bits;
        memcpy(&bits, head + b, 4);
        uint64_t buffer = get_ptr(P, head + b + P);
        if (bits == BITMAP_BITS && buffer > pool + b && buffer < pool + POOL_SPAN)
            add(c, &n, b + 2 * P, BY_BITMAP);
    }
    /* The array may start up to 255 entries before its first InPA pointer. */
    uint32_t inpa = ms_pool_tag_value("InPA");
    for (uint32_t o = lo; o <= hi; o += P) {
        uint64_t v = get_ptr(P, head + o);
        if (!ms_vista_kernel_ptr(P, v) || v % (P == 8 ? 16 : 8) != 0 || ms_vista_tag_before(ctx->vs, L->hdr, v) != inpa)
            continue;
        for (uint32_t s = o; s >= lo && o - s <= 255 * P; s -= P)
            add(c, &n, s, BY_INPA);
        break;
    }
    if (n == 0)
        return ms_fail(MS_ERR_NOT_FOUND, "port pool 0x%llx: no RTL_BITMAP of 0x%x bits with its buffer in the pool "
                       "and no pointer to an InPA block at +0x%x..+0x%x", (unsigned long long)pool, BITMAP_BITS, lo,
                       hi);
    /* Evidence of both kinds first. */
    const candidate *fallback = NULL;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < n; i++) {
            int both = c[i].by == (BY_BITMAP | BY_INPA);
            if (both != (pass == 0))
                continue;
            ms_vista_pool_count k;
            if (ms_vista_walk_port_pool_at(ctx, pool, c[i].offset, VALIDATE_RANGES, NULL, NULL, &k) != MS_OK)
                continue;
            if (k.port_ok > 0 && k.port_bad == 0) {
                *offset = c[i].offset;
                if (how)
                    snprintf(how, how_size, "%s; %zu objects on the ports their chains stand for",
                             evidence(c[i].by), k.port_ok);
                return MS_OK;
            }
            if (fallback == NULL && both && k.ranges > 0 && k.port_bad == 0)
                fallback = &c[i];
        }
    }
    if (fallback != NULL) {
        *offset = fallback->offset;
        if (how)
            snprintf(how, how_size, "%s; no object to validate it", evidence(fallback->by));
        return MS_OK;
    }
    return ms_fail(MS_ERR_NOT_FOUND, "port pool 0x%llx: none of %zu PortAssignments candidates leads to listeners "
                   "or UDP endpoints on their ports", (unsigned long long)pool, n);
}

/* ---- partitions ---- */

static int partition_looks_right(ms_vista_ctx *ctx, uint64_t part)
{
    const ms_vista_layout *L = &ctx->L;
    uint64_t first = 0, ep = 0, dir = 0;
    uint32_t size = 0;
    if (ms_vspace_read_ptr(ctx->vs, part, &first) != MS_OK || !ms_vista_kernel_ptr(L->ptr, first) ||
        ms_vista_tag_before(ctx->vs, L->hdr, first) != ms_pool_tag_value("TcHT"))
        return 0;
    return ms_vspace_read_ptr(ctx->vs, part + (uint64_t)L->part_endpoints, &ep) == MS_OK &&
           ms_vista_kernel_ptr(L->ptr, ep) &&
           ms_vspace_read_u32(ctx->vs, ep + (uint64_t)L->ht_table_size, &size) == MS_OK && size != 0 &&
           size <= MS_VISTA_MAX_BUCKETS &&
           ms_vspace_read_ptr(ctx->vs, ep + (uint64_t)L->ht_directory, &dir) == MS_OK &&
           ms_vista_kernel_ptr(L->ptr, dir);
}

ms_status ms_vista_measure_partition_size(ms_vista_ctx *ctx, uint64_t table, uint32_t count, uint32_t *size)
{
    if (ctx == NULL || size == NULL)
        return ms_fail(MS_ERR_ARG, "ms_vista_measure_partition_size needs a context and an out-parameter");
    const ms_vista_layout *L = &ctx->L;
    unsigned P = L->ptr;
    if (L->part_endpoints < 0)
        return ms_fail(MS_ERR_UNSUPPORTED, "tcpip profile %s has no _PARTITION.Endpoints", ctx->profile_name);
    if (count == 0 || count > MS_VISTA_MAX_PARTITIONS)
        return ms_fail(MS_ERR_FORMAT, "PartitionCount %u is not in 1..%u", count, MS_VISTA_MAX_PARTITIONS);
    if (!ms_vista_kernel_ptr(P, table) || !partition_looks_right(ctx, table))
        return ms_fail(MS_ERR_NOT_FOUND, "the first partition at 0x%llx does not start with a pointer to a TcHT "
                       "block and an Endpoints hash table", (unsigned long long)table);
    int64_t last = L->part_endpoints > L->part_unknown ? L->part_endpoints : L->part_unknown;
    uint32_t min = (uint32_t)last + P;
    if (count == 1) {
        *size = min; /* any stride reaches the only partition */
        return MS_OK;
    }
    for (uint32_t s = min; s <= MAX_STRIDE; s += P) {
        uint32_t i = 1;
        while (i < count && partition_looks_right(ctx, table + (uint64_t)i * s))
            i++;
        if (i == count) {
            *size = s;
            return MS_OK;
        }
    }
    return ms_fail(MS_ERR_NOT_FOUND, "no stride up to 0x%x puts %u partitions at 0x%llx that each start with a "
                   "TcHT pointer", MAX_STRIDE, count, (unsigned long long)table);
}
