/* XP / 2003 object layouts from a tcpip profile. */
#include <string.h>

#include "xp_net.h"

static ms_status field(const ms_profile *p, const char *type, const char *name, uint32_t *off, uint32_t width,
                       uint32_t *end)
{
    ms_status st = ms_profile_field(p, type, name, off);
    if (st != MS_OK)
        return st;
    if (*off > 0x1000)
        return ms_fail(MS_ERR_FORMAT, "tcpip profile %s: %s.%s at 0x%x is beyond the object", ms_profile_name(p),
                       type, name, *off);
    if (*off + width > *end)
        *end = *off + width;
    return MS_OK;
}

ms_status ms_xp_layout_from_profile(const ms_profile *p, ms_xp_layout *out)
{
    memset(out, 0, sizeof *out);
    out->profile = p;
    out->ptr = ms_profile_pointer_size(p);
    if (out->ptr != 4 && out->ptr != 8)
        return ms_fail(MS_ERR_FORMAT, "tcpip profile %s: pointer size %u", ms_profile_name(p), out->ptr);
    out->pool = out->ptr == 8 ? MS_POOL_X64 : MS_POOL_X86;
    out->hdr = ms_pool_header_size(out->pool);
    const char *T = "_TCPT_OBJECT", *A = "_ADDRESS_OBJECT";
    uint32_t tend = 0, aend = 0;
    ms_status st;
    if ((st = field(p, T, "Next", &out->t_next, out->ptr, &tend)) != MS_OK ||
        (st = field(p, T, "RemoteIpAddress", &out->t_raddr, 4, &tend)) != MS_OK ||
        (st = field(p, T, "LocalIpAddress", &out->t_laddr, 4, &tend)) != MS_OK ||
        (st = field(p, T, "RemotePort", &out->t_rport, 2, &tend)) != MS_OK ||
        (st = field(p, T, "LocalPort", &out->t_lport, 2, &tend)) != MS_OK ||
        (st = field(p, T, "Pid", &out->t_pid, 4, &tend)) != MS_OK ||
        (st = field(p, A, "Next", &out->a_next, out->ptr, &aend)) != MS_OK ||
        (st = field(p, A, "LocalIpAddress", &out->a_laddr, 4, &aend)) != MS_OK ||
        (st = field(p, A, "LocalPort", &out->a_lport, 2, &aend)) != MS_OK ||
        (st = field(p, A, "Protocol", &out->a_proto, 2, &aend)) != MS_OK ||
        (st = field(p, A, "Pid", &out->a_pid, 4, &aend)) != MS_OK ||
        (st = field(p, A, "CreateTime", &out->a_ctime, 8, &aend)) != MS_OK)
        return st;
    /* The declared sizes are unreliable (Volatility 2's _ADDRESS_OBJECT is
     * smaller than its own members): decode up to the last known field. */
    out->t_size = tend;
    out->a_size = aend;
    return MS_OK;
}
