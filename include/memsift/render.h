/* memsift: rendering rows as text tables, JSON, JSON Lines or CSV.
 *
 * A renderer writes to a caller-supplied stream.  Rows stream out as they are
 * given (the text table pads to each column's width hint rather than waiting
 * for all rows).  Column names follow Volatility 3's, so that JSON consumers
 * written for it keep working: integers and addresses are JSON numbers,
 * times are ISO-8601 UTC strings or null.
 */
#ifndef MEMSIFT_RENDER_H
#define MEMSIFT_RENDER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "memsift/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ms_value_type {
    MS_VT_INT,    /* signed decimal */
    MS_VT_UINT,   /* unsigned decimal */
    MS_VT_ADDR,   /* address: 0x-hex in text and CSV, a number in JSON */
    MS_VT_STR,    /* UTF-8 text */
    MS_VT_TIME,   /* Windows FILETIME (100 ns since 1601-01-01 UTC) */
    MS_VT_BOOL
} ms_value_type;

typedef struct ms_column {
    const char *name;
    ms_value_type type;
    int width;            /* text renderer width hint; 0 for a default */
} ms_column;

typedef struct ms_value {
    int is_null;          /* rendered as "-" in text, null in JSON, empty in CSV */
    union {
        int64_t i;
        uint64_t u;       /* UINT, ADDR, TIME */
        const char *s;
        int b;
    } v;
} ms_value;

static inline ms_value ms_val_int(int64_t i) { ms_value x = {0, {.i = i}}; return x; }
static inline ms_value ms_val_uint(uint64_t u) { ms_value x = {0, {.u = u}}; return x; }
static inline ms_value ms_val_str(const char *s) { ms_value x = {s == NULL, {.s = s}}; return x; }
static inline ms_value ms_val_bool(int b) { ms_value x = {0, {.b = b != 0}}; return x; }
static inline ms_value ms_val_null(void) { ms_value x = {1, {.u = 0}}; return x; }
/* A FILETIME of 0 means "no time" and renders as null. */
static inline ms_value ms_val_time(uint64_t filetime) { ms_value x = {filetime == 0, {.u = filetime}}; return x; }

typedef enum ms_render_format {
    MS_RENDER_TEXT = 0,
    MS_RENDER_JSON,
    MS_RENDER_JSONL,
    MS_RENDER_CSV
} ms_render_format;

/* "text", "json", "jsonl", "csv" (also "quick" and "pretty" for text, as
 * Volatility 3 names them). */
ms_status ms_render_format_parse(const char *name, ms_render_format *out);

typedef struct ms_renderer ms_renderer;

ms_status ms_renderer_create(ms_render_format format, FILE *stream, ms_renderer **out);
/* Declare the columns; must be called once before the first row. */
ms_status ms_renderer_begin(ms_renderer *r, const ms_column *columns, size_t ncolumns);
/* One value per declared column. */
ms_status ms_renderer_row(ms_renderer *r, const ms_value *values);
/* Close the document (e.g. the JSON array) and flush. */
ms_status ms_renderer_end(ms_renderer *r);
void ms_renderer_destroy(ms_renderer *r);

/* Format a FILETIME.  ISO form: "2021-02-21T01:38:22+00:00" (microseconds
 * added when non-zero), as Python's isoformat() writes it; text form:
 * "2021-02-21 01:38:22 UTC".  Returns MS_ERR_ARG for a time before 1601 or
 * after 9999. */
ms_status ms_filetime_format_iso(uint64_t filetime, char *buf, size_t size);
ms_status ms_filetime_format_text(uint64_t filetime, char *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif
