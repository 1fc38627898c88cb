/* Command-line parsing.  Global options come before the plugin name (and
 * are also accepted after it when the plugin has no option of that name);
 * what follows the plugin is parsed against its ms_option_spec table. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "registry.h"

typedef struct parser {
    int argc;
    char **argv;
    int i;            /* index of the argument being parsed */
    cli_args *out;
    char *err;
    size_t errsize;
} parser;

static int fail(parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(parser *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err, p->errsize, fmt, ap);
    va_end(ap);
    return -1;
}

typedef enum global_id {
    OPT_FILE, OPT_RENDERER, OPT_OUTPUT, OPT_QUIET, OPT_VERBOSE, OPT_HELP, OPT_NO_INDEX, OPT_VERSION,
    OPT_NO_HINTS, OPT_DTB, OPT_KERNEL_BASE, OPT_PROFILES, OPT_VMSS, OPT_NO_VMSS
} global_id;

typedef struct global_option {
    global_id id;
    char short_name;
    const char *long_name;
    int takes_value;
} global_option;

static const global_option globals[] = {
    {OPT_FILE, 'f', "file", 1},    {OPT_RENDERER, 'r', "renderer", 1}, {OPT_OUTPUT, 'o', "output", 1},
    {OPT_QUIET, 'q', "quiet", 0},  {OPT_VERBOSE, 'v', "verbose", 0},   {OPT_HELP, 'h', "help", 0},
    {OPT_NO_INDEX, '\0', "no-index-cache", 0}, {OPT_VERSION, '\0', "version", 0},
    {OPT_NO_HINTS, '\0', "no-header-hints", 0}, {OPT_DTB, '\0', "dtb", 1},
    {OPT_KERNEL_BASE, '\0', "kernel-base", 1}, {OPT_PROFILES, '\0', "profiles", 1},
    {OPT_VMSS, '\0', "vmss", 1}, {OPT_NO_VMSS, '\0', "no-vmss", 0},
};

/* The option `arg` names: "-f", "-fVALUE", "--file", "--file=VALUE".
 * Sets *inline_value to what follows the name, if anything. */
static const global_option *match_global(const char *arg, const char **inline_value)
{
    *inline_value = NULL;
    for (size_t k = 0; k < sizeof globals / sizeof globals[0]; k++) {
        const global_option *g = &globals[k];
        if (arg[1] != '-' && g->short_name != '\0' && arg[1] == g->short_name) {
            if (arg[2] == '\0')
                return g;
            if (g->takes_value) {
                *inline_value = arg + 2;
                return g;
            }
            continue;
        }
        if (arg[1] == '-') {
            size_t n = strlen(g->long_name);
            if (strncmp(arg + 2, g->long_name, n) == 0 && (arg[2 + n] == '\0' || arg[2 + n] == '=')) {
                if (arg[2 + n] == '=')
                    *inline_value = arg + 3 + n;
                return g;
            }
        }
    }
    return NULL;
}

/* 1 if argv[p->i] was a global option (consumed, with its value), 0 if it
 * is not one, -1 on error. */
static int parse_global(parser *p)
{
    const char *arg = p->argv[p->i];
    const char *value;
    const global_option *g = match_global(arg, &value);
    if (g == NULL)
        return 0;
    if (g->takes_value && value == NULL) {
        if (p->i + 1 >= p->argc)
            return fail(p, "option %s needs a value", arg);
        value = p->argv[++p->i];
    } else if (!g->takes_value && value != NULL) {
        return fail(p, "option --%s takes no value", g->long_name);
    }
    cli_args *a = p->out;
    switch (g->id) {
    case OPT_FILE: a->image_path = value; break;
    case OPT_RENDERER: a->format_name = value; break;
    case OPT_OUTPUT: a->output_path = value; break;
    case OPT_QUIET: a->quiet = 1; break;
    case OPT_VERBOSE: a->verbose = 1; break;
    case OPT_HELP: a->show_help = 1; break;
    case OPT_NO_INDEX: a->no_index_cache = 1; break;
    case OPT_VERSION: a->show_version = 1; break;
    case OPT_NO_HINTS: a->no_header_hints = 1; break;
    case OPT_DTB: a->dtb = value; break;
    case OPT_KERNEL_BASE: a->kernel_base = value; break;
    case OPT_PROFILES: a->profiles_dir = value; break;
    case OPT_VMSS: a->vmss_path = value; break;
    case OPT_NO_VMSS: a->no_vmss = 1; break;
    }
    return 1;
}

