/* XP / Server 2003 tcpip.sys: the TCB hash table and the address object
 * table at the RVAs of one Volatility 2 address set, with `TCPT`
 * (_TCPT_OBJECT) and `TCPA` (_ADDRESS_OBJECT) pool blocks.
 *
 * Facts used (no code): Volatility 2 volatility/win32/network.py (address
 * sets, each tried in turn by connections/sockets: pointer at TCBTable to an
 * array of MaxHashTableSize _TCPT_OBJECT pointers, each a Next chain; same
 * for AddrObjTable/AddrObjTableSize) and
 * volatility/plugins/overlays/windows/tcpip_vtypes.py (layouts), both as
 * recorded in profiles/tcpip/{xp-x86,2003-x86,2003sp0-x86,2003-x64}.prof. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_xp.h"

static const char *const global_names[XP_NGLOBALS] = {"TCBTable", "MaxHashTableSize", "AddrObjTable",
                                                      "AddrObjTableSize"};

/* The tcpip profile and address set of a target.  Volatility 2 has no
 * version check (it tries every set of the XP or 2003 list); the set chosen
 * here is named after a file revision, and tcpip.sys's FileVersion says it. */
static ig_status choose_set(const ig_ctx *c, xp_net *n, const char **prof)
{
    const ig_target *t = c->t;
    const char *label = NULL;
    if (t->build == 2600 && t->mode != IG_MODE_X64) {
        *prof = "xp-x86";
        label = t->sp >= 3 ? "5625" : "2180";
        n->lab = t->sp >= 3 ? "xpsp_sp3_gdr.080620-1230" : "xpsp_sp2_rtm.040803-2158";
        n->timestamp = t->sp >= 3 ? 0x485C0538u : 0x41106CD8u; /* 2008-06-20, 2004-08-04 */
    } else if (t->build == 3790 && t->mode == IG_MODE_X64) {
        *prof = "2003-x64";
        label = "3959_x64";
        n->lab = "srv03_sp2_rtm.070216-1710";
        n->timestamp = 0x45D655E8u; /* 2007-02-17 */
    } else if (t->build == 3790) {
        *prof = t->sp >= 1 ? "2003-x86" : "2003sp0-x86";
        label = t->sp >= 1 ? "3959" : "3790";
        n->lab = t->sp >= 1 ? "srv03_sp2_rtm.070216-1710" : "srv03_rtm.030324-2048";
        n->timestamp = t->sp >= 1 ? 0x45D655E8u : 0x3E7FDF80u; /* 2007-02-17, 2003-03-25 */
    } else {
        return ig_fail("no XP/2003 tcpip profile for build %u", t->build);
    }
    snprintf(n->set, sizeof n->set, "%s", label);
    n->ver[0] = (uint16_t)t->major;
    n->ver[1] = (uint16_t)t->minor;
    n->ver[2] = (uint16_t)t->build;
    n->ver[3] = (uint16_t)(strcmp(label, "3790") == 0 ? 0 : atoi(label));
    return IG_OK;
}

/* `candidate SET NAME RVA` lines (prof.c skips them). */
static ig_status read_candidates(const char *path, xp_net *n)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return ig_fail("cannot open tcpip profile %s", path);
    char line[256], set[32], name[64];
    unsigned long long rva;
    int found = 0;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "candidate %31s %63s %llx", set, name, &rva) != 3)
            continue;
        if (n->ncand < XP_MAX_CANDS)
            n->cand_rva[n->ncand++] = rva;
        if (strcmp(set, n->set) != 0)
            continue;
        for (int i = 0; i < XP_NGLOBALS; i++)
            if (strcmp(name, global_names[i]) == 0) {
                n->rva[i] = rva;
                found |= 1 << i;
            }
    }
    fclose(f);
    if (found != (1 << XP_NGLOBALS) - 1)
        return ig_fail("%s: address set %s is incomplete", path, n->set);
    return IG_OK;
}

static ig_status field(const ig_prof *p, const char *st, const char *name, long *out)
{
    *out = ig_prof_field(p, st, name);
    if (*out < 0)
        return ig_fail("tcpip profile has no %s.%s", st, name);
    return IG_OK;
}

