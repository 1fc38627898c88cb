/* netscan: network endpoints found by scanning physical memory for their
 * pool tags, merged with those tcpip.sys's tables lead to (one row per
 * object, with where it was found). */
#include <stdlib.h>

#include "net_rows.h"
#include "registry.h"

#define MAX_ROWS (1u << 22)

typedef struct rows {
    ms_net_endpoint *items;
    size_t count, cap;
    ms_status status;
} rows;

static int collect(const ms_net_endpoint *e, void *user)
{
    rows *r = user;
    if (r->count == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 256;
        ms_net_endpoint *p = cap <= MAX_ROWS ? realloc(r->items, cap * sizeof *p) : NULL;
        if (p == NULL) {
            r->status = ms_fail(MS_ERR_LIMIT, "more than %zu endpoints, or out of memory", r->cap);
            return 1;
        }
        r->items = p;
        r->cap = cap;
    }
    r->items[r->count++] = *e;
    return 0;
}

static int by_phys(const void *a, const void *b)
{
    const ms_net_endpoint *x = a, *y = b;
    return (x->offset_phys > y->offset_phys) - (x->offset_phys < y->offset_phys);
}

/* The walk's row for an object the scan found, or NULL. */
static ms_net_endpoint *find_walked(rows *walked, const ms_net_endpoint *e)
{
    size_t lo = 0, hi = walked->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (walked->items[mid].offset_phys < e->offset_phys)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (e->offset_phys != 0 && lo < walked->count && walked->items[lo].offset_phys == e->offset_phys)
        return &walked->items[lo];
    for (size_t i = 0; e->offset != 0 && i < walked->count; i++)
        if (walked->items[i].offset == e->offset)
            return &walked->items[i];
    return NULL;
}

static ms_status run(ms_plugin_context *ctx)
{
    ms_netrows out;
    ms_kernel *kernel;
    ms_net_options opts;
    ms_status st = ms_netrows_begin(&out, ctx, MS_NETROWS_NETSCAN, &kernel, &opts);
    if (st != MS_OK)
        return st;
    int xp = ms_kernel_get_info(kernel)->build < 6000;
    rows walked = {0}, scanned = {0};
    /* The walk only says which objects tcpip.sys still links: it may fail. */
    ms_status wst = xp ? ms_net_xp_connections(kernel, &opts, collect, &walked) : ms_net_walk(kernel, &opts, collect,
                                                                                               &walked);
    if (xp && wst == MS_OK)
        wst = ms_net_xp_sockets(kernel, &opts, collect, &walked);
    if (wst != MS_OK || walked.status != MS_OK)
        ms_plugin_log(ctx, MS_LOG_WARNING, "table walk: %s; Source shows scan only", ms_last_error());
    st = xp ? ms_net_xp_connscan(kernel, &opts, collect, &scanned) : ms_net_scan(kernel, &opts, collect, &scanned);
    if (xp && st == MS_OK)
        st = ms_net_xp_sockscan(kernel, &opts, collect, &scanned);
    if (st == MS_OK)
        st = scanned.status;
    if (st == MS_OK) {
        if (walked.count > 1)
            qsort(walked.items, walked.count, sizeof *walked.items, by_phys);
        uint8_t *matched = calloc(walked.count ? walked.count : 1, 1);
        if (matched == NULL)
            st = ms_fail(MS_ERR_NOMEM, "out of memory merging %zu rows", walked.count);
        for (size_t i = 0; i < scanned.count && st == MS_OK; i++) {
            ms_net_endpoint *e = &scanned.items[i];
            ms_net_endpoint *w = find_walked(&walked, e);
            if (w != NULL) {
                /* The walk decoded it through its virtual address: keep that decoding. */
                matched[w - walked.items] = 1;
                ms_net_endpoint merged = *w;
                merged.sources |= e->sources;
                if (merged.offset_phys == 0)
                    merged.offset_phys = e->offset_phys;
                st = ms_netrows_put(&out, &merged);
            } else {
                st = ms_netrows_put(&out, e);
            }
        }
        for (size_t i = 0; i < walked.count && st == MS_OK; i++)
            if (!matched[i])
                st = ms_netrows_put(&out, &walked.items[i]);
        free(matched);
    }
    free(walked.items);
    free(scanned.items);
    return st;
}

static const char *const aliases[] = {"windows.netscan", "windows.netscan.NetScan", NULL};

const ms_plugin ms_plugin_netscan = {
    "netscan",
    aliases,
    "Scan memory for connections and sockets",
    "Scans all physical memory in one pass for the pool tags of TCP endpoints (TcpE, TTcb), TIME_WAIT (TcTW) and "
    "SYN (TcSR) endpoints, listeners (TcpL) and UDP endpoints (UdpA). A block is kept when its pool header is "
    "nonpaged or free and large enough for the object, its address family is IPv4 or IPv6, a TCB's state is a "
    "TCP state and the owner pointer is a kernel address. The result is merged with the objects tcpip.sys's "
    "tables lead to (see netstat): one row per object, Source saying walk, scan or both. A row found only by "
    "the scan is a closed or unlinked object. Offset is the object's kernel virtual address, OffsetPhys its "
    "physical one. On Windows XP and Server 2003 the TCPT and TCPA scans (connscan, sockscan) run instead, "
    "merged with the connections and sockets walks.",
    MS_NETROWS_TABLE(ms_netrows_endpoint_options),
    MS_NETROWS_TABLE(ms_netrows_netscan_columns),
    MS_PLUGIN_NEEDS_MEMORY | MS_PLUGIN_NEEDS_X86,
    run,
};
