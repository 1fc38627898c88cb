/* libyara keeps global state; initialise it while any handle needs it. */
#include <pthread.h>

#include "yara_internal.h"

static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned init_count;

ms_status ms_yara_acquire(void)
{
    ms_status st = MS_OK;
    pthread_mutex_lock(&init_lock);
    if (init_count == 0) {
        int rc = yr_initialize();
        if (rc != ERROR_SUCCESS)
            st = ms_fail(MS_ERR_INTERNAL, "libyara failed to initialise: %s", ms_yara_error_name(rc));
    }
    if (st == MS_OK)
        init_count++;
    pthread_mutex_unlock(&init_lock);
    return st;
}

void ms_yara_release(void)
{
    pthread_mutex_lock(&init_lock);
    if (init_count > 0 && --init_count == 0)
        yr_finalize();
    pthread_mutex_unlock(&init_lock);
}

const char *ms_yara_error_name(int code)
{
    switch (code) {
    case ERROR_SUCCESS: return "success";
    case ERROR_INSUFFICIENT_MEMORY: return "insufficient memory";
    case ERROR_COULD_NOT_OPEN_FILE: return "could not open file";
    case ERROR_COULD_NOT_MAP_FILE: return "could not map file";
    case ERROR_INVALID_FILE: return "not a compiled rules file";
    case ERROR_CORRUPT_FILE: return "corrupt compiled rules file";
    case ERROR_UNSUPPORTED_FILE_VERSION: return "compiled rules from another libyara version";
    case ERROR_SCAN_TIMEOUT: return "scan timed out";
    case ERROR_TOO_MANY_SCAN_THREADS: return "too many scan threads";
    case ERROR_CALLBACK_ERROR: return "callback error";
    case ERROR_TOO_MANY_MATCHES: return "too many matches";
    case ERROR_WRITING_FILE: return "could not write file";
    case ERROR_INTERNAL_FATAL_ERROR: return "internal fatal error";
    default: return "libyara error";
    }
}
