/* Vista+: field offsets from the tcpip profile, the profile choice, and
 * the context every entry point opens. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kernel_internal.h"
#include "vista_net.h"

static int64_t field(const ms_profile *p, const char *type, const char *name)
{
    uint32_t off;
    if (p == NULL || ms_profile_field(p, type, name, &off) != MS_OK)
        return -1;
    return off;
}

static void grow_size(ms_vista_obj *o, int64_t off, uint32_t width)
{
    if (off >= 0 && (uint64_t)off + width > o->size)
        o->size = (uint32_t)off + width;
}

static void finish_obj(ms_vista_obj *o, unsigned ptr)
{
    o->size = 0;
    grow_size(o, o->list, 2 * ptr);
    grow_size(o, o->af, ptr);
    grow_size(o, o->addrinfo, ptr);
    grow_size(o, o->state, 4);
    grow_size(o, o->lport, 2);
    grow_size(o, o->rport, 2);
    grow_size(o, o->owner, ptr);
    grow_size(o, o->ctime, 8);
    grow_size(o, o->laddr, ptr);
    grow_size(o, o->raddr, o->inline_remote ? 16 : ptr);
    grow_size(o, o->port, 2);
    grow_size(o, o->next, ptr);
}

static void set_tags(ms_vista_obj *o, const char *a, const char *b)
{
    snprintf(o->tags[0], sizeof o->tags[0], "%s", a);
    snprintf(o->tags[1], sizeof o->tags[1], "%s", b ? b : "");
}

static void load_obj(const ms_profile *p, const char *type, ms_vista_obj *o)
{
    o->list = field(p, type, "ListEntry");
    o->af = field(p, type, "InetAF");
    o->addrinfo = field(p, type, "AddrInfo");
    o->state = field(p, type, "State");
    o->lport = field(p, type, "LocalPort");
    o->rport = field(p, type, "RemotePort");
    o->owner = field(p, type, "Owner");
    o->ctime = field(p, type, "CreateTime");
    o->laddr = field(p, type, "LocalAddr");
    o->raddr = field(p, type, "RemoteAddress");
    o->inline_remote = 0;
    if (o->raddr < 0 && (o->raddr = field(p, type, "RemoteAddressInline")) >= 0)
        o->inline_remote = 1;
    o->port = field(p, type, "Port");
    o->next = field(p, type, "Next");
}

/* Windows 10 and later x64 publish no TIME_WAIT or SYN layout; for
 * profiles that do not carry the facts: TIME_WAIT: MemProcFS's TcTW
 * offsets (link first, remote address bytes inline, CreateTime 0x98); SYN:
 * the 8.1 x64 _TCP_SYN_ENDPOINT, whose 0x68 bytes are the size of the
 * TcSR blocks tcpip 10.0.19041 allocates.  Both are unverified on real
 * images beyond those sources. */
static void default_timewait(ms_vista_obj *o)
{
    *o = (ms_vista_obj){1, 0x0, 0x30, -1, -1, 0x4a, 0x4c, -1, 0x98, 0x50, 0x58, -1, -1, 1, 0, {"", ""}};
}

static void default_syn(ms_vista_obj *o)
{
    *o = (ms_vista_obj){1, 0x10, 0x30, -1, -1, 0x64, 0x66, 0x40, -1, 0x38, 0x50, -1, -1, 0, 0, {"", ""}};
}

