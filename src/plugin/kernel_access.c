/* ms_plugin_kernel: kernel discovery on first use, with its warnings sent to
 * the host's log. */
#include <stdio.h>

#include "context.h"

static void forward_log(void *user, ms_kernel_log_level level, const char *message)
{
    ms_plugin_context *ctx = user;
    static const ms_log_level map[] = {MS_LOG_DEBUG, MS_LOG_INFO, MS_LOG_WARNING};
    if (ctx->host->log != NULL)
        ctx->host->log(ctx->host->user, map[level], message);
}

ms_status ms_plugin_kernel(ms_plugin_context *ctx, ms_kernel **out)
{
    if (ctx->kernel != NULL) {
        *out = ctx->kernel;
        return MS_OK;
    }
    if (ctx->kernel_status != MS_OK)
        return ms_fail(ctx->kernel_status, "%s", ctx->kernel_error);
    ms_kernel_options opts;
    if (ctx->host->kernel_options != NULL)
        opts = *ctx->host->kernel_options;
    else
        ms_kernel_options_init(&opts);
    opts.log = forward_log;
    opts.log_user = ctx;
    ms_status st = ms_kernel_open(ctx->host->image, &opts, &ctx->kernel);
    if (st != MS_OK) {
        ctx->kernel_status = st;
        snprintf(ctx->kernel_error, sizeof ctx->kernel_error, "%s", ms_last_error());
        return st;
    }
    *out = ctx->kernel;
    return MS_OK;
}
