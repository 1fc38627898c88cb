/* XP / 2003: owners of rows and the role of address objects.
 *
 * connect() on an unbound socket binds an address object to 0.0.0.0 and an
 * ephemeral port; NT's netstat listed those as LISTENING.  Such an object is
 * a "connection" here when a connection of the same process uses its port,
 * unless the port looks served: several connections share it, or it is a
 * well-known port (< 1024) whose peer uses an ephemeral one (an accepted
 * connection on a listener). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xp_net.h"

#define MS_XP_MAX_OWNERS 65536u

typedef struct owners_fill {
    ms_xp_owners *o;
    size_t cap;
    ms_status st;
} owners_fill;

static int add_owner(const ms_process *p, void *user)
{
    owners_fill *f = user;
    if (f->o->count == f->cap) {
        if (f->cap >= MS_XP_MAX_OWNERS)
            return 1;
        size_t cap = f->cap ? f->cap * 2 : 64;
        ms_xp_owner *n = realloc(f->o->items, cap * sizeof *n);
        if (n == NULL) {
            f->st = ms_fail(MS_ERR_NOMEM, "out of memory for %zu processes", cap);
            return 1;
        }
        f->o->items = n;
        f->cap = cap;
    }
    ms_xp_owner *w = &f->o->items[f->o->count++];
    w->pid = p->pid;
    snprintf(w->name, sizeof w->name, "%s", p->name);
    return 0;
}

static int by_pid(const void *a, const void *b)
{
    const ms_xp_owner *x = a, *y = b;
    return x->pid < y->pid ? -1 : x->pid > y->pid;
}

ms_status ms_xp_owners_load(ms_kernel *kernel, ms_xp_owners *out)
{
    memset(out, 0, sizeof *out);
    owners_fill f = {out, 0, MS_OK};
    ms_status st = ms_kernel_processes(kernel, add_owner, &f);
    if (f.st != MS_OK) {
        ms_xp_owners_free(out);
        return f.st;
    }
    if (out->count > 1)
        qsort(out->items, out->count, sizeof *out->items, by_pid);
    return st;
}

const char *ms_xp_owner_name(const ms_xp_owners *owners, uint64_t pid)
{
    size_t lo = 0, hi = owners->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (owners->items[mid].pid < pid)
            lo = mid + 1;
        else
            hi = mid;
    }
    /* A PID reused by a process that exited keeps the first listed name. */
    return lo < owners->count && owners->items[lo].pid == pid ? owners->items[lo].name : NULL;
}

void ms_xp_owners_free(ms_xp_owners *owners)
{
    free(owners->items);
    owners->items = NULL;
    owners->count = 0;
}

ms_status ms_xp_conns_add(ms_xp_conns *conns, const ms_net_endpoint *conn)
{
    if (!conn->plausible || !conn->has_pid)
        return MS_OK;
    if (conns->count == conns->cap) {
        if (conns->cap >= MS_XP_MAX_ROLE_CONNS) {
            conns->dropped++;
            return MS_OK;
        }
        size_t cap = conns->cap ? conns->cap * 2 : 64;
        ms_xp_conn *n = realloc(conns->items, cap * sizeof *n);
        if (n == NULL)
            return ms_fail(MS_ERR_NOMEM, "out of memory for %zu connections", cap);
        conns->items = n;
        conns->cap = cap;
    }
    ms_xp_conn *c = &conns->items[conns->count++];
    c->pid = conn->pid;
    /* IPv4 text: 15 characters at most */
    memcpy(c->local_addr, conn->local_addr, sizeof c->local_addr - 1);
    c->local_addr[sizeof c->local_addr - 1] = '\0';
    memcpy(c->foreign_addr, conn->foreign_addr, sizeof c->foreign_addr - 1);
    c->foreign_addr[sizeof c->foreign_addr - 1] = '\0';
    c->local_port = conn->local_port;
    c->foreign_port = conn->foreign_port;
    return MS_OK;
}

void ms_xp_conns_free(ms_xp_conns *conns)
{
    free(conns->items);
    memset(conns, 0, sizeof *conns);
}

static int same_endpoint(const ms_xp_conn *a, const ms_xp_conn *b)
{
    return a->foreign_port == b->foreign_port && strcmp(a->foreign_addr, b->foreign_addr) == 0 &&
           strcmp(a->local_addr, b->local_addr) == 0;
}

void ms_xp_role(const ms_xp_conns *conns, ms_net_endpoint *sock)
{
    sock->role[0] = '\0';
    sock->role_peer[0] = '\0';
    if (!sock->plausible)
        return;
    snprintf(sock->role, sizeof sock->role, "listener");
    if (sock->protocol != 6 || sock->local_port == 0)
        return;
    const ms_xp_conn *match = NULL;
    size_t distinct = 0;
    int any = strcmp(sock->local_addr, "0.0.0.0") == 0;
    for (size_t i = 0; i < conns->count; i++) {
        const ms_xp_conn *c = &conns->items[i];
        if (c->pid != sock->pid || c->local_port != sock->local_port)
            continue;
        if (!any && strcmp(c->local_addr, sock->local_addr) != 0)
            continue;
        /* The same connection seen twice (walk and scan, or a stale copy). */
        if (match != NULL && same_endpoint(match, c))
            continue;
        if (match == NULL)
            match = c;
        distinct++;
    }
    if (match == NULL || distinct > 1)
        return;
    if (sock->local_port < 1024 && match->foreign_port >= 1024)
        return;
    snprintf(sock->role, sizeof sock->role, "connection");
    snprintf(sock->role_peer, sizeof sock->role_peer, "%s:%u", match->foreign_addr, match->foreign_port);
}
