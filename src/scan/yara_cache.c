/* Compiled rule sets cached on disk as libyara's own saved form, named by
 * the SHA-256 of the sources.  Compiled rules hold bytecode that libyara
 * trusts, so only files owned by this user in a directory nobody else can
 * write are loaded. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "yara_internal.h"

static void cache_path(const char *dir, const uint8_t digest[32], char *buf, size_t size)
{
    char hex[65];
    for (unsigned i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    snprintf(buf, size, "%s/yara-%s.yarc", dir, hex);
}

static int private_to_us(const struct stat *st)
{
    return st->st_uid == geteuid() && (st->st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

ms_status ms_yara_cache_load(const char *dir, const uint8_t digest[32], YR_RULES **out)
{
    char path[4096];
    cache_path(dir, digest, path, sizeof path);
    struct stat dst, fst;
    if (stat(dir, &dst) != 0 || stat(path, &fst) != 0)
        return ms_fail(MS_ERR_NOT_FOUND, "no cached rules at %s", path);
    if (!S_ISDIR(dst.st_mode) || !private_to_us(&dst) || !S_ISREG(fst.st_mode) || !private_to_us(&fst))
        return ms_fail(MS_ERR_UNSUPPORTED, "not loading %s: it or its directory is not private to this user", path);
    int rc = yr_rules_load(path, out);
    if (rc != ERROR_SUCCESS)
        return ms_fail(MS_ERR_FORMAT, "cached rules %s are unusable: %s", path, ms_yara_error_name(rc));
    return MS_OK;
}

static ms_status make_dirs(const char *dir)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf)
        return ms_fail(MS_ERR_ARG, "cache directory path is too long");
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(buf, 0700) != 0 && errno != EEXIST)
            return ms_fail(MS_ERR_IO, "cannot create %s: %s", buf, strerror(errno));
        *p = saved;
        if (saved == '\0')
            break;
    }
    return MS_OK;
}

ms_status ms_yara_cache_save(const char *dir, const uint8_t digest[32], YR_RULES *rules)
{
    ms_status st = make_dirs(dir);
    if (st != MS_OK)
        return st;
    char path[4096], tmp[4096];
    cache_path(dir, digest, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s/.yara-XXXXXX", dir);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return ms_fail(MS_ERR_IO, "cannot write to the cache directory %s: %s", dir, strerror(errno));
    close(fd);
    int rc = yr_rules_save(rules, tmp);
    if (rc != ERROR_SUCCESS) {
        unlink(tmp);
        return ms_fail(MS_ERR_IO, "saving compiled rules to %s failed: %s", tmp, ms_yara_error_name(rc));
    }
    if (rename(tmp, path) != 0) {
        int err = errno;
        unlink(tmp);
        return ms_fail(MS_ERR_IO, "cannot rename %s to %s: %s", tmp, path, strerror(err));
    }
    return MS_OK;
}
