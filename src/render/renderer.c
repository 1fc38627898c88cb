/* ms_renderer: the common front end; formats implement ms_render_ops. */
#include "render_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

ms_status ms_render_format_parse(const char *name, ms_render_format *out)
{
    static const struct {
        const char *name;
        ms_render_format format;
    } names[] = {
        {"text", MS_RENDER_TEXT}, {"quick", MS_RENDER_TEXT}, {"pretty", MS_RENDER_TEXT},
        {"json", MS_RENDER_JSON}, {"jsonl", MS_RENDER_JSONL}, {"csv", MS_RENDER_CSV},
    };
    if (name == NULL || out == NULL)
        return ms_fail(MS_ERR_ARG, "ms_render_format_parse needs a name and an out-parameter");
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(name, names[i].name) == 0) {
            *out = names[i].format;
            return MS_OK;
        }
    }
    return ms_fail(MS_ERR_ARG, "unknown output format '%s': expected text, json, jsonl or csv", name);
}

ms_status ms_renderer_create(ms_render_format format, FILE *stream, ms_renderer **out)
{
    const ms_render_ops *ops;
    switch (format) {
    case MS_RENDER_TEXT: ops = &ms_render_text_ops; break;
    case MS_RENDER_JSON: ops = &ms_render_json_ops; break;
    case MS_RENDER_JSONL: ops = &ms_render_jsonl_ops; break;
    case MS_RENDER_CSV: ops = &ms_render_csv_ops; break;
    default: return ms_fail(MS_ERR_ARG, "unknown render format %d", (int)format);
    }
    if (stream == NULL || out == NULL)
        return ms_fail(MS_ERR_ARG, "ms_renderer_create needs a stream and an out-parameter");
    ms_renderer *r = calloc(1, sizeof *r);
    if (r == NULL)
        return ms_fail(MS_ERR_NOMEM, "out of memory creating a renderer");
    r->format = format;
    r->ops = ops;
    r->out = stream;
    *out = r;
    return MS_OK;
}

static void free_columns(ms_renderer *r)
{
    for (size_t i = 0; i < r->ncolumns; i++)
        free((char *)r->columns[i].name);
    free(r->columns);
    free(r->widths);
    r->columns = NULL;
    r->widths = NULL;
    r->ncolumns = 0;
}

ms_status ms_renderer_begin(ms_renderer *r, const ms_column *columns, size_t ncolumns)
{
    if (r == NULL || (columns == NULL && ncolumns > 0))
        return ms_fail(MS_ERR_ARG, "ms_renderer_begin needs a renderer and its columns");
    if (r->state != 0)
        return ms_fail(MS_ERR_ARG, "the renderer's columns were already declared");
    for (size_t i = 0; i < ncolumns; i++)
        if ((unsigned)columns[i].type > MS_VT_BOOL)
            return ms_fail(MS_ERR_ARG, "column %zu ('%s') has unknown value type %d", i,
                           columns[i].name ? columns[i].name : "", (int)columns[i].type);
    r->columns = calloc(ncolumns ? ncolumns : 1, sizeof *r->columns);
    r->widths = calloc(ncolumns ? ncolumns : 1, sizeof *r->widths);
    if (r->columns == NULL || r->widths == NULL) {
        free_columns(r);
        return ms_fail(MS_ERR_NOMEM, "out of memory declaring %zu columns", ncolumns);
    }
    for (size_t i = 0; i < ncolumns; i++) {
        r->columns[i] = columns[i];
        r->columns[i].name = strdup(columns[i].name ? columns[i].name : "");
        r->ncolumns = i + 1;
        if (r->columns[i].name == NULL) {
            free_columns(r);
            return ms_fail(MS_ERR_NOMEM, "out of memory declaring %zu columns", ncolumns);
        }
    }
    r->state = 1;
    ms_status st = r->ops->begin(r);
    return st != MS_OK ? st : ms_render_check_stream(r);
}

ms_status ms_renderer_row(ms_renderer *r, const ms_value *values)
{
    if (r == NULL || (values == NULL && r->ncolumns > 0))
        return ms_fail(MS_ERR_ARG, "ms_renderer_row needs a renderer and one value per column");
    if (r->state != 1)
        return ms_fail(MS_ERR_ARG, r->state == 0 ? "a row was given before the columns were declared"
                                                  : "a row was given after the renderer ended");
    ms_status st = r->ops->row(r, values);
    r->rows++;
    return st != MS_OK ? st : ms_render_check_stream(r);
}

ms_status ms_renderer_end(ms_renderer *r)
{
    if (r == NULL)
        return ms_fail(MS_ERR_ARG, "ms_renderer_end needs a renderer");
    if (r->state != 1)
        return ms_fail(MS_ERR_ARG, r->state == 0 ? "the renderer ended before its columns were declared"
                                                  : "the renderer already ended");
    r->state = 2;
    ms_status st = r->ops->end(r);
    if (st != MS_OK)
        return st;
    if (fflush(r->out) != 0)
        return ms_fail(MS_ERR_IO, "cannot write the output: %s", strerror(errno));
    return ms_render_check_stream(r);
}

void ms_renderer_destroy(ms_renderer *r)
{
    if (r == NULL)
        return;
    free_columns(r);
    free(r);
}

ms_status ms_render_check_stream(ms_renderer *r)
{
    if (ferror(r->out))
        return ms_fail(MS_ERR_IO, "cannot write the output: %s", errno ? strerror(errno) : "stream error");
    return MS_OK;
}

int ms_render_is_null(const ms_column *col, const ms_value *val)
{
    if (val->is_null)
        return 1;
    if (col->type == MS_VT_STR)
        return val->v.s == NULL;
    if (col->type == MS_VT_TIME)
        return !ms_filetime_valid(val->v.u);
    return 0;
}
