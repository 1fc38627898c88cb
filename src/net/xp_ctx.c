/* XP / 2003: choosing the tcpip profiles and loading what every entry
 * point needs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kernel_internal.h"
#include "xp_net.h"

/* The fourth number of "5.1.2600.5625", or -1. */
static int file_revision(const char *version)
{
    unsigned a, b, c, d;
    if (version == NULL || sscanf(version, "%u.%u.%u.%u", &a, &b, &c, &d) != 4 || d > 65535)
        return -1;
    return (int)d;
}

static int applies(const ms_profile *p, unsigned ptr, uint32_t build, int revision)
{
    if (strcmp(ms_profile_module(p), "tcpip") != 0 || ms_profile_pointer_size(p) != ptr)
        return 0;
    if (build < ms_profile_build_min(p) || build > ms_profile_build_max(p))
        return 0;
    return revision < 0 ||
           ((uint32_t)revision >= ms_profile_revision_min(p) && (uint32_t)revision <= ms_profile_revision_max(p));
}

static void add_layout(ms_xp_ctx *ctx, const ms_profile *p)
{
    if (ctx->nlayouts >= MS_XP_MAX_PROFILES)
        return;
    /* A user's profile replaces the built-in one of the same name. */
    for (size_t i = 0; i < ctx->nlayouts; i++)
        if (strcmp(ms_profile_name(ctx->layouts[i].profile), ms_profile_name(p)) == 0)
            return;
    if (ms_xp_layout_from_profile(p, &ctx->layouts[ctx->nlayouts]) != MS_OK) {
        ms_kernel_log(ctx->kernel, MS_KLOG_WARNING, "tcpip profile %s skipped: %s", ms_profile_name(p),
                      ms_last_error());
        return;
    }
    ctx->nlayouts++;
}

static ms_status choose_layouts(ms_xp_ctx *ctx)
{
    const ms_kernel_info *info = ms_kernel_get_info(ctx->kernel);
    ms_profile_db *db = ms_kernel_profiles(ctx->kernel);
    size_t n = ms_profile_db_count(db);
    /* Later profiles (a user's) first, then the built-in ones. */
    for (size_t i = n; i-- > 0;)
        if (applies(ms_profile_db_at(db, i), info->pointer_size, info->build, ctx->revision))
            add_layout(ctx, ms_profile_db_at(db, i));
    if (ctx->nlayouts == 0 && ctx->revision >= 0) {
        for (size_t i = n; i-- > 0;)
            if (applies(ms_profile_db_at(db, i), info->pointer_size, info->build, -1))
                add_layout(ctx, ms_profile_db_at(db, i));
        if (ctx->nlayouts > 0)
            ms_kernel_log(ctx->kernel, MS_KLOG_WARNING,
                          "no tcpip profile names tcpip.sys revision %d of build %u; trying %s", ctx->revision,
                          info->build, ms_profile_name(ctx->layouts[0].profile));
    }
    if (ctx->nlayouts == 0) {
        const ms_profile *p;
        int exact;
        ms_status st = ms_profile_db_find(db, "tcpip", info->pointer_size, info->build, &p, &exact);
        if (st != MS_OK)
            return st;
        if (ms_profile_build_max(p) >= 6000)
            return ms_fail(MS_ERR_NOT_FOUND, "no XP/2003 tcpip profile for %u-bit build %u",
                           info->pointer_size * 8, info->build);
        ms_kernel_log(ctx->kernel, MS_KLOG_WARNING, "no tcpip profile for build %u; using %s (builds %u-%u)",
                      info->build, ms_profile_name(p), ms_profile_build_min(p), ms_profile_build_max(p));
        add_layout(ctx, p);
    }
    if (ctx->nlayouts == 0)
        return ms_fail(MS_ERR_NOT_FOUND, "no usable XP/2003 tcpip profile for build %u", info->build);
    return MS_OK;
}

ms_status ms_xp_ctx_open(ms_kernel *kernel, ms_xp_ctx *ctx)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->kernel = kernel;
    ctx->vs = ms_kernel_vspace(kernel);
    ctx->revision = -1;
    const ms_kernel_info *info = ms_kernel_get_info(kernel);
    if (info->build >= 6000)
        return ms_fail(MS_ERR_UNSUPPORTED,
                       "build %u is Vista or later: TCPT/TCPA objects exist only on XP and Server 2003 "
                       "(use netscan or netstat)",
                       info->build);
    ctx->now = info->system_time;
    if (ms_kernel_find_module(kernel, "tcpip.sys", &ctx->tcpip) == MS_OK) {
        ctx->have_module = 1;
        ctx->revision = file_revision(ctx->tcpip.file_version);
    } else {
        ms_kernel_log(kernel, MS_KLOG_WARNING, "tcpip.sys is not in the module list: %s", ms_last_error());
    }
    ms_status st = choose_layouts(ctx);
    if (st != MS_OK)
        return st;
    if (ms_xp_owners_load(kernel, &ctx->owners) != MS_OK)
        ms_kernel_log(kernel, MS_KLOG_WARNING, "process list incomplete, owners may be missing: %s",
                      ms_last_error());
    return MS_OK;
}

void ms_xp_ctx_close(ms_xp_ctx *ctx)
{
    ms_xp_owners_free(&ctx->owners);
}

void ms_xp_finish_row(const ms_xp_ctx *ctx, const char tag[4], ms_net_endpoint *row)
{
    memcpy(row->tag, tag, 4);
    row->tag[4] = '\0';
    const char *owner = row->has_pid ? ms_xp_owner_name(&ctx->owners, row->pid) : NULL;
    snprintf(row->owner, sizeof row->owner, "%s", owner ? owner : "");
}
