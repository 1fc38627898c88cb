/* Vista+: walking tcpip.sys's tables - every entry of every bucket of the
 * partitions' RTL_DYNAMIC_HASH_TABLEs, and every chain of the port pools -
 * with loop guards and caps.  Objects are kept only when the pool tag in
 * front of them is one Windows gives that kind. */
#include <stdlib.h>
#include <string.h>

#include "kernel/kernel_internal.h"
#include "vista_net.h"

#define TABLES_PER_POINTER 4
#define FIRST_LEVEL_DIRS 16
#define SECOND_LEVEL_MIN 128u
#define MAX_OBJECT_BYTES 0x1000u

typedef struct walk {
    ms_vista_ctx *ctx;
    ms_vista_row_fn fn;
    void *user;
    ms_visit_set seen;
    size_t found[MS_VK_COUNT];
    size_t dropped, steps;
    size_t port_ok, port_bad;
    int stop;
} walk;

static ms_status walk_open(walk *w, ms_vista_ctx *ctx, ms_vista_row_fn fn, void *user)
{
    memset(w, 0, sizeof *w);
    w->ctx = ctx;
    w->fn = fn;
    w->user = user;
    return ms_visit_set_init(&w->seen, MS_VISTA_MAX_OBJECTS);
}

static uint64_t rd_ptr(ms_vista_ctx *ctx, uint64_t va)
{
    uint64_t v = 0;
    if (!ms_vista_kernel_ptr(ctx->L.ptr, va) || ms_vspace_read_ptr(ctx->vs, va, &v) != MS_OK)
        return 0;
    return v;
}

static uint64_t buf_ptr(unsigned ptr, const uint8_t *b)
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

/* Decode and report the object of `kind` at `obj` (tag already checked).
 * 1 when it decoded; its local port goes to *port. */
static int report(walk *w, ms_vista_kind kind, uint64_t obj, const char tag[5], uint16_t *port)
{
    ms_vista_ctx *ctx = w->ctx;
    uint8_t buf[MAX_OBJECT_BYTES];
    const ms_vista_obj *o = &ctx->L.obj[kind];
    if (o->size > sizeof buf || ms_vspace_read(ctx->vs, obj, buf, o->size) != MS_OK) {
        w->dropped++;
        return 0;
    }
    ms_net_endpoint row;
    if (ms_vista_decode(ctx, kind, buf, o->size, &row) != MS_OK) {
        w->dropped++;
        return 0;
    }
    row.offset = obj;
    ms_translation tr;
    if (ms_vspace_translate(ctx->vs, obj, &tr) == MS_OK)
        row.offset_phys = tr.paddr;
    memcpy(row.tag, tag, 5);
    row.sources = MS_NET_FROM_WALK;
    w->found[kind]++;
    if (port != NULL)
        *port = row.local_port;
    if (w->fn != NULL && w->fn(&row, w->user))
        w->stop = 1;
    return 1;
}

/* A hash-table entry: the object it is embedded in is told by the pool
 * tag found at each kind's link offset. */
static void visit_entry(walk *w, uint64_t entry)
{
    static const ms_vista_kind kinds[] = {MS_VK_TCB, MS_VK_TIMEWAIT, MS_VK_SYN};
    ms_vista_ctx *ctx = w->ctx;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        const ms_vista_obj *o = &ctx->L.obj[kinds[i]];
        char tag[5];
        if (!o->present || o->list < 0 || entry < (uint64_t)o->list)
            continue;
        uint64_t obj = entry - (uint64_t)o->list;
        if (ms_vista_object_tagged(ctx, kinds[i], obj, tag)) {
            if (ms_visit_set_add(&w->seen, obj) == 1)
                report(w, kinds[i], obj, tag, NULL);
            return;
        }
    }
    w->dropped++;
}

/* Every entry of the bucket whose LIST_ENTRY head is at `head`. */
static void walk_bucket(walk *w, uint64_t head, uint64_t flink)
{
    ms_vista_ctx *ctx = w->ctx;
    size_t n = 0;
    while (flink != head && flink != 0 && !w->stop) {
        if (!ms_vista_kernel_ptr(ctx->L.ptr, flink) || ++n > MS_VISTA_MAX_CHAIN ||
            ++w->steps > MS_VISTA_MAX_OBJECTS || ms_visit_set_add(&w->seen, flink ^ 1) != 1)
            return;
        visit_entry(w, flink);
        uint64_t next;
        if (ms_vspace_read_ptr(ctx->vs, flink, &next) != MS_OK)
            return;
        flink = next;
    }
}

