/* Volatility 3 ISF -> profile text (docs/profiles.md). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "isf_internal.h"

struct ms_isf_import {
    ms_isf_summary summary;
    char name[128];
    char module[64];
    char pdb_name[128];
    char guid[33];
    char version[64];
    ms_isf_text text;
    ms_isf_text index;
};

typedef struct converter {
    ms_isf_import *imp;
    const char *origin;
    ms_isf_types types;
    json_t *root;
    int kernel;
} converter;

static int is_kernel_pdb(const char *stem)
{
    static const char *const names[] = {"ntkrnlmp", "ntoskrnl", "ntkrnlpa", "ntkrpamp"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(stem, names[i]) == 0)
            return 1;
    return 0;
}

static int get_u32(json_t *obj, const char *key, uint32_t *out)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > (json_int_t)UINT32_MAX)
        return 0;
    *out = (uint32_t)json_integer_value(v);
    return 1;
}

/* metadata.windows.pdb: GUID, age, database, machine type; the module and pointer size. */
static ms_status read_metadata(converter *c)
{
    ms_isf_import *imp = c->imp;
    json_t *meta = json_object_get(c->root, "metadata");
    if (!json_is_object(meta))
        return ms_fail(MS_ERR_FORMAT, "%s: not a Volatility 3 ISF: expected a 'metadata' object", c->origin);
    if (json_object_get(meta, "linux") != NULL || json_object_get(meta, "mac") != NULL)
        return ms_fail(MS_ERR_UNSUPPORTED, "%s: this is a %s ISF; memsift reads Windows only", c->origin,
                       json_object_get(meta, "linux") ? "Linux" : "macOS");
    static const char *const sections[] = {"user_types", "base_types", "symbols"};
    for (size_t i = 0; i < 3; i++)
        if (!json_is_object(json_object_get(c->root, sections[i])))
            return ms_fail(MS_ERR_FORMAT, "%s: not a Volatility 3 ISF: expected a '%s' object", c->origin,
                           sections[i]);
    json_t *windows = json_object_get(meta, "windows");
    json_t *pdb = json_object_get(windows, "pdb");
    if (!json_is_object(pdb))
        return ms_fail(MS_ERR_FORMAT, "%s: expected metadata.windows.pdb (GUID, age, database) in a Windows ISF",
                       c->origin);

    const char *guid = json_string_value(json_object_get(pdb, "GUID"));
    size_t n = 0;
    for (const char *g = guid; g != NULL && *g != '\0' && n <= 32; g++) {
        if (*g == '-' || *g == '{' || *g == '}')
            continue;
        if (!isxdigit((unsigned char)*g) || n == 32) {
            n = 33;
            break;
        }
        imp->guid[n++] = (char)toupper((unsigned char)*g);
    }
    if (n != 32)
        return ms_fail(MS_ERR_FORMAT, "%s: expected metadata.windows.pdb.GUID of 32 hex digits", c->origin);
    imp->guid[32] = '\0';
    if (!get_u32(pdb, "age", &imp->summary.age))
        return ms_fail(MS_ERR_FORMAT, "%s: expected metadata.windows.pdb.age, an integer from 0 to 2^32-1",
                       c->origin);
    const char *db = json_string_value(json_object_get(pdb, "database"));
    if (db == NULL || !ms_isf_token_ok(db) || strlen(db) >= sizeof imp->pdb_name)
        return ms_fail(MS_ERR_FORMAT, "%s: expected metadata.windows.pdb.database, a file name like ntkrnlmp.pdb",
                       c->origin);
    snprintf(imp->pdb_name, sizeof imp->pdb_name, "%s", db);

    /* The module: the PDB's base name, lower case; every kernel PDB is "nt". */
    char stem[64];
    size_t k = 0;
    for (const char *p = db; *p != '\0' && *p != '.' && k + 1 < sizeof stem; p++)
        if (isalnum((unsigned char)*p) || *p == '_' || *p == '-')
            stem[k++] = (char)tolower((unsigned char)*p);
    stem[k] = '\0';
    if (k == 0)
        return ms_fail(MS_ERR_FORMAT, "%s: cannot name a module after the PDB '%s'", c->origin, db);
    c->kernel = is_kernel_pdb(stem);
    snprintf(imp->module, sizeof imp->module, "%s", c->kernel ? "nt" : stem);

    /* Pointer width: the machine type, else base_types.pointer.size. */
    unsigned from_machine = 0, from_base = 0;
    uint32_t machine;
    json_t *mt = json_object_get(pdb, "machine_type");
    if (mt != NULL) {
        if (!get_u32(pdb, "machine_type", &machine))
            return ms_fail(MS_ERR_FORMAT, "%s: expected metadata.windows.pdb.machine_type to be an integer", c->origin);
        if (machine == 0x14c)
            from_machine = 4;
        else if (machine == 0x8664)
            from_machine = 8;
        else
            return ms_fail(MS_ERR_UNSUPPORTED, "%s: machine type 0x%x is not x86 (0x14c) or x64 (0x8664)", c->origin,
                           machine);
    }
    json_t *ptr = json_object_get(c->types.base, "pointer");
    if (ptr != NULL) {
        uint32_t size;
        if (!get_u32(ptr, "size", &size) || (size != 4 && size != 8))
            return ms_fail(MS_ERR_FORMAT, "%s: expected base_types.pointer.size 4 or 8", c->origin);
        from_base = size;
    }
    if (from_machine && from_base && from_machine != from_base)
        return ms_fail(MS_ERR_FORMAT, "%s: machine type 0x%x disagrees with base_types.pointer.size %u", c->origin,
                       machine, from_base);
    c->types.pointer_size = from_machine ? from_machine : from_base;
    if (c->types.pointer_size == 0)
        return ms_fail(MS_ERR_FORMAT, "%s: neither metadata.windows.pdb.machine_type nor base_types.pointer gives "
                       "the pointer size", c->origin);
    imp->summary.pointer_size = c->types.pointer_size;

    /* metadata.windows.pe: the file version, when the producer recorded it. */
    json_t *pe = json_object_get(windows, "pe");
    uint32_t major, minor, build, revision;
    if (json_is_object(pe) && get_u32(pe, "major", &major) && get_u32(pe, "minor", &minor) &&
        get_u32(pe, "build", &build) && build != 0 && build != MS_PROFILE_BUILD_PDB_ONLY) {
        imp->summary.build_min = imp->summary.build_max = build;
        if (get_u32(pe, "revision", &revision))
            snprintf(imp->version, sizeof imp->version, "%u.%u.%u.%u", major, minor, build, revision);
    }
    return MS_OK;
}

