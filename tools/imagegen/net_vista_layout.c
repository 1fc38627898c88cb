/* tcpip layouts for the target build, tcpip symbol index, section lookup. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_vista.h"

typedef struct prof_head {
    int tcpip, x64;
    unsigned lo, hi;
    int rev_from_zero;  /* no `revisions` line, or one starting at 0 */
} prof_head;

static int read_head(const char *path, prof_head *h)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    memset(h, 0, sizeof *h);
    h->rev_from_zero = 1;
    char line[512], a[64], b[64];
    unsigned x, y;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "module %63s", a) == 1)
            h->tcpip = strcmp(a, "tcpip") == 0;
        else if (sscanf(line, "arch %63s", b) == 1)
            h->x64 = strcmp(b, "x64") == 0;
        else if (sscanf(line, "builds %u %u", &x, &y) == 2) {
            h->lo = x;
            h->hi = y;
        } else if (sscanf(line, "revisions %u %u", &x, &y) == 2)
            h->rev_from_zero = x == 0;
    }
    fclose(f);
    return 1;
}

/* Members the build needs that some layouts lack (sizes: field NULL). */
static const struct { const char *st, *field; } needed[] = {
    {"_PARTITION", NULL}, {"_PARTITION", "Endpoints"}, {"_PARTITION", "UnknownHashTable"},
    {"_INET_PORT_POOL", "PortBitMap"}, {"_INET_PORT_POOL", "PortAssignments"},
    {"_PORT_ASSIGNMENT_ENTRY", NULL}, {"_PORT_ASSIGNMENT_ENTRY", "Entry"},
    {"_PORT_ASSIGNMENT", "InPaBigPoolBase"}, {"_INET_COMPARTMENT_SET", "InetCompartment"},
    {"_INET_COMPARTMENT", "ProtocolCompartment"}, {"_PROTOCOL_COMPARTMENT", "PortPool"},
    {"_TCP_LISTENER", "Next"}, {"_UDP_ENDPOINT", "Next"},
};

static int has_member(const ig_prof *p, const char *st, const char *field)
{
    return field ? ig_prof_field(p, st, field) >= 0 : ig_prof_struct_size(p, st) > 0;
}

/* A member the chosen layout lacks (a data gap: no public source gives it)
 * is taken from the layout of the same architecture whose build range is
 * nearest the build, so the image can be built; a reader whose profile has
 * the same gap must find it in memory. */
static ig_status borrow_gaps(nv_ctx *n, const char *dir)
{
    size_t nneed = sizeof needed / sizeof *needed;
    int missing = 0;
    for (size_t i = 0; i < nneed; i++)
        missing |= !has_member(n->L, needed[i].st, needed[i].field);
    if (!missing)
        return IG_OK;
    unsigned build = n->c->t->build;
    unsigned best_d[sizeof needed / sizeof *needed];
    char best[sizeof needed / sizeof *needed][256];
    for (size_t i = 0; i < nneed; i++) {
        best_d[i] = ~0u;
        best[i][0] = '\0';
    }
    DIR *d = opendir(dir);
    if (d == NULL)
        return ig_fail("cannot open %s", dir);
    struct dirent *e;
    char path[1400];
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 6 || len > 200 || strcmp(e->d_name + len - 5, ".prof") != 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        prof_head h;
        ig_prof *p;
        if (!read_head(path, &h) || !h.tcpip || h.x64 != (n->P == 8) || h.lo < 6000 || ig_prof_load(path, &p) != IG_OK)
            continue;
        unsigned dist = build < h.lo ? h.lo - build : build > h.hi ? build - h.hi : 0;
        for (size_t i = 0; i < nneed; i++) {
            if (!has_member(p, needed[i].st, needed[i].field) ||
                dist > best_d[i] || (dist == best_d[i] && strcmp(e->d_name, best[i]) > 0))
                continue;
            best_d[i] = dist;
            snprintf(best[i], sizeof best[i], "%s", e->d_name);
        }
        ig_prof_free(p);
    }
    closedir(d);
    for (size_t i = 0; i < nneed; i++) {
        if (has_member(n->L, needed[i].st, needed[i].field) || best[i][0] == '\0')
            continue;
        ig_prof *p;
        snprintf(path, sizeof path, "%s/%.200s", dir, best[i]);
        if (ig_prof_load(path, &p) != IG_OK)
            return IG_ERR;
        long v = needed[i].field ? ig_prof_field(p, needed[i].st, needed[i].field) : ig_prof_struct_size(p, needed[i].st);
        ig_prof_free(p);
        if (ig_prof_put(n->L, needed[i].st, needed[i].field, (uint64_t)v) != IG_OK)
            return IG_ERR;
    }
    return IG_OK;
}

/* The profile whose build range holds the build (a tcpip.sys without
 * version resource counts as revision 0); else, as Volatility 3 does, the
 * newest profile of the same architecture below the build. */
