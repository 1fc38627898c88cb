#include "memsift/error.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char last_error[512];

const char *ms_status_name(ms_status status)
{
    switch (status) {
    case MS_OK: return "ok";
    case MS_ERR_ARG: return "invalid argument";
    case MS_ERR_NOMEM: return "out of memory";
    case MS_ERR_IO: return "I/O error";
    case MS_ERR_FORMAT: return "bad format";
    case MS_ERR_TRUNCATED: return "truncated";
    case MS_ERR_UNSUPPORTED: return "unsupported";
    case MS_ERR_NOT_PRESENT: return "not present";
    case MS_ERR_PAGED_OUT: return "paged out";
    case MS_ERR_NOT_FOUND: return "not found";
    case MS_ERR_LIMIT: return "limit reached";
    case MS_ERR_INTERNAL: return "internal error";
    }
    return "unknown status";
}

const char *ms_last_error(void)
{
    return last_error;
}

void ms_clear_error(void)
{
    last_error[0] = '\0';
}

ms_status ms_fail(ms_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return status;
}
