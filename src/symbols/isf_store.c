/* The user's profile directory: where imports go, loaded on every run. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "isf_internal.h"

#define MAX_EXISTING (32u << 20)

ms_status ms_profile_user_dir(char *buf, size_t size)
{
    const char *env = getenv("MEMSIFT_PROFILES");
    int n;
    if (env != NULL && env[0] != '\0') {
        n = snprintf(buf, size, "%s", env);
    } else if ((env = getenv("XDG_DATA_HOME")) != NULL && env[0] == '/') {
        n = snprintf(buf, size, "%s/memsift/profiles", env);
    } else if ((env = getenv("HOME")) != NULL && env[0] != '\0') {
        n = snprintf(buf, size, "%s/.local/share/memsift/profiles", env);
    } else {
        return ms_fail(MS_ERR_NOT_FOUND, "no user profile directory: set MEMSIFT_PROFILES or HOME");
    }
    if (n < 0 || (size_t)n >= size)
        return ms_fail(MS_ERR_LIMIT, "the user profile directory path is longer than %zu bytes", size - 1);
    return MS_OK;
}

ms_status ms_profile_db_add_user_dir(ms_profile_db *db)
{
    char dir[4096];
    ms_status st = ms_profile_user_dir(dir, sizeof dir);
    if (st == MS_ERR_NOT_FOUND)
        return MS_OK;
    if (st != MS_OK)
        return st;
    struct stat sb;
    if (stat(dir, &sb) != 0)
        return errno == ENOENT ? MS_OK : ms_fail(MS_ERR_IO, "cannot read the profile directory '%s': %s", dir,
                                                 strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return ms_fail(MS_ERR_IO, "the profile directory '%s' is not a directory", dir);
    return ms_profile_db_add_dir(db, dir);
}

static ms_status make_dirs(const char *dir)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path)
        return ms_fail(MS_ERR_LIMIT, "directory path '%s' is too long", dir);
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            return ms_fail(MS_ERR_IO, "cannot create '%s': %s", path, strerror(errno));
        *p = saved;
        if (saved == '\0')
            break;
    }
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return ms_fail(MS_ERR_IO, "'%s' is not a directory", dir);
    return MS_OK;
}

/* The file's contents (NUL-terminated), or NULL in *text when it does not exist. */
static ms_status read_existing(const char *path, char **text, size_t *len)
{
    *text = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return errno == ENOENT ? MS_OK : ms_fail(MS_ERR_IO, "cannot read '%s': %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size < 0 ||
        (uint64_t)sb.st_size > MAX_EXISTING) {
        fclose(f);
        return ms_fail(MS_ERR_IO, "'%s' exists and is not a regular file of at most %u MiB", path,
                       MAX_EXISTING >> 20);
    }
    size_t n = (size_t)sb.st_size;
    char *buf = malloc(n + 1);
    if (buf == NULL) {
        fclose(f);
        return ms_fail(MS_ERR_NOMEM, "out of memory reading '%s'", path);
    }
    size_t got = fread(buf, 1, n, f);
    fclose(f);
    if (got != n) {
        free(buf);
        return ms_fail(MS_ERR_IO, "short read of '%s'", path);
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return MS_OK;
}

/* Replace `path` with `text` through a temporary file in the same directory
 * (its name starts with '.', so a concurrent run never loads it). */
static ms_status write_atomic(const char *dir, const char *path, const char *text, size_t len)
{
    char tmp[4200];
    if (snprintf(tmp, sizeof tmp, "%s/.memsift-import.XXXXXX", dir) >= (int)sizeof tmp)
        return ms_fail(MS_ERR_LIMIT, "directory path '%s' is too long", dir);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return ms_fail(MS_ERR_IO, "cannot create a file in '%s': %s", dir, strerror(errno));
    FILE *f = fdopen(fd, "wb");
    if (f == NULL) {
        close(fd);
        unlink(tmp);
        return ms_fail(MS_ERR_IO, "cannot write in '%s': %s", dir, strerror(errno));
    }
    int ok = fwrite(text, 1, len, f) == len;
    ok = fflush(f) == 0 && ok;
    ok = fchmod(fileno(f), 0644) == 0 && ok;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return ms_fail(MS_ERR_IO, "cannot write '%s': %s", path, strerror(e));
    }
    return MS_OK;
}

/* dir/tcpip.idx with `line` in place of any line for the same GUID and age. */
static ms_status update_index(const char *dir, const char *line)
{
    char path[4200];
    if (snprintf(path, sizeof path, "%s/tcpip.idx", dir) >= (int)sizeof path)
        return ms_fail(MS_ERR_LIMIT, "directory path '%s' is too long", dir);
    char *old;
    size_t old_len;
    ms_status st = read_existing(path, &old, &old_len);
    if (st != MS_OK)
        return st;
    const char *sp = strchr(line, ' ');
    sp = sp ? strchr(sp + 1, ' ') : NULL;
    size_t key_len = sp ? (size_t)(sp - line) : strlen(line);
    ms_isf_text out = {NULL, 0, 0, 0};
    if (old == NULL)
        ms_isf_text_printf(&out, "# GUID AGE ARCH NAME=RVA ... (tcpip.pdb; written by 'memsift profiles import')\n");
    for (char *p = old; p != NULL && *p != '\0';) {
        char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        int same = n > key_len && strncasecmp(p, line, key_len) == 0 && (p[key_len] == ' ' || p[key_len] == '\t');
        if (!same && n > 0)
            ms_isf_text_printf(&out, "%.*s\n", (int)n, p);
        p = nl ? nl + 1 : NULL;
    }
    ms_isf_text_printf(&out, "%s\n", line);
    free(old);
    st = out.failed ? ms_fail(MS_ERR_NOMEM, "out of memory updating '%s'", path)
                    : write_atomic(dir, path, out.data, out.len);
    ms_isf_text_free(&out);
    return st;
}

ms_status ms_isf_import_save(const ms_isf_import *imp, const char *dir, int force, char *path, size_t path_size,
                             int *unchanged)
{
    if (imp == NULL || dir == NULL || dir[0] == '\0' || path == NULL || unchanged == NULL)
        return ms_fail(MS_ERR_ARG, "ms_isf_import_save needs an import, a directory and out-parameters");
    const ms_isf_summary *s = ms_isf_import_summary(imp);
    int n = snprintf(path, path_size, "%s/%s.prof", dir, s->name);
    if (n < 0 || (size_t)n >= path_size)
        return ms_fail(MS_ERR_LIMIT, "profile path in '%s' is too long", dir);
    ms_status st = make_dirs(dir);
    if (st != MS_OK)
        return st;
    size_t len;
    const char *text = ms_isf_import_text(imp, &len);
    char *old;
    size_t old_len;
    if ((st = read_existing(path, &old, &old_len)) != MS_OK)
        return st;
    *unchanged = old != NULL && old_len == len && memcmp(old, text, len) == 0;
    int differs = old != NULL && !*unchanged;
    free(old);
    if (differs && !force)
        return ms_fail(MS_ERR_ARG, "'%s' exists with other contents: use --force to replace it, or --name to "
                       "choose another name", path);
    if (!*unchanged && (st = write_atomic(dir, path, text, len)) != MS_OK)
        return st;
    const char *line = ms_isf_import_index_line(imp);
    return line != NULL ? update_index(dir, line) : MS_OK;
}
