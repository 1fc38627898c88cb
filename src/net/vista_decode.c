/* Vista+: decoding TCBs, TIME_WAIT and SYN endpoints, listeners and UDP
 * endpoints into rows, following their pointers through the kernel's
 * address space. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "vista_net.h"

/* FILETIMEs of 1950-01-01 and 2200-01-01: outside, a CreateTime is noise. */
#define FILETIME_1950 0x0185d3a4bf5bc000ull
#define FILETIME_2200 0x029ef8d1c7bf8000ull

static const char *const state_names[14] = {
    "CLOSED",     "LISTENING", "SYN_SENT", "SYN_RCVD", "ESTABLISHED", "FIN_WAIT1", "FIN_WAIT2",
    "CLOSE_WAIT", "CLOSING",   "LAST_ACK", NULL,       NULL,          "TIME_WAIT", "DELETE_TCB",
};

const char *ms_vista_state_name(uint32_t state)
{
    return state < 14 ? state_names[state] : NULL;
}

void ms_vista_addr_text(int v6, const uint8_t *bytes, char *out, size_t size)
{
    char buf[INET6_ADDRSTRLEN];
    if (inet_ntop(v6 ? AF_INET6 : AF_INET, bytes, buf, sizeof buf) == NULL)
        buf[0] = '\0';
    snprintf(out, size, "%s", buf);
}

static uint64_t get_ptr(const ms_vista_layout *L, const uint8_t *buf, int64_t off)
{
    if (L->ptr == 8) {
        uint64_t v;
        memcpy(&v, buf + off, 8);
        return v;
    }
    uint32_t v;
    memcpy(&v, buf + off, 4);
    return v;
}

static uint16_t get_be16(const uint8_t *buf, int64_t off)
{
    return (uint16_t)((buf[off] << 8) | buf[off + 1]);
}

/* A pointer read from memory; 0 when unreadable. */
static uint64_t read_ptr(ms_vista_ctx *ctx, uint64_t va)
{
    uint64_t v = 0;
    if (!ms_vista_kernel_ptr(ctx->L.ptr, va) || ms_vspace_read_ptr(ctx->vs, va, &v) != MS_OK)
        return 0;
    return v;
}

uint32_t ms_vista_tag_before(ms_vspace *vs, unsigned hdr, uint64_t va)
{
    uint32_t tag = 0;
    if (va < hdr || ms_vspace_read_u32(vs, va - hdr + 4, &tag) != MS_OK)
        return 0;
    return tag;
}

int ms_vista_object_tagged(ms_vista_ctx *ctx, ms_vista_kind kind, uint64_t obj, char tag[5])
{
    const ms_vista_obj *o = &ctx->L.obj[kind];
    unsigned hdr = ctx->L.hdr;
    if (!o->present || !ms_vista_kernel_ptr(ctx->L.ptr, obj) || obj % (ctx->L.ptr == 8 ? 16 : 8) != 0)
        return 0;
    /* On x64 a TCB may also start one header further into its block. */
    for (unsigned back = hdr; back <= (ctx->L.ptr == 8 && kind == MS_VK_TCB ? 2 * hdr : hdr); back += hdr) {
        uint32_t t = ms_vista_tag_before(ctx->vs, back, obj);
        for (int i = 0; i < 2; i++) {
            if (o->tags[i][0] != '\0' && t == ms_pool_tag_value(o->tags[i])) {
                memcpy(tag, o->tags[i], 5);
                return 1;
            }
        }
    }
    return 0;
}

/* EPROCESS -> PID and name, cached. */
static int owner_of(ms_vista_ctx *ctx, uint64_t eprocess, ms_net_endpoint *out)
{
    ms_vista_owner_slot *slot = NULL;
    if (ctx->owners != NULL) {
        uint64_t h = (eprocess >> 4) * 0x9e3779b97f4a7c15ull;
        for (unsigned probe = 0; probe < 16; probe++) {
            ms_vista_owner_slot *s = &ctx->owners[(h + probe) % MS_VISTA_OWNER_SLOTS];
            if (s->eprocess == eprocess) {
                slot = s;
                goto found;
            }
            if (s->eprocess == 0) {
                slot = s;
                break;
            }
        }
    }
    ms_process proc;
    int ok = ctx->kernel != NULL && ms_kernel_read_process(ctx->kernel, eprocess, &proc) == MS_OK && proc.pid <= 0xffffffffu &&
             proc.pid % 4 == 0;
    if (slot != NULL) {
        slot->eprocess = eprocess;
        slot->ok = ok;
        slot->pid = ok ? proc.pid : 0;
        snprintf(slot->name, sizeof slot->name, "%s", ok ? proc.name : "");
    } else if (ok) {
        out->has_pid = 1;
        out->pid = proc.pid;
        snprintf(out->owner, sizeof out->owner, "%s", proc.name);
        return 1;
    }
    if (slot == NULL)
        return 0;
found:
    if (!slot->ok)
        return 0;
    out->has_pid = 1;
    out->pid = slot->pid;
    snprintf(out->owner, sizeof out->owner, "%s", slot->name);
    return 1;
}