ms_status ms_vista_layout_from_profile(const ms_profile *p, const ms_profile *nt, uint32_t build, ms_vista_layout *L)
{
    if (p == NULL || L == NULL)
        return ms_fail(MS_ERR_ARG, "ms_vista_layout_from_profile needs a profile and an out-parameter");
    memset(L, 0, sizeof *L);
    L->profile = p;
    L->ptr = ms_profile_pointer_size(p);
    if (L->ptr != 4 && L->ptr != 8)
        return ms_fail(MS_ERR_FORMAT, "tcpip profile %s has pointer size %u", ms_profile_name(p), L->ptr);
    L->pool = L->ptr == 8 ? MS_POOL_X64 : MS_POOL_X86;
    L->hdr = ms_pool_header_size(L->pool);
    L->inetaf_af = field(p, "_INETAF", "AddressFamily");
    L->ai_local = field(p, "_ADDRINFO", "Local");
    L->ai_remote = field(p, "_ADDRINFO", "Remote");
    L->local_pdata = field(p, "_LOCAL_ADDRESS", "pData");
    L->udp_local_pdata = field(p, "_LOCAL_ADDRESS_WIN10_UDP", "pData");
    L->udp_local_direct = L->udp_local_pdata >= 0;
    L->syn_process = field(p, "_SYN_OWNER", "Process");
    uint32_t size = 0;
    if (ms_profile_struct_size(p, "_PARTITION", &size) == MS_OK)
        L->part_size = size;
    L->part_endpoints = field(p, "_PARTITION", "Endpoints");
    L->part_unknown = field(p, "_PARTITION", "UnknownHashTable");
    L->pp_assign = field(p, "_INET_PORT_POOL", "PortAssignments");
    L->pa_base = field(p, "_PORT_ASSIGNMENT", "InPaBigPoolBase");
    if (ms_profile_struct_size(p, "_PORT_ASSIGNMENT_ENTRY", &size) == MS_OK)
        L->pae_size = size;
    L->pae_entry = field(p, "_PORT_ASSIGNMENT_ENTRY", "Entry");
    L->cs_inet = field(p, "_INET_COMPARTMENT_SET", "InetCompartment");
    L->ic_proto = field(p, "_INET_COMPARTMENT", "ProtocolCompartment");
    L->pc_pool = field(p, "_PROTOCOL_COMPARTMENT", "PortPool");

    /* nt!_RTL_DYNAMIC_HASH_TABLE: the same layout on every build. */
    L->ht_size = L->ptr == 8 ? 0x28 : 0x24;
    L->ht_table_size = 0x8;
    L->ht_num_entries = 0x14;
    L->ht_directory = 0x20;
    if (nt != NULL && ms_profile_struct_size(nt, "_RTL_DYNAMIC_HASH_TABLE", &size) == MS_OK && size >= 0x24 &&
        size <= 0x40) {
        int64_t v;
        L->ht_size = size;
        if ((v = field(nt, "_RTL_DYNAMIC_HASH_TABLE", "TableSize")) >= 0)
            L->ht_table_size = v;
        if ((v = field(nt, "_RTL_DYNAMIC_HASH_TABLE", "NumEntries")) >= 0)
            L->ht_num_entries = v;
        if ((v = field(nt, "_RTL_DYNAMIC_HASH_TABLE", "Directory")) >= 0)
            L->ht_directory = v;
    }

    static const char *const types[MS_VK_COUNT] = {"_TCP_ENDPOINT", "_TCP_TIMEWAIT_ENDPOINT", "_TCP_SYN_ENDPOINT",
                                                   "_TCP_LISTENER", "_UDP_ENDPOINT"};
    for (int k = 0; k < MS_VK_COUNT; k++) {
        ms_vista_obj *o = &L->obj[k];
        load_obj(p, types[k], o);
        o->present = o->af >= 0;
    }
    ms_vista_obj *tw = &L->obj[MS_VK_TIMEWAIT], *syn = &L->obj[MS_VK_SYN];
    if (!tw->present && L->ptr == 8 && build >= 10240)
        default_timewait(tw);
    if (!syn->present && L->ptr == 8 && build >= 10240) {
        default_syn(syn);
        if (L->syn_process < 0)
            L->syn_process = 0x28;
    }
    ms_vista_obj *tcb = &L->obj[MS_VK_TCB];
    if (!tcb->present || tcb->list < 0 || tcb->state < 0 || tcb->lport < 0 || tcb->rport < 0)
        return ms_fail(MS_ERR_FORMAT, "tcpip profile %s lacks _TCP_ENDPOINT's InetAF, ListEntry, State or ports",
                       ms_profile_name(p));
    set_tags(tcb, "TcpE", "TTcb");
    set_tags(tw, "TcTW", NULL);
    set_tags(syn, "TcSR", NULL);
    set_tags(&L->obj[MS_VK_LISTENER], "TcpL", NULL);
    set_tags(&L->obj[MS_VK_UDP], "UdpA", NULL);
    for (int k = 0; k < MS_VK_COUNT; k++) {
        ms_vista_obj *o = &L->obj[k];
        /* Without Next the port-pool chains cannot be followed (the walk
         * skips the kind), but a pool scan still decodes the objects. */
        if (o->present && (k == MS_VK_LISTENER || k == MS_VK_UDP) && o->port < 0)
            o->present = 0;
        if (o->present && (k == MS_VK_TIMEWAIT || k == MS_VK_SYN) &&
            (o->list < 0 || o->lport < 0 || o->rport < 0))
            o->present = 0;
        finish_obj(o, L->ptr);
    }
    return MS_OK;
}

/* ---- the context ---- */

static int file_revision(const char *version)
{
    unsigned a, b, c, d;
    if (version == NULL || sscanf(version, "%u.%u.%u.%u", &a, &b, &c, &d) != 4 || d > 65535)
        return -1;
    return (int)d;
}

