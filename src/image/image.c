/* ms_image: format detection and physical reads through the run map. */
#include "memsift/image.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats.h"
#include "vmware.h"

struct ms_image {
    ms_source *source;
    ms_runmap map;
    ms_image_info info;
    char *vmware_path;
};

void ms_image_options_init(ms_image_options *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->gzip_cache_index = 1;
}

static ms_status open_source(const char *path, const ms_image_options *opts, ms_source **out)
{
    ms_source *src;
    ms_status st = ms_source_open_file(path, opts->no_mmap, &src);
    if (st != MS_OK)
        return st;
    if (!ms_source_is_gzip(src)) {
        *out = src;
        return MS_OK;
    }
    char *index_path = NULL;
    if (opts->gzip_cache_index) {
        size_t n = strlen(path) + sizeof ".msidx";
        index_path = malloc(n);
        if (index_path != NULL)
            snprintf(index_path, n, "%s.msidx", path);
    }
    st = ms_source_open_gzip(src, index_path, out);
    free(index_path);
    return st;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash != NULL ? slash + 1 : path;
}

/* Restate the parser's message with the metadata file it is about. */
static ms_status vmware_fail(ms_status st, const char *meta_path, int found_beside)
{
    char reason[512];
    snprintf(reason, sizeof reason, "%s", ms_last_error());
    return ms_fail(st, "VMware metadata '%s': %s%s", base_name(meta_path), reason,
                   found_beside ? " (it was found beside the image; --no-vmss ignores it)" : "");
}

/* A raw image: flat, or a .vmem laid out by its .vmss/.vmsn. */
static ms_status raw_map(ms_image *img, const char *path, const ms_image_options *opts)
{
    ms_source *src = img->source;
    const char *want = opts->vmware_metadata;
    char *meta_path = NULL;
    ms_status st = MS_OK;
    if (want == NULL)
        st = ms_vmware_find_sidecar(path, src->compressed, &meta_path);
    else if (want[0] != '\0' && (meta_path = strdup(want)) == NULL)
        st = ms_fail(MS_ERR_NOMEM, "out of memory opening '%s'", path);
    if (st != MS_OK)
        return st;
    img->info.format = MS_FORMAT_RAW;
    if (meta_path == NULL)
        return ms_runmap_add(&img->map, 0, src->size, 0);

    img->vmware_path = meta_path;
    ms_source *meta;
    ms_vmware_meta m = {0, 0, NULL};
    if ((st = ms_source_open_file(meta_path, opts->no_mmap, &meta)) != MS_OK)
        return st;
    st = ms_vmware_meta_parse(meta, &m);
    ms_source_close(meta);
    if (st == MS_OK)
        st = m.count > 0 ? ms_vmware_build_map(&m, src->size, &img->map) : ms_runmap_add(&img->map, 0, src->size, 0);
    size_t regions = m.count;
    ms_vmware_meta_free(&m);
    if (st != MS_OK)
        return vmware_fail(st, meta_path, want == NULL);
    img->info.format = MS_FORMAT_VMWARE;
    img->info.vmware_metadata = meta_path;
    img->info.vmware_regions = regions;
    return MS_OK;
}

static ms_status build_map(ms_image *img, const char *path, const ms_image_options *opts)
{
    ms_source *src = img->source;
    ms_image_info *info = &img->info;
    info->header.pae_enabled = -1;

    int crash = ms_crashdump_detect(src), lime = !crash && ms_lime_detect(src);
    if ((crash || lime) && opts->vmware_metadata != NULL && opts->vmware_metadata[0] != '\0')
        return ms_fail(MS_ERR_ARG, "VMware metadata '%s' applies to a raw .vmem, but '%s' is a %s",
                       base_name(opts->vmware_metadata), base_name(path), crash ? "crash dump" : "LiME image");
    if (crash) {
        ms_status st = ms_crashdump_parse(src, &info->header, &img->map);
        if (st != MS_OK)
            return st;
        info->format = info->header.is_64bit ? MS_FORMAT_CRASH64 : MS_FORMAT_CRASH32;
        return MS_OK;
    }
    if (lime) {
        info->format = MS_FORMAT_LIME;
        return ms_lime_parse(src, &img->map);
    }
    return raw_map(img, path, opts);
}