/* InetAF -> AddressFamily: 4 or 6, 0 when it is neither AF_INET nor
 * Windows' AF_INET6 (23). */
static unsigned family(ms_vista_ctx *ctx, uint64_t inetaf)
{
    uint16_t af = 0;
    if (!ms_vista_kernel_ptr(ctx->L.ptr, inetaf) || ctx->L.inetaf_af < 0 ||
        ms_vspace_read_u16(ctx->vs, inetaf + (uint64_t)ctx->L.inetaf_af, &af) != MS_OK)
        return 0;
    return af == 2 ? 4 : af == 23 ? 6 : 0;
}

static int read_addr(ms_vista_ctx *ctx, uint64_t va, int v6, char *out, size_t size)
{
    uint8_t bytes[16];
    if (!ms_vista_kernel_ptr(ctx->L.ptr, va) || ms_vspace_read(ctx->vs, va, bytes, v6 ? 16 : 4) != MS_OK)
        return 0;
    ms_vista_addr_text(v6, bytes, out, size);
    return 1;
}

/* _LOCAL_ADDRESS -> pData -> pointer -> address bytes; or, for Windows 10
 * x64 UDP endpoints, _LOCAL_ADDRESS_WIN10_UDP -> pData -> bytes. */
static int local_address(ms_vista_ctx *ctx, uint64_t local, int v6, int udp, char *out, size_t size)
{
    const ms_vista_layout *L = &ctx->L;
    if (udp && L->udp_local_direct)
        return read_addr(ctx, read_ptr(ctx, local + (uint64_t)L->udp_local_pdata), v6, out, size);
    if (L->local_pdata < 0)
        return 0;
    uint64_t pdata = read_ptr(ctx, local + (uint64_t)L->local_pdata);
    return read_addr(ctx, read_ptr(ctx, pdata), v6, out, size);
}

static void wildcard(int v6, char *out, size_t size)
{
    snprintf(out, size, "%s", v6 ? "::" : "0.0.0.0");
}

static uint64_t created(const ms_vista_obj *o, const uint8_t *buf)
{
    uint64_t t = 0;
    if (o->ctime >= 0)
        memcpy(&t, buf + o->ctime, 8);
    return t > FILETIME_1950 && t < FILETIME_2200 ? t : 0;
}

static ms_status owner_field(ms_vista_ctx *ctx, uint64_t eprocess, ms_net_endpoint *out)
{
    if (eprocess == 0)
        return MS_OK;
    if (!ms_vista_kernel_ptr(ctx->L.ptr, eprocess))
        return ms_fail(MS_ERR_FORMAT, "owner 0x%llx is not a kernel address", (unsigned long long)eprocess);
    owner_of(ctx, eprocess, out);
    return MS_OK;
}

static ms_status decode_tcb(ms_vista_ctx *ctx, const ms_vista_obj *o, const uint8_t *buf, ms_net_endpoint *out)
{
    const ms_vista_layout *L = &ctx->L;
    uint32_t state;
    memcpy(&state, buf + o->state, 4);
    const char *name = ms_vista_state_name(state);
    if (name == NULL)
        return ms_fail(MS_ERR_FORMAT, "TCB state %u is not a TCP state", state);
    snprintf(out->state, sizeof out->state, "%s", name);
    int v6 = out->family == 6;
    uint64_t ai = o->addrinfo >= 0 ? get_ptr(L, buf, o->addrinfo) : 0;
    int have_local = 0;
    if (ai != 0) {
        if (!ms_vista_kernel_ptr(L->ptr, ai))
            return ms_fail(MS_ERR_FORMAT, "TCB AddrInfo 0x%llx is not a kernel address", (unsigned long long)ai);
        if (L->ai_local >= 0)
            have_local = local_address(ctx, read_ptr(ctx, ai + (uint64_t)L->ai_local), v6, 0, out->local_addr,
                                       sizeof out->local_addr);
        /* No remote address: a TCB bound to its port, not connected. */
        uint64_t remote = 0;
        if (L->ai_remote >= 0 && ms_vspace_read_ptr(ctx->vs, ai + (uint64_t)L->ai_remote, &remote) == MS_OK) {
            if (remote == 0)
                wildcard(v6, out->foreign_addr, sizeof out->foreign_addr);
            else
                read_addr(ctx, remote, v6, out->foreign_addr, sizeof out->foreign_addr);
        }
    }
    ms_status st = o->owner >= 0 ? owner_field(ctx, get_ptr(L, buf, o->owner), out) : MS_OK;
    if (st != MS_OK)
        return st;
    /* Without a local address, only a real owner makes it a TCB. */
    if (!have_local && (!out->has_pid || out->pid == 0 || out->pid > 0xffff))
        return ms_fail(MS_ERR_FORMAT, "TCB with neither a local address nor an owner");
    return MS_OK;
}

