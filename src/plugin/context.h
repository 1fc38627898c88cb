/* The context a plugin runs in: its host, its options and whether the
 * renderer has begun (it begins at the first row, or at the end of a
 * successful run that emitted none). */
#ifndef MS_PLUGIN_CONTEXT_H
#define MS_PLUGIN_CONTEXT_H

#include "memsift/plugin.h"

struct ms_plugin_context {
    const ms_plugin *plugin;
    const ms_plugin_host *host;
    const ms_option_value *options;
    size_t noptions;
    int begun;
    ms_kernel *kernel;           /* opened by ms_plugin_kernel, closed after run() */
    ms_status kernel_status;     /* MS_OK until an attempt to open it failed */
    char kernel_error[512];
};

ms_status ms_plugin_begin_output(ms_plugin_context *ctx);

/* Decimal (optionally negative) or 0x-hex; hex up to 64 bits is taken as
 * the two's-complement bit pattern so that kernel addresses fit. */
int ms_plugin_parse_int(const char *text, int64_t *out);

#endif