ms_status ms_image_open(const char *path, const ms_image_options *opts, ms_image **out)
{
    if (path == NULL || out == NULL)
        return ms_fail(MS_ERR_ARG, "ms_image_open needs a path and an out-parameter");
    ms_image_options defaults;
    if (opts == NULL) {
        ms_image_options_init(&defaults);
        opts = &defaults;
    }
    ms_image *img = calloc(1, sizeof *img);
    if (img == NULL)
        return ms_fail(MS_ERR_NOMEM, "out of memory opening '%s'", path);
    ms_runmap_init(&img->map);

    ms_status st = open_source(path, opts, &img->source);
    if (st == MS_OK)
        st = build_map(img, path, opts);
    if (st == MS_OK)
        st = ms_runmap_check(&img->map, img->source->size);
    if (st != MS_OK) {
        ms_image_close(img);
        return st;
    }

    ms_image_info *info = &img->info;
    info->compressed = img->source->compressed;
    info->file_size = img->source->size;
    info->range_count = img->map.count;
    info->present_bytes = ms_runmap_present_bytes(&img->map);
    info->has_physical_memory = img->map.count > 0;
    if (img->map.count > 0) {
        const ms_run *last = &img->map.runs[img->map.count - 1];
        info->max_address = last->paddr + last->length;
    }
    *out = img;
    return MS_OK;
}

void ms_image_close(ms_image *image)
{
    if (image == NULL)
        return;
    ms_runmap_free(&image->map);
    ms_source_close(image->source);
    free(image->vmware_path);
    free(image);
}

const ms_image_info *ms_image_get_info(const ms_image *image)
{
    return &image->info;
}

ms_status ms_image_read(ms_image *image, uint64_t paddr, void *buf, size_t len)
{
    uint8_t *out = buf;
    int missing = 0;
    while (len > 0) {
        const ms_run *run = ms_runmap_find(&image->map, paddr);
        if (run == NULL) {
            /* Zero-fill up to the next run (or the end of the request). */
            const ms_run *next = ms_runmap_next(&image->map, paddr);
            uint64_t gap = next ? next->paddr - paddr : UINT64_MAX;
            size_t n = gap < len ? (size_t)gap : len;
            memset(out, 0, n);
            missing = 1;
            out += n;
            paddr += n;
            len -= n;
            continue;
        }
        uint64_t avail = run->length - (paddr - run->paddr);
        size_t n = avail < len ? (size_t)avail : len;
        ms_status st = ms_source_read(image->source, run->offset + (paddr - run->paddr), out, n);
        if (st != MS_OK)
            return st == MS_ERR_TRUNCATED ? MS_ERR_IO : st;
        out += n;
        paddr += n;
        len -= n;
    }
    return missing ? MS_ERR_NOT_PRESENT : MS_OK;
}

ms_status ms_image_range(const ms_image *image, size_t index, ms_phys_range *out)
{
    if (index >= image->map.count)
        return ms_fail(MS_ERR_ARG, "range index %zu is past the %zu ranges of the image", index, image->map.count);
    out->start = image->map.runs[index].paddr;
    out->length = image->map.runs[index].length;
    return MS_OK;
}

ms_status ms_image_map(ms_image *image, uint64_t paddr, size_t len, const uint8_t **ptr)
{
    if (image->source->map == NULL)
        return MS_ERR_UNSUPPORTED;
    const ms_run *run = ms_runmap_find(&image->map, paddr);
    if (run == NULL || len > run->length - (paddr - run->paddr))
        return MS_ERR_UNSUPPORTED;
    *ptr = image->source->map + run->offset + (paddr - run->paddr);
    return MS_OK;
}

const char *ms_image_format_name(ms_image_format format)
{
    switch (format) {
    case MS_FORMAT_RAW: return "raw";
    case MS_FORMAT_CRASH32: return "crash dump (32-bit)";
    case MS_FORMAT_CRASH64: return "crash dump (64-bit)";
    case MS_FORMAT_LIME: return "LiME";
    case MS_FORMAT_VMWARE: return "VMware .vmem";
    }
    return "unknown";
}

const char *ms_dump_type_name(uint32_t dump_type)
{
    switch (dump_type) {
    case MS_DUMP_NONE: return "none";
    case MS_DUMP_FULL: return "full";
    case MS_DUMP_SUMMARY: return "summary";
    case MS_DUMP_HEADER: return "header only";
    case MS_DUMP_TRIAGE: return "triage";
    case MS_DUMP_BITMAP_FULL: return "bitmap (full)";
    case MS_DUMP_BITMAP_KERNEL: return "bitmap (kernel)";
    }
    return "unknown";
}

const char *ms_machine_name(uint32_t machine_type)
{
    switch (machine_type) {
    case MS_MACHINE_I386: return "I386";
    case MS_MACHINE_AMD64: return "AMD64";
    case MS_MACHINE_ARM64: return "ARM64";
    }
    return "unknown";
}