ig_status nv_layout_load(nv_ctx *n)
{
    char dir[1024], path[1400], best[256] = "", fallback[256] = "";
    unsigned fallback_hi = 0;
    snprintf(dir, sizeof dir, "%s/tcpip", ig_profile_dir);
    DIR *d = opendir(dir);
    if (d == NULL)
        return ig_fail("cannot open %s", dir);
    unsigned build = n->c->t->build;
    int x64 = n->P == 8;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 6 || len > 200 || strcmp(e->d_name + len - 5, ".prof") != 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        prof_head h;
        if (!read_head(path, &h) || !h.tcpip || h.x64 != x64 || h.lo < 6000)
            continue;
        if (build >= h.lo && build <= h.hi && h.rev_from_zero) {
            if (best[0] == '\0' || strcmp(e->d_name, best) < 0)
                snprintf(best, sizeof best, "%s", e->d_name);
        } else if (h.hi < build && (h.hi > fallback_hi || (h.hi == fallback_hi && strcmp(e->d_name, fallback) < 0))) {
            fallback_hi = h.hi;
            snprintf(fallback, sizeof fallback, "%s", e->d_name);
        }
    }
    closedir(d);
    const char *pick = best[0] ? best : fallback;
    if (pick[0] == '\0')
        return ig_fail("no tcpip layout in %s for build %u (%s)", dir, build, x64 ? "x64" : "x86");
    snprintf(path, sizeof path, "%s/%s", dir, pick);
    snprintf(n->lname, sizeof n->lname, "%.*s", (int)(strlen(pick) - 5), pick);
    if (ig_prof_load(path, &n->L) != IG_OK)
        return IG_ERR;
    return borrow_gaps(n, dir);
}

long nv_off(const nv_ctx *n, const char *st, const char *field)
{
    return ig_prof_field(n->L, st, field);
}

long nv_need(const nv_ctx *n, const char *st, const char *field)
{
    long o = ig_prof_field(n->L, st, field);
    if (o < 0)
        ig_fail("tcpip layout %s has no %s.%s", n->lname, st, field);
    return o;
}

/* Room for every member the layout names (the published sizes are often
 * smaller than the members), at least `minimum`, 16-byte multiple. */
long nv_body_size(const nv_ctx *n, const char *st, long minimum)
{
    long size = ig_prof_struct_size(n->L, st);
    if (size < minimum)
        size = minimum;
    static const char *fields[] = {"InetAF", "AddrInfo", "ListEntry", "State", "LocalPort", "RemotePort",
                                   "Owner", "CreateTime", "LocalAddr", "Port", "Next", "RemoteAddress"};
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
        long o = ig_prof_field(n->L, st, fields[i]);
        long end = o + (long)(strcmp(fields[i], "ListEntry") == 0 ? 2 * n->P : 8);
        if (o >= 0 && end > size)
            size = end;
    }
    return (size + 15) & ~15L;
}

ig_status nv_section(nv_ctx *n, const char *name, uint32_t *rva, uint32_t *size)
{
    uint8_t h[0x400];
    if (ig_read(n->c, n->m->base, h, sizeof h) != IG_OK)
        return IG_ERR;
    uint32_t pe;
    memcpy(&pe, h + 0x3C, 4);
    if (pe > 0x300)
        return ig_fail("tcpip.sys: e_lfanew 0x%x out of range", pe);
    uint16_t nsec, optsz;
    memcpy(&nsec, h + pe + 6, 2);
    memcpy(&optsz, h + pe + 20, 2);
    uint32_t sec = pe + 24 + optsz;
    for (unsigned i = 0; i < nsec && sec + 40 * (i + 1) <= sizeof h; i++) {
        const uint8_t *s = h + sec + 40 * i;
        if (strncmp((const char *)s, name, 8) == 0) {
            memcpy(size, s + 8, 4);
            memcpy(rva, s + 12, 4);
            return IG_OK;
        }
    }
    return ig_fail("tcpip.sys has no %s section", name);
}

static uint32_t field_rva(const char *line, const char *name)
{
    char key[64];
    snprintf(key, sizeof key, " %s=", name);
    const char *p = strstr(line, key);
    return p ? (uint32_t)strtoul(p + strlen(key), NULL, 16) : 0;
}

int nv_index_lookup(nv_ctx *n, const char *guid, uint32_t age)
{
    char path[1100], line[4096], g[64], arch[16];
    unsigned a;
    snprintf(path, sizeof path, "%s/tcpip/symbols.idx", ig_profile_dir);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    int found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        if (line[0] == '#' || sscanf(line, "%63s %u %15s", g, &a, arch) != 3)
            continue;
        if (strcmp(g, guid) != 0 || a != age || strcmp(arch, n->P == 8 ? "x64" : "x86") != 0)
            continue;
        n->rva_table = field_rva(line, "PartitionTable");
        n->rva_count = field_rva(line, "PartitionCount");
        n->rva_tcp = field_rva(line, "TcpCompartmentSet");
        n->rva_udp = field_rva(line, "UdpCompartmentSet");
        n->compartments = n->rva_tcp != 0;
        if (!n->compartments) {
            n->rva_tcp = field_rva(line, "TcpPortPool");
            n->rva_udp = field_rva(line, "UdpPortPool");
        }
        found = n->rva_table != 0 && n->rva_count != 0;
    }
    fclose(f);
    if (found) {
        n->count_width = n->rva_table - n->rva_count == 8 ? 2 : 4;
        n->have_tcp_udp = n->rva_tcp != 0 && n->rva_udp != 0;
    }
    return found;
}
