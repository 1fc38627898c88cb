/* A plain file as a byte source: mapped whole when possible, else pread. */
#include "source.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct file_ctx {
    int fd;
    void *map;
    size_t map_len;
} file_ctx;

static ms_status file_read(void *ctx, uint64_t off, void *buf, size_t len)
{
    file_ctx *f = ctx;
    if (f->map != NULL) {
        memcpy(buf, (const uint8_t *)f->map + off, len);
        return MS_OK;
    }
    uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = pread(f->fd, p, len, (off_t)off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return ms_fail(MS_ERR_IO, "read of %zu bytes at file offset 0x%llx failed: %s", len,
                           (unsigned long long)off, strerror(errno));
        }
        if (n == 0)
            return ms_fail(MS_ERR_TRUNCATED, "file ended at offset 0x%llx while reading", (unsigned long long)off);
        p += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return MS_OK;
}

static void file_destroy(void *ctx)
{
    file_ctx *f = ctx;
    if (f->map != NULL)
        munmap(f->map, f->map_len);
    close(f->fd);
    free(f);
}

static const ms_source_ops file_ops = {file_read, file_destroy};

ms_status ms_source_open_file(const char *path, int no_mmap, ms_source **out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ms_fail(MS_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return ms_fail(MS_ERR_IO, "cannot stat '%s': %s", path, strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return ms_fail(MS_ERR_ARG, "'%s' is a directory, expected a memory image file", path);
    }
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
        close(fd);
        return ms_fail(MS_ERR_ARG, "'%s' is not a regular file", path);
    }
    uint64_t size = (uint64_t)st.st_size;
    if (S_ISBLK(st.st_mode)) {
        off_t end = lseek(fd, 0, SEEK_END);
        size = end > 0 ? (uint64_t)end : 0;
    }
    if (size == 0) {
        close(fd);
        return ms_fail(MS_ERR_FORMAT, "'%s' is empty (0 bytes), expected a memory image", path);
    }

    file_ctx *f = calloc(1, sizeof *f);
    ms_source *src = calloc(1, sizeof *src);
    if (f == NULL || src == NULL) {
        free(f);
        free(src);
        close(fd);
        return ms_fail(MS_ERR_NOMEM, "out of memory opening '%s'", path);
    }
    f->fd = fd;
    if (!no_mmap && size <= SIZE_MAX) {
        void *m = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, fd, 0);
        if (m != MAP_FAILED) {
            f->map = m;
            f->map_len = (size_t)size;
            madvise(m, (size_t)size, MADV_SEQUENTIAL);
        }
    }
    src->size = size;
    src->map = f->map;
    src->ops = &file_ops;
    src->ctx = f;
    *out = src;
    return MS_OK;
}

int ms_source_is_gzip(ms_source *src)
{
    uint8_t magic[3];
    if (src->size < 18 || ms_source_read(src, 0, magic, sizeof magic) != MS_OK)
        return 0;
    return magic[0] == 0x1f && magic[1] == 0x8b && magic[2] == 0x08;
}

ms_status ms_source_read(ms_source *src, uint64_t off, void *buf, size_t len)
{
    if (off > src->size || len > src->size - off)
        return ms_fail(MS_ERR_TRUNCATED, "read of %zu bytes at offset 0x%llx passes the end of the %llu-byte file",
                       len, (unsigned long long)off, (unsigned long long)src->size);
    if (len == 0)
        return MS_OK;
    return src->ops->read(src->ctx, off, buf, len);
}

void ms_source_close(ms_source *src)
{
    if (src == NULL)
        return;
    src->ops->destroy(src->ctx);
    free(src);
}
