/* netscan: network endpoints found by scanning physical memory for their
 * pool tags, merged with those tcpip.sys's tables lead to (one row per
 * object, with where it was found). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "memsift/memsift.h"
#include "memsift/net.h"
#include "registry.h"

#define MAX_ROWS (1u << 22)

static const ms_option_spec options[] = {
    {"pid", MS_OPT_INT, "PID", "show only endpoints owned by this process"},
    {"proto", MS_OPT_STRING, "PROTO", "show only TCPv4, TCPv6, UDPv4 or UDPv6 (TCP or UDP: both versions)"},
    {"state", MS_OPT_STRING, "STATE", "show only TCP endpoints in this state (ESTABLISHED, TIME_WAIT, ...)"},
    {"listening", MS_OPT_FLAG, NULL, "show only listeners"},
    {"established", MS_OPT_FLAG, NULL, "show only established connections"},
    {"threads", MS_OPT_INT, "N", "scanning threads (default: one per CPU)"},
};

static const ms_column columns[] = {
    {"Offset", MS_VT_ADDR, 18},     {"Proto", MS_VT_STR, 5},      {"LocalAddr", MS_VT_STR, 25},
    {"LocalPort", MS_VT_UINT, 9},   {"ForeignAddr", MS_VT_STR, 25}, {"ForeignPort", MS_VT_UINT, 11},
    {"State", MS_VT_STR, 11},       {"PID", MS_VT_UINT, 6},       {"Owner", MS_VT_STR, 15},
    {"Created", MS_VT_TIME, 23},    {"Source", MS_VT_STR, 6},     {"OffsetPhys", MS_VT_ADDR, 12},
};

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

typedef struct filter {
    int by_pid;
    int64_t pid;
    const char *proto, *state;
    int listening, established;
} filter;

static int wanted(const filter *f, const ms_net_endpoint *e)
{
    if (f->by_pid && (!e->has_pid || e->pid != (uint64_t)f->pid))
        return 0;
    const char *proto = ms_net_proto_name(e);
    if (f->proto && strcasecmp(f->proto, proto) != 0 && strncasecmp(f->proto, proto, strlen(f->proto)) != 0)
        return 0;
    if (f->state && strcasecmp(f->state, e->state) != 0)
        return 0;
    if (f->listening && strcmp(e->state, "LISTENING") != 0)
        return 0;
    if (f->established && strcmp(e->state, "ESTABLISHED") != 0)
        return 0;
    return 1;
}

static ms_status emit(ms_plugin_context *ctx, const filter *f, const ms_net_endpoint *e)
{
    if (!wanted(f, e))
        return MS_OK;
    unsigned both = MS_NET_FROM_WALK | MS_NET_FROM_SCAN;
    const char *source = (e->sources & both) == both ? "both" : (e->sources & MS_NET_FROM_WALK) ? "walk" : "scan";
    int is_udp = e->protocol == 17 && e->kind != MS_NET_XP_CONNECTION;
    ms_value row[] = {
        e->offset ? ms_val_uint(e->offset) : ms_val_null(),
        ms_val_str(ms_net_proto_name(e)),
        ms_val_str(e->local_addr[0] ? e->local_addr : NULL),
        ms_val_uint(e->local_port),
        ms_val_str(e->foreign_addr[0] ? e->foreign_addr : is_udp ? "*" : NULL),
        ms_val_uint(e->foreign_port),
        ms_val_str(e->state),
        e->has_pid ? ms_val_uint(e->pid) : ms_val_null(),
        ms_val_str(e->owner[0] ? e->owner : NULL),
        ms_val_time(e->created),
        ms_val_str(source),
        e->offset_phys ? ms_val_uint(e->offset_phys) : ms_val_null(),
    };
    return ms_plugin_emit(ctx, row);
}

static void progress(void *user, uint64_t done, uint64_t total)
{
    ms_plugin_progress(user, done, total);
}

static ms_status parse_filter(ms_plugin_context *ctx, filter *f)
{
    memset(f, 0, sizeof *f);
    f->by_pid = ms_plugin_int(ctx, "pid", &f->pid) == MS_OK;
    f->proto = ms_plugin_string(ctx, "proto");
    f->state = ms_plugin_string(ctx, "state");
    f->listening = ms_plugin_flag(ctx, "listening");
    f->established = ms_plugin_flag(ctx, "established");
    static const char *const protos[] = {"TCP", "UDP", "TCPv4", "TCPv6", "UDPv4", "UDPv6", "RAW", "RAWv4", "RAWv6"};
    if (f->proto) {
        size_t i = 0;
        while (i < sizeof protos / sizeof protos[0] && strcasecmp(f->proto, protos[i]) != 0)
            i++;
        if (i == sizeof protos / sizeof protos[0])
            return ms_fail(MS_ERR_ARG, "--proto: expected TCP, UDP, TCPv4, TCPv6, UDPv4 or UDPv6, found '%s'",
                           f->proto);
    }
    return MS_OK;
}

static ms_status run(ms_plugin_context *ctx)
{
    filter f;
    ms_status st = parse_filter(ctx, &f);
    if (st != MS_OK)
        return st;
    ms_kernel *kernel;
    if ((st = ms_plugin_kernel(ctx, &kernel)) != MS_OK)
        return st;
    ms_net_options opts;
    ms_net_options_init(&opts);
    int64_t threads;
    if (ms_plugin_int(ctx, "threads", &threads) == MS_OK) {
        if (threads < 1 || threads > 64)
            return ms_fail(MS_ERR_ARG, "--threads: expected 1 to 64, found %lld", (long long)threads);
        opts.threads = (unsigned)threads;
    }
    opts.progress = progress;
    opts.progress_user = ctx;
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
                st = emit(ctx, &f, &merged);
            } else {
                st = emit(ctx, &f, e);
            }
        }
        for (size_t i = 0; i < walked.count && st == MS_OK; i++)
            if (!matched[i])
                st = emit(ctx, &f, &walked.items[i]);
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
    options,
    sizeof options / sizeof options[0],
    columns,
    sizeof columns / sizeof columns[0],
    MS_PLUGIN_NEEDS_MEMORY | MS_PLUGIN_NEEDS_X86,
    run,
};