static int name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n >= 100 || name[0] == '.' || name[0] == '-')
        return 0;
    for (const char *p = name; *p != '\0'; p++)
        if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' && *p != '-')
            return 0;
    return 1;
}

static ms_status choose_builds_and_name(converter *c, const ms_isf_import_options *opts)
{
    ms_isf_import *imp = c->imp;
    ms_isf_summary *s = &imp->summary;
    if (s->build_min == 0 && opts != NULL && opts->build != 0) {
        if (opts->build == MS_PROFILE_BUILD_PDB_ONLY)
            return ms_fail(MS_ERR_ARG, "build %u is not an NT build number", opts->build);
        s->build_min = s->build_max = opts->build;
    }
    /* Public tcpip PDBs hold none of the layouts the network plugins read;
     * with a build range, this profile would hide the built-in ones. */
    if (strcmp(imp->module, "tcpip") == 0 && s->build_min != 0) {
        s->build_ignored = 1;
        s->build_min = 0;
    }
    if (s->build_min == 0)
        s->build_min = s->build_max = MS_PROFILE_BUILD_PDB_ONLY;
    const char *arch = s->pointer_size == 8 ? "x64" : "x86";
    if (opts != NULL && opts->name != NULL) {
        if (!name_ok(opts->name))
            return ms_fail(MS_ERR_ARG, "profile name '%s': use 1 to 99 letters, digits, '.', '_' or '-', not "
                           "starting with '.' or '-'", opts->name);
        snprintf(imp->name, sizeof imp->name, "%s", opts->name);
    } else if (s->build_min != MS_PROFILE_BUILD_PDB_ONLY) {
        snprintf(imp->name, sizeof imp->name, "%s-%u-%s", imp->module, s->build_min, arch);
    } else {
        snprintf(imp->name, sizeof imp->name, "%s-%s-%s-%u", imp->module, arch, imp->guid, s->age);
    }
    return MS_OK;
}

