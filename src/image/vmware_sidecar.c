/* Finding the .vmss/.vmsn beside a .vmem.  This is the one place memsift
 * goes by file names: a .vmem has no header, so nothing in its bytes says
 * that it is one or where its metadata is. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "vmware.h"

#define NAME_CAP 256

typedef struct best {
    char *path;
    int rank;                /* lower is better */
    char name[NAME_CAP];
} best;

static char *join(const char *dir, size_t dir_len, const char *name)
{
    size_t n = dir_len + strlen(name) + 1;
    char *p = malloc(n);
    if (p != NULL)
        snprintf(p, n, "%.*s%s", (int)dir_len, dir, name);
    return p;
}

/* A regular file that is not the image itself. */
static int usable(const char *path, const struct stat *image)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
           !(image != NULL && st.st_dev == image->st_dev && st.st_ino == image->st_ino);
}

/* 0 for .vmss, 2 for .vmsn, plus 1 when not all lower case; -1 if neither. */
static int rank_of(const char *ext)
{
    int base = strcasecmp(ext, "vmss") == 0 ? 0 : strcasecmp(ext, "vmsn") == 0 ? 2 : -1;
    if (base < 0)
        return -1;
    return base + (strcmp(ext, base == 0 ? "vmss" : "vmsn") != 0);
}

static ms_status consider(best *b, const char *dir, size_t dir_len, const char *name, int rank,
                          const struct stat *image)
{
    if (b->path != NULL && (rank > b->rank || (rank == b->rank && strcmp(name, b->name) >= 0)))
        return MS_OK;
    char *path = join(dir, dir_len, name);
    if (path == NULL)
        return ms_fail(MS_ERR_NOMEM, "out of memory looking for VMware metadata");
    if (!usable(path, image)) {
        free(path);
        return MS_OK;
    }
    free(b->path);
    b->path = path;
    b->rank = rank;
    snprintf(b->name, sizeof b->name, "%s", name);
    return MS_OK;
}

ms_status ms_vmware_find_sidecar(const char *image_path, int compressed, char **out)
{
    *out = NULL;
    size_t len = strlen(image_path);
    const char *slash = strrchr(image_path, '/');
    size_t dir_len = slash != NULL ? (size_t)(slash - image_path) + 1 : 0;
    size_t end = len;
    if (compressed && end - dir_len > 3 && strcasecmp(image_path + end - 3, ".gz") == 0)
        end -= 3;
    for (size_t i = end; i > dir_len + 1; i--) {
        if (image_path[i - 1] == '.') {
            end = i - 1;
            break;
        }
    }
    const char *base = image_path + dir_len;
    size_t base_len = end - dir_len;
    if (base_len == 0 || base_len + 6 > NAME_CAP)
        return MS_OK;

    struct stat image_st;
    const struct stat *image = stat(image_path, &image_st) == 0 ? &image_st : NULL;
    best b = {NULL, 0, ""};
    ms_status st = MS_OK;
    char dir[4096];
    snprintf(dir, sizeof dir, "%.*s", (int)(dir_len > 0 ? dir_len : 1), dir_len > 0 ? image_path : ".");
    DIR *d = dir_len < sizeof dir ? opendir(dir) : NULL;
    if (d != NULL) {
        const struct dirent *e;
        while (st == MS_OK && (e = readdir(d)) != NULL) {
            if (strlen(e->d_name) != base_len + 5 || memcmp(e->d_name, base, base_len) != 0 ||
                e->d_name[base_len] != '.')
                continue;
            int rank = rank_of(e->d_name + base_len + 1);
            if (rank >= 0)
                st = consider(&b, image_path, dir_len, e->d_name, rank, image);
        }
        closedir(d);
    } else {
        /* An unlistable directory: try the lower-case names. */
        static const char *const exts[] = {".vmss", ".vmsn"};
        for (int k = 0; k < 2 && st == MS_OK && b.path == NULL; k++) {
            char name[NAME_CAP];
            snprintf(name, sizeof name, "%.*s%s", (int)base_len, base, exts[k]);
            st = consider(&b, image_path, dir_len, name, 2 * k, image);
        }
    }
    if (st != MS_OK) {
        free(b.path);
        return st;
    }
    *out = b.path;
    return MS_OK;
}