static ig_status load_layout(ig_ctx *c, xp_net *n)
{
    const char *pname = NULL;
    if (choose_set(c, n, &pname) != IG_OK)
        return IG_ERR;
    char path[1024];
    snprintf(path, sizeof path, "%s/tcpip/%s.prof", ig_profile_dir, pname);
    ig_prof *p;
    if (ig_prof_load(path, &p) != IG_OK)
        return IG_ERR;
    const char *T = "_TCPT_OBJECT", *A = "_ADDRESS_OBJECT";
    ig_status s = IG_OK;
    s |= field(p, T, "Next", &n->t_next);
    s |= field(p, T, "RemoteIpAddress", &n->t_raddr);
    s |= field(p, T, "LocalIpAddress", &n->t_laddr);
    s |= field(p, T, "RemotePort", &n->t_rport);
    s |= field(p, T, "LocalPort", &n->t_lport);
    s |= field(p, T, "Pid", &n->t_pid);
    s |= field(p, A, "Next", &n->a_next);
    s |= field(p, A, "LocalIpAddress", &n->a_laddr);
    s |= field(p, A, "LocalPort", &n->a_lport);
    s |= field(p, A, "Protocol", &n->a_proto);
    s |= field(p, A, "Pid", &n->a_pid);
    s |= field(p, A, "CreateTime", &n->a_ctime);
    ig_prof_free(p);
    if (s != IG_OK)
        return IG_ERR;
    n->x64 = c->ptr == 8;
    /* Bodies large enough for Volatility 2's scan constraints (TCPT blocks
     * >= 0x198 bytes, TCPA >= 0x15C) and for every field. */
    n->t_body = n->x64 ? 0x2D0 : 0x1B0;
    n->a_body = n->x64 ? 0x250 : 0x170;
    if ((size_t)n->a_ctime + 8 > n->a_body || (size_t)n->t_pid + 4 > n->t_body)
        return ig_fail("tcpip profile fields pass the object sizes");
    return read_candidates(path, n);
}

/* ---- the scenario ---- */

static uint32_t pid_of(const ig_ctx *c, const char *name, int nth)
{
    for (int i = 0; i < c->nprocs; i++)
        if (strncmp(c->procs[i].name, name, strlen(name)) == 0 && nth-- == 0)
            return c->procs[i].pid;
    return 0;
}

static uint64_t started(const ig_ctx *c, uint32_t pid)
{
    for (int i = 0; i < c->nprocs; i++)
        if (c->procs[i].pid == pid && c->procs[i].create_time)
            return c->procs[i].create_time;
    return c->boot_time;
}

static xp_obj *add(xp_net *n, int sock, xp_state st)
{
    if (n->nobjs >= XP_MAX_OBJS)
        return NULL;
    xp_obj *o = &n->objs[n->nobjs++];
    memset(o, 0, sizeof *o);
    o->sock = sock;
    o->state = st;
    o->bucket = -1;
    return o;
}

static void ip4(uint8_t out[4], unsigned a, unsigned b, unsigned c, unsigned d)
{
    out[0] = (uint8_t)a;
    out[1] = (uint8_t)b;
    out[2] = (uint8_t)c;
    out[3] = (uint8_t)d;
}

/* A routable unicast address outside private and reserved ranges. */
static void public_ip(ig_ctx *c, uint8_t out[4])
{
    for (;;) {
        unsigned a = (unsigned)ig_rng_range(&c->rng, 12, 221);
        unsigned b = (unsigned)ig_rng_range(&c->rng, 0, 255);
        if (a == 127 || a == 169 || (a == 172 && b >= 16 && b < 32) || (a == 192 && b == 168) || a == 100)
            continue;
        ip4(out, a, b, (unsigned)ig_rng_range(&c->rng, 0, 255), (unsigned)ig_rng_range(&c->rng, 1, 254));
        return;
    }
}

static ig_status add_listener(ig_ctx *c, xp_net *n, uint32_t pid, const uint8_t addr[4], uint16_t port,
                              uint16_t proto)
{
    xp_obj *o = add(n, 1, XP_LIVE);
    if (o == NULL || pid == 0)
        return ig_fail("XP network scenario: too many objects or a missing process");
    memcpy(o->laddr, addr, 4);
    o->lport = port;
    o->proto = proto;
    o->pid = pid;
    o->ctime = started(c, pid) + ig_rng_range(&c->rng, 20, 900) * 1000000ull;
    return IG_OK;
}

