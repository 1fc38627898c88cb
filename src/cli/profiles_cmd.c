/* memsift profiles import FILE [--build N] [--name NAME] [--force]
 * memsift profiles list [-r FORMAT] */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "memsift/profile.h"

typedef struct profiles_opts {
    const char *sub;
    const char *file;
    const char *build;
    const char *name;
    const char *format;
    const char *profiles_dir;
    int force;
    int help;
} profiles_opts;

static void print_usage(void)
{
    fputs("Usage: memsift profiles import FILE [--build N] [--name NAME] [--force]\n"
          "       memsift profiles list [-r FORMAT]\n"
          "\n"
          "import  convert a Volatility 3 symbol file (ISF: .json, .json.gz or .json.xz)\n"
          "        into a memsift profile in the user's profile directory, used by\n"
          "        every later run\n"
          "  --build N     NT build the ISF is for, when its metadata does not say\n"
          "                (without one, the profile applies to its exact PDB only)\n"
          "  --name NAME   profile name (default: from module, build and arch, or GUID)\n"
          "  --force       replace an existing profile of the same name\n"
          "list    show the built-in and user profiles\n"
          "  -r, --renderer FORMAT  text (default), json, jsonl or csv\n"
          "\n"
          "The user's profile directory is $MEMSIFT_PROFILES, else\n"
          "$XDG_DATA_HOME/memsift/profiles, else ~/.local/share/memsift/profiles.\n",
          stdout);
}

static int usage_error(const char *fmt, const char *what)
{
    char msg[512];
    snprintf(msg, sizeof msg, fmt, what);
    cli_print_error(msg);
    return -1;
}

/* Option value from "--opt=V" or the next argument. */
static int take_value(int argc, char **argv, int *i, const char *eq, const char **value)
{
    if (eq != NULL) {
        *value = eq + 1;
        return 0;
    }
    if (*i + 1 >= argc)
        return usage_error("option %s needs a value", argv[*i]);
    *value = argv[++*i];
    return 0;
}

static int parse(const cli_args *args, profiles_opts *o)
{
    memset(o, 0, sizeof *o);
    o->format = args->format_name;
    o->profiles_dir = args->profiles_dir;
    o->help = args->show_help;
    int argc = args->command_argc;
    char **argv = args->command_argv;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            o->help = 1;
            continue;
        }
        if (a[0] == '-' && a[1] != '\0') {
            const char *eq = a[1] == '-' ? strchr(a, '=') : NULL;
            size_t n = eq ? (size_t)(eq - a) : strlen(a);
            int r = 0;
            if (n == 7 && strncmp(a, "--force", n) == 0 && eq == NULL)
                o->force = 1;
            else if (n == 7 && strncmp(a, "--build", n) == 0)
                r = take_value(argc, argv, &i, eq, &o->build);
            else if (n == 6 && strncmp(a, "--name", n) == 0)
                r = take_value(argc, argv, &i, eq, &o->name);
            else if (n == 10 && strncmp(a, "--profiles", n) == 0)
                r = take_value(argc, argv, &i, eq, &o->profiles_dir);
            else if ((n == 2 && strncmp(a, "-r", 2) == 0) || (n == 10 && strncmp(a, "--renderer", n) == 0))
                r = take_value(argc, argv, &i, eq, &o->format);
            else if (strncmp(a, "-r", 2) == 0 && a[2] != '\0')
                o->format = a + 2;
            else
                r = usage_error("unknown option '%s' for 'memsift profiles' (see 'memsift profiles --help')", a);
            if (r != 0)
                return r;
            continue;
        }
        if (o->sub == NULL)
            o->sub = a;
        else if (o->file == NULL && strcmp(o->sub, "import") == 0)
            o->file = a;
        else
            return usage_error("unexpected argument '%s' for 'memsift profiles'", a);
    }
    if (o->help)
        return 0;
    if (o->sub == NULL)
        return usage_error("%s", "'memsift profiles' needs 'import FILE' or 'list'");
    if (strcmp(o->sub, "import") != 0 && strcmp(o->sub, "list") != 0)
        return usage_error("unknown profiles command '%s': use 'import' or 'list'", o->sub);
    if (strcmp(o->sub, "import") == 0 && o->file == NULL)
        return usage_error("%s", "'memsift profiles import' needs the ISF file to import");
    if (strcmp(o->sub, "list") == 0 && (o->build || o->name || o->force))
        return usage_error("%s", "--build, --name and --force belong to 'memsift profiles import'");
    return 0;
}

static int fail_with_last_error(void)
{
    cli_print_error(ms_last_error());
    return CLI_EXIT_FAILURE;
}

static void format_builds(uint32_t lo, uint32_t hi, char *buf, size_t size)
{
    if (lo == MS_PROFILE_BUILD_PDB_ONLY)
        snprintf(buf, size, "PDB only");
    else if (lo == hi)
        snprintf(buf, size, "%u", lo);
    else
        snprintf(buf, size, "%u-%u", lo, hi);
}

