/* Internals shared by the renderer front end and its output formats. */
#ifndef MS_RENDER_IMPL_H
#define MS_RENDER_IMPL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "memsift/render.h"

typedef struct ms_render_ops {
    ms_status (*begin)(ms_renderer *r);
    ms_status (*row)(ms_renderer *r, const ms_value *values);
    ms_status (*end)(ms_renderer *r);
} ms_render_ops;

struct ms_renderer {
    ms_render_format format;
    const ms_render_ops *ops;
    FILE *out;
    ms_column *columns;      /* copies, names owned */
    size_t ncolumns;
    size_t *widths;          /* text: current width of each column */
    uint64_t rows;
    int state;               /* 0 created, 1 begun, 2 ended */
};

extern const ms_render_ops ms_render_text_ops;
extern const ms_render_ops ms_render_json_ops;
extern const ms_render_ops ms_render_jsonl_ops;
extern const ms_render_ops ms_render_csv_ops;

/* True when the value renders as null: flagged null, a NULL string, or a
 * time that cannot be formatted. */
int ms_render_is_null(const ms_column *col, const ms_value *val);

/* Decode one UTF-8 sequence from s[0..len), len >= 1.  Returns the bytes
 * consumed (at least 1).  *cp is the code point, or -1 for an ill-formed
 * sequence, in which case the bytes consumed are its maximal subpart (the
 * Unicode recommendation for replacing with U+FFFD). */
size_t ms_utf8_decode(const unsigned char *s, size_t len, int32_t *cp);

/* Write the UTF-8 encoding of a code point. */
void ms_utf8_put(FILE *out, int32_t cp);

/* 1 when ms_filetime_format_* accepts the time; sets no error. */
int ms_filetime_valid(uint64_t filetime);

/* fputs/fwrite status check after a row or the document end. */
ms_status ms_render_check_stream(ms_renderer *r);

#endif