/* Buckets of a directory of `n` LIST_ENTRYs at `dir`. */
static void walk_directory(walk *w, uint64_t dir, uint32_t n)
{
    ms_vista_ctx *ctx = w->ctx;
    unsigned entry = 2 * ctx->L.ptr;
    uint8_t chunk[128 * 16];
    uint32_t per = (uint32_t)(sizeof chunk / entry);
    for (uint32_t first = 0; first < n && !w->stop; first += per) {
        uint32_t m = n - first < per ? n - first : per;
        uint64_t va = dir + (uint64_t)first * entry;
        ms_vspace_read(ctx->vs, va, chunk, (size_t)m * entry); /* unreadable buckets read as 0: skipped */
        for (uint32_t b = 0; b < m && !w->stop; b++)
            walk_bucket(w, va + (uint64_t)b * entry, buf_ptr(ctx->L.ptr, chunk + (size_t)b * entry));
    }
}

/* One RTL_DYNAMIC_HASH_TABLE.  Up to 128 buckets the directory is the
 * bucket array; larger tables have 16 first-level pointers to second-level
 * arrays of 128 << i buckets. */
static int walk_table(walk *w, uint64_t ht)
{
    ms_vista_ctx *ctx = w->ctx;
    const ms_vista_layout *L = &ctx->L;
    uint32_t size = 0;
    if (ms_vspace_read_u32(ctx->vs, ht + (uint64_t)L->ht_table_size, &size) != MS_OK || size == 0 ||
        size > MS_VISTA_MAX_BUCKETS)
        return 0;
    uint64_t dir = rd_ptr(ctx, ht + (uint64_t)L->ht_directory);
    if (!ms_vista_kernel_ptr(L->ptr, dir))
        return 0;
    if (size <= SECOND_LEVEL_MIN) {
        walk_directory(w, dir, size);
        return 1;
    }
    uint64_t left = size;
    for (unsigned i = 0; i < FIRST_LEVEL_DIRS && left > 0 && !w->stop; i++) {
        uint64_t n = (uint64_t)SECOND_LEVEL_MIN << i;
        if (n > left)
            n = left;
        uint64_t second = rd_ptr(ctx, dir + (uint64_t)i * L->ptr);
        if (ms_vista_kernel_ptr(L->ptr, second))
            walk_directory(w, second, (uint32_t)n);
        left -= n;
    }
    return 1;
}

/* The tables one partition pointer leads to, stopping before `other`
 * (the partition's other table pointer) when it lies just after. */
static void walk_tables(walk *w, uint64_t first, uint64_t other)
{
    const ms_vista_layout *L = &w->ctx->L;
    if (!ms_vista_kernel_ptr(L->ptr, first))
        return;
    for (unsigned t = 0; t < TABLES_PER_POINTER && !w->stop; t++) {
        uint64_t ht = first + (uint64_t)t * L->ht_size;
        if (t > 0 && other > first && ht + L->ht_size > other)
            return;
        if (!walk_table(w, ht))
            return;
    }
}

static void count_found(const walk *w, size_t *found)
{
    if (found == NULL)
        return;
    *found = 0;
    for (int k = 0; k < MS_VK_COUNT; k++)
        *found += w->found[k];
}

ms_status ms_vista_walk_partitions(ms_vista_ctx *ctx, uint64_t table, uint32_t count, ms_vista_row_fn fn,
                                   void *user, size_t *found)
{
    const ms_vista_layout *L = &ctx->L;
    if (L->part_size == 0 || L->part_endpoints < 0)
        return ms_fail(MS_ERR_UNSUPPORTED, "tcpip profile %s has no _PARTITION layout", ctx->profile_name);
    if (count == 0 || count > MS_VISTA_MAX_PARTITIONS)
        return ms_fail(MS_ERR_FORMAT, "PartitionCount %u is not in 1..%u", count, MS_VISTA_MAX_PARTITIONS);
    if (!ms_vista_kernel_ptr(L->ptr, table))
        return ms_fail(MS_ERR_FORMAT, "PartitionTable 0x%llx is not a kernel address", (unsigned long long)table);
    size_t bytes = (size_t)count * L->part_size;
    uint8_t *parts = malloc(bytes);
    if (parts == NULL)
        return ms_fail(MS_ERR_NOMEM, "out of memory for %u partitions", count);
    ms_status st = ms_vspace_read(ctx->vs, table, parts, bytes);
    if (st != MS_OK) {
        free(parts);
        return ms_fail(st, "the %u partitions at 0x%llx are not readable", count, (unsigned long long)table);
    }
    walk w;
    if ((st = walk_open(&w, ctx, fn, user)) != MS_OK) {
        free(parts);
        return st;
    }
    for (uint32_t i = 0; i < count && !w.stop; i++) {
        const uint8_t *p = parts + (size_t)i * L->part_size;
        uint64_t ep = buf_ptr(L->ptr, p + L->part_endpoints);
        uint64_t unk = L->part_unknown >= 0 ? buf_ptr(L->ptr, p + L->part_unknown) : 0;
        walk_tables(&w, ep, unk);
        if (unk != 0 && unk != ep)
            walk_tables(&w, unk, ep);
    }
    if (w.dropped > 0 && ctx->kernel != NULL)
        ms_kernel_log(ctx->kernel, MS_KLOG_DEBUG, "partition walk: %zu entries dropped (no known pool tag or "
                      "failed checks)", w.dropped);
    count_found(&w, found);
    ms_visit_set_free(&w.seen);
    free(parts);
    return MS_OK;
}