static int run_import(const profiles_opts *o)
{
    ms_isf_import_options opts = {0, o->name};
    if (o->build != NULL) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(o->build, &end, 0);
        if (errno != 0 || *o->build == '\0' || *o->build == '-' || *end != '\0' || v == 0 ||
            v >= MS_PROFILE_BUILD_PDB_ONLY) {
            usage_error("option --build expects an NT build number such as 19041, found '%s'", o->build);
            return CLI_EXIT_USAGE;
        }
        opts.build = (uint32_t)v;
    }
    char dir[4096];
    if (ms_profile_user_dir(dir, sizeof dir) != MS_OK)
        return fail_with_last_error();
    ms_isf_import *imp;
    if (ms_isf_import_file(o->file, &opts, &imp) != MS_OK)
        return fail_with_last_error();
    char path[4200];
    int unchanged = 0;
    if (ms_isf_import_save(imp, dir, o->force, path, sizeof path, &unchanged) != MS_OK) {
        ms_isf_import_destroy(imp);
        return fail_with_last_error();
    }
    const ms_isf_summary *s = ms_isf_import_summary(imp);
    char builds[64];
    format_builds(s->build_min, s->build_max, builds, sizeof builds);
    printf("%s profile %s from %s\n", unchanged ? "Already imported:" : "Imported", s->name, o->file);
    printf("  module   %s (%s), %s\n", s->module, s->pdb_name, s->pointer_size == 8 ? "x64" : "x86");
    printf("  PDB      %s age %u\n", s->guid, s->age);
    printf("  builds   %s%s\n", builds,
           s->build_min == MS_PROFILE_BUILD_PDB_ONLY ? " (used only for a kernel or module with this GUID/age)" : "");
    if (s->version[0] != '\0')
        printf("  version  %s\n", s->version);
    printf("  contents %zu structs, %zu fields, %zu symbols", s->structs, s->fields, s->symbols);
    if (s->skipped_names > 0)
        printf(" (%zu names skipped: not representable in a profile)", s->skipped_names);
    putchar('\n');
    if (s->build_ignored)
        printf("  note     tcpip profiles apply by PDB GUID/age only (the built-in tcpip layouts stay in use), "
               "so the build was not recorded\n");
    printf("  written  %s\n", path);
    if (ms_isf_import_index_line(imp) != NULL)
        printf("  index    %s/tcpip.idx\n", dir);
    ms_isf_import_destroy(imp);
    return 0;
}

static int run_list(const profiles_opts *o)
{
    ms_render_format format;
    if (ms_render_format_parse(o->format, &format) != MS_OK) {
        cli_print_error(ms_last_error());
        return CLI_EXIT_USAGE;
    }
    ms_profile_db *db;
    if (ms_profile_db_create(&db) != MS_OK)
        return fail_with_last_error();
    size_t builtin = ms_profile_db_count(db), builtin_idx = ms_profile_db_tcpip_count(db);
    ms_status st = ms_profile_db_add_user_dir(db);
    size_t user = ms_profile_db_count(db);
    if (st == MS_OK && o->profiles_dir != NULL)
        st = ms_profile_db_add_dir(db, o->profiles_dir);
    if (st != MS_OK) {
        ms_profile_db_destroy(db);
        return fail_with_last_error();
    }
    static const ms_column columns[] = {
        {"Name", MS_VT_STR, 22}, {"Module", MS_VT_STR, 6}, {"Arch", MS_VT_STR, 4},     {"Builds", MS_VT_STR, 11},
        {"PDB", MS_VT_STR, 35},  {"Origin", MS_VT_STR, 8}, {"Source", MS_VT_STR, 0},
    };
    ms_renderer *r = NULL;
    st = ms_renderer_create(format, stdout, &r);
    if (st == MS_OK)
        st = ms_renderer_begin(r, columns, sizeof columns / sizeof columns[0]);
    for (size_t i = 0; st == MS_OK && i < ms_profile_db_count(db); i++) {
        const ms_profile *p = ms_profile_db_at(db, i);
        char builds[64], pdb[64];
        format_builds(ms_profile_build_min(p), ms_profile_build_max(p), builds, sizeof builds);
        const char *guid = ms_profile_pdb_guid(p);
        if (guid != NULL)
            snprintf(pdb, sizeof pdb, "%s/%u", guid, ms_profile_pdb_age(p));
        const char *source = ms_profile_source(p);
        ms_value row[] = {
            ms_val_str(ms_profile_name(p)),
            ms_val_str(ms_profile_module(p)),
            ms_val_str(ms_profile_pointer_size(p) == 8 ? "x64" : "x86"),
            ms_val_str(builds),
            guid != NULL ? ms_val_str(pdb) : ms_val_null(),
            ms_val_str(i < builtin ? "built-in" : i < user ? "user" : "--profiles"),
            source != NULL && source[0] != '\0' ? ms_val_str(source) : ms_val_null(),
        };
        st = ms_renderer_row(r, row);
    }
    if (st == MS_OK)
        st = ms_renderer_end(r);
    ms_renderer_destroy(r);
    size_t idx = ms_profile_db_tcpip_count(db);
    ms_profile_db_destroy(db);
    if (st != MS_OK)
        return fail_with_last_error();
    if (format == MS_RENDER_TEXT)
        printf("\ntcpip symbol index: %zu PDBs (%zu built-in, %zu added)\n", idx, builtin_idx, idx - builtin_idx);
    return 0;
}

int cli_profiles_main(const cli_args *args)
{
    profiles_opts o;
    if (parse(args, &o) != 0)
        return CLI_EXIT_USAGE;
    if (o.help) {
        print_usage();
        return 0;
    }
    return strcmp(o.sub, "import") == 0 ? run_import(&o) : run_list(&o);
}