static void decode_special(ms_vista_ctx *ctx, ms_vista_kind kind, const ms_vista_obj *o, const uint8_t *buf,
                           ms_net_endpoint *out)
{
    const ms_vista_layout *L = &ctx->L;
    int v6 = out->family == 6;
    snprintf(out->state, sizeof out->state, "%s", kind == MS_VK_SYN ? "SYN_RCVD" : "TIME_WAIT");
    if (o->laddr >= 0)
        local_address(ctx, get_ptr(L, buf, o->laddr), v6, 0, out->local_addr, sizeof out->local_addr);
    if (o->raddr >= 0) {
        if (o->inline_remote)
            ms_vista_addr_text(v6, buf + o->raddr, out->foreign_addr, sizeof out->foreign_addr);
        else
            read_addr(ctx, get_ptr(L, buf, o->raddr), v6, out->foreign_addr, sizeof out->foreign_addr);
    }
    if (kind == MS_VK_SYN && o->owner >= 0 && L->syn_process >= 0) {
        uint64_t syn_owner = get_ptr(L, buf, o->owner);
        if (ms_vista_kernel_ptr(L->ptr, syn_owner))
            owner_field(ctx, read_ptr(ctx, syn_owner + (uint64_t)L->syn_process), out);
    }
}

static ms_status decode_socket(ms_vista_ctx *ctx, ms_vista_kind kind, const ms_vista_obj *o, const uint8_t *buf,
                               ms_net_endpoint *out)
{
    const ms_vista_layout *L = &ctx->L;
    int v6 = out->family == 6, udp = kind == MS_VK_UDP;
    out->local_port = get_be16(buf, o->port);
    uint64_t local = o->laddr >= 0 ? get_ptr(L, buf, o->laddr) : 0;
    if (local == 0)
        wildcard(v6, out->local_addr, sizeof out->local_addr);
    else if (!ms_vista_kernel_ptr(L->ptr, local))
        return ms_fail(MS_ERR_FORMAT, "LocalAddr 0x%llx is not a kernel address", (unsigned long long)local);
    else
        local_address(ctx, local, v6, udp, out->local_addr, sizeof out->local_addr);
    if (udp) {
        snprintf(out->foreign_addr, sizeof out->foreign_addr, "*");
    } else {
        wildcard(v6, out->foreign_addr, sizeof out->foreign_addr);
        snprintf(out->state, sizeof out->state, "LISTENING");
    }
    return o->owner >= 0 ? owner_field(ctx, get_ptr(L, buf, o->owner), out) : MS_OK;
}

ms_status ms_vista_decode(ms_vista_ctx *ctx, ms_vista_kind kind, const uint8_t *buf, size_t len,
                          ms_net_endpoint *out)
{
    if (ctx == NULL || buf == NULL || out == NULL || kind >= MS_VK_COUNT)
        return ms_fail(MS_ERR_ARG, "ms_vista_decode needs a context, bytes and a row");
    const ms_vista_layout *L = &ctx->L;
    const ms_vista_obj *o = &L->obj[kind];
    if (!o->present)
        return ms_fail(MS_ERR_UNSUPPORTED, "profile %s has no layout for this object", ctx->profile_name);
    if (len < o->size)
        return ms_fail(MS_ERR_TRUNCATED, "object of %zu bytes, its layout needs %u", len, o->size);
    memset(out, 0, sizeof *out);
    out->family = family(ctx, get_ptr(L, buf, o->af));
    if (out->family == 0)
        return ms_fail(MS_ERR_FORMAT, "InetAF does not lead to AF_INET or AF_INET6");
    out->plausible = 1;
    out->created = created(o, buf);
    switch (kind) {
    case MS_VK_TCB:
    case MS_VK_TIMEWAIT:
    case MS_VK_SYN:
        out->kind = MS_NET_TCP_ENDPOINT;
        out->protocol = 6;
        out->local_port = get_be16(buf, o->lport);
        out->foreign_port = get_be16(buf, o->rport);
        if (kind == MS_VK_TCB)
            return decode_tcb(ctx, o, buf, out);
        decode_special(ctx, kind, o, buf, out);
        return MS_OK;
    case MS_VK_LISTENER:
        out->kind = MS_NET_TCP_LISTENER;
        out->protocol = 6;
        return decode_socket(ctx, kind, o, buf, out);
    case MS_VK_UDP:
        out->kind = MS_NET_UDP_ENDPOINT;
        out->protocol = 17;
        return decode_socket(ctx, kind, o, buf, out);
    default:
        return ms_fail(MS_ERR_ARG, "unknown object kind %d", (int)kind);
    }
}