/* An outgoing connection and, when its socket is still open, the address
 * object connect() bound to 0.0.0.0:<local port> (netstat on NT printed it
 * as LISTENING). */
static xp_obj *add_conn(ig_ctx *c, xp_net *n, xp_state st, uint32_t pid, const uint8_t raddr[4], uint16_t rport,
                        uint16_t lport, int with_socket)
{
    xp_obj *o = add(n, 0, st);
    if (o == NULL)
        return NULL;
    memcpy(o->laddr, n->nic, 4);
    memcpy(o->raddr, raddr, 4);
    o->lport = lport;
    o->rport = rport;
    o->pid = pid;
    if (with_socket) {
        xp_obj *s = add(n, 1, st);
        if (s == NULL)
            return NULL;
        s->lport = lport;
        s->proto = 6;
        s->pid = pid;
        s->role_conn = 1;
        uint64_t lo = started(c, pid) + 60 * 10000000ull;
        uint64_t t = c->system_time - ig_rng_range(&c->rng, 30, 5400) * 10000000ull;
        s->ctime = (t > lo ? t : lo) + ig_rng_range(&c->rng, 0, 9999999);
    }
    return o;
}

static ig_status scenario(ig_ctx *c, xp_net *n)
{
    uint32_t sys = pid_of(c, "System", 0), rpc = pid_of(c, "svchost.exe", 0), netsvcs = pid_of(c, "svchost.exe", 2);
    uint32_t netsvc = pid_of(c, "svchost.exe", 1), locsvc = pid_of(c, "svchost.exe", 3);
    uint32_t lsass = pid_of(c, "lsass.exe", 0), explorer = pid_of(c, "explorer.exe", 0);
    uint32_t gupdate = pid_of(c, "GoogleUpdateSe", 0);
    if (!sys || !rpc || !netsvcs || !netsvc || !locsvc || !lsass || !explorer || !gupdate)
        return ig_fail("XP network scenario: a process it needs is missing");
    uint32_t maxpid = 0;
    for (int i = 0; i < c->nprocs; i++)
        maxpid = c->procs[i].pid > maxpid ? c->procs[i].pid : maxpid;
    uint32_t gone = maxpid + 4 * (uint32_t)ig_rng_range(&c->rng, 3, 60); /* a process no longer listed */

    unsigned subnet = (unsigned)ig_rng_range(&c->rng, 0, 20);
    ip4(n->nic, 192, 168, subnet, (unsigned)ig_rng_range(&c->rng, 100, 199));
    ip4(n->server, 192, 168, subnet, (unsigned)ig_rng_range(&c->rng, 2, 20));
    const uint8_t any[4] = {0, 0, 0, 0}, loop[4] = {127, 0, 0, 1};

    /* listeners of a freshly booted XP / 2003 machine */
    ig_status s = IG_OK;
    s |= add_listener(c, n, rpc, any, 135, 6);
    s |= add_listener(c, n, sys, any, 445, 6);
    s |= add_listener(c, n, sys, any, 445, 17);
    s |= add_listener(c, n, sys, n->nic, 139, 6);
    s |= add_listener(c, n, sys, n->nic, 137, 17);
    s |= add_listener(c, n, sys, n->nic, 138, 17);
    s |= add_listener(c, n, sys, any, 0, 47);      /* raw GRE (PPTP) */
    s |= add_listener(c, n, lsass, any, 500, 17);
    s |= add_listener(c, n, lsass, any, 4500, 17);
    s |= add_listener(c, n, lsass, any, 0, 255);   /* raw IP */
    s |= add_listener(c, n, netsvcs, loop, 123, 17);
    s |= add_listener(c, n, netsvcs, n->nic, 123, 17);
    s |= add_listener(c, n, netsvcs, any, 0, 1);   /* raw ICMP */
    s |= add_listener(c, n, locsvc, loop, 1900, 17);
    s |= add_listener(c, n, locsvc, n->nic, 1900, 17);
    s |= add_listener(c, n, netsvc, any, (uint16_t)ig_rng_range(&c->rng, 1025, 1029), 17);
    s |= add_listener(c, n, netsvcs, any, 0, 0);   /* raw, protocol 0 */
    if (s != IG_OK)
        return IG_ERR;

    /* live connections; the first three share one TCB hash bucket */
    uint16_t port = (uint16_t)ig_rng_range(&c->rng, 1030, 1400);
    uint8_t r[4];
    int chain = (int)ig_rng_range(&c->rng, 0, 0x1FF);
    struct { uint32_t pid; uint16_t rport; int sock; int chained; } live[] = {
        {explorer, 80, 1, 1}, {explorer, 443, 1, 1}, {gupdate, 443, 1, 1},
        {netsvcs, 80, 1, 0},  {explorer, 80, 1, 0},  {gone, 80, 0, 0},
    };
    for (size_t i = 0; i < sizeof live / sizeof *live; i++) {
        public_ip(c, r);
        port = (uint16_t)(port + ig_rng_range(&c->rng, 1, 40));
        xp_obj *o = add_conn(c, n, XP_LIVE, live[i].pid, r, live[i].rport, port, live[i].sock);
        if (o == NULL)
            return ig_fail("XP network scenario: too many objects");
        if (live[i].chained)
            o->bucket = chain;
    }
    /* the SMB redirector's session to the file server: owned by System */
    port = (uint16_t)(port + ig_rng_range(&c->rng, 1, 40));
    if (add_conn(c, n, XP_LIVE, sys, n->server, 445, port, 1) == NULL)
        return ig_fail("XP network scenario: too many objects");

    /* closed connections and sockets whose blocks were freed intact */
    public_ip(c, r);
    port = (uint16_t)(port + ig_rng_range(&c->rng, 1, 40));
    if (add_conn(c, n, XP_FREED, explorer, r, 80, port, 1) == NULL)
        return ig_fail("XP network scenario: too many objects");
    public_ip(c, r);
    port = (uint16_t)(port + ig_rng_range(&c->rng, 1, 40));
    if (add_conn(c, n, XP_FREED, gupdate, r, 443, port, 0) == NULL)
        return ig_fail("XP network scenario: too many objects");
    public_ip(c, r);
    port = (uint16_t)(port + ig_rng_range(&c->rng, 1, 40));
    if (add_conn(c, n, XP_LOOKASIDE, netsvcs, r, 80, port, 0) == NULL)
        return ig_fail("XP network scenario: too many objects");

    /* freed blocks overwritten by other data: the first carries the values
     * of Rekall's connscan sample (3.0.48.2:17985 -> 66.179.81.245:20084,
     * PID 4287933200); the rest are set in net_xp_objs.c */
    xp_obj *g = add(n, 0, XP_GARBAGE);
    xp_obj *g2 = add(n, 0, XP_GARBAGE);
    xp_obj *g3 = add(n, 1, XP_GARBAGE);
    if (g == NULL || g2 == NULL || g3 == NULL)
        return ig_fail("XP network scenario: too many objects");
    ip4(g->laddr, 3, 0, 48, 2);
    g->lport = 17985;
    ip4(g->raddr, 66, 179, 81, 245);
    g->rport = 20084;
    g->pid = 4287933200u;
    return IG_OK;
}

