/* The collection of known profiles: built-in ones and a user's directory. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "builtin_profiles.h"
#include "profile_internal.h"
#include "tcpip_index.h"

#define MAX_PROFILE_FILE (32u << 20)
#define MAX_DIR_DEPTH 4

struct ms_profile_db {
    ms_profile **profiles;
    size_t count;
    size_t capacity;
    ms_tcpip_index tcpip;
};

ms_status ms_profile_db_add(ms_profile_db *db, ms_profile *profile)
{
    if (db->count == db->capacity) {
        size_t cap = db->capacity ? db->capacity * 2 : 32;
        ms_profile **n = realloc(db->profiles, cap * sizeof *n);
        if (n == NULL) {
            ms_profile_destroy(profile);
            return ms_fail(MS_ERR_NOMEM, "out of memory adding profile %s", ms_profile_name(profile));
        }
        db->profiles = n;
        db->capacity = cap;
    }
    db->profiles[db->count++] = profile;
    return MS_OK;
}

static int has_suffix(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static ms_status add_text(ms_profile_db *db, const char *origin, const char *text, size_t len)
{
    if (has_suffix(origin, ".idx")) {
        /* Kernel symbol RVAs are in the kernel .prof files already; only the
         * tcpip index adds what no layout profile holds. */
        if (strstr(origin, "tcpip") == NULL)
            return MS_OK;
        return ms_tcpip_index_parse(&db->tcpip, text, len, origin);
    }
    ms_profile *p;
    ms_status st = ms_profile_parse(text, len, origin, &p);
    if (st != MS_OK)
        return st;
    return ms_profile_db_add(db, p);
}

ms_status ms_profile_db_create(ms_profile_db **out)
{
    ms_profile_db *db = calloc(1, sizeof *db);
    if (db == NULL)
        return ms_fail(MS_ERR_NOMEM, "out of memory creating the profile database");
    for (const ms_builtin_file *f = ms_builtin_profiles; f->path != NULL; f++) {
        ms_status st = add_text(db, f->path, f->data, f->size);
        if (st != MS_OK) {
            ms_profile_db_destroy(db);
            return st;
        }
    }
    *out = db;
    return MS_OK;
}

void ms_profile_db_destroy(ms_profile_db *db)
{
    if (db == NULL)
        return;
    for (size_t i = 0; i < db->count; i++)
        ms_profile_destroy(db->profiles[i]);
    free(db->profiles);
    ms_tcpip_index_free(&db->tcpip);
    free(db);
}

static ms_status add_file(ms_profile_db *db, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return ms_fail(MS_ERR_IO, "cannot open profile '%s'", path);
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || st.st_size < 0 || (uint64_t)st.st_size > MAX_PROFILE_FILE) {
        fclose(f);
        return ms_fail(MS_ERR_LIMIT, "profile '%s' is larger than %u bytes", path, MAX_PROFILE_FILE);
    }
    size_t len = (size_t)st.st_size;
    char *text = malloc(len + 1);
    if (text == NULL) {
        fclose(f);
        return ms_fail(MS_ERR_NOMEM, "out of memory reading '%s'", path);
    }
    size_t got = fread(text, 1, len, f);
    fclose(f);
    ms_status status = got == len ? add_text(db, path, text, len)
                                  : ms_fail(MS_ERR_IO, "short read of profile '%s'", path);
    free(text);
    return status;
}

static ms_status add_dir(ms_profile_db *db, const char *dir, int depth)
{
    if (depth > MAX_DIR_DEPTH)
        return MS_OK;
    DIR *d = opendir(dir);
    if (d == NULL)
        return ms_fail(MS_ERR_IO, "cannot open profile directory '%s'", dir);
    ms_status status = MS_OK;
    struct dirent *e;
    while (status == MS_OK && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        size_t n = strlen(dir) + strlen(e->d_name) + 2;
        char *path = malloc(n);
        if (path == NULL) {
            status = ms_fail(MS_ERR_NOMEM, "out of memory listing '%s'", dir);
            break;
        }
        snprintf(path, n, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) == 0) {
            if (S_ISDIR(st.st_mode))
                status = add_dir(db, path, depth + 1);
            else if (S_ISREG(st.st_mode) && (has_suffix(path, ".prof") || has_suffix(path, ".idx")))
                status = add_file(db, path);
        }
        free(path);
    }
    closedir(d);
    return status;
}

ms_status ms_profile_db_add_dir(ms_profile_db *db, const char *dir)
{
    return add_dir(db, dir, 0);
}

size_t ms_profile_db_count(const ms_profile_db *db)
{
    return db->count;
}

const ms_profile *ms_profile_db_at(const ms_profile_db *db, size_t index)
{
    return index < db->count ? db->profiles[index] : NULL;
}

static uint32_t build_distance(const ms_profile *p, uint32_t build)
{
    if (build < p->build_min)
        return p->build_min - build;
    if (build > p->build_max)
        return build - p->build_max;
    return 0;
}

ms_status ms_profile_db_find(const ms_profile_db *db, const char *module, unsigned pointer_size, uint32_t build,
                             const ms_profile **out, int *exact)
{
    const ms_profile *best = NULL;
    uint32_t best_distance = UINT32_MAX;
    uint32_t best_width = UINT32_MAX;
    /* Later profiles (a user's) win ties over earlier (built-in) ones. */
    for (size_t i = 0; i < db->count; i++) {
        const ms_profile *p = db->profiles[i];
        if (strcmp(p->module, module) != 0 || p->pointer_size != pointer_size)
            continue;
        uint32_t d = build_distance(p, build);
        uint32_t w = p->build_max - p->build_min;
        if (best == NULL || d < best_distance || (d == best_distance && w <= best_width)) {
            best = p;
            best_distance = d;
            best_width = w;
        }
    }
    if (best == NULL)
        return ms_fail(MS_ERR_NOT_FOUND, "no %s profile for %u-bit Windows is known", module, pointer_size * 8);
    *out = best;
    if (exact != NULL)
        *exact = best_distance == 0;
    return MS_OK;
}

ms_status ms_profile_db_tcpip_symbols(const ms_profile_db *db, const char *guid, uint32_t age, ms_tcpip_symbols *out)
{
    return ms_tcpip_index_find(&db->tcpip, guid, age, out);
}

size_t ms_profile_db_tcpip_count(const ms_profile_db *db)
{
    return db->tcpip.count;
}