/* A profile whose builds hold the image's, for tcpip.sys's revision (or,
 * when it is unknown, a profile whose revisions start at 0).  Later
 * profiles (a user's) win. */
static const ms_profile *exact_profile(ms_profile_db *db, unsigned ptr, uint32_t build, int revision)
{
    for (size_t i = ms_profile_db_count(db); i-- > 0;) {
        const ms_profile *p = ms_profile_db_at(db, i);
        if (strcmp(ms_profile_module(p), "tcpip") != 0 || ms_profile_pointer_size(p) != ptr ||
            build < ms_profile_build_min(p) || build > ms_profile_build_max(p))
            continue;
        if (revision < 0 ? ms_profile_revision_min(p) == 0
                         : (uint32_t)revision >= ms_profile_revision_min(p) &&
                               (uint32_t)revision <= ms_profile_revision_max(p))
            return p;
    }
    return NULL;
}

ms_status ms_vista_ctx_open(ms_kernel *kernel, ms_vista_ctx *ctx)
{
    if (kernel == NULL || ctx == NULL)
        return ms_fail(MS_ERR_ARG, "ms_vista_ctx_open needs a kernel and a context");
    memset(ctx, 0, sizeof *ctx);
    ctx->kernel = kernel;
    ctx->vs = ms_kernel_vspace(kernel);
    ctx->info = ms_kernel_get_info(kernel);
    ctx->revision = -1;
    uint32_t build = ctx->info->build;
    if (build < 6000)
        return ms_fail(MS_ERR_UNSUPPORTED, "build %u is older than Vista: use the XP/2003 plugins (connscan, "
                       "sockscan, connections, sockets)", build);
    if (ms_kernel_find_module(kernel, "tcpip.sys", &ctx->tcpip) == MS_OK) {
        ctx->have_module = 1;
        ctx->revision = file_revision(ctx->tcpip.file_version);
    } else {
        ms_kernel_log(kernel, MS_KLOG_WARNING, "tcpip.sys is not in the module list (%s): no table walk, "
                      "only a pool scan can find endpoints", ms_last_error());
    }
    ms_profile_db *db = ms_kernel_profiles(kernel);
    unsigned ptr = ctx->info->pointer_size;
    const ms_profile *p = exact_profile(db, ptr, build, ctx->revision);
    if (p == NULL && ctx->revision >= 0) {
        p = exact_profile(db, ptr, build, -1);
        if (p != NULL)
            ms_kernel_log(kernel, MS_KLOG_WARNING, "no tcpip profile names tcpip.sys revision %d of build %u; "
                          "using %s", ctx->revision, build, ms_profile_name(p));
    }
    if (p == NULL) {
        int exact = 0;
        ms_status st = ms_profile_db_find(db, "tcpip", ptr, build, &p, &exact);
        if (st != MS_OK)
            return st;
        if (ms_profile_build_max(p) < 6000)
            return ms_fail(MS_ERR_NOT_FOUND, "no Vista+ tcpip profile for %u-bit build %u (nearest: %s)", ptr * 8,
                           build, ms_profile_name(p));
        ms_kernel_log(kernel, MS_KLOG_WARNING, "no tcpip profile for build %u; using the nearest, %s (builds "
                      "%u-%u)", build, ms_profile_name(p), ms_profile_build_min(p), ms_profile_build_max(p));
    }
    ms_status st = ms_vista_layout_from_profile(p, ms_kernel_profile(kernel), build, &ctx->L);
    if (st != MS_OK)
        return st;
    snprintf(ctx->profile_name, sizeof ctx->profile_name, "%s", ms_profile_name(p));
    ctx->owners = calloc(MS_VISTA_OWNER_SLOTS, sizeof *ctx->owners);
    if (ctx->owners == NULL)
        return ms_fail(MS_ERR_NOMEM, "out of memory for the owner cache");
    ms_kernel_log(kernel, MS_KLOG_DEBUG, "tcpip layouts: profile %s", ctx->profile_name);
    return MS_OK;
}

void ms_vista_ctx_close(ms_vista_ctx *ctx)
{
    if (ctx == NULL)
        return;
    free(ctx->owners);
    ctx->owners = NULL;
}

int ms_vista_kernel_ptr(unsigned ptr, uint64_t va)
{
    if (ptr == 8)
        return va >= 0xffff800000000000ull && va < 0xfffffffffffff000ull;
    return va >= 0x80000000ull && va < 0xfffff000ull;
}

uint64_t ms_vista_tag_mask(unsigned ptr)
{
    return ptr == 8 ? ~(uint64_t)7 : ~(uint64_t)3;
}