/* The TCB a port-pool link points into: the nearest block before the link
 * carrying a TCB tag (on x64 a TTcb object may start one header into its
 * block).  The link's place in the object is not published. */
#define MAX_LINK_DEPTH 0x200u

static int tcb_at_link(walk *w, uint64_t link, uint16_t *port)
{
    ms_vista_ctx *ctx = w->ctx;
    const ms_vista_layout *L = &ctx->L;
    const ms_vista_obj *o = &L->obj[MS_VK_TCB];
    unsigned align = L->ptr == 8 ? 16 : 8;
    uint64_t start = link & ~(uint64_t)(align - 1);
    for (uint64_t d = 0; d <= MAX_LINK_DEPTH && d <= start; d += align) {
        uint64_t body = start - d;
        uint32_t t = ms_vista_tag_before(ctx->vs, L->hdr, body);
        for (int i = 0; i < 2; i++) {
            if (o->tags[i][0] == '\0' || t != ms_pool_tag_value(o->tags[i]))
                continue;
            for (uint64_t obj = body; obj <= body + (L->ptr == 8 ? L->hdr : 0); obj += L->hdr) {
                if (ms_visit_set_add(&w->seen, obj) != 1)
                    return 1;
                if (report(w, MS_VK_TCB, obj, o->tags[i], port))
                    return 1;
            }
            return 0;
        }
    }
    return 0;
}

static void tally(walk *w, uint16_t got, uint16_t port)
{
    if (got == port)
        w->port_ok++;
    else
        w->port_bad++;
}

/* A port pool's chains: Entry and Next are tagged pointers to the `Next`
 * member of the next object on the port - listeners and UDP endpoints,
 * and TCBs bound to the port (followed through the link they hold). */
static void walk_chain(walk *w, uint64_t link, uint16_t port)
{
    ms_vista_ctx *ctx = w->ctx;
    const ms_vista_layout *L = &ctx->L;
    uint64_t mask = ms_vista_tag_mask(L->ptr);
    static const ms_vista_kind kinds[] = {MS_VK_LISTENER, MS_VK_UDP};
    size_t n = 0;
    for (link &= mask; link != 0 && !w->stop; n++) {
        if (!ms_vista_kernel_ptr(L->ptr, link) || n > MS_VISTA_MAX_CHAIN || ++w->steps > MS_VISTA_MAX_OBJECTS ||
            ms_visit_set_add(&w->seen, link ^ 1) != 1)
            return;
        int known = 0;
        uint16_t got = 0;
        for (size_t i = 0; i < 2 && !known; i++) {
            const ms_vista_obj *o = &L->obj[kinds[i]];
            char tag[5];
            uint64_t obj = link - (uint64_t)o->next;
            if (o->present && link >= (uint64_t)o->next && ms_vista_object_tagged(ctx, kinds[i], obj, tag)) {
                known = 1;
                if (ms_visit_set_add(&w->seen, obj) == 1 && report(w, kinds[i], obj, tag, &got))
                    tally(w, got, port);
            }
        }
        if (!known && L->obj[MS_VK_TCB].present && tcb_at_link(w, link, &got)) {
            known = 1;
            if (got != 0)
                tally(w, got, port);
        }
        if (!known) {
            w->dropped++;
            return;
        }
        link = rd_ptr(ctx, link) & mask;
    }
}