static const ms_option_spec *find_spec(const ms_plugin *plugin, const char *name, size_t len)
{
    for (size_t k = 0; k < plugin->noptions; k++) {
        const char *n = plugin->options[k].name;
        if (n != NULL && strlen(n) == len && strncmp(n, name, len) == 0)
            return &plugin->options[k];
    }
    return NULL;
}

/* 1 if argv[p->i] was one of the plugin's options, 0 if not, -1 on error. */
static int parse_plugin_option(parser *p)
{
    const ms_plugin *plugin = p->out->plugin;
    const char *arg = p->argv[p->i];
    if (strncmp(arg, "--", 2) != 0)
        return 0;
    const char *name = arg + 2;
    const char *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    const ms_option_spec *spec = find_spec(plugin, name, len);
    if (spec == NULL)
        return 0;
    const char *value = eq ? eq + 1 : NULL;
    if (spec->type == MS_OPT_FLAG) {
        if (value != NULL)
            return fail(p, "option --%s of %s is a flag and takes no value", spec->name, plugin->name);
        value = "1";
    } else if (value == NULL) {
        if (p->i + 1 >= p->argc)
            return fail(p, "option --%s of %s needs a value (%s)", spec->name, plugin->name,
                        spec->metavar ? spec->metavar : "VALUE");
        value = p->argv[++p->i];
    }
    ms_option_value *grown = realloc(p->out->options, (p->out->noptions + 1) * sizeof *grown);
    if (grown == NULL)
        return fail(p, "out of memory parsing the options");
    p->out->options = grown;
    grown[p->out->noptions++] = (ms_option_value){spec->name, value};
    return 1;
}

int cli_parse_args(int argc, char **argv, cli_args *out, char *err, size_t errsize)
{
    memset(out, 0, sizeof *out);
    out->format_name = "text";
    parser p = {argc, argv, 1, out, err, errsize};
    for (; p.i < argc; p.i++) {
        const char *arg = argv[p.i];
        int r = 0;
        if (out->plugin != NULL && (r = parse_plugin_option(&p)) != 0) {
            if (r < 0)
                goto failed;
            continue;
        }
        if (arg[0] == '-' && arg[1] != '\0') {
            if ((r = parse_global(&p)) < 0)
                goto failed;
            if (r > 0)
                continue;
            if (out->plugin != NULL)
                fail(&p, "unknown option '%s' for plugin %s (see 'memsift %s --help')", arg, out->plugin->name,
                     out->plugin->name);
            else
                fail(&p, "unknown option '%s' (see 'memsift --help')", arg);
            goto failed;
        }
        if (out->plugin != NULL) {
            fail(&p, "unexpected argument '%s' after plugin %s", arg, out->plugin->name);
            goto failed;
        }
        if (strcmp(arg, "profiles") == 0) {
            out->command = arg;
            out->command_argc = argc - p.i - 1;
            out->command_argv = argv + p.i + 1;
            break;
        }
        out->plugin = ms_registry_find(arg);
        if (out->plugin == NULL) {
            fail(&p, "unknown plugin '%s' (see 'memsift --help' for the list)", arg);
            goto failed;
        }
    }
    if (out->vmss_path != NULL && out->vmss_path[0] == '\0') {
        fail(&p, "option --vmss needs a file name");
        goto failed;
    }
    if (out->vmss_path != NULL && out->no_vmss) {
        fail(&p, "--vmss and --no-vmss cannot be used together");
        goto failed;
    }
    return 0;
failed:
    cli_args_free(out);
    return -1;
}

void cli_args_free(cli_args *args)
{
    free(args->options);
    args->options = NULL;
    args->noptions = 0;
}
