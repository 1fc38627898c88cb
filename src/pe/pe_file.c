/* A PE file on disk seen by RVA, as the loader would lay it out. */
#include "pe.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ms_pe_file {
    uint8_t *data;
    size_t len;
    int mapped;               /* 0 while the headers are parsed at file offsets */
    ms_pe pe;
};

/* Header bytes live at the same offset in the file and the image. */
static ms_status read_raw(const ms_pe_file *f, uint64_t off, void *buf, size_t len)
{
    if (off > f->len || len > f->len - off)
        return MS_ERR_NOT_PRESENT;
    memcpy(buf, f->data + off, len);
    return MS_OK;
}

/* Copy what of [rva, rva+len) one section or the headers hold; returns the
 * bytes done, 0 when no part of the image holds `rva`. */
static size_t read_piece(const ms_pe_file *f, uint64_t rva, uint8_t *buf, size_t len)
{
    const ms_pe *pe = &f->pe;
    for (uint32_t i = 0; i < pe->section_count; i++) {
        const ms_pe_section *s = &pe->sections[i];
        if (s->virtual_size == 0)
            continue;
        /* The loader maps whole pages: the tail of the last one reads as zeros. */
        uint64_t extent = ((uint64_t)s->virtual_size + 0xfff) & ~0xfffull;
        if (extent > (uint64_t)pe->size_of_image - s->rva)
            extent = (uint64_t)pe->size_of_image - s->rva;
        if (rva < s->rva || rva - s->rva >= extent)
            continue;
        uint64_t in = rva - s->rva;
        size_t n = extent - in < len ? (size_t)(extent - in) : len;
        uint64_t raw = s->raw_size < s->virtual_size ? s->raw_size : s->virtual_size;
        if (s->raw_offset > f->len)
            raw = 0;
        else if (raw > f->len - s->raw_offset)
            raw = f->len - s->raw_offset;
        size_t from_file = in < raw ? (size_t)(raw - in < n ? raw - in : n) : 0;
        if (from_file > 0)
            memcpy(buf, f->data + s->raw_offset + in, from_file);
        memset(buf + from_file, 0, n - from_file);
        return n;
    }
    uint64_t hdr = pe->size_of_headers < f->len ? pe->size_of_headers : f->len;
    if (rva < hdr) {
        size_t n = hdr - rva < len ? (size_t)(hdr - rva) : len;
        memcpy(buf, f->data + rva, n);
        return n;
    }
    return 0;
}

ms_status ms_pe_file_read(void *file, uint64_t rva, void *buf, size_t len)
{
    const ms_pe_file *f = file;
    if (!f->mapped)
        return read_raw(f, rva, buf, len);
    uint8_t *out = buf;
    while (len > 0) {
        size_t n = read_piece(f, rva, out, len);
        if (n == 0)
            return MS_ERR_NOT_PRESENT;
        out += n;
        rva += n;
        len -= n;
    }
    return MS_OK;
}

static ms_status adopt(uint8_t *data, size_t len, ms_pe_file **out)
{
    ms_pe_file *f = calloc(1, sizeof *f);
    if (f == NULL) {
        free(data);
        return ms_fail(MS_ERR_NOMEM, "out of memory for a PE file");
    }
    f->data = data;
    f->len = len;
    ms_status st = ms_pe_parse(ms_pe_file_read, f, &f->pe);
    if (st != MS_OK) {
        ms_pe_file_close(f);
        return st;
    }
    f->mapped = 1;
    *out = f;
    return MS_OK;
}

ms_status ms_pe_file_from_buffer(const uint8_t *data, size_t len, ms_pe_file **out)
{
    if ((data == NULL && len > 0) || out == NULL)
        return ms_fail(MS_ERR_ARG, "ms_pe_file_from_buffer needs bytes and an out-parameter");
    if (len > MS_PE_MAX_IMAGE)
        return ms_fail(MS_ERR_LIMIT, "PE file of %zu bytes is larger than %u", len, MS_PE_MAX_IMAGE);
    uint8_t *copy = malloc(len ? len : 1);
    if (copy == NULL)
        return ms_fail(MS_ERR_NOMEM, "out of memory copying a %zu-byte PE file", len);
    if (len > 0)
        memcpy(copy, data, len);
    return adopt(copy, len, out);
}

ms_status ms_pe_file_open(const char *path, ms_pe_file **out)
{
    if (path == NULL || out == NULL)
        return ms_fail(MS_ERR_ARG, "ms_pe_file_open needs a path and an out-parameter");
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return ms_fail(MS_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    long size = -1;
    if (fseek(fp, 0, SEEK_END) == 0)
        size = ftell(fp);
    if (size < 0 || fseek(fp, 0, SEEK_SET) != 0) {
        fclose(fp);
        return ms_fail(MS_ERR_IO, "cannot find the size of '%s'", path);
    }
    if ((unsigned long)size > MS_PE_MAX_IMAGE) {
        fclose(fp);
        return ms_fail(MS_ERR_LIMIT, "'%s' is %ld bytes, larger than the %u a PE file may be", path, size,
                       MS_PE_MAX_IMAGE);
    }
    uint8_t *data = malloc(size ? (size_t)size : 1);
    if (data == NULL) {
        fclose(fp);
        return ms_fail(MS_ERR_NOMEM, "out of memory reading '%s'", path);
    }
    size_t got = fread(data, 1, (size_t)size, fp);
    int failed = ferror(fp);
    fclose(fp);
    if (failed || got != (size_t)size) {
        free(data);
        return ms_fail(MS_ERR_IO, "cannot read '%s'", path);
    }
    ms_status st = adopt(data, (size_t)size, out);
    if (st != MS_OK) {
        char why[400];
        snprintf(why, sizeof why, "%s", ms_last_error());
        return ms_fail(st, "'%s': %s", path, why);
    }
    return MS_OK;
}

void ms_pe_file_close(ms_pe_file *file)
{
    if (file == NULL)
        return;
    free(file->data);
    free(file);
}

const ms_pe *ms_pe_file_pe(const ms_pe_file *file)
{
    return &file->pe;
}
