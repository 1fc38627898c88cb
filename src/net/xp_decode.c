/* XP / 2003 objects: decoding and the plausibility rules. */
#include <stdio.h>
#include <string.h>

#include "xp_net.h"

static uint64_t le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = n; i-- > 0;)
        v = (v << 8) | p[i];
    return v;
}

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static void ip_text(const uint8_t a[4], char *out, size_t size)
{
    snprintf(out, size, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
}

/* The CID handle table holds at most 2^24 entries and a PID is the entry's
 * index times 4, so a real PID is a multiple of 4 below 2^26. */
int ms_xp_pid_plausible(uint64_t pid)
{
    return pid % 4 == 0 && pid < (1ull << 26);
}

static int is_zero(const uint8_t a[4])
{
    return (a[0] | a[1] | a[2] | a[3]) == 0;
}

/* A unicast address a host can have: not in 0.0.0.0/8 (unless all zero and
 * `any_ok`), not multicast (224/4), not reserved or broadcast (240/4). */
static int unicast(const uint8_t a[4], int any_ok)
{
    if (is_zero(a))
        return any_ok;
    return a[0] != 0 && a[0] < 224;
}

int ms_xp_connection_plausible(const uint8_t laddr[4], uint16_t lport, const uint8_t raddr[4], uint16_t rport,
                               uint64_t pid)
{
    return ms_xp_pid_plausible(pid) && lport != 0 && rport != 0 && unicast(laddr, 1) && unicast(raddr, 0);
}

/* FILETIME of 1980-01-01, the earliest date a PC clock holds. */
#define MS_XP_EARLIEST_TIME 0x01A8E79FE1D58000ull
/* One day: a CreateTime after the dump's time by more than clock drift. */
#define MS_XP_DAY 864000000000ull

int ms_xp_socket_plausible(const uint8_t laddr[4], uint16_t lport, unsigned protocol, uint64_t pid,
                           uint64_t created, uint64_t now)
{
    if (!ms_xp_pid_plausible(pid) || !unicast(laddr, 1) || protocol > 255)
        return 0;
    if ((protocol == 6 || protocol == 17) && lport == 0)
        return 0;
    if (created < MS_XP_EARLIEST_TIME)
        return 0;
    /* With no dump time, anything before 2100-01-01 */
    uint64_t latest = now != 0 ? now + MS_XP_DAY : 0x0271C7D9A0CF4000ull;
    return created <= latest;
}

void ms_xp_decode_connection(const ms_xp_layout *l, const uint8_t *obj, ms_net_endpoint *out)
{
    memset(out, 0, sizeof *out);
    out->kind = MS_NET_XP_CONNECTION;
    out->family = 4;
    out->protocol = 6;
    ip_text(obj + l->t_laddr, out->local_addr, sizeof out->local_addr);
    ip_text(obj + l->t_raddr, out->foreign_addr, sizeof out->foreign_addr);
    out->local_port = be16(obj + l->t_lport);
    out->foreign_port = be16(obj + l->t_rport);
    out->has_pid = 1;
    out->pid = le(obj + l->t_pid, 4);
    out->plausible = ms_xp_connection_plausible(obj + l->t_laddr, out->local_port, obj + l->t_raddr,
                                                out->foreign_port, out->pid);
}

void ms_xp_decode_socket(const ms_xp_layout *l, const uint8_t *obj, uint64_t now, ms_net_endpoint *out)
{
    memset(out, 0, sizeof *out);
    out->kind = MS_NET_XP_ADDRESS;
    out->family = 4;
    out->protocol = (unsigned)le(obj + l->a_proto, 2);
    ip_text(obj + l->a_laddr, out->local_addr, sizeof out->local_addr);
    out->local_port = be16(obj + l->a_lport);
    snprintf(out->foreign_addr, sizeof out->foreign_addr, "*");
    out->has_pid = 1;
    out->pid = le(obj + l->a_pid, 4);
    out->created = le(obj + l->a_ctime, 8);
    out->plausible =
        ms_xp_socket_plausible(obj + l->a_laddr, out->local_port, out->protocol, out->pid, out->created, now);
}