static int in_data(const xp_net *n, uint64_t rva, unsigned len)
{
    return rva >= XP_TEXT_END(n->x64) && rva + len <= XP_DATA_END(n->x64);
}

static ig_status write_globals(ig_ctx *c, xp_net *n, const ig_mod_truth *m)
{
    for (int i = 0; i < XP_NGLOBALS; i++) {
        if (!in_data(n, n->rva[i], (unsigned)c->ptr))
            return ig_fail("tcpip global %s at RVA 0x%llx is outside .data", global_names[i],
                           (unsigned long long)n->rva[i]);
        if (ig_ensure_mapped(c, m->base + n->rva[i], c->ptr, IG_MAP_NX) != IG_OK)
            return IG_ERR;
    }
    for (int i = 0; i < 2; i++)
        if (ig_ensure_mapped(c, m->base + n->decoy_rva[i], c->ptr, IG_MAP_NX) != IG_OK)
            return IG_ERR;
    /* the slots of the other address sets that share these pages hold 0, so
     * a reader trying every set (as Volatility 2 does) finds only this one */
    for (int i = 0; i < n->ncand; i++) {
        uint64_t va = m->base + n->cand_rva[i], pa;
        if (ig_v2p(c, va, &pa) == IG_OK && ig_v2p(c, va + c->ptr - 1, &pa) == IG_OK &&
            ig_wptr(c, va, 0) != IG_OK)
            return IG_ERR;
    }
    ig_status s = IG_OK;
    s |= ig_wptr(c, m->base + n->rva[XP_TCB_TABLE], n->tcb_table);
    s |= ig_w32(c, m->base + n->rva[XP_TCB_SIZE], n->tcb_size);
    s |= ig_wptr(c, m->base + n->rva[XP_AO_TABLE], n->ao_table);
    s |= ig_w32(c, m->base + n->rva[XP_AO_SIZE], n->ao_size);
    s |= ig_wptr(c, m->base + n->decoy_rva[0], n->decoy_table);
    s |= ig_w32(c, m->base + n->decoy_rva[1], XP_DECOY_BUCKETS);
    return s == IG_OK ? IG_OK : IG_ERR;
}

