/* memsift: the plugin interface.
 *
 * A plugin declares its name, options and output columns and implements
 * run().  It reaches the image and emits rows only through the context the
 * host gives it, so the same plugin runs under the CLI or any program that
 * links the library.  The library never names a plugin: hosts (like the CLI)
 * keep their own table of them.
 */
#ifndef MEMSIFT_PLUGIN_H
#define MEMSIFT_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include "memsift/error.h"
#include "memsift/image.h"
#include "memsift/kernel.h"
#include "memsift/render.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ms_option_type {
    MS_OPT_FLAG,      /* --name */
    MS_OPT_INT,       /* --name N (decimal or 0x-hex) */
    MS_OPT_STRING     /* --name VALUE */
} ms_option_type;

typedef struct ms_option_spec {
    const char *name;      /* without the leading "--" */
    ms_option_type type;
    const char *metavar;   /* e.g. "PID"; NULL for flags */
    const char *help;
} ms_option_spec;

/* Requirements the host checks before run(), with a clear message. */
#define MS_PLUGIN_NEEDS_MEMORY 0x1u  /* physical memory: not a triage dump */
#define MS_PLUGIN_NEEDS_X86    0x2u  /* an x86 or x64 system */

typedef struct ms_plugin_context ms_plugin_context;

typedef struct ms_plugin {
    const char *name;                /* "netscan" */
    const char *const *aliases;      /* NULL-terminated: "windows.netscan", ... */
    const char *summary;             /* one line for `memsift --help` */
    const char *description;         /* paragraph for `memsift PLUGIN --help` */
    const ms_option_spec *options;
    size_t noptions;
    const ms_column *columns;
    size_t ncolumns;
    unsigned requirements;           /* MS_PLUGIN_NEEDS_* */
    ms_status (*run)(ms_plugin_context *ctx);
} ms_plugin;

/* ---- for hosts ---- */

typedef enum ms_log_level { MS_LOG_DEBUG, MS_LOG_INFO, MS_LOG_WARNING, MS_LOG_ERROR } ms_log_level;
typedef void (*ms_log_fn)(void *user, ms_log_level level, const char *message);
/* done/total in whatever unit the plugin counts (bytes for scans). */
typedef void (*ms_progress_fn)(void *user, uint64_t done, uint64_t total);

typedef struct ms_plugin_host {
    ms_image *image;
    ms_renderer *renderer;
    ms_log_fn log;               /* may be NULL */
    ms_progress_fn progress;     /* may be NULL */
    void *user;                  /* passed to log and progress */
    /* How ms_plugin_kernel discovers the kernel; NULL for the defaults. */
    const ms_kernel_options *kernel_options;
} ms_plugin_host;

/* Option values as parsed by the host: name (without "--") and value
 * ("1" for flags).  A name may appear more than once. */
typedef struct ms_option_value {
    const char *name;
    const char *value;
} ms_option_value;

/* Check the plugin's requirements and options against the image, begin the
 * renderer with its columns, run it and end the renderer.  The renderer
 * begins at the first row (or after a run that emitted none), so a failed
 * requirement or a run that fails before its first row writes nothing; a
 * run that fails later has its partial document closed.  The status and
 * ms_last_error() are the first failure's. */
ms_status ms_plugin_execute(const ms_plugin *plugin, const ms_plugin_host *host,
                            const ms_option_value *options, size_t noptions);

/* ---- for plugins ---- */

ms_image *ms_plugin_image(ms_plugin_context *ctx);

/* The image's kernel, discovered on the first call (warnings go to the
 * host's log) and shared by later calls of the same run. */
ms_status ms_plugin_kernel(ms_plugin_context *ctx, ms_kernel **out);
const ms_plugin *ms_plugin_self(ms_plugin_context *ctx);

/* Option look-ups.  Absent options: flag 0, string NULL, int MS_ERR_NOT_FOUND. */
int ms_plugin_flag(ms_plugin_context *ctx, const char *name);
const char *ms_plugin_string(ms_plugin_context *ctx, const char *name);
ms_status ms_plugin_int(ms_plugin_context *ctx, const char *name, int64_t *out);
/* The i-th value of a repeatable option, or NULL. */
const char *ms_plugin_string_at(ms_plugin_context *ctx, const char *name, size_t index);

/* One value per declared column. */
ms_status ms_plugin_emit(ms_plugin_context *ctx, const ms_value *row);

void ms_plugin_log(ms_plugin_context *ctx, ms_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
void ms_plugin_progress(ms_plugin_context *ctx, uint64_t done, uint64_t total);

#ifdef __cplusplus
}
#endif
#endif
