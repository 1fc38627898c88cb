/* The kernel handle: accessors and logging. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_internal.h"

void ms_kernel_options_init(ms_kernel_options *opts)
{
    memset(opts, 0, sizeof *opts);
}

void ms_kernel_log(const ms_kernel *k, ms_kernel_log_level level, const char *fmt, ...)
{
    if (k->opts.log == NULL)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    k->opts.log(k->opts.log_user, level, msg);
}

void ms_kernel_close(ms_kernel *k)
{
    if (k == NULL)
        return;
    ms_vspace_destroy(k->vs);
    if (k->own_profiles)
        ms_profile_db_destroy(k->profiles);
    free(k);
}

const ms_kernel_info *ms_kernel_get_info(const ms_kernel *k) { return &k->info; }
ms_vspace *ms_kernel_vspace(ms_kernel *k) { return k->vs; }
const ms_profile *ms_kernel_profile(const ms_kernel *k) { return k->profile; }
ms_profile_db *ms_kernel_profiles(ms_kernel *k) { return k->profiles; }
