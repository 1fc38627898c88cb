/* memsift: error codes and the last-error message.
 *
 * Every library function that can fail returns an ms_status and fills its
 * out-parameters only on MS_OK.  The human-readable reason (what was expected
 * and what was found) is kept per thread and read with ms_last_error().
 */
#ifndef MEMSIFT_ERROR_H
#define MEMSIFT_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ms_status {
    MS_OK = 0,
    MS_ERR_ARG,          /* caller passed an invalid argument */
    MS_ERR_NOMEM,        /* allocation failed */
    MS_ERR_IO,           /* the operating system failed a read or open */
    MS_ERR_FORMAT,       /* bytes do not have the expected structure */
    MS_ERR_TRUNCATED,    /* the file ends before the structure does */
    MS_ERR_UNSUPPORTED,  /* recognised, but memsift cannot use it */
    MS_ERR_NOT_PRESENT,  /* the address is not held by this image or not mapped */
    MS_ERR_PAGED_OUT,    /* the page exists but is in a pagefile or prototype PTE */
    MS_ERR_NOT_FOUND,    /* a searched-for object or symbol was not found */
    MS_ERR_LIMIT,        /* a safety limit (count, size, depth) was reached */
    MS_ERR_INTERNAL
} ms_status;

/* Short constant name of a status, e.g. "not present". */
const char *ms_status_name(ms_status status);

/* The detailed message of the last failure on this thread ("" if none). */
const char *ms_last_error(void);

/* Record a failure: sets the thread's message and returns `status`, so that
 * library code can write `return ms_fail(MS_ERR_FORMAT, "...", ...);`. */
ms_status ms_fail(ms_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

void ms_clear_error(void);

#ifdef __cplusplus
}
#endif
#endif