ms_status ms_vista_walk_port_pool_at(ms_vista_ctx *ctx, uint64_t pool, int64_t assign, unsigned max_ranges,
                                     ms_vista_row_fn fn, void *user, ms_vista_pool_count *count)
{
    const ms_vista_layout *L = &ctx->L;
    if (assign < 0 || assign > 0x1000 || L->pa_base < 0 || L->pae_entry < 0 || L->pae_size == 0 ||
        L->pae_size > 0x100)
        return ms_fail(MS_ERR_UNSUPPORTED, "tcpip profile %s has no port-pool layout", ctx->profile_name);
    if (!ms_vista_kernel_ptr(L->ptr, pool))
        return ms_fail(MS_ERR_FORMAT, "port pool 0x%llx is not a kernel address", (unsigned long long)pool);
    uint8_t table[256 * 8];
    ms_status st = ms_vspace_read(ctx->vs, pool + (uint64_t)assign, table, 256u * L->ptr);
    if (st != MS_OK)
        return ms_fail(st, "the port assignments of the pool at 0x%llx are not readable", (unsigned long long)pool);
    size_t list_bytes = 256u * L->pae_size;
    uint8_t *list = malloc(list_bytes);
    if (list == NULL)
        return ms_fail(MS_ERR_NOMEM, "out of memory for a port assignment list");
    walk w;
    if ((st = walk_open(&w, ctx, fn, user)) != MS_OK) {
        free(list);
        return st;
    }
    uint32_t inpa = ms_pool_tag_value("InPA");
    size_t ranges = 0;
    for (unsigned hi = 0; hi < 256 && !w.stop && (max_ranges == 0 || ranges < max_ranges); hi++) {
        uint64_t pa = buf_ptr(L->ptr, table + hi * L->ptr);
        if (pa == 0 || !ms_vista_kernel_ptr(L->ptr, pa))
            continue;
        if (ms_vista_tag_before(ctx->vs, L->hdr, pa) != inpa) {
            w.dropped++;
            continue;
        }
        ranges++;
        uint64_t base = rd_ptr(ctx, pa + (uint64_t)L->pa_base);
        if (!ms_vista_kernel_ptr(L->ptr, base))
            continue;
        memset(list, 0, list_bytes);
        ms_vspace_read(ctx->vs, base, list, list_bytes); /* unreadable entries read as 0 */
        for (unsigned lo = 0; lo < 256 && !w.stop; lo++)
            walk_chain(&w, buf_ptr(L->ptr, list + (size_t)lo * L->pae_size + (size_t)L->pae_entry),
                       (uint16_t)(hi << 8 | lo));
    }
    if (w.dropped > 0 && ctx->kernel != NULL && max_ranges == 0)
        ms_kernel_log(ctx->kernel, MS_KLOG_DEBUG, "port pool 0x%llx: %zu links dropped (no InPA/TcpL/UdpA/TcpE "
                      "tag or failed checks)", (unsigned long long)pool, w.dropped);
    if (count != NULL)
        *count = (ms_vista_pool_count){w.found[MS_VK_LISTENER], w.found[MS_VK_UDP], w.found[MS_VK_TCB], ranges,
                                       w.port_ok, w.port_bad};
    ms_visit_set_free(&w.seen);
    free(list);
    return MS_OK;
}

ms_status ms_vista_walk_port_pool(ms_vista_ctx *ctx, uint64_t pool, ms_vista_row_fn fn, void *user,
                                  size_t *listeners, size_t *udp)
{
    int64_t assign = ctx->L.pp_assign;
    if (assign < 0) {
        char how[160];
        ms_status st = ms_vista_find_port_assignments(ctx, pool, &assign, how, sizeof how);
        if (st != MS_OK)
            return st;
    }
    ms_vista_pool_count c;
    ms_status st = ms_vista_walk_port_pool_at(ctx, pool, assign, 0, fn, user, &c);
    if (st != MS_OK)
        return st;
    if (listeners)
        *listeners = c.listeners;
    if (udp)
        *udp = c.udp;
    return MS_OK;
}

uint64_t ms_vista_port_pool(ms_vista_ctx *ctx, uint64_t global, int compartments)
{
    const ms_vista_layout *L = &ctx->L;
    uint64_t p = rd_ptr(ctx, global);
    if (!compartments || !ms_vista_kernel_ptr(L->ptr, p))
        return ms_vista_kernel_ptr(L->ptr, p) ? p : 0;
    if (L->cs_inet < 0 || L->ic_proto < 0 || L->pc_pool < 0)
        return 0;
    uint64_t inet = rd_ptr(ctx, p + (uint64_t)L->cs_inet);
    uint64_t proto = rd_ptr(ctx, inet + (uint64_t)L->ic_proto);
    uint64_t pool = rd_ptr(ctx, proto + (uint64_t)L->pc_pool);
    return ms_vista_kernel_ptr(L->ptr, pool) ? pool : 0;
}
