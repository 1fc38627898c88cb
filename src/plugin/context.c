/* What a running plugin can reach: its image, options, the renderer (through
 * emit), and the host's log and progress sinks. */
#include "context.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ms_image *ms_plugin_image(ms_plugin_context *ctx)
{
    return ctx->host->image;
}

const ms_plugin *ms_plugin_self(ms_plugin_context *ctx)
{
    return ctx->plugin;
}

int ms_plugin_parse_int(const char *text, int64_t *out)
{
    if (text == NULL || text[0] == '\0' || strchr(" \t\n+", text[0]) != NULL)
        return 0;
    char *end;
    errno = 0;
    if (text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        if (text[2] == '\0' || strchr(" \t\n+-", text[2]) != NULL)
            return 0;
        unsigned long long u = strtoull(text + 2, &end, 16);
        if (errno != 0 || *end != '\0')
            return 0;
        *out = (int64_t)u;
        return 1;
    }
    long long v = strtoll(text, &end, 10);
    if (errno != 0 || *end != '\0')
        return 0;
    *out = v;
    return 1;
}

/* The index of the `nth` occurrence of `name` (counting from 0), or of the
 * last one when nth is SIZE_MAX; noptions when absent. */
static size_t find_option(ms_plugin_context *ctx, const char *name, size_t nth)
{
    size_t found = ctx->noptions, seen = 0;
    for (size_t i = 0; i < ctx->noptions; i++) {
        if (strcmp(ctx->options[i].name, name) != 0)
            continue;
        if (seen++ == nth)
            return i;
        found = i;
    }
    return nth == SIZE_MAX ? found : ctx->noptions;
}

int ms_plugin_flag(ms_plugin_context *ctx, const char *name)
{
    size_t i = find_option(ctx, name, SIZE_MAX);
    if (i == ctx->noptions)
        return 0;
    const char *v = ctx->options[i].value;
    return v == NULL || strcmp(v, "0") != 0;
}

const char *ms_plugin_string(ms_plugin_context *ctx, const char *name)
{
    size_t i = find_option(ctx, name, SIZE_MAX);
    return i == ctx->noptions ? NULL : ctx->options[i].value;
}

const char *ms_plugin_string_at(ms_plugin_context *ctx, const char *name, size_t index)
{
    if (index == SIZE_MAX)
        return NULL;
    size_t i = find_option(ctx, name, index);
    return i == ctx->noptions ? NULL : ctx->options[i].value;
}

ms_status ms_plugin_int(ms_plugin_context *ctx, const char *name, int64_t *out)
{
    const char *v = ms_plugin_string(ctx, name);
    if (v == NULL)
        return ms_fail(MS_ERR_NOT_FOUND, "option --%s was not given", name);
    int64_t n;
    if (!ms_plugin_parse_int(v, &n))
        return ms_fail(MS_ERR_ARG, "option --%s expects a number (decimal or 0x-hex), found '%s'", name, v);
    *out = n;
    return MS_OK;
}

ms_status ms_plugin_begin_output(ms_plugin_context *ctx)
{
    if (ctx->begun)
        return MS_OK;
    ctx->begun = 1;
    return ms_renderer_begin(ctx->host->renderer, ctx->plugin->columns, ctx->plugin->ncolumns);
}

ms_status ms_plugin_emit(ms_plugin_context *ctx, const ms_value *row)
{
    if (row == NULL)
        return ms_fail(MS_ERR_ARG, "%s emitted a NULL row", ctx->plugin->name);
    ms_status st = ms_plugin_begin_output(ctx);
    if (st != MS_OK)
        return st;
    return ms_renderer_row(ctx->host->renderer, row);
}

void ms_plugin_log(ms_plugin_context *ctx, ms_log_level level, const char *fmt, ...)
{
    if (ctx->host->log == NULL)
        return;
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    ctx->host->log(ctx->host->user, level, message);
}

void ms_plugin_progress(ms_plugin_context *ctx, uint64_t done, uint64_t total)
{
    if (ctx->host->progress != NULL)
        ctx->host->progress(ctx->host->user, done, total);
}