typedef struct member_row {
    const char *name;
    uint32_t offset;
    uint32_t bit_position;
    json_t *type;
} member_row;

static int compare_rows(const void *a, const void *b)
{
    const member_row *x = a, *y = b;
    if (x->offset != y->offset)
        return x->offset < y->offset ? -1 : 1;
    if (x->bit_position != y->bit_position)
        return x->bit_position < y->bit_position ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* Every structure with its direct members, by offset. */
static ms_status all_structs(converter *c)
{
    ms_isf_summary *s = &c->imp->summary;
    const char *tname;
    json_t *ut;
    json_object_foreach(c->types.user, tname, ut) {
        if (!ms_isf_token_ok(tname)) {
            s->skipped_names++;
            continue;
        }
        uint32_t size;
        ms_status st = ms_isf_struct_size(&c->types, tname, ut, &size);
        if (st != MS_OK)
            return st;
        json_t *fields = json_object_get(ut, "fields");
        if (!json_is_object(fields))
            return ms_fail(MS_ERR_FORMAT, "%s: user type %s: expected a 'fields' object", c->origin, tname);
        size_t n = json_object_size(fields), used = 0;
        member_row *rows = malloc((n ? n : 1) * sizeof *rows);
        if (rows == NULL)
            return ms_fail(MS_ERR_NOMEM, "%s: out of memory", c->origin);
        const char *fname;
        json_t *f;
        json_object_foreach(fields, fname, f) {
            if (!ms_isf_token_ok(fname) || strchr(fname, '.') != NULL) {
                s->skipped_names++;
                continue;
            }
            json_t *mt;
            uint32_t offset;
            st = ms_isf_resolve(&c->types, tname, fname, &offset, &mt);
            if (st != MS_OK) {
                free(rows);
                return st == MS_ERR_NOT_FOUND ? ms_fail(MS_ERR_INTERNAL, "%s: lost %s.%s", c->origin, tname, fname)
                                              : st;
            }
            json_t *bp = json_object_get(mt, "bit_position");
            json_int_t pos = json_is_integer(bp) ? json_integer_value(bp) : 0;
            rows[used++] = (member_row){fname, offset, pos < 0 || pos > 64 ? 64 : (uint32_t)pos, mt};
        }
        qsort(rows, used, sizeof *rows, compare_rows);
        ms_isf_text_printf(&c->imp->text, "struct %s 0x%x\n", tname, size);
        s->structs++;
        for (size_t i = 0; i < used && st == MS_OK; i++)
            st = ms_isf_member_line(&c->types, &c->imp->text, tname, rows[i].name, rows[i].offset, rows[i].type,
                                    &s->fields);
        free(rows);
        if (st != MS_OK)
            return st;
        ms_isf_text_printf(&c->imp->text, "\n");
    }
    return MS_OK;
}

static ms_status symbol_address(converter *c, const char *name, json_t *sym, uint64_t *rva)
{
    json_t *a = json_is_object(sym) ? json_object_get(sym, "address") : NULL;
    if (!json_is_integer(a) || json_integer_value(a) < 0)
        return ms_fail(MS_ERR_FORMAT, "%s: symbol %.64s: expected {\"address\": N} with N >= 0", c->origin, name);
    *rva = (uint64_t)json_integer_value(a);
    return MS_OK;
}

static ms_status symbols(converter *c)
{
    json_t *syms = json_object_get(c->root, "symbols");
    ms_isf_summary *s = &c->imp->summary;
    const char *name;
    json_t *sym;
    json_object_foreach(syms, name, sym) {
        uint64_t rva;
        ms_status st = symbol_address(c, name, sym, &rva);
        if (st != MS_OK)
            return st;
        if (!ms_isf_token_ok(name)) {
            s->skipped_names++;
            continue;
        }
        ms_isf_text_printf(&c->imp->text, "symbol %s 0x%llx\n", name, (unsigned long long)rva);
        s->symbols++;
    }
    ms_isf_text_printf(&c->imp->text, "\n");
    return MS_OK;
}

/* The tcpip symbol index line, as tools/profiles/derive_tcpip.py writes it. */
static ms_status index_line(converter *c)
{
    ms_isf_import *imp = c->imp;
    json_t *syms = json_object_get(c->root, "symbols");
    ms_isf_text_printf(&imp->index, "%s %u %s", imp->guid, imp->summary.age,
                       imp->summary.pointer_size == 8 ? "x64" : "x86");
    for (const char *const *n = ms_isf_tcpip_symbols; *n != NULL; n++) {
        json_t *sym = json_object_get(syms, *n);
        uint64_t rva;
        if (sym == NULL)
            continue;
        ms_status st = symbol_address(c, *n, sym, &rva);
        if (st != MS_OK)
            return st;
        ms_isf_text_printf(&imp->index, " %s=0x%llx", *n, (unsigned long long)rva);
    }
    return MS_OK;
}

/* The file's base name, safe on a `source` line. */
static void source_label(const char *origin, char *buf, size_t size)
{
    const char *slash = strrchr(origin, '/');
    const char *base = slash ? slash + 1 : origin;
    size_t k = 0;
    for (const unsigned char *p = (const unsigned char *)base; *p != '\0' && k + 1 < size; p++)
        buf[k++] = *p < 0x20 || *p == 0x7f || *p == '#' ? '_' : (char)*p;
    buf[k] = '\0';
}

static ms_status convert(converter *c, const ms_isf_import_options *opts)
{
    ms_isf_import *imp = c->imp;
    ms_isf_summary *s = &imp->summary;
    c->types.user = json_object_get(c->root, "user_types");
    c->types.base = json_object_get(c->root, "base_types");
    c->types.origin = c->origin;
    ms_status st = read_metadata(c);
    if (st == MS_OK)
        st = choose_builds_and_name(c, opts);
    if (st != MS_OK)
        return st;

    char label[256];
    source_label(c->origin, label, sizeof label);
    ms_isf_text *t = &imp->text;
    ms_isf_text_printf(t, "# Imported by 'memsift profiles import' from a Volatility 3 ISF; do not edit.\n");
    ms_isf_text_printf(t, "profile %s\nmodule %s\narch %s\n", imp->name, imp->module,
                       s->pointer_size == 8 ? "x64" : "x86");
    if (s->build_min == MS_PROFILE_BUILD_PDB_ONLY)
        ms_isf_text_printf(t, "# Build unknown: this profile applies to its PDB (GUID/age) only.\n");
    ms_isf_text_printf(t, "builds %u %u\n", s->build_min, s->build_max);
    if (imp->version[0] != '\0')
        ms_isf_text_printf(t, "version %s\n", imp->version);
    ms_isf_text_printf(t, "pdb %s %s %u\nsource ISF %s\n\n", imp->pdb_name, imp->guid, s->age, label);

    st = c->kernel ? ms_isf_kernel_layouts(&c->types, t, &s->structs, &s->fields) : all_structs(c);
    if (st == MS_OK)
        st = symbols(c);
    if (st != MS_OK)
        return st;
    if (c->kernel)
        ms_isf_kernel_constants(&c->types, s->build_min, t);
    if (strcmp(imp->module, "tcpip") == 0 && (st = index_line(c)) != MS_OK)
        return st;
    if (t->failed || imp->index.failed)
        return ms_fail(MS_ERR_NOMEM, "%s: out of memory writing the profile", c->origin);

    /* The text must read back: the same parser loads it on every run. */
    ms_profile *check;
    st = ms_profile_parse(t->data, t->len, imp->name, &check);
    if (st != MS_OK)
        return st;
    ms_profile_destroy(check);
    return MS_OK;
}

ms_status ms_isf_import_buffer(const void *data, size_t len, const char *origin, const ms_isf_import_options *opts,
                               ms_isf_import **out)
{
    if ((data == NULL && len > 0) || out == NULL)
        return ms_fail(MS_ERR_ARG, "ms_isf_import_buffer needs data and an out-parameter");
    if (origin == NULL)
        origin = "ISF";
    char *text;
    size_t text_len;
    ms_status st = ms_isf_decompress(data, len, origin, &text, &text_len);
    if (st != MS_OK)
        return st;
    json_t *root = NULL;
    st = ms_isf_parse_json(text, text_len, origin, &root);
    free(text);
    if (st != MS_OK)
        return st;
    ms_isf_import *imp = calloc(1, sizeof *imp);
    if (imp == NULL) {
        json_decref(root);
        return ms_fail(MS_ERR_NOMEM, "%s: out of memory", origin);
    }
    converter c = {imp, origin, {NULL, NULL, 0, origin}, root, 0};
    st = convert(&c, opts);
    json_decref(root);
    if (st != MS_OK) {
        ms_isf_import_destroy(imp);
        return st;
    }
    imp->summary.name = imp->name;
    imp->summary.module = imp->module;
    imp->summary.pdb_name = imp->pdb_name;
    imp->summary.guid = imp->guid;
    imp->summary.version = imp->version;
    *out = imp;
    return MS_OK;
}

ms_status ms_isf_import_file(const char *path, const ms_isf_import_options *opts, ms_isf_import **out)
{
    if (path == NULL || out == NULL)
        return ms_fail(MS_ERR_ARG, "ms_isf_import_file needs a path and an out-parameter");
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return ms_fail(MS_ERR_IO, "cannot open '%s'", path);
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return ms_fail(MS_ERR_IO, "'%s' is not a regular file", path);
    }
    if (st.st_size < 0 || (uint64_t)st.st_size > MS_ISF_MAX_BYTES) {
        fclose(f);
        return ms_fail(MS_ERR_LIMIT, "'%s' is larger than %u MiB", path, MS_ISF_MAX_BYTES >> 20);
    }
    size_t len = (size_t)st.st_size;
    uint8_t *data = malloc(len ? len : 1);
    if (data == NULL) {
        fclose(f);
        return ms_fail(MS_ERR_NOMEM, "out of memory reading '%s'", path);
    }
    size_t got = fread(data, 1, len, f);
    fclose(f);
    ms_status status = got == len ? ms_isf_import_buffer(data, len, path, opts, out)
                                  : ms_fail(MS_ERR_IO, "short read of '%s'", path);
    free(data);
    return status;
}

void ms_isf_import_destroy(ms_isf_import *imp)
{
    if (imp == NULL)
        return;
    ms_isf_text_free(&imp->text);
    ms_isf_text_free(&imp->index);
    free(imp);
}

const ms_isf_summary *ms_isf_import_summary(const ms_isf_import *imp)
{
    return &imp->summary;
}

const char *ms_isf_import_text(const ms_isf_import *imp, size_t *len)
{
    if (len != NULL)
        *len = imp->text.len;
    return imp->text.data;
}

const char *ms_isf_import_index_line(const ms_isf_import *imp)
{
    return imp->index.len > 0 ? imp->index.data : NULL;
}