/* A bucket array from the nonpaged pool: below a page (with its header)
 * it is an ordinary block, so a pool header follows its last slot; from a
 * page on, whole pages without a header of their own. */
static ig_status bucket_array(ig_ctx *c, uint32_t buckets, uint64_t *va)
{
    size_t bytes = (size_t)buckets * c->ptr;
    if (bytes + ig_pool_header_size(c) <= IG_PAGE) {
        if (ig_pool_alloc(c, IG_POOL_NONPAGED, XP_ARRAY_TAG, bytes, va, NULL) != IG_OK)
            return IG_ERR;
        static const uint8_t zero[IG_PAGE];
        return ig_write(c, *va, zero, bytes);
    }
    return ig_kva_alloc(c, IG_VA_NPPOOL, bytes, va);
}

/* Another hash table of tcpip's kind (a route-cache-like table with
 * made-up tags), reached by the same code shapes: code analysis must not
 * take it for either table. */
static ig_status decoy_table(ig_ctx *c, xp_net *n)
{
    uint64_t lo = XP_TEXT_END(n->x64) + 0x100;
    n->decoy_rva[0] = lo;
    n->decoy_rva[1] = lo + (uint64_t)c->ptr;
    for (int i = 0; i < n->ncand; i++)
        if (n->cand_rva[i] < lo + 2u * c->ptr && n->cand_rva[i] + c->ptr > lo)
            return ig_fail("decoy tcpip global overlaps candidate RVA 0x%llx", (unsigned long long)n->cand_rva[i]);
    if (bucket_array(c, XP_DECOY_BUCKETS, &n->decoy_table) != IG_OK)
        return IG_ERR;
    for (int i = 0; i < 6; i++) {
        uint64_t e;
        if (ig_pool_alloc(c, IG_POOL_NONPAGED, "IPre", 0x40, &e, NULL) != IG_OK)
            return IG_ERR;
        uint32_t b = (uint32_t)ig_rng_range(&c->rng, 0, XP_DECOY_BUCKETS - 1);
        uint64_t head = 0;
        if (ig_read(c, n->decoy_table + (uint64_t)b * c->ptr, &head, c->ptr) != IG_OK ||
            ig_wptr(c, e, head) != IG_OK || ig_wptr(c, n->decoy_table + (uint64_t)b * c->ptr, e) != IG_OK)
            return IG_ERR;
    }
    return IG_OK;
}

ig_status ig_net_xp_build(ig_ctx *c)
{
    ig_mod_truth *m = ig_module_find(c, "tcpip.sys");
    if (m == NULL)
        return ig_fail("tcpip.sys is not loaded");
    xp_net *n = calloc(1, sizeof *n);
    if (n == NULL)
        return ig_fail("out of memory");
    ig_status s = IG_ERR;
    if (load_layout(c, n) != IG_OK || xp_tcpip_version(c, n, m) != IG_OK || scenario(c, n) != IG_OK)
        goto done;
    /* Bucket arrays: 512 TCB and 128 address-object heads (sizes chosen
     * here; MaxHashTableSize's default is 512). */
    n->tcb_size = 0x200;
    n->ao_size = 0x80;
    if (bucket_array(c, n->tcb_size, &n->tcb_table) != IG_OK || bucket_array(c, n->ao_size, &n->ao_table) != IG_OK ||
        decoy_table(c, n) != IG_OK)
        goto done;
    if (xp_objects_write(c, n) != IG_OK || write_globals(c, n, m) != IG_OK || xp_code_write(c, n, m) != IG_OK ||
        xp_decoys_write(c, n) != IG_OK || xp_truth_add(c, n) != IG_OK)
        goto done;
    s = IG_OK;
done:
    free(n);
    return s;
}
